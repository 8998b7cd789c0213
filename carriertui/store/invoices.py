"""Invoices: one per customer and closed daily, weekly (ISO) or monthly UTC period.

Periods are :mod:`carriertui.store.periods`' (the Summary's), so an invoice covers exactly the
Summary row it was generated from. Amounts come from the hourly roll-ups (``cdr_hourly``), as the
Summary's do, so an invoice's subtotal equals its Summary row's Customer Charge to the last of its
four decimal places.

Rules (issue 7, DOMAIN.md 6 and 8.3):

- Only closed periods: the period's end (exclusive) is at or before now. The current period is
  still growing, and the 24-hour view is a rolling window, not a billing period.
- Before reading the roll-ups, generation rolls up the hours marked by imports since the last
  roll-up, **in its own transaction** (not refusing until cron has run): an invoice then always
  reflects every CDR committed before it, and a generator never has to wait for the hourly cron.
  The incremental roll-up of one hour costs milliseconds.
- Lines: one per UTC day of the period (a day without calls is a zero line): attempts, connected,
  billed minutes (billed seconds / 60, half-up to 4 places; the exact seconds are kept too) and
  charge.
- Subtotal = the sum of the lines' charges (4 places, as stored). Tax = subtotal x the customer's
  tax percent / 100, rounded **half-up to 2 decimals** (cents; every currency is treated as having
  2 minor units). Total = subtotal + tax. Issue date = the UTC day of generation; due date = issue
  date + the customer's Invoice Due Days. Status starts Unpaid.
- Numbers (``INV-000001``) are sequential and gap-free across the account: the next is MAX + 1,
  read under :func:`carriertui.store.db.locks.lock_invoice_numbers` (PostgreSQL; SQLite's
  ``BEGIN IMMEDIATE`` already serialises writers), with UNIQUE indexes as the net. Nothing is
  reserved ahead, so a generation that rolls back burns no number.
- A period is invoiced at most once per customer: a period overlapping any invoice of the
  customer (of any kind: a monthly invoice over weekly ones would bill the same calls twice) is
  refused, naming the invoice. UNIQUE (customer, kind, start) is the database's net.

Lock order on PostgreSQL: the invoice lock, then ``cdr_dirty_hour`` (the roll-up), then the audit
chain's lock (last, taken by ``audit.record``).
"""

from __future__ import annotations

import decimal
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import String, cast, func, insert, select
from sqlmodel import Session, col

from carriertui.grid.model import Column, ColumnType, Tone, tones
from carriertui.store import audit
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.locks import lock_invoice_numbers
from carriertui.store.db.rowsource import SqlRowSource
from carriertui.store.db.tables import CdrHourly, Customer, Invoice
from carriertui.store.db.tables import InvoiceLine as InvoiceLineRow
from carriertui.store.db.types import utcnow
from carriertui.store.enums import AuditAction, HttpVerb, InvoiceSchedule, InvoiceStatus, Role
from carriertui.store.errors import NotFoundError, ValidationError
from carriertui.store.periods import (
    PeriodKind,
    as_utc,
    next_period_start,
    period_label,
    period_start,
    periods_between,
)
from carriertui.store.rollups import roll_up_marked_hours

TABLE = "invoice"
INVOICE_KINDS = (PeriodKind.DAILY, PeriodKind.WEEKLY, PeriodKind.MONTHLY)
NUMBER_PREFIX = "INV-"
NUMBER_DIGITS = 6
_CENT = Decimal("0.01")
_MINUTE_PLACES = Decimal("0.0001")
_HUNDRED = Decimal(100)
_ZERO = Decimal("0.0000")
_LINE_BATCH = 500


class PeriodOpenError(ValidationError):
    """The period is not closed yet (or is the 24-hour view): it cannot be invoiced."""

    def __init__(self, message: str) -> None:
        super().__init__("period", message)


class DuplicateInvoiceError(ValidationError):
    """The period has an invoice already; ``number`` is that invoice's number."""

    def __init__(self, number: str, message: str) -> None:
        super().__init__("period", message)
        self.number = number


@dataclass(frozen=True)
class InvoiceLine:
    day: date
    attempts: int
    connected: int
    billed_minutes: Decimal  # billed seconds / 60, half-up to 4 places
    charge: Decimal
    billed_duration: int = 0  # seconds, exact


