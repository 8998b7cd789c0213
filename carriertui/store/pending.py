"""Delay and Save: a validated change stored with a due time and applied exactly once.

The change is validated when it is scheduled (so it fails in front of the operator, not at
3 a.m.) and again when it is applied. It remembers the target's version: if the target was
edited after scheduling, applying it would overwrite that edit, so it becomes a conflict.

Applying claims and applies one change in one write transaction: on SQLite the transaction
starts with BEGIN IMMEDIATE, on PostgreSQL the row is taken with FOR UPDATE SKIP LOCKED, so
several processes (the app's timer, ``carriertui pending run`` from cron) never apply a change
twice, and a process killed half-way leaves the change pending for the next run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, SQLModel, col, select

from carriertui.grid.model import Column, ColumnType, Tone, tones
from carriertui.store import audit, customers, edits
from carriertui.store.contacts import service as contacts
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.rowsource import SqlRowSource, table_source
from carriertui.store.db.tables import Contact, Customer, PendingChange, table_of
from carriertui.store.db.types import utcnow
from carriertui.store.enums import AuditAction, HttpVerb, PendingStatus, Role
from carriertui.store.errors import (
    DatabaseBusyError,
    NotFoundError,
    StaleEditError,
    StoreError,
    ValidationError,
)

TABLE = "pending_change"
AUDITED = edits.Audited(TABLE, customer_id=lambda change: change.customer_id)
LONGEST_DELAY = timedelta(days=366)


@dataclass(frozen=True)
class Target:
    model: type[SQLModel]
    clean: Callable[[Mapping[str, Any]], dict[str, Any]]
    apply: Callable[..., bool]
    label: Callable[[Any], str]
    customer_id: Callable[[Any], int | None]
    # The row as its service returns it (a stale edit carries it, for the form's conflict).
    record: Callable[[Session, Any], Any]


TARGETS: dict[str, Target] = {
    contacts.TABLE: Target(
        model=Contact,
        clean=contacts.clean,
        apply=contacts.apply_changes,
        label=lambda contact: f"Contact {contact.name}",
        customer_id=lambda contact: contact.customer_id,
        record=lambda session, contact: contacts.record_of(session, contact),
    ),
    customers.TABLE: Target(
        model=Customer,
        clean=customers.clean,
        apply=customers.apply_changes,
        label=lambda customer: f"Customer {customer.name}",
        customer_id=lambda customer: customer.id,
        record=lambda _session, customer: customers.record_of(customer),
    ),
}


@dataclass(frozen=True)
class PendingRecord:
    id: int
    target_table: str
    target_id: int
    description: str
    changes: dict[str, Any]
    due_at: datetime
    operator: str
    base_version: int
    status: PendingStatus
    result: str | None
    applied_at: datetime | None


def _to_record(change: PendingChange) -> PendingRecord:
    assert change.id is not None
    return PendingRecord(
        id=change.id,
        target_table=change.target_table,
        target_id=change.target_id,
        description=change.description,
        changes=json.loads(change.changes_json),
        due_at=change.due_at,
        operator=change.operator,
        base_version=change.base_version,
        status=PendingStatus(change.status),
        result=change.result,
        applied_at=change.applied_at,
    )


def _target(table: str) -> Target:
    try:
        return TARGETS[table]
    except KeyError:
        raise ValidationError("target", f"changes to {table} cannot be delayed") from None


def _encode(cleaned: Mapping[str, Any]) -> str:
    return json.dumps(audit.snapshot(dict(cleaned)), sort_keys=True)


def parse_due(text: str, *, now: datetime | None = None) -> datetime:
    """``30m``, ``2h``, ``1d``, ``1h30m`` from now, or a UTC time ``2026-12-01 08:00``."""
    import re

    now = now or utcnow()
    raw = text.strip().lower()
    if not raw:
        raise ValidationError("due", "is required: a delay such as 30m, 2h, 1d or a UTC time")
    delay = re.fullmatch(r"(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?", raw)
    if delay and any(delay.groups()):
        days, hours, minutes = (int(part or 0) for part in delay.groups())
        return now + timedelta(days=days, hours=hours, minutes=minutes)
    try:
        when = datetime.fromisoformat(raw.upper().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            "due",
            f"{text.strip()[:40]!r} is neither a delay (30m, 2h, 1d, 1h30m) nor a UTC time "
            "(2026-12-01 08:00)",
        ) from None
    from datetime import UTC

    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def schedule_change(
    db: Database,
    actor: Actor,
    table: str,
    target_id: int,
    changes: Mapping[str, Any],
    *,
    due_at: datetime,
    expected_version: int,
    comment: str | None = None,
) -> PendingRecord:
    """Delay and Save: store ``changes`` to apply at ``due_at`` (UTC)."""
    actor.require(Role.OPERATOR, "schedule changes")
    target = _target(table)
    if any("password" in name for name in changes):
        raise ValidationError("password", "a password cannot wait in a delayed change")
    cleaned = target.clean(changes)
    if not cleaned:
        raise ValidationError("due", "there is nothing to change")
    now = utcnow()
    if due_at <= now:
        raise ValidationError("due", "must be in the future")
    if due_at - now > LONGEST_DELAY:
        raise ValidationError("due", "must be within a year")
    with db.write() as session:
        record = edits.load_current(
            session,
            target.model,
            target_id,
            expected_version=expected_version,
            missing=f"no {table} with id {target_id}",
            stale=lambda row: StaleEditError(
                table, target_id, target.record(session, row), dict(cleaned)
            ),
        )
        real = edits.changed(record, cleaned, _current)
        if not real:
            raise ValidationError("due", "the changes equal what is saved now")
        description = f"{target.label(record)}: {', '.join(sorted(real))}"
        change = PendingChange(
            target_table=table,
            target_id=target_id,
            customer_id=target.customer_id(record),
            description=description,
            changes_json=_encode(real),
            due_at=due_at,
            operator=actor.name,
            operator_role=actor.role.value,
            operator_ip=actor.ip,
            base_version=expected_version,
            status=PendingStatus.PENDING.value,
            comment=comment,
        )
        edits.record_create(
            session,
            actor,
            change,
            AUDITED,
            message=lambda row: (
                f"Delayed change scheduled for {due_at:%Y-%m-%d %H:%M} UTC: {description}"
            ),
            comment=comment,
        )
        return _to_record(change)


def _current(record: Any, field_name: str) -> Any:
    if field_name == "ip_whitelist":
        return tuple(json.loads(record.ip_whitelist_json or "[]"))
    return getattr(record, field_name)


def cancel_change(db: Database, actor: Actor, change_id: int) -> PendingRecord:
    actor.require(Role.OPERATOR, "cancel delayed changes")
    with db.write() as session:
        change = session.get(PendingChange, change_id)
        if change is None:
            raise NotFoundError(f"no delayed change {change_id}")
        if change.status != PendingStatus.PENDING.value:
            raise ValidationError("status", f"the change is {change.status}, not pending")
        before = audit.snapshot(change)
        change.status = PendingStatus.CANCELLED.value
        change.result = f"cancelled by {actor.name}"
        _record_outcome(
            session,
            actor,
            change,
            before,
            action=AuditAction.UPDATE,
            message=f"Delayed change cancelled: {change.description}",
        )
        return _to_record(change)


def list_changes(
    db: Database, actor: Actor, *, status: PendingStatus | None = None
) -> list[PendingRecord]:
    actor.require(Role.VIEWER, "read the Delay Log")
    with db.read() as session:
        query = select(PendingChange).order_by(col(PendingChange.due_at), col(PendingChange.id))
        if status is not None:
            query = query.where(PendingChange.status == status.value)
        return [_to_record(change) for change in session.exec(query)]


@dataclass
class RunReport:
    applied: int = 0
    conflicts: int = 0
    failed: int = 0
    messages: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"applied {self.applied}, conflicts {self.conflicts}, failed {self.failed}"


def _claim_due(session: Session, now: datetime) -> PendingChange | None:
    return session.exec(
        select(PendingChange)
        .where(
            PendingChange.status == PendingStatus.PENDING.value,
            col(PendingChange.due_at) <= now,
        )
        .order_by(col(PendingChange.due_at), col(PendingChange.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


def _record_outcome(
    session: Session,
    actor: Actor,
    change: PendingChange,
    before: dict[str, Any] | None,
    *,
    action: AuditAction,
    message: str,
) -> None:
    """Save a pending change's new status (cancelled, conflict, failed) and audit it."""
    session.add(change)
    session.flush()
    audit.record(
        session,
        actor,
        action=action,
        verb=HttpVerb.PUT,
        table=TABLE,
        key=change.id,
        customer_id=change.customer_id,
        message=message,
        before=before,
        after=audit.snapshot(change),
    )


