"""Operator accounts and logins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from carriertui.grid.model import Column, ColumnType, Tone, tones
from carriertui.store import audit, edits, passwords
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.locks import lock_operator_accounts
from carriertui.store.db.rowsource import SqlRowSource, table_source
from carriertui.store.db.tables import Operator, table_of
from carriertui.store.db.types import utcnow
from carriertui.store.enums import AuditAction, HttpVerb, Role
from carriertui.store.errors import AuthenticationError, NotFoundError, ValidationError

MAX_FAILED_LOGINS = 10
LOCKOUT = timedelta(minutes=15)
TABLE = "operator"
AUDITED = edits.Audited(TABLE)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class OperatorRecord:
    id: int
    name: str
    role: Role
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    disabled_at: datetime | None = None

    def is_locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None


def _to_record(operator: Operator) -> OperatorRecord:
    assert operator.id is not None
    return OperatorRecord(
        id=operator.id,
        name=operator.name,
        role=Role(operator.role),
        failed_logins=operator.failed_logins,
        locked_until=operator.locked_until,
        last_login_at=operator.last_login_at,
        created_at=operator.created_at,
        disabled_at=operator.disabled_at,
    )


def validate_name(name: str) -> str:
    name = name.strip()
    if not _NAME.match(name):
        raise ValidationError(
            "name", "1-64 characters: letters, digits and . _ @ - (starting with a letter or digit)"
        )
    return name


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise ValidationError("role", "must be one of admin, operator, viewer") from None


def _get_by_name(session: Session, name: str) -> Operator | None:
    return session.exec(select(Operator).where(Operator.name == name)).first()


def _operator_named(session: Session, name: str) -> Operator:
    operator = _get_by_name(session, name)
    if operator is None:
        raise NotFoundError(f"no operator named {name!r}")
    return operator


def _save_audited(
    session: Session,
    actor: Actor,
    operator: Operator,
    before: dict[str, Any] | None,
    message: str,
) -> None:
    """Save a change to ``operator`` and audit it (UPDATE, before and after), in the caller's
    transaction."""
    edits.apply_audited(
        session, actor, operator, {}, AUDITED, message=lambda row: message, before=before
    )


def _is_enabled_admin(operator: Operator) -> bool:
    return operator.role == Role.ADMIN.value and operator.disabled_at is None


def count_operators(db: Database) -> int:
    """How many operators exist (0 on a fresh database: the TUI offers a first admin)."""
    with db.read() as session:
        return int(session.exec(select(func.count()).select_from(Operator)).one())


def _insert(session: Session, actor: Actor, name: str, role: Role, password: str) -> Operator:
    if _get_by_name(session, name) is not None:
        raise ValidationError("name", f"an operator named {name!r} exists already")
    operator = Operator(name=name, role=role, password_hash=passwords.hash_password(password))
    edits.record_create(
        session,
        actor,
        operator,
        AUDITED,
        message=lambda row: f"Operator {name} created ({role.value})",
    )
    return operator


def create_operator(
    db: Database, actor: Actor, name: str, role: Role | str, password: str
) -> OperatorRecord:
    actor.require(Role.ADMIN, "create operators")
    name = validate_name(name)
    role = parse_role(role) if isinstance(role, str) else role
    passwords.check_password_policy(password, username=name)
    with db.write() as session:
        return _to_record(_insert(session, actor, name, role, password))


def create_first_admin(db: Database, name: str, password: str, ip: str) -> OperatorRecord:
    """Create the first admin on an empty database. Refused once any operator exists, checked
    inside the write transaction so two first-runs cannot both succeed."""
    name = validate_name(name)
    passwords.check_password_policy(password, username=name)
    password_hash_input = password
    with db.write() as session:
        if session.exec(select(func.count()).select_from(Operator)).one():
            raise ValidationError("name", "an operator exists already: log in instead")
        actor = Actor(name=name, role=Role.ADMIN, ip=ip)
        return _to_record(_insert(session, actor, name, Role.ADMIN, password_hash_input))


def list_operators(db: Database, actor: Actor) -> list[OperatorRecord]:
    actor.require(Role.ADMIN, "list operators")
    with db.read() as session:
        return [_to_record(o) for o in session.exec(select(Operator).order_by(col(Operator.name)))]


def get_operator(db: Database, actor: Actor, name: str) -> OperatorRecord:
    actor.require(Role.VIEWER, "read operators")
    with db.read() as session:
        operator = _operator_named(session, name)
        return _to_record(operator)


def change_password(db: Database, actor: Actor, name: str, new_password: str) -> None:
    """An admin may set anyone's password; everyone else only their own."""
    if actor.name != name:
        actor.require(Role.ADMIN, "change another operator's password")
    passwords.check_password_policy(new_password, username=name)
    new_hash = passwords.hash_password(new_password)
    with db.write() as session:
        operator = _operator_named(session, name)
        before = audit.snapshot(operator)
        operator.password_hash = new_hash
        _save_audited(session, actor, operator, before, f"Password of operator {name} changed")


