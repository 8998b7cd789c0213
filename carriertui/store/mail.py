"""Outgoing mail: an outbox table and a sender that delivers it over SMTP or into a Maildir.

A message is queued in the same transaction as the change that sends it, so a rolled-back change
sends nothing. The sender claims one message at a time (atomically, so several processes can
flush at once), delivers it outside any transaction, then records the delivery (status, and a
SEND audit entry) in one transaction. A failed delivery is retried with exponential backoff.

Password messages carry no password while they wait: the password is generated at the moment
the message is sent and its hash stored in the same transaction that marks the message sent.
So no plaintext password ever rests in the database, even while SMTP is down. If the process
dies between the SMTP hand-off and that commit, the claim expires and the message is sent again
with a new password: the contact may get two messages, and the newer password is the one that
works. The same holds for a sender that stalls longer than its claim (5 minutes): another
process takes the message over and sends it with its own password; the stalled sender, finding
the message claimed by someone else, stores nothing, so only the takeover's password works.
"""

from __future__ import annotations

import mailbox
import os
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from carriertui.grid.model import Column, ColumnType, Tone, tones
from carriertui.store import audit, passwords
from carriertui.store.contacts import credentials as contact_credentials
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.rowsource import SqlRowSource, table_source
from carriertui.store.db.tables import Contact, Customer, OutboxMessage, table_of
from carriertui.store.db.types import utcnow
from carriertui.store.enums import AuditAction, HttpVerb, MailKind, OutboxStatus, Role
from carriertui.store.errors import StoreError

TABLE = "outbox_message"
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
CLAIM = timedelta(minutes=5)
ERROR_MAX = 300


class MailConfigError(StoreError):
    pass


class MailDeliveryError(StoreError):
    """A delivery failed for a reason the message names in one line (which server, why)."""


class Transport(Protocol):
    name: str

    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class MailSettings:
    """``[mail]`` in config.toml (or ``CARRIERTUI_MAIL_<KEY>``)."""

    transport: str = "smtp"  # smtp | maildir
    host: str = "localhost"
    port: int = 25
    security: str = "none"  # none | starttls | tls
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "carriertui@localhost"
    maildir: Path | None = None
    timeout_s: float = 15.0

    @classmethod
    def from_config(
        cls, section: Mapping[str, Any], *, default_maildir: Path | None = None
    ) -> MailSettings:
        transport = str(section.get("transport") or ("maildir" if default_maildir else "smtp"))
        transport = transport.strip().lower()
        if transport not in ("smtp", "maildir"):
            raise MailConfigError(f"[mail] transport must be smtp or maildir, not {transport!r}")
        security = str(section.get("security", "none")).strip().lower()
        if security not in ("none", "starttls", "tls"):
            raise MailConfigError(
                f"[mail] security must be none, starttls or tls, not {security!r}"
            )
        default_port = {"none": 25, "starttls": 587, "tls": 465}[security]
        try:
            port = int(section.get("port", default_port))
        except (TypeError, ValueError):
            raise MailConfigError("[mail] port must be a number") from None
        if not 1 <= port <= 65535:
            raise MailConfigError(f"[mail] port must be between 1 and 65535, not {port}")
        maildir = section.get("maildir")
        return cls(
            transport=transport,
            host=str(section.get("host", "localhost")),
            port=port,
            security=security,
            user=section.get("user") or None,
            password=section.get("password") or None,
            sender=str(section.get("from", "carriertui@localhost")),
            maildir=Path(maildir).expanduser() if maildir else default_maildir,
        )

    def transport_object(self) -> Transport:
        if self.transport == "maildir":
            if self.maildir is None:
                raise MailConfigError("[mail] transport is maildir but no maildir path is set")
            return MaildirTransport(self.maildir)
        return SmtpTransport(self)

    def describe(self) -> str:
        if self.transport == "maildir":
            return f"maildir {self.maildir}"
        return f"smtp {self.host}:{self.port} ({self.security})"


class SmtpTransport:
    name = "smtp"

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        context = ssl.create_default_context()
        client: smtplib.SMTP
        try:
            if s.security == "tls":
                client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=context)
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
        except (ConnectionError, TimeoutError, socket.gaierror) as error:
            # A wrong host or port: say which, in one line ("Connection refused" alone does not).
            reason = error.strerror or str(error) or type(error).__name__
            raise MailDeliveryError(f"smtp {s.host}:{s.port}: {reason}") from error
        with client:
            if s.security == "starttls":
                client.starttls(context=context)
            if s.user:
                client.login(s.user, s.password or "")
            client.send_message(message)