def _scheduler(change: PendingChange) -> Actor:
    """The operator who scheduled the change: applying it is audited in their name."""
    return Actor(name=change.operator, role=Role(change.operator_role), ip=change.operator_ip)


def _scheduler_now(session: Session, change: PendingChange) -> tuple[Actor, str | None]:
    """The scheduler as they are now: an operator demoted to viewer, disabled or removed since
    the change was scheduled does not get it applied with the rights they had then. A
    scheduler that is not an operator account (the CLI's API) keeps the role recorded at
    scheduling."""
    from carriertui.store.db.tables import Operator

    scheduler = _scheduler(change)
    operator = session.exec(select(Operator).where(Operator.name == change.operator)).first()
    if operator is None:
        return scheduler, None
    current = Actor(name=operator.name, role=Role(operator.role), ip=change.operator_ip)
    if operator.disabled_at is not None:
        return current, f"{operator.name}'s account is disabled"
    if not current.can(Role.OPERATOR):
        return current, f"{operator.name} may no longer change records (now {operator.role})"
    return current, None


def _apply_one(session: Session, change: PendingChange, now: datetime) -> PendingStatus:
    target = _target(change.target_table)
    record = session.get(target.model, change.target_id)
    scheduler, refusal = _scheduler_now(session, change)
    before = audit.snapshot(change)
    if refusal is not None:
        status, result = PendingStatus.FAILED, f"not applied: {refusal}"
    elif record is None:
        status, result = PendingStatus.CONFLICT, "the target no longer exists"
    elif record.version != change.base_version:  # type: ignore[attr-defined]
        status = PendingStatus.CONFLICT
        result = (
            f"the target was changed after scheduling (version {change.base_version} then, "
            f"{record.version} now); nothing applied"  # type: ignore[attr-defined]
        )
    else:
        cleaned = target.clean(json.loads(change.changes_json))
        target.apply(
            session,
            scheduler,
            record,
            cleaned,
            action=AuditAction.PUBLISH,
            message=(
                f"Delayed change #{change.id} scheduled by {change.operator} applied: "
                f"{change.description}"
            ),
            comment=change.comment,
        )
        status, result = PendingStatus.APPLIED, "applied"
    change.status = status.value
    change.result = result
    change.applied_at = now
    if status is PendingStatus.APPLIED:  # the target's own PUBLISH entry tells the story
        session.add(change)
        session.flush()
    else:
        _record_outcome(
            session,
            scheduler,
            change,
            before,
            action=AuditAction.PUBLISH,
            message=f"Delayed change #{change.id} not applied: {result}",
        )
    return status


