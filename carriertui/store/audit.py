"""Audit entries: written by services in the same transaction as the change they describe."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy import select as core_select
from sqlmodel import Session, SQLModel, col, select

from carriertui.grid.export import ExportError
from carriertui.grid.model import Column, ColumnType, Row
from carriertui.store.context import Actor
from carriertui.store.db import chain
from carriertui.store.db.database import Database
from carriertui.store.db.rowsource import SqlRowSource
from carriertui.store.db.tables import AuditEntry, Customer, table_of
from carriertui.store.enums import AuditAction, HttpVerb, Role

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

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
    # Its place in the HMAC chain: on PostgreSQL this waits for the chain's advisory lock, held
    # until the service's transaction ends (SQLite's BEGIN IMMEDIATE already serialises writers).
    chain.seal(session, entry)
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
    seq: int | None = None  # position in the tamper-evidence chain (store/chain.py)
    mac: str | None = None


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
        seq=entry.seq,
        mac=entry.mac,
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


# Message comes right after when and what: at 80x24 it is what tells one UPDATE from another
# ("... updated: debit_limit"); it names the record, so Table, User, IP, Verb and Key follow.
GRID_COLUMNS = (
    Column("created_at", "Date / Time (UTC)", ColumnType.TIMESTAMP),
    Column("action", "Action", width=8),
    Column("message", "Message", width=60),
    Column("table_name", "Table", width=10),
    Column("actor", "User", width=12),
    Column("ip", "IP", width=15),
    Column("verb", "Verb", width=6),
    Column("primary_key", "Key", width=8),
    # Not shown as data: the cell reads "View Difference" (Enter or d opens it), but the search
    # looks inside both records, so an account code or an IP in the data finds the entry.
    Column(
        "data",
        "Data",
        width=15,
        formatter=lambda _value: "View Difference",
        sortable=False,
        filterable=False,
    ),
)
CUSTOMER_COLUMN = Column("customer", "Customer", width=18)


def grid_source(db: Database, actor: Actor, *, customer_id: int | None = None) -> SqlRowSource:
    """Audit entries for the grid (the caller sorts newest first).

    For one customer: that customer's entries. Account-wide: every entry, with a Customer column
    (the customer's current name; empty for operators and options). The Message column carries
    the Audit Comment reason when there is one.
    """
    from sqlalchemy import String, case, cast, func, literal

    actor.require(Role.VIEWER, "read the audit log")
    table = table_of(AuditEntry)
    expressions: dict[str, ColumnElement[Any]] = {
        column.key: table.c[column.key]
        for column in GRID_COLUMNS
        if column.key not in ("message", "data")
    }
    expressions["message"] = case(
        (table.c.comment.is_(None), table.c.message),
        else_=table.c.message + literal(" (reason: ") + table.c.comment + literal(")"),
    )
    expressions["data"] = (
        func.coalesce(table.c.before_json, literal(""))
        + literal(" ")
        + func.coalesce(table.c.after_json, literal(""))
    )
    from carriertui.store.db import search as audit_search

    search_index = audit_search.index_for_database(db)
    if customer_id is not None:
        return SqlRowSource(
            db,
            name=f"audit-log-customer-{customer_id}",
            columns=GRID_COLUMNS,
            selectable=table,
            expressions=expressions,
            key=table.c.id,
            where=table.c.customer_id == customer_id,
            search_index=search_index,
        )
    from dataclasses import replace

    from sqlalchemy import select

    from carriertui.store.db.tables import Customer

    customers = table_of(Customer)
    if search_index is not None:
        # The Customer column is not in the index: entries of the customers whose name matches
        # are candidates too (customer_id is indexed; the customers are few).
        def customers_like(like):
            return like(cast(customers.c.name, String))

        if db.backend == "postgresql":
            from sqlalchemy import ARRAY, Integer, any_

            # "= ANY (array)" from an InitPlan is an index condition, so PostgreSQL can OR it
            # with the trigram index's bitmap; "IN (subquery)" would make it scan the table.
            def also(like):
                ids = select(func.array_agg(customers.c.id)).where(customers_like(like))
                # Cast: "ANY (array expression)", not the "ANY (subquery)" form.
                array = cast(ids.scalar_subquery(), ARRAY(Integer))
                return table.c.customer_id == any_(array)
        else:

            def also(like):
                return table.c.customer_id.in_(select(customers.c.id).where(customers_like(like)))

        search_index = replace(search_index, also=also)
    # A scalar subquery, not a join: counting and paging stay on audit_entry and its indexes,
    # and only the rows on screen look their customer up.
    expressions["customer"] = cast(
        select(customers.c.name).where(customers.c.id == table.c.customer_id).scalar_subquery(),
        String,
    )
    columns = (*GRID_COLUMNS[:3], CUSTOMER_COLUMN, *GRID_COLUMNS[3:])  # after Message
    return SqlRowSource(
        db,
        name="audit-log",
        columns=columns,
        selectable=table,
        expressions=expressions,
        key=table.c.id,
        search_index=search_index,
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


# -- export and verification (carriertui audit export / verify) --------------------------------

EXPORT_COLUMNS = (
    Column("id", "ID", ColumnType.INTEGER),
    Column("created_at", "Date / Time (UTC)", ColumnType.TIMESTAMP),
    Column("user", "User"),
    Column("ip", "IP"),
    Column("action", "Action"),
    Column("verb", "Verb"),
    Column("table", "Table"),
    Column("primary_key", "Primary Key"),
    Column("customer_id", "Customer ID", ColumnType.INTEGER),
    Column("customer", "Customer"),
    Column("message", "Message"),
    Column("comment", "Comment"),
    Column("before", "Before"),
    Column("after", "After"),
)
_EXPORT_BATCH = 1000
# json.dumps escapes C0 controls inside strings but not DEL and C1 controls (with ensure_ascii off).
_JSON_UNSAFE = re.compile("[\x7f-\x9f]")


def _stored_record(stored: str | None) -> dict[str, Any] | None:
    # Redacted when written; redacted again on the way out, so a row from an older version or
    # written by hand still never exports a secret.
    return None if stored is None else redact(json.loads(stored))


def export_batches(
    db: Database,
    actor: Actor,
    *,
    customer_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    batch: int = _EXPORT_BATCH,
) -> Iterator[list[dict[str, Any]]]:
    """Entries oldest first, in batches, as export objects (keys: EXPORT_COLUMNS' keys, ``seq``
    and ``mac``; ``before``/``after`` as dicts). ``since`` and ``until`` are inclusive bounds on
    ``created_at``. Streams: one query, read ``batch`` rows at a time."""
    actor.require(Role.VIEWER, "read the audit log")
    table = table_of(AuditEntry)
    customer = table_of(Customer)
    statement = (
        core_select(table, customer.c.name.label("customer_name"))
        .select_from(table.outerjoin(customer, customer.c.id == table.c.customer_id))
        .order_by(table.c.id)
        .execution_options(stream_results=True, yield_per=batch)
    )
    if customer_id is not None:
        statement = statement.where(table.c.customer_id == customer_id)
    if since is not None:
        statement = statement.where(table.c.created_at >= since)
    if until is not None:
        statement = statement.where(table.c.created_at <= until)
    with db.read() as session:
        result = session.connection().execute(statement)
        try:
            for part in result.partitions():
                yield [
                    {
                        "id": row.id,
                        "created_at": row.created_at,
                        "user": row.actor,
                        "ip": row.ip,
                        "action": row.action,
                        "verb": row.verb,
                        "table": row.table_name,
                        "primary_key": row.primary_key,
                        "customer_id": row.customer_id,
                        "customer": row.customer_name,
                        "message": row.message,
                        "comment": row.comment,
                        "before": _stored_record(row.before_json),
                        "after": _stored_record(row.after_json),
                        "seq": row.seq,
                        "mac": row.mac,
                    }
                    for row in part
                ]
        finally:
            result.close()


def _record_text(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def csv_rows(batches: Iterable[list[dict[str, Any]]]) -> Iterator[list[Row]]:
    """Export batches as grid rows for ``grid.export.write_csv`` over EXPORT_COLUMNS: before and
    after become key-sorted JSON text."""
    for objects in batches:
        yield [
            (
                item["id"],
                tuple(
                    _record_text(item[c.key]) if c.key in ("before", "after") else item[c.key]
                    for c in EXPORT_COLUMNS
                ),
            )
            for item in objects
        ]


def _utc_iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def write_json(handle: TextIO, batches: Iterable[list[dict[str, Any]]]) -> int:
    """A JSON list of the export objects, one per line, written as it streams. Every control
    character is escaped: the data stays exact and is harmless on a terminal."""
    written = 0
    handle.write("[")
    for objects in batches:
        for item in objects:
            data = {**item, "created_at": _utc_iso(item["created_at"])}
            line = json.dumps(data, sort_keys=True, ensure_ascii=False)
            line = _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", line)
            handle.write(("\n" if written == 0 else ",\n") + line)
            written += 1
    handle.write("\n]\n" if written else "]\n")
    return written


def export_json(path: Path, batches: Iterable[list[dict[str, Any]]]) -> int:
    """:func:`write_json` to ``path`` as ``write_csv`` writes: a private temporary file renamed
    into place when complete, so a failure leaves nothing half-written."""
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"cannot export to {path}: it is a folder")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as error:
        raise ExportError(f"cannot export to {path}: {error.strerror or error}") from error
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            written = write_json(handle, batches)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(name, path)
    except OSError as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise ExportError(f"cannot export to {path}: {error.strerror or error}") from error
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    return written


def verify(db: Database, actor: Actor) -> chain.Verification:
    """Check the tamper-evidence chain of the whole log against its key and head."""
    actor.require(Role.VIEWER, "verify the audit log")
    return chain.verify(db)
