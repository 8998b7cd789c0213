"""Retention: remove raw CDRs older than a date (``carriertui cdr prune --before DATE``).

What stays: the hourly roll-ups (the Summary, the invoices' source), invoices and their lines,
the audit log, and on PostgreSQL ``cdr_call_id`` (a pruned call id stays refused by the
importer; store/db/partitions.py). Raw CDRs are only for drill-down and CDR reports
(FEEDS-AND-ALARMS.md 3.2).

- PostgreSQL: every monthly partition wholly before DATE is dropped (a catalog change, not a
  delete); CDRs before DATE in the month that holds DATE are deleted. One transaction, the
  audit entry in it.
- SQLite: deleted in batches of ``BATCH_ROWS`` per customer through ``ix_cdr_customer_start``,
  each batch its own short write transaction, so imports and operators' saves wait at most one
  batch, never the whole prune. The audit entry (with the count to remove) commits with the first
  batch: no CDR goes before its removal is in the log. A prune stopped half-way is finished by
  running it again.

Before anything is removed the roll-up takes in every hour still marked (nothing imported is
lost from the summaries), and the prune is refused while a customer with an invoice schedule has
CDRs before DATE on a day no invoice of theirs covers, unless ``force``. The date pruned to is
kept (``carriertui_meta`` key ``cdr_pruned_before``): ``rollup --rebuild`` then leaves the hours
before it alone instead of recomputing them from CDRs that are gone.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from carriertui.store import audit, rollups
from carriertui.store.context import Actor
from carriertui.store.db import partitions
from carriertui.store.db.database import Database
from carriertui.store.db.tables import Customer, Invoice, Meta
from carriertui.store.db.types import stored_utc, utcnow
from carriertui.store.enums import AuditAction, HttpVerb, InvoiceSchedule, Role
from carriertui.store.errors import ValidationError

BATCH_ROWS = 50_000
HORIZON_KEY = rollups.HORIZON_KEY
pruned_before = rollups.pruned_before
_SHOWN = 5  # un-invoiced customers named in a refusal


class UninvoicedError(ValidationError):
    """A scheduled customer has CDRs before the date on days no invoice covers."""

    def __init__(self, message: str, gaps: list[tuple[str, date]]) -> None:
        super().__init__("before", message)
        self.gaps = gaps


@dataclass
class PruneReport:
    before: datetime
    backend: str
    removed: int = 0
    partitions_dropped: list[str] = field(default_factory=list)
    deleted_rows: int = 0  # rows deleted one by one (SQLite; PostgreSQL's part month)
    forced: bool = False
    uninvoiced: list[tuple[str, date]] = field(default_factory=list)
    elapsed_s: float = 0.0

    def __str__(self) -> str:
        how = (
            f"{len(self.partitions_dropped)} monthly partitions dropped, "
            f"{self.deleted_rows} rows deleted"
            if self.backend == "postgresql"
            else f"in batches of {BATCH_ROWS}"
        )
        return (
            f"pruned {self.removed} CDRs before {self.before.date().isoformat()} ({how}) "
            f"in {self.elapsed_s:.2f} s"
        )


def _day_sql(backend: str) -> str:
    if backend == "sqlite":
        return "substr(h.hour_start, 1, 10)"
    return "to_char(h.hour_start AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def uninvoiced_days(session: Any, backend: str, before: datetime) -> list[tuple[str, date]]:
    """(customer name, first day) for each customer with an invoice schedule that has CDRs
    (in the roll-ups) before ``before`` on a day none of their invoices covers."""
    connection = session.connection()
    customer = Customer.__table__.c  # type: ignore[attr-defined]
    invoice = Invoice.__table__.c  # type: ignore[attr-defined]
    scheduled = {
        customer_id: name
        for customer_id, name in connection.execute(
            select(customer.id, customer.name).where(
                customer.invoice_schedule != InvoiceSchedule.NONE.value
            )
        )
    }
    if not scheduled:
        return []
    covers: dict[int, list[tuple[datetime, datetime]]] = {}
    for customer_id, start, end in connection.execute(
        select(invoice.customer_id, invoice.period_start, invoice.period_end)
        .where(invoice.period_start < before)
        .order_by(invoice.customer_id, invoice.period_start)
    ):
        covers.setdefault(customer_id, []).append((start, end))
    first_gap: dict[int, date] = {}
    bound = stored_utc(before, backend)
    rows = connection.exec_driver_sql(
        f"SELECT h.customer_id, {_day_sql(backend)} AS day FROM cdr_hourly h "  # noqa: S608
        f"WHERE h.hour_start < {'?' if backend == 'sqlite' else '%s'} AND h.attempts > 0 "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        (bound,),
    )
    for customer_id, day_text in rows:
        if customer_id not in scheduled or customer_id in first_gap:
            continue
        day = date.fromisoformat(day_text)
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        intervals = covers.get(customer_id, [])
        at = bisect.bisect_right(intervals, (moment, datetime.max.replace(tzinfo=UTC))) - 1
        if at < 0 or not intervals[at][0] <= moment < intervals[at][1]:
            first_gap[customer_id] = day
    return sorted((scheduled[c], day) for c, day in first_gap.items())


def _refusal(gaps: list[tuple[str, date]], before: datetime) -> str:
    named = "; ".join(f"{name} from {day.isoformat()}" for name, day in gaps[:_SHOWN])
    more = f" and {len(gaps) - _SHOWN} more" if len(gaps) > _SHOWN else ""
    return (
        f"not pruned: {len(gaps)} customers with an invoice schedule have CDRs before "
        f"{before.date().isoformat()} on days no invoice covers ({named}{more}); invoice them "
        "first (carriertui invoices auto) or prune with --force"
    )


def _record(session: Any, actor: Actor, report: PruneReport, counted: int) -> None:
    audit.record(
        session,
        actor,
        action=AuditAction.DELETE,
        verb=HttpVerb.DELETE,
        table="cdr",
        key=f"before {report.before.date().isoformat()}",
        message=(
            f"Pruned {counted} CDRs before {report.before.date().isoformat()}"
            + (
                f" (forced past {len(report.uninvoiced)} un-invoiced customers)"
                if report.forced
                else ""
            )
        ),
        after={
            "before": report.before.isoformat(),
            "cdrs": counted,
            "partitions_dropped": report.partitions_dropped,
            "forced": report.forced,
            "uninvoiced": [[name, day.isoformat()] for name, day in report.uninvoiced],
        },
    )


def _set_horizon(session: Any, before: datetime) -> None:
    row = session.get(Meta, HORIZON_KEY)
    current = datetime.fromisoformat(row.value) if row is not None else None
    if current is not None and current >= before:
        return
    if row is None:
        session.add(Meta(key=HORIZON_KEY, value=before.isoformat()))
    else:
        row.value = before.isoformat()
    session.flush()


def _checked(session: Any, db: Database, report: PruneReport, force: bool) -> None:
    """Roll up what is marked, then refuse (unless forced) when invoices are missing."""
    rollups.roll_up_marked_hours(session, db.backend, utcnow())
    gaps = uninvoiced_days(session, db.backend, report.before)
    if gaps and not force:
        raise UninvoicedError(_refusal(gaps, report.before), gaps)
    report.uninvoiced = gaps
    report.forced = bool(gaps)


def default_before(keep_months: int, today: date | None = None) -> date:
    """The first of the month ``keep_months`` whole months before ``today``'s (default: now,
    UTC): with 12 on 2026-12-03, 2025-12-01 (all of December 2025 on is kept)."""
    today = today or utcnow().date()
    months = today.year * 12 + today.month - 1 - keep_months
    return date(months // 12, months % 12 + 1, 1)


def prune_cdrs(
    db: Database, actor: Actor, before: date | datetime, *, force: bool = False
) -> PruneReport:
    """Remove every CDR that started before ``before`` (a date: its 00:00 UTC); see the module."""
    actor.require(Role.ADMIN, "prune CDRs")
    if isinstance(before, datetime):
        moment = before.astimezone(UTC)
    else:
        moment = datetime(before.year, before.month, before.day, tzinfo=UTC)
    if moment > utcnow():
        raise ValidationError("before", "the date is in the future: nothing that old to keep")
    started = time.perf_counter()
    report = PruneReport(before=moment, backend=db.backend)
    if db.backend == "postgresql":
        _prune_postgresql(db, actor, report, force)
    else:
        _prune_sqlite(db, actor, report, force)
    report.elapsed_s = time.perf_counter() - started
    return report


def _prune_postgresql(db: Database, actor: Actor, report: PruneReport, force: bool) -> None:
    with db.write() as session:
        _checked(session, db, report, force)
        connection = session.connection()
        # Lock the table once, before listing and counting: no import adds to a partition
        # between its count and its drop (imports wait; the drop needs this lock anyway).
        connection.exec_driver_sql("LOCK TABLE cdr IN ACCESS EXCLUSIVE MODE")
        whole = [p for p in partitions.existing(connection) if p.end <= report.before]
        for partition in whole:
            rows = connection.exec_driver_sql(
                f"SELECT COUNT(*) FROM {partition.name}"  # noqa: S608 - our own names
            ).scalar_one()
            connection.exec_driver_sql(f"DROP TABLE {partition.name}")
            report.partitions_dropped.append(partition.name)
            report.removed += int(rows)
        deleted = connection.exec_driver_sql(
            "DELETE FROM cdr WHERE start_time < %s", (report.before,)
        ).rowcount
        report.deleted_rows = max(deleted, 0)
        report.removed += report.deleted_rows
        _set_horizon(session, report.before)
        _record(session, actor, report, report.removed)


def _prune_sqlite(db: Database, actor: Actor, report: PruneReport, force: bool) -> None:
    bound = stored_utc(report.before, "sqlite")
    with db.write() as session:
        _checked(session, db, report, force)
        connection = session.connection()
        counted = int(
            connection.exec_driver_sql(
                "SELECT COUNT(*) FROM cdr WHERE start_time < ?", (bound,)
            ).scalar_one()
        )
        # Every customer (a CDR's customer is a foreign key): per customer, the delete finds
        # its rows through ix_cdr_customer_start instead of scanning the table.
        customers = [row[0] for row in connection.exec_driver_sql("SELECT id FROM customer")]
        _set_horizon(session, report.before)
        _record(session, actor, report, counted)
        report.removed += _delete_batch(connection, customers, bound)
    while True:
        with db.write() as session:
            removed = _delete_batch(session.connection(), customers, bound)
        if not removed:
            break
        report.removed += removed
    report.deleted_rows = report.removed


def _delete_batch(connection: Any, customers: list[int], bound: str) -> int:
    """Up to BATCH_ROWS CDRs before ``bound``, the first customers' first."""
    left = BATCH_ROWS
    removed = 0
    while customers and left:
        customer_id = customers[0]
        deleted = connection.exec_driver_sql(
            "DELETE FROM cdr WHERE id IN (SELECT id FROM cdr WHERE customer_id = ? "
            "AND start_time < ? LIMIT ?)",
            (customer_id, bound, left),
        ).rowcount
        removed += deleted
        left -= deleted
        if left:  # this customer has none left
            customers.pop(0)
    return removed
