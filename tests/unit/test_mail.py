"""The outbox and its sender, against a real SMTP server on loopback (aiosmtpd) and a Maildir.

A committed password reset delivers one message; a rolled-back one none; with SMTP down the
message waits (attempts counted, last error kept) and is delivered once when SMTP returns. The
password arrives only in the message, and logs the contact in with must-change set.
"""

from __future__ import annotations

import email
import mailbox
import socket
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import col, select

from carriertui.store import customers, mail
from carriertui.store.contacts import service as contacts
from carriertui.store.db.tables import Contact, OutboxMessage
from carriertui.store.db.types import utcnow

IP = "198.51.100.20"
PASSWORD = "violet rivers hum under granite"


class Collector:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        content = envelope.content
        if isinstance(content, bytes):
            content = content.decode("utf-8")
        self.messages.append((list(envelope.rcpt_tos), email.message_from_string(content)))
        return "250 Message accepted for delivery"


def unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    def __init__(self) -> None:
        self.port = unused_port()
        self.collector = Collector()
        self.controller: Controller | None = None

    @property
    def messages(self) -> list[tuple[list[str], Message]]:
        return self.collector.messages

    def start(self) -> None:
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def transport(self, **overrides) -> mail.SmtpTransport:
        settings = mail.MailSettings(
            host="127.0.0.1", port=self.port, sender="noc@carrier.example", timeout_s=5, **overrides
        )
        return mail.SmtpTransport(settings)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down() -> Iterator[SmtpServer]:
    """A port with nothing listening yet; the test starts the server when SMTP 'comes back'."""
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def acme(db, admin):
    return customers.create_customer(db, admin, {"name": "Acme Telecom", "account_code": "ACME"})


@pytest.fixture
def jane(db, operator_actor, acme, fast_argon2):
    """A contact with a password typed by hand, so no welcome mail is queued."""
    return contacts.create_contact(
        db,
        operator_actor,
        acme.id,
        {"name": "Jane Doe", "email": "jane@acme.example"},
        password=PASSWORD,
    )


def outbox_rows(db) -> list[OutboxMessage]:
    with db.read() as session:
        rows = list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))
        session.expunge_all()
        return rows


def password_in(message: Message) -> str:
    body = message.get_payload(decode=True).decode("utf-8")
    for line in body.splitlines():
        if line.startswith("Your password: "):
            return line.removeprefix("Your password: ").strip()
    raise AssertionError(f"no password in {body!r}")


def test_a_committed_reset_delivers_exactly_one_message(
    db, operator_actor, jane, smtp, audit_log
) -> None:
    assert outbox_rows(db) == []
    contacts.change_password(db, operator_actor, jane.id)
    (queued,) = outbox_rows(db)
    assert (queued.status, queued.attempts, queued.to_address) == ("pending", 0, jane.email)
    mark = audit_log.count()

    report = mail.flush_outbox(db, smtp.transport(), sender="noc@carrier.example", ip=IP)
    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    assert len(smtp.messages) == 1
    recipients, message = smtp.messages[0]
    assert recipients == [jane.email]
    assert message["To"] == jane.email
    assert message["From"] == "noc@carrier.example"
    generated = password_in(message)
    assert len(generated) >= 16
    assert generated not in (queued.body, queued.subject)

    (sent,) = outbox_rows(db)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 1, None)
    assert sent.sent_at is not None

    identity = contacts.authenticate(db, jane.email, generated, IP)
    assert identity.contact_id == jane.id
    assert identity.must_change_password

    entries = audit_log.since(mark)
    sends = [e for e in entries if e.action == "SEND"]
    assert len(sends) == 1
    assert sends[0].table_name == "outbox_message"
    assert sends[0].customer_id == jane.customer_id
    assert jane.email in sends[0].message
    generated_entry = [e for e in entries if e.table_name == "contact" and e.action == "UPDATE"]
    assert len(generated_entry) == 1
    assert "generated and emailed" in generated_entry[0].message
    for entry in audit_log.rows():
        assert generated not in f"{entry.message}{entry.before_json}{entry.after_json}"

    # Nothing more to send: a second flush delivers nothing.
    assert mail.flush_outbox(db, smtp.transport()).sent == 0
    assert len(smtp.messages) == 1