@dataclass(frozen=True)
class InvoiceRecord:
    id: int
    number: str
    customer_id: int
    customer_name: str
    period_kind: str  # "daily" | "weekly" | "monthly"
    period_start: datetime  # UTC
    period_end: datetime  # UTC, exclusive
    lines: tuple[InvoiceLine, ...]
    subtotal: Decimal
    tax_percent: Decimal
    tax: Decimal
    total: Decimal
    currency: str
    issue_date: date
    due_date: date
    status: InvoiceStatus
    created_by: str
    created_at: datetime
    customer_code: str | None = None

    @property
    def period_label(self) -> str:
        """``2026-03-01``, ``Week 09 2026`` or ``2026-03``, as the Summary labels the row."""
        return period_label(PeriodKind(self.period_kind), self.period_start)


def format_number(sequence: int) -> str:
    return f"{NUMBER_PREFIX}{sequence:0{NUMBER_DIGITS}d}"


def invoice_kind(kind: PeriodKind | str) -> PeriodKind:
    """``kind`` as a billing period; the 24-hour view raises PeriodOpenError."""
    text = str(kind).strip().lower()
    if text in ("24h", PeriodKind.HOURLY.value):
        raise PeriodOpenError(
            "the 24-hour view is a rolling window, not a billing period: "
            "invoice a daily, weekly or monthly period"
        )
    try:
        parsed = PeriodKind(text)
    except ValueError:
        parsed = None
    if parsed not in INVOICE_KINDS:
        raise ValidationError("period", f"{kind!r} is not daily, weekly or monthly")
    return parsed


def tax_amount(subtotal: Decimal, tax_percent: Decimal) -> Decimal:
    """subtotal x tax_percent / 100, rounded half-up to cents."""
    with decimal.localcontext(prec=60):
        return (subtotal * tax_percent / _HUNDRED).quantize(_CENT, rounding=ROUND_HALF_UP)


def billed_minutes(seconds: int) -> Decimal:
    with decimal.localcontext(prec=60):
        return (Decimal(seconds) / 60).quantize(_MINUTE_PLACES, rounding=ROUND_HALF_UP)


def _period_text(kind: PeriodKind, start: datetime) -> str:
    return f"{kind.value} period {period_label(kind, start)}"


# -- reading -------------------------------------------------------------------------------------


def _records(session: Session, invoices: Sequence[Invoice]) -> list[InvoiceRecord]:
    if not invoices:
        return []
    ids = [invoice.id for invoice in invoices]
    lines: dict[int, list[InvoiceLine]] = defaultdict(list)
    table = InvoiceLineRow.__table__  # type: ignore[attr-defined]
    for offset in range(0, len(ids), _LINE_BATCH):
        part = ids[offset : offset + _LINE_BATCH]
        statement = select(table).where(table.c.invoice_id.in_(part)).order_by(table.c.day)
        for row in session.connection().execute(statement):
            lines[row.invoice_id].append(
                InvoiceLine(
                    day=row.day,
                    attempts=row.attempts,
                    connected=row.connected,
                    billed_minutes=billed_minutes(row.billed_duration),
                    charge=row.charge,
                    billed_duration=row.billed_duration,
                )
            )
    customer_ids = {invoice.customer_id for invoice in invoices}
    customers = {
        row.id: (row.name, row.account_code)
        for row in session.connection().execute(
            select(col(Customer.id), col(Customer.name), col(Customer.account_code)).where(
                col(Customer.id).in_(customer_ids)
            )
        )
    }
    result = []
    for invoice in invoices:
        assert invoice.id is not None
        name, code = customers.get(invoice.customer_id, ("", None))
        result.append(
            InvoiceRecord(
                id=invoice.id,
                number=invoice.number,
                customer_id=invoice.customer_id,
                customer_name=name,
                period_kind=invoice.period_kind,
                period_start=invoice.period_start,
                period_end=invoice.period_end,
                lines=tuple(lines.get(invoice.id, ())),
                subtotal=invoice.subtotal,
                tax_percent=invoice.tax_percent,
                tax=invoice.tax,
                total=invoice.total,
                currency=invoice.currency,
                issue_date=invoice.issue_date,
                due_date=invoice.due_date,
                status=InvoiceStatus(invoice.status),
                created_by=invoice.created_by,
                created_at=invoice.created_at,
                customer_code=code,
            )
        )
    return result


