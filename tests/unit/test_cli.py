"""The command line, run in-process through ``main()`` (plus real subprocesses for the entry point).

Every test gets its own CARRIERTUI_HOME, so the default database, the demo database and the config
file all live in a temporary directory.
"""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from carriertui.cli import main

STRONG = "correct horse battery staple 42"
STRONG_2 = "violet rivers hum under granite skies"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CARRIERTUI_HOME", str(tmp_path))
    for name in ("CARRIERTUI_DB", "CARRIERTUI_BUSY_TIMEOUT", "SSH_CONNECTION", "SSH_CLIENT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def db_path(home: Path) -> Path:
    return home / "data" / "carriertui.sqlite"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def add_customer(capsys: pytest.CaptureFixture[str], name: str, *extra: str) -> str:
    code, out, err = run(capsys, "customers", "add", "--name", name, *extra)
    assert code == 0, err
    return out


def open_db(path: Path):
    from carriertui.store.db.database import open_database

    return open_database(f"sqlite:///{path}")


# -- entry point -------------------------------------------------------------------------------

SUBCOMMANDS = ("init", "operator", "customers", "options", "numbers", "config", "demo")


def test_help_in_a_real_process_lists_every_subcommand(home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "carriertui", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    listed = {}
    for line in result.stdout.splitlines():
        words = line.split()
        if words and words[0] in SUBCOMMANDS:
            listed[words[0]] = " ".join(words[1:])
    assert set(listed) == set(SUBCOMMANDS)
    # One-line help for each (customers wraps to the next line in argparse's layout).
    assert "list, show and create customers" in result.stdout
    assert all(help_text for name, help_text in listed.items() if name != "customers")


def test_cli_module_imports_nothing_heavy(home: Path) -> None:
    script = (
        "import sys\n"
        "from carriertui.cli import main\n"
        "code = main(['config', 'path'])\n"
        "heavy = [m for m in ('sqlmodel', 'sqlalchemy', 'textual', 'argon2', 'rich') "
        "if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
        "raise SystemExit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout
    assert str(home / "config" / "config.toml") in result.stdout


def test_a_real_process_reports_a_store_error_in_one_line(home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "carriertui", "customers", "add", "--name", "X", "--tax", "101"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: tax_percent: must be at most 100"


def test_usage_errors_exit_2(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "customers")
    assert code == 2
    assert "choose a command" in err
    code, _, err = run(capsys, "customers", "add")  # --name is required
    assert code == 2
    assert "error: the following arguments are required: --name" in err
    code, out, _ = run(capsys, "customers", "add", "--help")
    assert code == 0
    assert "--debit-limit" in out


# -- init and config ---------------------------------------------------------------------------


def test_init_creates_the_schema_and_prints_its_version(
    home: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from carriertui.store.db.migrations import SCHEMA_VERSION

    code, out, err = run(capsys, "init")
    assert code == 0, err
    assert out.strip() == f"database ready: sqlite:///{db_path} (schema version {SCHEMA_VERSION})"
    assert db_path.exists()
    code, out, _ = run(capsys, "init")  # again: an upgrade with nothing to do
    assert code == 0
    assert f"schema version {SCHEMA_VERSION}" in out


def test_db_option_works_before_and_after_the_command(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = home / "first.sqlite", home / "second.sqlite"
    assert run(capsys, "--db", str(first), "customers", "add", "--name", "Alpha")[0] == 0
    assert run(capsys, "customers", "add", "--name", "Beta", "--db", str(second))[0] == 0
    assert "Alpha" in run(capsys, "--db", str(first), "customers", "list")[1]
    assert "Beta" not in run(capsys, "--db", str(first), "customers", "list")[1]
    assert "Beta" in run(capsys, "customers", "list", "--db", f"sqlite:///{second}")[1]


def test_carriertui_db_environment_variable(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = home / "from-env.sqlite"
    monkeypatch.setenv("CARRIERTUI_DB", f"sqlite:///{target}")
    assert run(capsys, "init")[0] == 0
    assert target.exists()


def test_config_path_is_under_carriertui_home(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "config", "path")
    assert code == 0
    assert out.strip() == str(home / "config" / "config.toml")


def test_unreadable_config_is_one_line_error(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[database\nurl = 'x'\n")
    code, _, err = run(capsys, "customers", "list")
    assert code == 1
    assert "cannot read" in one_error_line(err)


def test_bad_url_is_one_line_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--db", "nosuch://x", "customers", "list")
    assert code == 1
    assert out == ""
    assert "unsupported database 'nosuch'" in one_error_line(err)


def test_unreachable_postgresql_is_one_line_error_without_the_password(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 1 on loopback refuses at once: no server, no waiting.
    url = "postgresql://noc:hunter2secret@127.0.0.1:1/carrier"
    code, _, err = run(capsys, "--db", url, "init")
    assert code == 1
    line = one_error_line(err)
    assert line.startswith("error: cannot connect to postgresql://noc:***@127.0.0.1:1/carrier: ")
    assert "hunter2secret" not in err


# -- customers ---------------------------------------------------------------------------------


def test_customers_add_and_list_round_trip(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = add_customer(
        capsys,
        "Northwind Telecom Ltd",
        "--code", "NWT-001",
        "--currency", "gbp",
        "--status", "Penalty",
        "--tax", "20",
        "--balance", "-1250.5",
        "--debit-limit", "5000",
        "--channels", "240",
        "--invoice-schedule", "monthly",
        "--invoice-due-days", "30",
    )  # fmt: skip
    assert out.strip() == "created customer 1: Northwind Telecom Ltd"
    add_customer(capsys, "Atlas Comms [UK]")

    code, out, _ = run(capsys, "customers", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "Name", "Code", "Status", "Currency", "Balance", "Debit", "limit", "Channels", "Schedule",
    ]  # fmt: skip
    assert lines[2].split() == [
        "Atlas",
        "Comms",
        "[UK]",
        "Active",
        "USD",
        "0.00",
        "0.00",
        "0",
        "none",
    ]
    assert lines[3].split() == [
        "Northwind", "Telecom", "Ltd", "NWT-001", "Penalty", "GBP", "-1250.50", "5000.00", "240",
        "monthly",
    ]  # fmt: skip

    code, out, _ = run(capsys, "customers", "list", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert [row["name"] for row in rows] == ["Atlas Comms [UK]", "Northwind Telecom Ltd"]
    northwind = rows[1]
    assert northwind["account_code"] == "NWT-001"
    assert northwind["status"] == "Penalty"
    assert northwind["currency"] == "GBP"
    assert northwind["balance"] == "-1250.5000"
    assert northwind["tax_percent"] == "20.0000"
    assert northwind["channels"] == 240
    assert northwind["invoice_schedule"] == "monthly"
    assert northwind["invoice_due_days"] == 30
    assert northwind["created_at"].endswith("Z")
    from datetime import UTC, datetime

    created = datetime.fromisoformat(northwind["created_at"])
    assert created.tzinfo is not None
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60


def test_customers_list_search(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_customer(capsys, "Bluefin Voice GmbH", "--code", "BFV-2")
    add_customer(capsys, "Kestrel SIP", "--status", "Pending Approval")
    code, out, _ = run(capsys, "customers", "list", "--search", "bfv", "--format", "json")
    assert code == 0
    assert [row["name"] for row in json.loads(out)] == ["Bluefin Voice GmbH"]
    code, out, _ = run(capsys, "customers", "list", "--search", "pending")
    assert "Kestrel SIP" in out
    assert "Bluefin" not in out


def test_customers_show_by_code_name_or_id_and_unknown_customer(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_customer(capsys, "Bluefin Voice GmbH", "--code", "BFV-2", "--currency", "eur")
    for wanted in ("BFV-2", "bfv-2", "bluefin voice gmbh", "1"):
        code, out, _ = run(capsys, "customers", "show", wanted, "--format", "json")
        assert code == 0, wanted
        shown = json.loads(out)
        assert (shown["name"], shown["currency"], shown["balance"]) == (
            "Bluefin Voice GmbH",
            "EUR",
            "0.0000",
        )
    code, out, _ = run(capsys, "customers", "show", "BFV-2")
    assert code == 0
    assert "account_code" in out and "BFV-2" in out
    code, out, err = run(capsys, "customers", "show", "Nowhere Ltd")
    assert (code, out) == (1, "")
    assert one_error_line(err) == "error: no customer named or coded 'Nowhere Ltd'"


def test_customers_add_is_audited_as_api_from_the_ssh_client(
    home: Path, db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_CONNECTION", "203.0.113.9 52144 198.51.100.7 22")
    add_customer(capsys, "Meridian Wholesale")

    from carriertui.store import audit
    from carriertui.store.context import Actor

    db = open_db(db_path)
    try:
        entries = audit.list_entries(db, Actor.api())
    finally:
        db.dispose()
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.actor, entry.ip) == ("API", "203.0.113.9")
    assert entry.action == "CREATE"
    assert entry.table == "customer"
    assert entry.after is not None
    assert entry.after["name"] == "Meridian Wholesale"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--currency", "XYZ"), "error: currency: must be an ISO 4217 code"),
        (("--tax", "abc"), "error: tax_percent: must be a number"),
        (("--status", "Sleeping"), "error: status: must be one of"),
        (("--code", "bad code!"), "error: account_code: letters, digits"),
        (("--debit-limit", "-5"), "error: debit_limit: must be at least 0"),
    ],
)
def test_customers_add_validation_error_exits_2_and_saves_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], expected: str
) -> None:
    code, out, err = run(capsys, "customers", "add", "--name", "Greenline", *args)
    assert code == 2
    assert out == ""
    assert one_error_line(err).startswith(expected)
    code, out, _ = run(capsys, "customers", "list", "--format", "json")
    assert code == 0
    assert json.loads(out) == []


def test_duplicate_customer_name_is_refused(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_customer(capsys, "Polar Star Mobile")
    code, _, err = run(capsys, "customers", "add", "--name", "POLAR STAR MOBILE")
    assert code == 2
    assert one_error_line(err).startswith("error: name: a customer named")


def test_control_characters_in_a_new_name_are_refused(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "customers", "add", "--name", "Evil\x1b]2;PWNED\x07")
    assert code == 2
    line = one_error_line(err)
    assert "\x1b" not in line
    assert line == "error: name: must not contain control characters"


def test_hostile_stored_name_is_printed_without_control_characters(
    home: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name that reached the database by another path (an old import, the portal) must not
    retitle the terminal or write the clipboard when listed."""
    add_customer(capsys, "Placeholder")
    hostile = "Evil\x1b]2;PWNED\x07 \x1b]52;c;ZWNobyBwd25lZA==\x07 \x9b31m\x7f"
    with sqlite3.connect(db_path) as connection:
        connection.execute("UPDATE customer SET name = ?", (hostile,))
    connection.close()

    code, out, _ = run(capsys, "customers", "list")
    assert code == 0
    for char in ("\x1b", "\x07", "\x9b", "\x7f"):
        assert char not in out
    assert "Evil\u241b]2;PWNED\u2407" in out  # visible placeholders instead

    code, out, _ = run(capsys, "customers", "list", "--format", "json")
    assert code == 0
    for char in ("\x1b", "\x07", "\x9b", "\x7f"):
        assert char not in out
    assert json.loads(out)[0]["name"] == hostile  # the JSON still carries the exact data


def test_bidi_controls_in_a_name_are_stored_as_given_and_listed_as_placeholders(
    home: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "Trojan Source": an override would show the name reversed and hide what is next to it."""
    name = "ACME\u202e Ltd\u2066 hidden\u2069 \ufffe"
    add_customer(capsys, name)
    with sqlite3.connect(db_path) as connection:
        stored = connection.execute("SELECT name FROM customer").fetchone()[0]
    connection.close()
    assert stored == name  # stored unchanged

    code, out, _ = run(capsys, "customers", "list")
    assert code == 0
    for char in ("\u202e", "\u2066", "\u2069", "\ufffe"):
        assert char not in out
    assert "ACME\ufffd Ltd\ufffd hidden\ufffd \ufffd" in out

    code, out, _ = run(capsys, "customers", "list", "--format", "json")
    assert code == 0
    for char in ("\u202e", "\u2066", "\u2069", "\ufffe"):
        assert char not in out  # written as JSON escapes
    assert json.loads(out)[0]["name"] == name


# -- options -----------------------------------------------------------------------------------


def test_options_set_show_and_unset(
    home: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "options", "show")
    assert code == 0
    table = {line.split()[0]: line.split()[-1] for line in out.splitlines()[2:]}
    assert table == {
        "number_range_start": "unset",
        "block_size": "unset",
        "audit_comment": "false",
    }

    assert run(capsys, "options", "set", "number_range_start", "1000") == (
        0,
        "number_range_start = 1000\n",
        "",
    )
    assert run(capsys, "options", "set", "block-size", "500")[1] == "block_size = 500\n"
    assert run(capsys, "options", "set", "audit_comment", "yes")[1] == "audit_comment = true\n"

    code, out, _ = run(capsys, "options", "show", "--format", "json")
    assert code == 0
    values = {row["key"]: row["value"] for row in json.loads(out)}
    assert values == {"number_range_start": 1000, "block_size": 500, "audit_comment": True}
    labels = {row["key"]: row["label"] for row in json.loads(out)}
    assert labels["number_range_start"] == "Number Range Start"

    assert run(capsys, "options", "set", "block_size", "unset")[1] == "block_size = unset\n"
    code, out, _ = run(capsys, "options", "show")
    assert "Block Size          unset" in out

    from carriertui.store import audit
    from carriertui.store.context import Actor

    db = open_db(db_path)
    try:
        messages = [entry.message for entry in audit.list_entries(db, Actor.api())]
    finally:
        db.dispose()
    assert messages[0] == "Option Block Size set to unset"
    assert len(messages) == 4


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("block_size", "lots", "error: block_size: must be a whole number"),
        ("block_size", "0", "error: block_size: must be at least 1"),
        ("audit_comment", "unset", "error: audit_comment: cannot be unset"),
        ("no_such_option", "1", "error: key: unknown option 'no_such_option'"),
    ],
)
def test_options_set_bad_value(
    home: Path, capsys: pytest.CaptureFixture[str], key: str, value: str, expected: str
) -> None:
    code, out, err = run(capsys, "options", "set", key, value)
    assert code == 2
    assert out == ""
    assert one_error_line(err).startswith(expected)
    code, out, _ = run(capsys, "options", "show", "--format", "json")
    assert {row["key"]: row["value"] for row in json.loads(out)}["block_size"] is None


# -- operators ---------------------------------------------------------------------------------


def test_operator_role_disable_enable(
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fast_argon2: object,
) -> None:
    for name, role in (("ada", "admin"), ("olga", "operator")):
        monkeypatch.setattr(sys, "stdin", io.StringIO(STRONG + "\n"))
        assert run(capsys, "operator", "add", name, "--role", role, "--password-stdin")[0] == 0
    code, out, err = run(capsys, "operator", "role", "olga", "viewer")
    assert (code, out.strip()) == (0, "operator olga is now viewer"), err
    code, out, err = run(capsys, "operator", "disable", "olga")
    assert code == 0 and out.startswith("operator olga disabled"), err
    listed = json.loads(run(capsys, "operator", "list", "--format", "json")[1])
    rows = {row["name"]: row for row in listed}
    assert rows["olga"]["role"] == "viewer" and rows["olga"]["disabled_at"]
    assert rows["ada"]["disabled_at"] is None
    assert "Disabled (UTC)" in run(capsys, "operator", "list")[1]
    code, _, err = run(capsys, "operator", "disable", "ada")  # the only admin
    assert code == 2
    assert "last enabled admin" in one_error_line(err)
    code, _, err = run(capsys, "operator", "role", "olga", "root")
    assert code == 2 and "invalid choice" in err
    code, out, _ = run(capsys, "operator", "enable", "olga")
    assert (code, out.strip()) == (0, "operator olga enabled")
    code, _, err = run(capsys, "operator", "enable", "nobody")
    assert code != 0 and "no operator named 'nobody'" in one_error_line(err)


def test_operator_add_list_passwd_unlock(
    home: Path,
    db_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fast_argon2: object,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(STRONG + "\n"))
    code, out, err = run(
        capsys, "operator", "add", "alice", "--role", "operator", "--password-stdin"
    )
    assert code == 0, err
    assert out.strip() == "created operator alice (operator)"

    # Weak password: refused before any hashing, nothing created.
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    code, _, err = run(capsys, "operator", "add", "bob", "--role", "viewer", "--password-stdin")
    assert code == 2
    assert one_error_line(err).startswith("error: password: must be at least 15 characters")
    monkeypatch.setattr(sys, "stdin", io.StringIO("password1234567\n"))
    code, _, err = run(capsys, "operator", "add", "bob", "--role", "viewer", "--password-stdin")
    assert code == 2
    assert "commonly used" in one_error_line(err)

    # Already exists: refused before the password is even read.
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, _, err = run(capsys, "operator", "add", "alice", "--role", "admin", "--password-stdin")
    assert code == 2
    assert "exists already" in one_error_line(err)

    code, out, _ = run(capsys, "operator", "list", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert [(row["name"], row["role"]) for row in rows] == [("alice", "operator")]
    assert rows[0]["locked_until"] is None
    assert rows[0]["last_login_at"] is None

    from carriertui.store import operators

    # The new password works afterwards; the stored one is a hash, never the text.
    monkeypatch.setattr(sys, "stdin", io.StringIO(STRONG_2 + "\r\n"))
    code, out, err = run(capsys, "operator", "passwd", "alice", "--password-stdin")
    assert code == 0, err
    assert out.strip() == "password of operator alice changed"
    with sqlite3.connect(db_path) as connection:
        (stored,) = connection.execute(
            "SELECT password_hash FROM operator WHERE name = 'alice'"
        ).fetchone()
        # Lock the account as ten failed logins would (ten argon2 verifies would cost ~1.3 s).
        connection.execute(
            "UPDATE operator SET failed_logins = 3, locked_until = '2999-01-01 00:00:00.000000'"
        )
    connection.close()
    assert stored.startswith("$argon2id$")
    assert STRONG_2 not in stored

    code, out, _ = run(capsys, "operator", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["Name", "Role", "Failed"]
    assert lines[2].split()[:5] == ["alice", "operator", "3", "2999-01-01", "00:00"]

    code, out, _ = run(capsys, "operator", "unlock", "alice")
    assert code == 0
    assert out.strip() == "operator alice unlocked"
    rows = json.loads(run(capsys, "operator", "list", "--format", "json")[1])
    assert (rows[0]["failed_logins"], rows[0]["locked_until"]) == (0, None)

    db = open_db(db_path)
    try:
        operators.authenticate(db, "alice", STRONG_2, "127.0.0.1")
        from carriertui.store import audit
        from carriertui.store.context import Actor

        entries = audit.list_entries(db, Actor.api())
    finally:
        db.dispose()
    by_message = {entry.message: entry for entry in entries}
    assert by_message["Password of operator alice changed"].actor == "API"
    assert by_message["Operator alice unlocked"].actor == "API"
    for entry in entries:
        assert STRONG not in json.dumps([entry.before, entry.after])
        assert STRONG_2 not in json.dumps([entry.before, entry.after])


def test_operator_add_prompts_twice_and_refuses_a_mismatch(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import getpass

    answers = iter([STRONG, STRONG_2])
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    code, _, err = run(capsys, "operator", "add", "carol", "--role", "admin")
    assert code == 2
    assert one_error_line(err) == "error: the passwords do not match; nothing was changed"
    assert len(prompts) == 2
    assert json.loads(run(capsys, "operator", "list", "--format", "json")[1]) == []


def test_weak_password_at_the_prompt_is_refused_before_the_repeat(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import getpass

    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return "aaaaaaaaaaaaaaaaaaaa"

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    code, _, err = run(capsys, "operator", "add", "dave", "--role", "viewer")
    assert code == 2
    assert "repeated" in one_error_line(err)
    assert len(prompts) == 1


def test_ctrl_c_at_the_prompt_says_interrupted(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import getpass

    def interrupted(prompt: str = "") -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(getpass, "getpass", interrupted)
    code, _, err = run(capsys, "operator", "add", "erin", "--role", "viewer")
    assert code == 1
    assert err.strip() == "interrupted"


def test_unknown_operator_is_one_line_error(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, "operator", "unlock", "nobody")
    assert code == 1
    assert one_error_line(err) == "error: no operator named 'nobody'"
    monkeypatch.setattr(sys, "stdin", io.StringIO(STRONG + "\n"))
    code, _, err = run(capsys, "operator", "passwd", "nobody", "--password-stdin")
    assert code == 1
    assert one_error_line(err) == "error: no operator named 'nobody'"
    assert sys.stdin.read() == STRONG + "\n"  # failed before reading the password


def test_password_stdin_with_no_input(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, _, err = run(capsys, "operator", "add", "frank", "--role", "viewer", "--password-stdin")
    assert code == 2
    assert one_error_line(err) == "error: no password on standard input"


# -- a locked database -------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["env", "option"])
def test_locked_database_is_one_line_error_after_the_busy_timeout(
    home: Path,
    db_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    assert run(capsys, "init")[0] == 0
    add_customer(capsys, "Sierra Nevada Callnet")
    timeout = ["--busy-timeout", "0.2"] if how == "option" else []
    if how == "env":
        monkeypatch.setenv("CARRIERTUI_BUSY_TIMEOUT", "0.2")

    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        code, out, err = run(capsys, *timeout, "customers", "add", "--name", "Redwood Regional")
        elapsed = time.monotonic() - started
        assert code == 1
        assert out == ""
        assert "locked" in one_error_line(err)
        assert elapsed < 5

        # Reading still works while another process holds the write lock.
        code, out, err = run(capsys, *timeout, "customers", "list")
        assert code == 0, err
        assert "Sierra Nevada Callnet" in out
    finally:
        holder.rollback()
        holder.close()

    code, out, _ = run(capsys, "customers", "list", "--format", "json")
    assert [row["name"] for row in json.loads(out)] == ["Sierra Nevada Callnet"]


def test_bad_busy_timeout_is_a_usage_error(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARRIERTUI_BUSY_TIMEOUT", "soon")
    code, _, err = run(capsys, "customers", "list")
    assert code == 2
    assert "busy timeout" in one_error_line(err)


# -- demo --------------------------------------------------------------------------------------


def test_demo_print_db_prints_the_url_without_building(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "demo", "--print-db")
    assert code == 0
    expected = home / "data" / "demo.sqlite"
    assert out.strip() == f"sqlite:///{expected}"
    assert not expected.exists()


def test_tui_and_demo_hand_the_right_database_to_the_app(
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fast_argon2: object,
    short_demo: None,
) -> None:
    """Only the hand-over is checked here: a stand-in replaces carriertui.app."""
    import types

    calls: list[tuple[str, dict]] = []
    fake_app = types.ModuleType("carriertui.app")

    def fake_run(database_url: str, **kwargs: object) -> int:
        calls.append((database_url, kwargs))
        return 7

    fake_app.run = fake_run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "carriertui.app", fake_app)
    # pytest's stdin and stdout are no terminal; the refusal has its own tests (test_terminal).
    monkeypatch.setattr("carriertui.terminal.has_terminal", lambda: True)

    assert main(["--db", "sqlite:///x.sqlite"]) == 7
    assert calls.pop() == ("sqlite:///x.sqlite", {})
    assert main([]) == 7
    assert calls.pop() == (f"sqlite:///{home / 'data' / 'carriertui.sqlite'}", {})

    demo_url = f"sqlite:///{home / 'data' / 'demo.sqlite'}"
    assert main(["demo"]) == 7  # builds on first use, then opens it logged in as the demo admin
    assert calls.pop() == (demo_url, {"demo": True, "auto_login": "demo"})
    assert (home / "data" / "demo.sqlite").exists()
    capsys.readouterr()


# -- hostile arguments (issue 19) ----------------------------------------------------------------

# What Python makes of the byte 0xff in an argument: a lone surrogate (surrogateescape).
INVALID_UTF8 = b"bad\xff".decode("utf-8", "surrogateescape")


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (("customers", "add", "--name", INVALID_UTF8), "--name"),
        (("customers", "add", f"--name={INVALID_UTF8}"), "--name"),
        (("customers", "list", "--search", INVALID_UTF8), "--search"),
        (("customers", "show", INVALID_UTF8), "the argument CUSTOMER"),
    ],
)
def test_invalid_utf8_in_an_argument_is_one_line_exit_2_and_nothing_stored(
    home: Path, db_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], named: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert one_error_line(err) == f"error: {named}: not valid UTF-8 text; nothing was changed"
    assert out == ""
    assert not db_path.exists()  # refused before the database was even opened


def test_invalid_utf8_from_a_real_process_is_one_line(home: Path) -> None:
    """The real entry point, with the raw byte in argv as a shell passes it."""
    result = subprocess.run(
        [sys.executable, "-m", "carriertui", "customers", "add", "--name", b"bad\xff"],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == b"error: --name: not valid UTF-8 text; nothing was changed\n"


def test_a_value_that_begins_with_a_dash_is_explained(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "customers", "add", "--name", "-Dash")
    assert code == 2
    assert "write a value that begins with '-' as --option=-value" in err
    code, out, err = run(capsys, "customers", "add", "--name=-Dash Telecom")
    assert code == 0, err
    assert "-Dash Telecom" in out
    code, out, _ = run(capsys, "--help")
    assert "--name=-Dash Telecom" in " ".join(out.split())