def unlock_operator(db: Database, actor: Actor, name: str) -> OperatorRecord:
    actor.require(Role.ADMIN, "unlock operators")
    with db.write() as session:
        operator = _operator_named(session, name)
        before = audit.snapshot(operator)
        operator.failed_logins = 0
        operator.locked_until = None
        _save_audited(session, actor, operator, before, f"Operator {name} unlocked")
        return _to_record(operator)


def _enabled_admins(session: Session) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(Operator)
            .where(Operator.role == Role.ADMIN.value, col(Operator.disabled_at).is_(None))
        ).one()
    )


def _change_account(
    db: Database,
    actor: Actor,
    name: str,
    *,
    role: Role | None = None,
    disabled: bool | None = None,
) -> OperatorRecord:
    """Set an operator's role and/or disable or enable the account, audited. The last enabled
    admin can be neither demoted nor disabled (nobody could manage the accounts then), and an
    admin does not disable their own account."""
    actor.require(Role.ADMIN, "manage operator accounts")
    with db.write() as session:
        lock_operator_accounts(session)
        operator = _operator_named(session, name)
        before = audit.snapshot(operator)
        was_enabled_admin = _is_enabled_admin(operator)
        changes: list[str] = []
        if role is not None and role.value != operator.role:
            changes.append(f"role {operator.role} -> {role.value}")
            operator.role = role.value
        if disabled is True and operator.disabled_at is None:
            if operator.name == actor.name:
                raise ValidationError("name", "you cannot disable your own account")
            operator.disabled_at = utcnow()
            changes.append("disabled")
        elif disabled is False and operator.disabled_at is not None:
            operator.disabled_at = None
            operator.failed_logins = 0
            operator.locked_until = None
            changes.append("enabled")
        if not changes:
            return _to_record(operator)
        if was_enabled_admin and not _is_enabled_admin(operator):
            session.flush()
            if _enabled_admins(session) == 0:
                raise ValidationError(
                    "role", f"{name} is the last enabled admin; make another admin first"
                )
        _save_audited(session, actor, operator, before, f"Operator {name}: {', '.join(changes)}")
        return _to_record(operator)


def set_role(db: Database, actor: Actor, name: str, role: Role | str) -> OperatorRecord:
    """Give operator ``name`` another role (admin only; never the last admin's)."""
    return _change_account(db, actor, name, role=parse_role(str(role)))


def set_disabled(db: Database, actor: Actor, name: str, disabled: bool) -> OperatorRecord:
    """Disable (no login; their delayed changes are not applied) or enable an account."""
    return _change_account(db, actor, name, disabled=disabled)


def _audit_login(
    session: Session,
    actor: Actor,
    operator: Operator,
    message: str,
    *,
    before: dict[str, object] | None = None,
    after: dict[str, object] | None = None,
) -> None:
    audit.record(
        session,
        actor,
        action=AuditAction.LOGIN,
        verb=HttpVerb.POST,
        table=TABLE,
        key=operator.id,
        message=message,
        before=before,
        after=after,
    )