def list_invoices(
    db: Database, actor: Actor, *, customer_id: int | None = None, since: date | None = None
) -> list[InvoiceRecord]:
    """Invoices by number (oldest first), with their lines; ``since``: issued on or after."""
    actor.require(Role.VIEWER, "read invoices")
    statement = select(Invoice).order_by(Invoice.sequence)  # type: ignore[arg-type]
    if customer_id is not None:
        statement = statement.where(col(Invoice.customer_id) == customer_id)
    if since is not None:
        statement = statement.where(col(Invoice.issue_date) >= since)
    with db.read() as session:
        invoices = list(session.execute(statement).scalars())
        return _records(session, invoices)


def get_invoice(db: Database, actor: Actor, number: str) -> InvoiceRecord:
    """The invoice numbered ``number`` (``INV-000001``; case and surrounding spaces ignored)."""
    actor.require(Role.VIEWER, "read invoices")
    wanted = str(number).strip().upper()
    with db.read() as session:
        invoice = session.execute(select(Invoice).where(col(Invoice.number) == wanted)).scalar()
        if invoice is None:
            raise NotFoundError(f"no invoice numbered {wanted!r}")
        return _records(session, [invoice])[0]


def invoice_numbers(
    db: Database, actor: Actor, customer_id: int, period_kind: PeriodKind | str
) -> dict[datetime, str]:
    """period start -> invoice number of the customer's invoices of ``period_kind`` (the
    Summary's Invoice column). The 24-hour view has none: an empty dict."""
    actor.require(Role.VIEWER, "read invoices")
    try:
        kind = invoice_kind(period_kind)
    except PeriodOpenError:
        return {}
    statement = select(col(Invoice.period_start), col(Invoice.number)).where(
        col(Invoice.customer_id) == customer_id, col(Invoice.period_kind) == kind.value
    )
    with db.read() as session:
        return {start: number for start, number in session.execute(statement)}


# -- generating ----------------------------------------------------------------------------------


def _customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFoundError(f"no customer with id {customer_id}")
    return customer


def _checked_starts(kind: PeriodKind, starts: Iterable[datetime], now: datetime) -> list[datetime]:
    result: list[datetime] = []
    for given in starts:
        start = as_utc(given)
        if period_start(kind, start) != start:
            raise ValidationError(
                "period", f"{start.isoformat()} is not the start of a {kind.value} period"
            )
        end = next_period_start(kind, start)
        if end > now:
            raise PeriodOpenError(
                f"{_period_text(kind, start)} is not closed yet (it ends "
                f"{end:%Y-%m-%d %H:%M} UTC): only closed periods can be invoiced"
            )
        if start in result:
            raise ValidationError("period", f"{_period_text(kind, start)} is chosen twice")
        result.append(start)
    if not result:
        raise ValidationError("period", "choose at least one period to invoice")
    return sorted(result)


def _existing(session: Session, customer_id: int) -> list[tuple[datetime, datetime, str, str]]:
    """(start, end, number, kind) of the customer's invoices."""
    statement = (
        select(
            col(Invoice.period_start),
            col(Invoice.period_end),
            col(Invoice.number),
            col(Invoice.period_kind),
        )
        .where(col(Invoice.customer_id) == customer_id)
        .order_by(col(Invoice.period_start))
    )
    return [(start, end, number, kind) for start, end, number, kind in session.execute(statement)]


def _overlapping(
    existing: Sequence[tuple[datetime, datetime, str, str]], start: datetime, end: datetime
) -> tuple[str, str] | None:
    """(number, description) of an invoice covering any of [start, end), or None."""
    for other_start, other_end, number, kind in existing:
        if other_start < end and start < other_end:
            return number, _period_text(PeriodKind(kind), other_start)
    return None