MAILDIR_SUBFOLDERS = ("tmp", "new", "cur")


class MaildirTransport:
    """Writes each message into a Maildir (tmp/ then new/, so a reader never sees half).

    The folder may exist already, empty (an admin made ``/var/mail/carriertui`` for the mail
    reader): ``tmp/``, ``new/`` and ``cur/`` are created as needed, with the folder's own
    permission bits, so a folder an admin shared with a group stays shared.
    """

    name = "maildir"

    def __init__(self, path: Path) -> None:
        self.path = path

    def check(self) -> None:
        """Make the folder a Maildir, or raise MailConfigError saying in one line why this
        account cannot deliver into it (before a message is claimed and its attempt spent)."""
        where = f"[mail] maildir {self.path}"
        try:
            if not self.path.exists():
                self.path.mkdir(parents=True, mode=0o700)
            if not self.path.is_dir():
                raise MailConfigError(f"{where} is not a folder")
            mode = self.path.stat().st_mode & 0o777
            for name in MAILDIR_SUBFOLDERS:
                sub = self.path / name
                if not sub.is_dir():
                    sub.mkdir(mode=mode)
                    sub.chmod(mode)  # exactly the folder's bits, whatever the umask took away
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise MailConfigError(f"{where} cannot be used: {reason}") from None
        for name in MAILDIR_SUBFOLDERS:
            if not os.access(self.path / name, os.W_OK | os.X_OK):
                raise MailConfigError(
                    f"{where}: this account cannot write to {name}/ (ask an admin for write "
                    "access, or set another [mail] maildir)"
                )

    def send(self, message: EmailMessage) -> None:
        self.check()
        box = mailbox.Maildir(self.path, create=True)
        box.add(message)


# -- queueing (inside a service's transaction) -------------------------------------------------


def queue_password(
    session: Session,
    actor: Actor,
    contact: Contact,
    *,
    welcome: bool,
    comment: str | None = None,
) -> OutboxMessage:
    """Queue "your password" for ``contact``; the password is generated when it is sent."""
    customer = session.get(Customer, contact.customer_id)
    company = customer.name if customer else "your company"
    subject = "Your customer portal login" if welcome else "Your new customer portal password"
    body = (
        f"Log in to the customer portal of {company} with your email address "
        f"{contact.email} and the password above.\n"
        "You will be asked to choose a new password when you first log in.\n\n"
        "If you did not expect this message, tell your account manager.\n"
    )
    return _queue(
        session,
        actor,
        kind=MailKind.PASSWORD,
        to=contact.email,
        subject=subject,
        body=body,
        contact_id=contact.id,
        customer_id=contact.customer_id,
        message=(
            f"Password email for contact {contact.name} <{contact.email}> queued"
            if not welcome
            else f"Welcome email with a password for {contact.name} <{contact.email}> queued"
        ),
        comment=comment,
    )


def queue_notice(
    session: Session,
    actor: Actor,
    *,
    to: str,
    subject: str,
    body: str,
    customer_id: int | None,
    contact_id: int | None = None,
    message: str,
) -> OutboxMessage:
    """Queue a plain notice (an alarm, ...) in the caller's transaction, audited."""
    return _queue(
        session,
        actor,
        kind=MailKind.NOTICE,
        to=to,
        subject=subject,
        body=body,
        contact_id=contact_id,
        customer_id=customer_id,
        message=message,
        comment=None,
    )


def _queue(
    session: Session,
    actor: Actor,
    *,
    kind: MailKind,
    to: str,
    subject: str,
    body: str,
    contact_id: int | None,
    customer_id: int | None,
    message: str,
    comment: str | None,
) -> OutboxMessage:
    outbox = OutboxMessage(
        kind=kind.value,
        to_address=to,
        subject=subject,
        body=body,
        contact_id=contact_id,
        customer_id=customer_id,
        requested_by=actor.name,
        status=OutboxStatus.PENDING.value,
    )
    session.add(outbox)
    session.flush()
    audit.record(
        session,
        actor,
        action=AuditAction.CREATE,
        verb=HttpVerb.POST,
        table=TABLE,
        key=outbox.id,
        customer_id=customer_id,
        message=message,
        after=_audit_view(outbox),
        comment=comment,
    )
    return outbox


