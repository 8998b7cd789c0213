"""Audit entries: written by services in the same transaction as the change they describe."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from carriertui.grid.model import Column, ColumnType
from carriertui.store.context import Actor
from carriertui.store.db import Database
from carriertui.store.models import AuditAction, AuditEntry, HttpVerb, Role
from carriertui.store.rowsource import SqlRowSource

REDACTED = "***"
# Field names whose values never reach the audit log; matched case-insensitively on the last
# path component, so nested secrets ({"smtp": {"password": ...}}) are caught too.
_SECRET_EXACT = {"password", "password_hash", "secret", "token", "api_key", "pin", "moderator_pin"}
_SECRET_PARTS = ("password", "secret", "token", "_hash")


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_EXACT or any(part in lowered for part in _SECRET_PARTS)


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret field's value replaced by ``"***"``."""
    if isinstance(value, dict):
        return {
            key: (REDACTED if is_secret_field(str(key)) else redact(item))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot put {type(value).__name__} into an audit entry")


def snapshot(record: SQLModel | dict[str, Any] | None) -> dict[str, Any] | None:
    """The audit view of a record: its fields as JSON-ready values, secrets redacted."""
    if record is None:
        return None
    data = record if isinstance(record, dict) else record.model_dump()
    return json.loads(json.dumps(redact(data), default=_json_default, sort_keys=True))


def _dump(value: dict[str, Any] | None) -> str | None:
    if value is None:
        return None
    return json.dumps(redact(value), default=_json_default, sort_keys=True, ensure_ascii=False)


def record(
    session: Session,
    actor: Actor,
    *,
    action: AuditAction,
    verb: HttpVerb,
    table: str,
    key: Any,
    message: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    customer_id: int | None = None,
    comment: str | None = None,
) -> AuditEntry:
    """Add one audit entry to ``session``'s transaction and flush it.

    Called by services inside ``Database.write()``: if this raises, the whole change rolls back.
    """
    entry = AuditEntry(
        actor=actor.name,
        ip=actor.ip,
        action=action.value,
        verb=verb.value,
        table_name=table,
        primary_key="" if key is None else str(key),
        customer_id=customer_id,
        message=message,
        comment=comment or None,
        before_json=_dump(before),
        after_json=_dump(after),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditRecord:
    id: int
    created_at: datetime
    actor: str
    ip: str
    action: str
    verb: str
    table: str
    primary_key: str
    customer_id: int | None
    message: str
    comment: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _to_record(entry: AuditEntry) -> AuditRecord:
    assert entry.id is not None
    return AuditRecord(
        id=entry.id,
        created_at=entry.created_at,
        actor=entry.actor,
        ip=entry.ip,
        action=entry.action,
        verb=entry.verb,
        table=entry.table_name,
        primary_key=entry.primary_key,
        customer_id=entry.customer_id,
        message=entry.message,
        comment=entry.comment,
        before=json.loads(entry.before_json) if entry.before_json else None,
        after=json.loads(entry.after_json) if entry.after_json else None,
    )


def list_entries(
    db: Database, actor: Actor, *, customer_id: int | None = None, limit: int = 500
) -> list[AuditRecord]:
    """Newest first. The grid (a later issue) pages through the table instead."""
    actor.require(Role.VIEWER, "read the audit log")
    with db.read() as session:
        query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
        if customer_id is not None:
            query = query.where(AuditEntry.customer_id == customer_id)
        return [_to_record(entry) for entry in session.exec(query)]


GRID_COLUMNS = (
    Column("created_at", "Date / Time (UTC)", ColumnType.TIMESTAMP),
    Column("actor", "User", width=12),
    Column("ip", "IP", width=15),
    Column("action", "Action", width=8),
    Column("verb", "Verb", width=6),
    Column("table_name", "Table", width=10),
    Column("primary_key", "Key", width=8),
    Column("message", "Message", width=40),
)


def grid_source(db: Database, actor: Actor, *, customer_id: int | None = None) -> SqlRowSource:
    """Audit entries for the grid, newest first by default (the caller's initial sort)."""
    actor.require(Role.VIEWER, "read the audit log")
    table = AuditEntry.__table__  # type: ignore[attr-defined]
    where = table.c.customer_id == customer_id if customer_id is not None else None
    return SqlRowSource(
        db,
        name="audit-log" if customer_id is None else f"audit-log-customer-{customer_id}",
        columns=GRID_COLUMNS,
        selectable=table,
        expressions={column.key: table.c[column.key] for column in GRID_COLUMNS},
        key=table.c.id,
        where=where,
    )


def get_entry(db: Database, actor: Actor, entry_id: int) -> AuditRecord:
    """One entry with its before/after records (View Difference)."""
    from carriertui.store.errors import NotFoundError

    actor.require(Role.VIEWER, "read the audit log")
    with db.read() as session:
        entry = session.get(AuditEntry, entry_id)
        if entry is None:
            raise NotFoundError(f"no audit entry {entry_id}")
        return _to_record(entry)
