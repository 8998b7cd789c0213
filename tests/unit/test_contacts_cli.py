"""``carriertui contacts``, ``mail`` and ``pending`` run in-process through ``main()``, and the
canary: after the whole contact and password flow, no password appears anywhere at rest."""

from __future__ import annotations

import csv
import json
import logging
import mailbox
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from carriertui.cli import main
from carriertui.grid.export import write_csv
from carriertui.grid.model import Query
from carriertui.store import audit, customers, mail, pending
from carriertui.store.contacts import service as contacts
from carriertui.store.db.database import open_database
from carriertui.store.db.tables import AuditEntry, OutboxMessage
from carriertui.store.db.types import utcnow

IP = "198.51.100.20"


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "cli.sqlite"


@pytest.fixture
def url(db_file: Path) -> str:
    return f"sqlite:///{db_file}"


@pytest.fixture
def db(url):
    database = open_database(url)
    yield database
    database.dispose()


@pytest.fixture
def maildir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "Maildir"
    monkeypatch.setenv("CARRIERTUI_MAIL_TRANSPORT", "maildir")
    monkeypatch.setenv("CARRIERTUI_MAIL_MAILDIR", str(folder))
    return folder


@pytest.fixture
def acme(db, admin):
    return customers.create_customer(db, admin, {"name": "Acme Telecom", "account_code": "ACME"})


def run(capsys, url: str, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--db", url])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def delivered(folder: Path) -> list[mailbox.MaildirMessage]:
    if not folder.exists():
        return []
    return sorted(mailbox.Maildir(folder, create=False), key=lambda m: m["X-Carriertui-Outbox-Id"])


def password_in(message) -> str:
    for line in message.get_payload(decode=True).decode("utf-8").splitlines():
        if line.startswith("Your password: "):
            return line.removeprefix("Your password: ").strip()
    raise AssertionError("no password in the message")


def audit_rows(db) -> list[AuditEntry]:
    with db.read() as session:
        rows = list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))))
        session.expunge_all()
        return rows


def outbox(db) -> list[OutboxMessage]:
    with db.read() as session:
        rows = list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))
        session.expunge_all()
        return rows


# -- contacts add / list / reset-password ------------------------------------------------------


def test_contacts_add_queues_a_mail_audited_as_api(capsys, url, db, acme, viewer) -> None:
    code, out, err = run(
        capsys,
        url,
        "contacts",
        "add",
        "--customer",
        "ACME",
        "--name",
        "Jane Doe",
        "--email",
        "Jane@Acme.example",
        "--phone",
        "+44 20 7946 0958",
        "--type",
        "technical",
    )
    assert code == 0, err
    assert "created contact" in out and "Jane@acme.example" in out
    (record,) = contacts.list_contacts(db, viewer)
    assert (record.email, record.phone, record.contact_type.value) == (
        "Jane@acme.example",
        "+442079460958",
        "Technical",
    )
    assert not record.has_password
    (queued,) = outbox(db)
    assert (queued.status, queued.to_address, queued.requested_by) == (
        "pending",
        "Jane@acme.example",
        "API",
    )
    entries = [e for e in audit_rows(db) if e.actor == "API"]
    assert [(e.action, e.table_name) for e in entries] == [
        ("CREATE", "contact"),
        ("CREATE", "outbox_message"),
    ]
    assert all(e.customer_id == acme.id for e in entries)