def _audit_view(outbox: OutboxMessage) -> dict[str, Any] | None:
    data = audit.snapshot(outbox)
    if data is not None:
        data.pop("body", None)  # the text is a template; what matters is who and what
    return data


def cancel_for_contact(session: Session, contact_id: int) -> None:
    """A deleted contact's unsent messages are cancelled with it."""
    for outbox in session.exec(
        select(OutboxMessage).where(
            OutboxMessage.contact_id == contact_id,
            col(OutboxMessage.status).in_([OutboxStatus.PENDING.value]),
        )
    ):
        outbox.status = OutboxStatus.CANCELLED.value
        outbox.last_error = "the contact was deleted"
        session.add(outbox)


# -- sending -------------------------------------------------------------------------------------


@dataclass
class FlushReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"sent {self.sent}, retrying {self.retrying}, failed {self.failed}, "
            f"cancelled {self.cancelled}"
        )

    def problem(self) -> str | None:
        """The one line to tell the operator when nothing could be delivered (a wrong host or
        port, a server that refuses): the last error. None when anything went out."""
        if self.sent or not self.errors:
            return None
        return self.errors[-1]


def retry_delay(attempts: int) -> timedelta:
    """30 s after the first failure, doubling, at most an hour."""
    delay = FIRST_RETRY * (2 ** max(attempts - 1, 0))
    return min(delay, LONGEST_RETRY)