def _day_sums(
    session: Session, customer_id: int, start: datetime, end: datetime
) -> dict[date, tuple[int, int, int, Decimal]]:
    """UTC day -> (attempts, connected, billed seconds, charge) from the customer's roll-ups
    in [start, end)."""
    hourly = CdrHourly.__table__.c  # type: ignore[attr-defined]
    statement = select(
        hourly.hour_start, hourly.attempts, hourly.connected, hourly.billed_duration, hourly.charge
    ).where(hourly.customer_id == customer_id, hourly.hour_start >= start, hourly.hour_start < end)
    sums: dict[date, list[Any]] = {}
    for hour, attempts, connected, billed, charge in session.connection().execute(statement):
        day = as_utc(hour).date()
        bucket = sums.setdefault(day, [0, 0, 0, _ZERO])
        bucket[0] += attempts
        bucket[1] += connected
        bucket[2] += billed
        bucket[3] += charge
    return {day: (a, c, b, m) for day, (a, c, b, m) in sums.items()}


def _next_sequence(session: Session) -> int:
    found = session.execute(select(func.max(Invoice.sequence))).scalar()
    return int(found or 0) + 1


def _audit_view(invoice: Invoice, lines: int) -> dict[str, Any]:
    return {
        "number": invoice.number,
        "period_kind": invoice.period_kind,
        "period_start": invoice.period_start,
        "period_end": invoice.period_end,
        "lines": lines,
        "subtotal": invoice.subtotal,
        "tax_percent": invoice.tax_percent,
        "tax": invoice.tax,
        "total": invoice.total,
        "currency": invoice.currency,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "status": invoice.status,
        "created_by": invoice.created_by,
    }


def _create(
    session: Session,
    actor: Actor,
    customer: Customer,
    kind: PeriodKind,
    starts: Sequence[datetime],
    now: datetime,
    comment: str | None,
) -> list[Invoice]:
    """Insert and audit one invoice per start (checked, sorted, not invoiced yet)."""
    if not starts:
        return []
    assert customer.id is not None
    sums = _day_sums(session, customer.id, starts[0], next_period_start(kind, starts[-1]))
    sequence = _next_sequence(session)
    issue = now.date()
    lines_table = InvoiceLineRow.__table__  # type: ignore[attr-defined]
    created = []
    for start in starts:
        end = next_period_start(kind, start)
        lines: list[dict[str, Any]] = []
        day = start.date()
        while day < end.date():
            attempts, connected, billed, charge = sums.get(day, (0, 0, 0, _ZERO))
            lines.append(
                {
                    "day": day,
                    "attempts": attempts,
                    "connected": connected,
                    "billed_duration": billed,
                    "charge": charge,
                }
            )
            day += timedelta(days=1)
        subtotal = sum((line["charge"] for line in lines), _ZERO)
        tax = tax_amount(subtotal, customer.tax_percent)
        invoice = Invoice(
            sequence=sequence,
            number=format_number(sequence),
            customer_id=customer.id,
            period_kind=kind.value,
            period_start=start,
            period_end=end,
            subtotal=subtotal,
            tax_percent=customer.tax_percent,
            tax=tax,
            total=subtotal + tax,
            currency=customer.currency,
            issue_date=issue,
            due_date=issue + timedelta(days=customer.invoice_due_days),
            status=InvoiceStatus.UNPAID.value,
            created_by=actor.name,
            created_at=utcnow(),
        )
        session.add(invoice)
        session.flush()
        session.connection().execute(
            insert(lines_table), [{"invoice_id": invoice.id, **line} for line in lines]
        )
        audit.record(
            session,
            actor,
            action=AuditAction.GENERATE,
            verb=HttpVerb.POST,
            table=TABLE,
            key=invoice.id,
            customer_id=customer.id,
            message=(
                f"Invoice {invoice.number} generated for {customer.name}: "
                f"{_period_text(kind, start)}, total {invoice.total} {invoice.currency}"
            ),
            after=_audit_view(invoice, len(lines)),
            comment=comment,
        )
        created.append(invoice)
        sequence += 1
    return created


def _begin_generation(session: Session, db: Database) -> None:
    """The invoice lock first, then the roll-up of pending hours (see the module's lock order)."""
    lock_invoice_numbers(session)
    roll_up_marked_hours(session, db.backend, utcnow())