def test_a_rolled_back_reset_delivers_nothing(db, operator_actor, jane, smtp, audit_log) -> None:
    mark = audit_log.count()
    with pytest.raises(RuntimeError, match="after queueing"), db.write() as session:
        contact = session.get(Contact, jane.id)
        mail.queue_password(session, operator_actor, contact, welcome=False)
        raise RuntimeError("the change failed after queueing its mail")
    assert outbox_rows(db) == []
    assert audit_log.count() == mark
    report = mail.flush_outbox(db, smtp.transport())
    assert report.sent == 0
    assert smtp.messages == []
    assert contacts.authenticate(db, jane.email, PASSWORD, IP).contact_id == jane.id


def test_smtp_down_keeps_the_message_then_delivers_it_once(
    db, operator_actor, jane, smtp_down, audit_log
) -> None:
    contacts.change_password(db, operator_actor, jane.id)
    now = utcnow()
    report = mail.flush_outbox(db, smtp_down.transport(), clock=lambda: now)
    assert (report.sent, report.retrying, report.failed) == (0, 1, 0)
    assert report.errors and "Connection" in report.errors[0]
    (waiting,) = outbox_rows(db)
    assert waiting.status == "pending"
    assert waiting.attempts == 1
    assert waiting.last_error and "Connection" in waiting.last_error
    assert waiting.next_attempt_at >= now + mail.FIRST_RETRY - timedelta(seconds=1)
    # The old password still works: no new one was set while the mail did not go out.
    assert contacts.authenticate(db, jane.email, PASSWORD, IP).contact_id == jane.id

    # Still down, and not due yet: not even tried.
    assert mail.flush_outbox(db, smtp_down.transport(), clock=lambda: now).retrying == 0
    assert outbox_rows(db)[0].attempts == 1

    # Down again at the next attempt: the count goes on and the delay doubles.
    later = now + mail.FIRST_RETRY + timedelta(seconds=1)
    assert mail.flush_outbox(db, smtp_down.transport(), clock=lambda: later).retrying == 1
    (waiting,) = outbox_rows(db)
    assert waiting.attempts == 2
    assert waiting.next_attempt_at >= later + 2 * mail.FIRST_RETRY - timedelta(seconds=1)

    smtp_down.start()
    # Back, but the retry is not due yet.
    assert mail.flush_outbox(db, smtp_down.transport(), clock=lambda: later).sent == 0
    assert smtp_down.messages == []
    after_delay = later + mail.retry_delay(2) + timedelta(seconds=1)
    report = mail.flush_outbox(db, smtp_down.transport(), clock=lambda: after_delay)
    assert report.sent == 1
    assert mail.flush_outbox(db, smtp_down.transport(), clock=lambda: after_delay).sent == 0
    assert len(smtp_down.messages) == 1
    (sent,) = outbox_rows(db)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 3, None)
    generated = password_in(smtp_down.messages[0][1])
    assert contacts.authenticate(db, jane.email, generated, IP).must_change_password
    assert [e.action for e in audit_log.rows()].count("SEND") == 1


def test_retry_delay_backs_off_to_an_hour() -> None:
    assert mail.retry_delay(1) == timedelta(seconds=30)
    assert mail.retry_delay(2) == timedelta(seconds=60)
    assert mail.retry_delay(3) == timedelta(seconds=120)
    assert mail.retry_delay(20) == timedelta(hours=1)


def test_after_the_last_attempt_the_message_fails(db, operator_actor, jane, smtp_down) -> None:
    contacts.change_password(db, operator_actor, jane.id)
    moment = utcnow()
    for attempt in range(1, mail.MAX_ATTEMPTS + 1):
        report = mail.flush_outbox(db, smtp_down.transport(), clock=lambda at=moment: at)
        assert report.failed == (1 if attempt == mail.MAX_ATTEMPTS else 0)
        moment += timedelta(hours=2)
    (failed,) = outbox_rows(db)
    assert (failed.status, failed.attempts) == ("failed", mail.MAX_ATTEMPTS)
    assert mail.flush_outbox(db, smtp_down.transport(), clock=lambda: moment).failed == 0