def run_due(db: Database, *, limit: int = 1000, now: datetime | None = None) -> RunReport:
    """Apply every due change (at most ``limit``), one transaction each."""
    report = RunReport()
    for _ in range(limit):
        moment = now or utcnow()
        failed_id: int | None = None
        try:
            with db.write() as session:
                change = _claim_due(session, moment)
                if change is None:
                    break
                failed_id = change.id
                status = _apply_one(session, change, moment)
                report.messages.append(f"#{change.id} {status.value}: {change.description}")
        except DatabaseBusyError:
            # Another process holds the database (a long import): the change stays pending and
            # the next run (30 s later in the app, or cron) takes it. Nothing to mark.
            raise
        except StaleDataError:
            # PostgreSQL: an operator saved the target between our version check and our
            # UPDATE (its version no longer matched). That is a conflict, not a crash.
            if failed_id is None:
                raise
            reason = "the target was changed while the change was being applied"
            _mark_failed(db, failed_id, reason, moment, status=PendingStatus.CONFLICT)
            report.conflicts += 1
            report.messages.append(f"#{failed_id} conflict: {reason}")
            continue
        except (StoreError, SQLAlchemyError) as error:
            # The change no longer applies (say its email became another contact's login): its
            # transaction rolled back; mark it failed in a transaction of its own, so one bad
            # change never holds up the ones due after it.
            if failed_id is None:
                raise
            reason = str(error) if isinstance(error, StoreError) else type(error).__name__
            _mark_failed(db, failed_id, reason, moment)
            report.failed += 1
            report.messages.append(f"#{failed_id} failed: {reason}")
            continue
        if status is PendingStatus.APPLIED:
            report.applied += 1
        elif status is PendingStatus.FAILED:
            report.failed += 1
        else:
            report.conflicts += 1
    return report


def _mark_failed(
    db: Database,
    change_id: int,
    reason: str,
    now: datetime,
    *,
    status: PendingStatus = PendingStatus.FAILED,
) -> None:
    with db.write() as session:
        change = session.get(PendingChange, change_id)
        if change is None or change.status != PendingStatus.PENDING.value:
            return
        before = audit.snapshot(change)
        change.status = status.value
        change.result = reason[:300]
        change.applied_at = now
        _record_outcome(
            session,
            _scheduler(change),
            change,
            before,
            action=AuditAction.PUBLISH,
            message=f"Delayed change #{change.id} {status.value}: {change.result}",
        )


GRID_COLUMNS = (
    Column("due_at", "Due (UTC)", ColumnType.TIMESTAMP),
    Column(
        "status",
        "Status",
        width=9,
        tone=tones(
            {
                PendingStatus.PENDING: Tone.WARNING,
                PendingStatus.APPLIED: Tone.SUCCESS,
                PendingStatus.CONFLICT: Tone.ERROR,
                PendingStatus.FAILED: Tone.ERROR,
                PendingStatus.CANCELLED: Tone.MUTED,
            }
        ),
    ),
    Column("description", "Change", width=34),
    Column("operator", "Scheduled by", width=12),
    Column("created_at", "Scheduled (UTC)", ColumnType.TIMESTAMP),
    Column("result", "Result", width=30),
)


def grid_source(db: Database, actor: Actor) -> SqlRowSource:
    actor.require(Role.VIEWER, "read the Delay Log")
    table = table_of(PendingChange)
    return table_source(db, name="delay-log", table=table, columns=GRID_COLUMNS)