def demo_login(db: Database, name: str, ip: str) -> Actor:
    """The demo's login without a password (only `carriertui demo` calls this, on the demo
    database). Audited like any login, so the demo's log reads like a real one."""
    with db.write() as session:
        operator = _operator_named(session, name)
        actor = Actor(name=operator.name, role=Role(operator.role), ip=ip, operator_id=operator.id)
        _audit_login(session, actor, operator, "Login without a password (demo database)")
        return actor


def authenticate(db: Database, name: str, password: str, ip: str) -> Actor:
    """Check a login. Returns the Actor for the session, or raises AuthenticationError.

    Unknown user, wrong password and locked account give the same error and cost the same
    argon2 verification. Ten consecutive failures lock the account for 15 minutes; successes,
    failures and lockouts of existing accounts are audited.
    """
    name = name.strip()
    with db.read() as session:
        operator = _get_by_name(session, name)
        stored_hash = operator.password_hash if operator else passwords.dummy_hash()
    # The slow part runs outside any write transaction, so it never holds the database lock.
    password_ok = passwords.verify_password(stored_hash, password)
    if operator is None:
        raise AuthenticationError()
    rehash = (
        passwords.hash_password(password)
        if password_ok and passwords.needs_rehash(stored_hash)
        else None
    )

    with db.write() as session:
        current = _get_by_name(session, name)
        if current is None:
            raise AuthenticationError()
        now = utcnow()
        actor = Actor(name=current.name, role=Role(current.role), ip=ip, operator_id=current.id)
        before = audit.snapshot(current)
        locked = current.locked_until is not None and current.locked_until > now
        if current.disabled_at is not None:
            _audit_login(session, actor, current, "Login refused: account is disabled")
        elif locked:
            _audit_login(session, actor, current, "Login refused: account is locked")
        elif password_ok and current.password_hash == stored_hash:
            current.failed_logins = 0
            current.locked_until = None
            current.last_login_at = now
            if rehash:
                current.password_hash = rehash
            session.add(current)
            session.flush()
            _audit_login(
                session, actor, current, "Login", before=before, after=audit.snapshot(current)
            )
            return actor
        else:
            current.failed_logins += 1
            message = f"Login failed ({current.failed_logins} of {MAX_FAILED_LOGINS})"
            if current.failed_logins >= MAX_FAILED_LOGINS:
                current.locked_until = now + LOCKOUT
                current.failed_logins = 0
                minutes = int(LOCKOUT.total_seconds() // 60)
                message = (
                    f"Account locked for {minutes} minutes after {MAX_FAILED_LOGINS} failed logins"
                )
            session.add(current)
            session.flush()
            _audit_login(
                session, actor, current, message, before=before, after=audit.snapshot(current)
            )
    raise AuthenticationError()


GRID_COLUMNS = (
    Column("name", "Name", width=16),
    Column(
        "role",
        "Role",
        width=8,
        tone=tones({Role.ADMIN: Tone.WARNING, Role.VIEWER: Tone.MUTED}),
    ),
    Column("disabled_at", "Disabled (UTC)", ColumnType.TIMESTAMP, empty="—"),
    Column("failed_logins", "Failed", ColumnType.INTEGER, width=6),
    Column("locked_until", "Locked until (UTC)", ColumnType.TIMESTAMP),
    Column("last_login_at", "Last login (UTC)", ColumnType.TIMESTAMP, empty="never"),
    Column("created_at", "Created (UTC)", ColumnType.TIMESTAMP),
)


def grid_source(db: Database, actor: Actor) -> SqlRowSource:
    """Every operator account, for the admins' Operators screen (never a password hash)."""
    actor.require(Role.ADMIN, "list operators")
    table = table_of(Operator)
    return table_source(db, name="operators", table=table, columns=GRID_COLUMNS)