def test_starttls_refused_by_the_server_is_retried_with_the_error(
    db, operator_actor, jane, smtp
) -> None:
    contacts.change_password(db, operator_actor, jane.id)
    report = mail.flush_outbox(db, smtp.transport(security="starttls"))
    assert report.retrying == 1
    assert smtp.messages == []
    (waiting,) = outbox_rows(db)
    assert "STARTTLS" in waiting.last_error


def test_the_welcome_mail_of_a_new_contact(db, operator_actor, acme, smtp, fast_argon2) -> None:
    record = contacts.create_contact(
        db, operator_actor, acme.id, {"name": "John", "email": "John@Acme.example"}
    )
    assert not record.has_password
    assert mail.flush_outbox(db, smtp.transport()).sent == 1
    (recipients, message), *_ = smtp.messages
    assert recipients == ["John@acme.example"]
    assert message["Subject"] == "Your customer portal login"
    identity = contacts.authenticate(db, "john@acme.example", password_in(message), IP)
    assert identity.must_change_password


def test_mail_to_a_deleted_contact_is_not_sent(db, operator_actor, jane, smtp) -> None:
    contacts.change_password(db, operator_actor, jane.id)
    contacts.delete_contact(db, operator_actor, jane.id)
    report = mail.flush_outbox(db, smtp.transport())
    assert report.sent == 0
    assert smtp.messages == []
    assert [row.status for row in outbox_rows(db)] == ["cancelled"]


def test_the_maildir_transport_writes_one_message(db, operator_actor, jane, tmp_path) -> None:
    folder = tmp_path / "Maildir"
    contacts.change_password(db, operator_actor, jane.id)
    report = mail.flush_outbox(db, mail.MaildirTransport(folder), sender="noc@carrier.example")
    assert report.sent == 1
    assert list((folder / "tmp").iterdir()) == []
    (path,) = list((folder / "new").iterdir())
    (message,) = list(mailbox.Maildir(folder, create=False))
    assert message["To"] == jane.email
    generated = password_in(message)
    assert generated in path.read_text(encoding="utf-8")
    assert contacts.authenticate(db, jane.email, generated, IP).must_change_password


def test_the_outbox_list_shows_no_secret(db, operator_actor, viewer, jane, smtp) -> None:
    contacts.change_password(db, operator_actor, jane.id)
    mail.flush_outbox(db, smtp.transport())
    generated = password_in(smtp.messages[0][1])
    (record,) = mail.list_messages(db, viewer)
    assert (record.to_address, record.status.value, record.attempts) == (jane.email, "sent", 1)
    assert generated not in repr(record)
    assert generated not in repr(outbox_rows(db))


# -- configuration -----------------------------------------------------------------------------


def test_settings_defaults_and_ports() -> None:
    plain = mail.MailSettings.from_config({})
    assert (plain.transport, plain.host, plain.port, plain.security) == (
        "smtp",
        "localhost",
        25,
        "none",
    )
    assert mail.MailSettings.from_config({"security": "STARTTLS"}).port == 587
    assert mail.MailSettings.from_config({"security": "tls"}).port == 465
    assert mail.MailSettings.from_config({"security": "tls", "port": "2465"}).port == 2465
    full = mail.MailSettings.from_config(
        {
            "host": "smtp.carrier.example",
            "user": "noc",
            "password": "smtp secret value",
            "from": "noc@carrier.example",
        }
    )
    assert (full.host, full.user, full.sender) == (
        "smtp.carrier.example",
        "noc",
        "noc@carrier.example",
    )
    assert "smtp secret value" not in repr(full)
    assert "smtp secret value" not in full.describe()