def generate_invoices(
    db: Database,
    actor: Actor,
    customer_id: int,
    period_kind: PeriodKind | str,
    period_starts: Sequence[datetime],
    *,
    now: datetime | None = None,
    comment: str | None = None,
) -> list[InvoiceRecord]:
    """One invoice per period start, oldest first; all or nothing.

    Refuses (PeriodOpenError) the 24-hour view and periods not closed at ``now``, and
    (DuplicateInvoiceError, naming the number) a period overlapping an invoice of the customer.
    """
    actor.require(Role.OPERATOR, "generate invoices")
    kind = invoice_kind(period_kind)
    now = as_utc(now) if now is not None else utcnow()
    starts = _checked_starts(kind, period_starts, now)
    with db.write() as session:
        _begin_generation(session, db)
        customer = _customer(session, customer_id)
        existing = _existing(session, customer_id)
        for start in starts:
            found = _overlapping(existing, start, next_period_start(kind, start))
            if found is None:
                continue
            number, covering = found
            wanted = _period_text(kind, start)
            if covering == wanted:
                message = f"{wanted} of {customer.name} is invoiced already: {number}"
            else:
                message = (
                    f"{wanted} of {customer.name} is invoiced already: {number} covers "
                    f"its days ({covering})"
                )
            raise DuplicateInvoiceError(number, message)
        created = _create(session, actor, customer, kind, starts, now, comment)
        return _records(session, created)


def _first_rollup_hour(session: Session, customer_id: int) -> datetime | None:
    hourly = CdrHourly.__table__.c  # type: ignore[attr-defined]
    # ORDER BY + LIMIT, not MIN(): the column keeps its type (and its UTC conversion).
    statement = (
        select(hourly.hour_start)
        .where(hourly.customer_id == customer_id)
        .order_by(hourly.hour_start)
        .limit(1)
    )
    return session.connection().execute(statement).scalar()


def _auto_for(
    session: Session, actor: Actor, customer: Customer, now: datetime
) -> list[InvoiceRecord]:
    assert customer.id is not None
    kind = PeriodKind(customer.invoice_schedule)
    first = _first_rollup_hour(session, customer.id)
    if first is None:
        return []
    existing = _existing(session, customer.id)
    missing = [
        start
        for start in periods_between(kind, first, now)
        if next_period_start(kind, start) <= now
        and _overlapping(existing, start, next_period_start(kind, start)) is None
    ]
    created = _create(session, actor, customer, kind, missing, now, "Auto Generate")
    return _records(session, created)


def auto_generate(
    db: Database, actor: Actor, *, customer_id: int | None = None, now: datetime | None = None
) -> list[InvoiceRecord]:
    """For each customer with an invoice schedule (or only ``customer_id``, which must have
    one): an invoice for every closed period of its schedule from the period of its first CDR
    that no invoice of the customer covers yet. Running it again creates nothing new.

    One transaction per customer, so a cron run that fails on one customer keeps the invoices
    already made for the others; the missing periods are found under the invoice lock, so two
    runs at once cannot both create the same invoice.
    """
    actor.require(Role.OPERATOR, "generate invoices")
    now = as_utc(now) if now is not None else utcnow()
    if customer_id is not None:
        with db.read() as session:
            customer = _customer(session, customer_id)
            if customer.invoice_schedule == InvoiceSchedule.NONE.value:
                raise ValidationError(
                    "customer",
                    f"{customer.name} has no invoice schedule: set it to daily, weekly or "
                    "monthly, or generate invoices for chosen periods",
                )
        ids = [customer_id]
    else:
        statement = (
            select(col(Customer.id))
            .where(col(Customer.invoice_schedule) != InvoiceSchedule.NONE.value)
            .order_by(col(Customer.id))
        )
        with db.read() as session:
            ids = list(session.execute(statement).scalars())
    created: list[InvoiceRecord] = []
    for wanted in ids:
        with db.write() as session:
            _begin_generation(session, db)
            customer = _customer(session, wanted)
            if customer.invoice_schedule == InvoiceSchedule.NONE.value:
                continue  # changed since it was listed
            created += _auto_for(session, actor, customer, now)
    return created


# -- status ----------------------------------------------------------------------------------------


def _wanted_status(status: InvoiceStatus | str) -> InvoiceStatus:
    try:
        return InvoiceStatus(str(status).strip().capitalize())
    except ValueError:
        raise ValidationError("status", f"{status!r} is not Unpaid, Paid or Pending") from None