def _claim(db: Database, now: datetime) -> tuple[int, int] | None:
    """Take the next due message (or one whose sender died). Returns (id, attempt number)."""
    with db.write() as session:
        due = or_(
            and_(
                col(OutboxMessage.status) == OutboxStatus.PENDING.value,
                col(OutboxMessage.next_attempt_at) <= now,
            ),
            and_(
                col(OutboxMessage.status) == OutboxStatus.SENDING.value,
                col(OutboxMessage.claimed_until) < now,
            ),
        )
        outbox = session.exec(
            select(OutboxMessage)
            .where(due)
            .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if outbox is None:
            return None
        outbox.status = OutboxStatus.SENDING.value
        outbox.attempts += 1
        outbox.claimed_until = now + CLAIM
        session.add(outbox)
        assert outbox.id is not None
        return outbox.id, outbox.attempts


def _compose(outbox: OutboxMessage, sender: str, password: str | None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = outbox.to_address
    message["Subject"] = outbox.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    message["X-Carriertui-Outbox-Id"] = str(outbox.id)
    text = outbox.body
    if password is not None:
        text = f"Your password: {password}\n\n{text}"
    message.set_content(text)
    return message


def _scrub(error: BaseException, secret: str | None) -> str:
    text = (
        str(error) if isinstance(error, MailDeliveryError) else f"{type(error).__name__}: {error}"
    )
    if secret:
        text = text.replace(secret, audit.REDACTED)
    return text[:ERROR_MAX]


def flush_outbox(
    db: Database,
    transport: Transport,
    *,
    sender: str = "carriertui@localhost",
    ip: str = "127.0.0.1",
    limit: int = 100,
    clock: Callable[[], datetime] = utcnow,
) -> FlushReport:
    """Deliver due messages, at most ``limit``. Safe to run from several processes at once."""
    report = FlushReport()
    # A wrong setting (a Maildir this account cannot write) is one clear error, raised before
    # any message is claimed: no attempt is spent on it, and nothing is half-delivered.
    check = getattr(transport, "check", None)
    if callable(check):
        check()
    for _ in range(limit):
        claimed = _claim(db, clock())
        if claimed is None:
            break
        message_id, attempt = claimed
        with db.read() as session:
            stored = session.get(OutboxMessage, message_id)
            assert stored is not None
            # A detached copy: the read session expires what it loaded when it ends.
            outbox = OutboxMessage(**stored.model_dump())
            contact_exists = bool(stored.contact_id) and (
                session.get(Contact, stored.contact_id) is not None
            )
        if outbox.kind == MailKind.PASSWORD.value and not contact_exists:
            _finish(db, message_id, attempt, OutboxStatus.CANCELLED, "the contact was deleted")
            report.cancelled += 1
            continue
        password = password_hash = None
        if outbox.kind == MailKind.PASSWORD.value:
            password = passwords.generate_password()
            password_hash = passwords.hash_password(password)
        try:
            transport.send(_compose(outbox, sender, password))
        except Exception as error:  # any delivery failure: count it, retry later
            text = _scrub(error, password)
            report.errors.append(text)
            if attempt >= MAX_ATTEMPTS:
                _finish(db, message_id, attempt, OutboxStatus.FAILED, text)
                report.failed += 1
            else:
                _finish(db, message_id, attempt, OutboxStatus.PENDING, text, clock=clock)
                report.retrying += 1
            continue
        finally:
            password = None  # drop the plaintext as soon as it has been handed over
        with db.write() as session:
            current = session.get(OutboxMessage, message_id)
            if current is None or current.attempts != attempt:
                continue  # another sender took it over after our claim expired
            actor = Actor(name=current.requested_by, role=Role.ADMIN, ip=ip)
            if password_hash is not None and current.contact_id is not None:
                target = session.get(Contact, current.contact_id)
                if target is not None:
                    contact_credentials.set_password_hash(
                        session,
                        actor,
                        target,
                        password_hash,
                        must_change=True,
                        message=f"Password of contact {target.name} generated and emailed",
                    )
            current.status = OutboxStatus.SENT.value
            current.sent_at = clock()
            current.claimed_until = None
            current.last_error = None
            session.add(current)
            session.flush()
            audit.record(
                session,
                actor,
                action=AuditAction.SEND,
                verb=HttpVerb.POST,
                table=TABLE,
                key=current.id,
                customer_id=current.customer_id,
                message=(
                    f"Email {current.subject!r} sent to {current.to_address} via "
                    f"{transport.name} (attempt {attempt})"
                ),
                after=_audit_view(current),
            )
        report.sent += 1
    return report


def _finish(
    db: Database,
    message_id: int,
    attempt: int,
    status: OutboxStatus,
    error: str,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    with db.write() as session:
        outbox = session.get(OutboxMessage, message_id)
        if outbox is None or outbox.attempts != attempt:
            return
        outbox.status = status.value
        outbox.last_error = error
        outbox.claimed_until = None
        if status is OutboxStatus.PENDING:
            outbox.next_attempt_at = clock() + retry_delay(attempt)
        session.add(outbox)


# -- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxRecord:
    id: int
    to_address: str
    subject: str
    status: OutboxStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None


def list_messages(db: Database, actor: Actor) -> list[OutboxRecord]:
    actor.require(Role.VIEWER, "read the outbox")
    with db.read() as session:
        return [
            OutboxRecord(
                id=o.id or 0,
                to_address=o.to_address,
                subject=o.subject,
                status=OutboxStatus(o.status),
                attempts=o.attempts,
                last_error=o.last_error,
                created_at=o.created_at,
                next_attempt_at=o.next_attempt_at,
                sent_at=o.sent_at,
            )
            for o in session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        ]


GRID_COLUMNS = (
    Column("created_at", "Queued (UTC)", ColumnType.TIMESTAMP),
    Column("to_address", "To", width=26),
    Column("subject", "Subject", width=30),
    Column(
        "status",
        "Status",
        width=9,
        tone=tones(
            {
                OutboxStatus.PENDING: Tone.WARNING,
                OutboxStatus.SENDING: Tone.WARNING,
                OutboxStatus.SENT: Tone.SUCCESS,
                OutboxStatus.FAILED: Tone.ERROR,
                OutboxStatus.CANCELLED: Tone.MUTED,
            }
        ),
    ),
    Column("attempts", "Tries", ColumnType.INTEGER, width=5),
    Column("next_attempt_at", "Next try (UTC)", ColumnType.TIMESTAMP),
    Column("sent_at", "Sent (UTC)", ColumnType.TIMESTAMP),
    Column("last_error", "Last error", width=40),
)


def grid_source(db: Database, actor: Actor) -> SqlRowSource:
    actor.require(Role.VIEWER, "read the outbox")
    table = table_of(OutboxMessage)
    return table_source(db, name="outbox", table=table, columns=GRID_COLUMNS)