def test_settings_maildir(tmp_path: Path) -> None:
    settings = mail.MailSettings.from_config({"transport": "maildir", "maildir": str(tmp_path)})
    assert isinstance(settings.transport_object(), mail.MaildirTransport)
    assert settings.describe() == f"maildir {tmp_path}"
    default = mail.MailSettings.from_config({}, default_maildir=tmp_path)
    assert default.transport == "maildir"
    assert isinstance(mail.MailSettings.from_config({}).transport_object(), mail.SmtpTransport)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"transport": "pigeon"}, "[mail] transport must be smtp or maildir, not 'pigeon'"),
        ({"security": "ssl3"}, "[mail] security must be none, starttls or tls, not 'ssl3'"),
        ({"port": "twenty-five"}, "[mail] port must be a number"),
        ({"port": None}, "[mail] port must be a number"),
        ({"port": "0"}, "[mail] port must be between 1 and 65535, not 0"),
        ({"port": 70000}, "[mail] port must be between 1 and 65535, not 70000"),
    ],
)
def test_settings_errors_are_clear(section, message) -> None:
    with pytest.raises(mail.MailConfigError) as caught:
        mail.MailSettings.from_config(section)
    assert str(caught.value) == message


def test_maildir_without_a_path_is_a_clear_error() -> None:
    settings = mail.MailSettings.from_config({"transport": "maildir"})
    with pytest.raises(mail.MailConfigError, match="no maildir path is set"):
        settings.transport_object()


def test_settings_from_the_environment(tmp_path: Path) -> None:
    from carriertui import locations

    section = locations.mail_config(
        "sqlite:///x.sqlite",
        environ={
            "CARRIERTUI_MAIL_SECURITY": "starttls",
            "CARRIERTUI_MAIL_HOST": "mx.example",
            "CARRIERTUI_HOME": str(tmp_path),
        },
    )
    settings = mail.MailSettings.from_config(section)
    assert (settings.host, settings.port, settings.security) == ("mx.example", 587, "starttls")


# -- a Maildir an admin made, and wrong settings in one line (issue 20.4) ----------------------


def test_an_existing_empty_maildir_folder_gets_its_subfolders_and_the_mail(
    db, operator_actor, jane, tmp_path
) -> None:
    """The README's /var/mail/carriertui: an admin made the folder, empty, group-shared."""
    folder = tmp_path / "var-mail-carriertui"
    folder.mkdir()
    folder.chmod(0o2770)
    contacts.change_password(db, operator_actor, jane.id)
    report = mail.flush_outbox(db, mail.MaildirTransport(folder))
    assert (report.sent, report.errors) == (1, [])
    assert sorted(p.name for p in folder.iterdir()) == ["cur", "new", "tmp"]
    assert {(folder / name).stat().st_mode & 0o777 for name in ("cur", "new", "tmp")} == {0o770}
    (message,) = list(mailbox.Maildir(folder, create=False))
    assert message["To"] == jane.email


def test_a_maildir_that_cannot_be_a_folder_is_one_clear_error_and_spends_no_attempt(
    db, operator_actor, jane, tmp_path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the Maildir should be\n", encoding="utf-8")
    contacts.change_password(db, operator_actor, jane.id)
    with pytest.raises(mail.MailConfigError) as caught:
        mail.flush_outbox(db, mail.MaildirTransport(blocker / "Maildir"))
    text = str(caught.value)
    assert text.startswith(f"[mail] maildir {blocker / 'Maildir'} cannot be used: ")
    assert "\n" not in text
    ((row),) = outbox_rows(db)
    assert (row.status, row.attempts) == ("pending", 0)
    with pytest.raises(mail.MailConfigError, match="is not a folder"):
        mail.MaildirTransport(blocker).check()


def test_a_wrong_smtp_port_is_one_line_naming_the_server(
    db, operator_actor, jane, smtp_down
) -> None:
    contacts.change_password(db, operator_actor, jane.id)
    report = mail.flush_outbox(db, smtp_down.transport())
    expected = f"smtp 127.0.0.1:{smtp_down.port}: Connection refused"
    assert report.errors == [expected]
    assert report.problem() == expected
    ((row),) = outbox_rows(db)
    assert (row.status, row.last_error) == ("pending", expected)