def _apply_status(
    session: Session, actor: Actor, invoice_id: int, wanted: InvoiceStatus, comment: str | None
) -> Invoice:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFoundError(f"no invoice with id {invoice_id}")
    before = invoice.status
    if before == wanted.value:
        return invoice
    invoice.status = wanted.value
    session.add(invoice)
    session.flush()
    audit.record(
        session,
        actor,
        action=AuditAction.UPDATE,
        verb=HttpVerb.PUT,
        table=TABLE,
        key=invoice.id,
        customer_id=invoice.customer_id,
        message=f"Invoice {invoice.number} marked {wanted.value} (was {before})",
        before={"number": invoice.number, "status": before},
        after={"number": invoice.number, "status": wanted.value},
        comment=comment,
    )
    return invoice


def set_status(
    db: Database,
    actor: Actor,
    invoice_id: int,
    status: InvoiceStatus | str,
    *,
    comment: str | None = None,
) -> InvoiceRecord:
    """Change an invoice's status (Unpaid, Paid, Pending), audited as UPDATE. Setting the
    status it has already writes nothing."""
    return set_status_many(db, actor, [invoice_id], status, comment=comment)[0]


def set_status_many(
    db: Database,
    actor: Actor,
    invoice_ids: Sequence[int],
    status: InvoiceStatus | str,
    *,
    comment: str | None = None,
) -> list[InvoiceRecord]:
    """:func:`set_status` for several invoices (the grid's checked rows) in one transaction:
    all or nothing, one audit entry per invoice that changes."""
    actor.require(Role.OPERATOR, "change invoices")
    wanted = _wanted_status(status)
    with db.write() as session:
        changed = [
            _apply_status(session, actor, invoice_id, wanted, comment) for invoice_id in invoice_ids
        ]
        return _records(session, changed)


# -- the grid ------------------------------------------------------------------------------------


def _date_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


GRID_COLUMNS = (
    Column("number", "Number", width=10),
    Column("period_kind", "Period", width=7),
    Column("period_start", "From (UTC)", ColumnType.TIMESTAMP),
    Column("period_end", "To (UTC)", ColumnType.TIMESTAMP),
    # Dates, not timestamps: shown as YYYY-MM-DD; not searched (no SQL cast of a date to text
    # agrees on both backends whatever PostgreSQL's DateStyle).
    Column("issue_date", "Issued", width=10, formatter=_date_text, searchable=False),
    Column("due_date", "Due", width=10, formatter=_date_text, searchable=False),
    Column("subtotal", "Subtotal", ColumnType.MONEY, width=12),
    Column("tax", "Tax", ColumnType.MONEY, width=10),
    Column("total", "Total", ColumnType.MONEY, width=12),
    Column("currency", "Currency", width=8),
    Column(
        "status",
        "Status",
        width=7,
        tone=tones(
            {
                InvoiceStatus.UNPAID: Tone.WARNING,
                InvoiceStatus.PAID: Tone.SUCCESS,
                InvoiceStatus.PENDING: Tone.MUTED,
            }
        ),
    ),
)
CUSTOMER_COLUMN = Column("customer", "Customer", width=18)


def grid_source(db: Database, actor: Actor, *, customer_id: int | None = None) -> SqlRowSource:
    """Invoices for the grid (row key: the invoice id). For one customer: its invoices; for
    the account: every invoice, with a Customer column after Number."""
    actor.require(Role.VIEWER, "read invoices")
    table = Invoice.__table__  # type: ignore[attr-defined]
    expressions: dict[str, Any] = {column.key: table.c[column.key] for column in GRID_COLUMNS}
    if customer_id is not None:
        return SqlRowSource(
            db,
            name=f"invoices-customer-{customer_id}",
            columns=GRID_COLUMNS,
            selectable=table,
            expressions=expressions,
            key=table.c.id,
            where=table.c.customer_id == customer_id,
        )
    customers = Customer.__table__  # type: ignore[attr-defined]
    expressions["customer"] = cast(
        select(customers.c.name).where(customers.c.id == table.c.customer_id).scalar_subquery(),
        String,
    )
    columns = (GRID_COLUMNS[0], CUSTOMER_COLUMN, *GRID_COLUMNS[1:])
    return SqlRowSource(
        db,
        name="invoices",
        columns=columns,
        selectable=table,
        expressions=expressions,
        key=table.c.id,
    )