def test_contacts_list_json_and_customer_filter(capsys, url, db, acme, admin) -> None:
    globex = customers.create_customer(db, admin, {"name": "Globex", "account_code": "GLX"})
    contacts.create_contact(
        db, admin, acme.id, {"name": "Jane", "email": "jane@acme.example", "ip_whitelist": "10.1"}
    )
    contacts.create_contact(db, admin, globex.id, {"name": "Hank", "email": "hank@globex.example"})
    code, out, err = run(capsys, url, "contacts", "list", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert [(r["customer"], r["name"], r["email"]) for r in rows] == [
        ("Globex", "Hank", "hank@globex.example"),
        ("Acme Telecom", "Jane", "jane@acme.example"),
    ]
    assert rows[1]["ip_whitelist"] == ["10.1.0.0/16"]
    assert rows[1]["contact_type"] == "Other"
    assert rows[1]["last_login_at"] is None
    assert not any("password" in key for row in rows for key in row)
    code, out, _ = run(capsys, url, "contacts", "list", "--customer", "GLX", "--format", "json")
    assert [r["name"] for r in json.loads(out)] == ["Hank"]
    code, out, _ = run(capsys, url, "contacts", "list", "--customer", "GLX")
    assert code == 0 and "Hank" in out and "Jane" not in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--email", "not-an-email"), "error: email: is not a valid email address"),
        (("--email", "x@acme.example", "--phone", "020 7946 0958"), "error: phone: needs the"),
        (("--email", "x@acme.example", "--mobile", "garbage"), "error: mobile: is not a phone"),
        (("--email", "x@acme.example", "--type", "Boss"), "error: contact_type: must be one of"),
        (
            (
                "--email",
                "TAKEN@acme.example",
            ),
            "error: email: TAKEN@acme.example is already",
        ),
    ],
)
def test_contacts_add_validation_errors_exit_2(
    capsys, url, db, acme, admin, extra, message
) -> None:
    contacts.create_contact(db, admin, acme.id, {"name": "Taken", "email": "taken@acme.example"})
    before = (len(contacts.list_contacts(db, admin)), len(outbox(db)), len(audit_rows(db)))
    code, out, err = run(
        capsys, url, "contacts", "add", "--customer", "ACME", "--name", "X", *extra
    )
    assert code == 2
    assert out == ""
    assert err.startswith(message), err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert (len(contacts.list_contacts(db, admin)), len(outbox(db)), len(audit_rows(db))) == before


def test_contacts_add_for_an_unknown_customer(capsys, url, db) -> None:
    code, _, err = run(
        capsys,
        url,
        "contacts",
        "add",
        "--customer",
        "NOPE",
        "--name",
        "X",
        "--email",
        "x@a.example",
    )
    assert code == 1
    assert err.startswith("error: ") and "NOPE" in err


def test_reset_password_and_mail_send_via_maildir(
    capsys, url, db, acme, admin, maildir, fast_argon2
) -> None:
    contacts.create_contact(
        db, admin, acme.id, {"name": "Jane", "email": "jane@acme.example"}, password=None
    )
    code, out, err = run(capsys, url, "mail", "send")
    assert code == 0, err
    assert f"mail via maildir {maildir}: sent 1, retrying 0" in out
    (welcome,) = delivered(maildir)
    first = password_in(welcome)

    code, out, err = run(capsys, url, "contacts", "reset-password", "JANE@acme.example")
    assert code == 0, err
    assert "will be generated and emailed" in out
    assert len(delivered(maildir)) == 1  # nothing goes out before 'mail send'
    code, out, err = run(capsys, url, "mail", "send")
    assert code == 0 and "sent 1" in out, err
    assert len(delivered(maildir)) == 2
    second = password_in(delivered(maildir)[1])
    assert second != first
    code, out, _ = run(capsys, url, "mail", "send")
    assert "sent 0" in out
    assert len(delivered(maildir)) == 2

    identity = contacts.authenticate(db, "jane@acme.example", second, IP)
    assert identity.must_change_password
    sends = [e for e in audit_rows(db) if e.action == "SEND"]
    assert len(sends) == 2 and all("via maildir" in e.message for e in sends)

    code, out, _ = run(capsys, url, "mail", "list", "--format", "json")
    rows = json.loads(out)
    assert [(r["to"], r["status"], r["attempts"]) for r in rows] == [
        ("jane@acme.example", "sent", 1)
    ] * 2
    assert first not in out and second not in out


def test_reset_password_for_an_unknown_email(capsys, url, db) -> None:
    code, _, err = run(capsys, url, "contacts", "reset-password", "ghost@acme.example")
    assert code == 1
    assert "ghost@acme.example" in err
    assert outbox(db) == []


def test_pending_run_and_list(capsys, url, db, acme, admin, monkeypatch) -> None:
    jane = contacts.create_contact(db, admin, acme.id, {"name": "Jane", "email": "j@acme.example"})
    change = pending.schedule_change(
        db,
        admin,
        contacts.TABLE,
        jane.id,
        {"name": "Jane Smith"},
        due_at=utcnow() + timedelta(minutes=10),
        expected_version=1,
    )
    code, out, err = run(capsys, url, "pending", "run")
    assert code == 0, err
    assert "delayed changes: applied 0, conflicts 0, failed 0" in out
    code, out, _ = run(capsys, url, "pending", "list", "--format", "json")
    (row,) = json.loads(out)
    assert (row["id"], row["status"], row["values"], row["scheduled_by"]) == (
        change.id,
        "pending",
        {"name": "Jane Smith"},
        "alice",
    )

    later = utcnow() + timedelta(minutes=11)
    monkeypatch.setattr(pending, "utcnow", lambda: later)
    code, out, err = run(capsys, url, "pending", "run")
    assert code == 0, err
    assert f"#{change.id} applied" in out
    assert "delayed changes: applied 1, conflicts 0, failed 0" in out
    assert contacts.get_contact(db, admin, jane.id).name == "Jane Smith"
    publish = [e for e in audit_rows(db) if e.action == "PUBLISH"]
    assert [(e.actor, e.table_name) for e in publish] == [("alice", "contact")]
    code, out, _ = run(capsys, url, "pending", "run")
    assert "applied 0" in out


# -- the canary --------------------------------------------------------------------------------

CANARY = "Canary-7f3a9c-violet-rivers"
CANARY_2 = "Canary-2b8e41-copper-lanterns"
WRONG_CANARY = "Canary-d00d55-typed-wrongly"


def test_no_password_rests_anywhere_after_the_whole_flow(
    capsys, caplog, url, db_file, db, acme, operator_actor, viewer, maildir, tmp_path, fast_argon2
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")  # every SQL statement and its parameters
    printed: list[str] = []

    def cli(*argv: str) -> str:
        code, out, err = run(capsys, url, *argv)
        printed.extend((out, err))
        assert code == 0, err
        return out

    # A contact with a password typed by hand, a login, and a wrong password typed once.
    jane = contacts.create_contact(
        db,
        operator_actor,
        acme.id,
        {"name": "Jane Doe", "email": "jane@acme.example", "private_notes": "calls at 9"},
        password=CANARY,
    )
    contacts.authenticate(db, "jane@acme.example", CANARY, IP)
    with pytest.raises(contacts.AuthenticationError):
        contacts.authenticate(db, "jane@acme.example", WRONG_CANARY, IP)

    # Reset by email, with SMTP down first (the message waits), then delivered to the Maildir.
    cli("contacts", "reset-password", "jane@acme.example")
    down = mail.SmtpTransport(mail.MailSettings(host="127.0.0.1", port=_closed_port(), timeout_s=2))
    assert mail.flush_outbox(db, down).retrying == 1
    assert mail.flush_outbox(db, mail.MaildirTransport(maildir), clock=_in(hours=1)).sent == 1
    generated = [password_in(m) for m in delivered(maildir)]

    # First portal login with the generated password, forced change to the second canary.
    identity = contacts.authenticate(db, "jane@acme.example", generated[0], IP)
    assert identity.must_change_password
    contacts.portal_change_password(db, identity, generated[0], CANARY_2)
    contacts.authenticate(db, "jane@acme.example", CANARY_2, IP)
    contacts.change_password(db, operator_actor, jane.id, password=CANARY)  # set by hand again

    # A contact added from the CLI gets a generated password by mail.
    cli("contacts", "add", "--customer", "ACME", "--name", "John", "--email", "john@acme.example")
    cli("mail", "send")
    generated = [password_in(m) for m in delivered(maildir)]
    assert len(generated) == 2
    contacts.authenticate(db, "john@acme.example", generated[1], IP)

    # A delayed change, applied.
    jane_now = contacts.get_contact(db, viewer, jane.id)
    pending.schedule_change(
        db,
        operator_actor,
        contacts.TABLE,
        jane.id,
        {"public_notes": "Portal user since 2026"},
        due_at=utcnow() + timedelta(minutes=5),
        expected_version=jane_now.version,
    )
    assert pending.run_due(db, now=utcnow() + timedelta(hours=1)).applied == 1
    cli("pending", "list", "--format", "json")
    cli("mail", "list", "--format", "json")
    cli("contacts", "list", "--format", "json")

    # Exports: the audit log through the CLI (CSV and JSON), and grids through write_csv.
    exports = tmp_path / "exports"
    exports.mkdir()
    cli("audit", "export", "-o", str(exports / "audit.csv"))
    cli("audit", "export", "--format", "json", "-o", str(exports / "audit.json"))
    cli("audit", "export")
    for name, source in {
        "contacts": contacts.grid_source(db, viewer),
        "acme-contacts": contacts.grid_source(db, viewer, customer_id=acme.id),
        "audit-grid": audit.grid_source(db, viewer),
        "outbox": mail.grid_source(db, viewer),
        "delay-log": pending.grid_source(db, viewer),
    }.items():
        written = write_csv(exports / f"{name}.csv", source.columns, source.iter_rows(Query()))
        assert written > 0
    with open(exports / "contacts.csv", newline="", encoding="utf-8") as handle:
        assert len(list(csv.reader(handle))) == 3  # the header and two contacts

    secrets = {CANARY, CANARY_2, WRONG_CANARY, *generated}
    assert len(secrets) == 5
    db.dispose()

    # Every table, through SQLite itself, and the raw bytes of the database and its WAL.
    connection = sqlite3.connect(db_file)
    try:
        dump = "\n".join(connection.iterdump())
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master")]
    finally:
        connection.close()
    assert {"contact", "outbox_message", "pending_change", "audit_entry"} <= set(tables)
    assert "jane@acme.example" in dump and "Portal user since 2026" in dump
    places = {"database dump": dump}
    for path in db_file.parent.glob(f"{db_file.name}*"):
        places[path.name] = path.read_bytes().decode("latin-1")
    for path in exports.iterdir():
        places[f"export {path.name}"] = path.read_text(encoding="utf-8")
    places["audit log"] = "\n".join(
        f"{e.message} {e.comment} {e.before_json} {e.after_json}" for e in audit_rows(db)
    )
    places["outbox"] = "\n".join(f"{m.subject} {m.body} {m.last_error}" for m in outbox(db))
    places["log output"] = caplog.text
    places["command output"] = "\n".join(printed)
    assert "INSERT INTO contact" in caplog.text  # the SQL log was really captured
    for where, text in places.items():
        for secret in secrets:
            assert secret not in text, f"a password found in {where}"


def _closed_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _in(**delta):
    moment = utcnow() + timedelta(**delta)
    return lambda: moment


def test_cli_entry_point_lists_the_new_commands(capsys) -> None:
    for group, commands in {
        "contacts": ("list", "add", "reset-password"),
        "mail": ("send", "list"),
        "pending": ("run", "list"),
    }.items():
        code = main([group, "--help"])
        out = capsys.readouterr().out
        assert code == 0
        for command in commands:
            assert command in out
    assert sys.modules.get("carriertui.cli") is not None


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"CARRIERTUI_MAIL_TRANSPORT": "pigeon"}, "error: [mail] transport must be smtp or"),
        ({"CARRIERTUI_MAIL_PORT": "25x"}, "error: [mail] port must be a number"),
        ({"CARRIERTUI_MAIL_PORT": "70000"}, "error: [mail] port must be between 1 and 65535"),
        (
            {"CARRIERTUI_MAIL_TRANSPORT": "maildir", "CARRIERTUI_MAIL_MAILDIR": "{blocked}/Mail"},
            "error: [mail] maildir {blocked}/Mail cannot be used: Not a directory",
        ),
    ],
)
def test_mail_send_reports_a_wrong_mail_setting_in_one_line(
    capsys, url, db, acme, admin, tmp_path, monkeypatch, variables, expected, fast_argon2
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("x\n", encoding="utf-8")
    for name, value in variables.items():
        monkeypatch.setenv(name, value.format(blocked=blocked))
    contacts.create_contact(
        db, admin, acme.id, {"name": "Jo", "email": "jo@acme.example"}, password=None
    )
    code, out, err = run(capsys, url, "mail", "send")
    assert code == 1
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith(expected.format(blocked=blocked))
    (message,) = mail.list_messages(db, admin)
    assert (message.status.value, message.attempts) == ("pending", 0)


def test_mail_send_into_an_existing_empty_maildir(
    capsys, url, db, acme, admin, tmp_path, fast_argon2
) -> None:
    folder = tmp_path / "var-mail"
    folder.mkdir()
    env = {"CARRIERTUI_MAIL_TRANSPORT": "maildir", "CARRIERTUI_MAIL_MAILDIR": str(folder)}
    contacts.create_contact(
        db, admin, acme.id, {"name": "Jo", "email": "jo@acme.example"}, password=None
    )
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        code, out, err = run(capsys, url, "mail", "send")
    assert (code, err) == (0, "")
    assert "sent 1" in out
    (message,) = list(mailbox.Maildir(folder, create=False))
    assert message["To"] == "jo@acme.example"


def test_mail_send_to_a_port_with_no_server_is_one_line_naming_it(
    capsys, url, db, acme, admin, monkeypatch, fast_argon2
) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("CARRIERTUI_MAIL_HOST", "127.0.0.1")
    monkeypatch.setenv("CARRIERTUI_MAIL_PORT", str(port))
    contacts.create_contact(
        db, admin, acme.id, {"name": "Jo", "email": "jo@acme.example"}, password=None
    )
    code, out, err = run(capsys, url, "mail", "send")
    assert code == 0  # retried later: cron hears of it on stderr
    assert "retrying 1" in out
    assert err == f"warning: smtp 127.0.0.1:{port}: Connection refused\n"
