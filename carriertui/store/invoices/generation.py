"""Generating invoices: closed periods only, each period at most once per customer, numbers
without gaps (see the package's text for the rules)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlmodel import Session, col

from carriertui.store import audit
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.locks import lock_invoice_numbers
from carriertui.store.db.tables import CdrHourly, Customer, Invoice, table_of
from carriertui.store.db.tables import InvoiceLine as InvoiceLineRow
from carriertui.store.db.types import utcnow
from carriertui.store.enums import AuditAction, HttpVerb, InvoiceSchedule, InvoiceStatus, Role
from carriertui.store.errors import NotFoundError, ValidationError
from carriertui.store.invoices.records import (
    TABLE,
    ZERO,
    DuplicateInvoiceError,
    InvoiceRecord,
    PeriodOpenError,
    format_number,
    invoice_kind,
    period_text,
    records_of,
    tax_amount,
)
from carriertui.store.periods import (
    PeriodKind,
    as_utc,
    next_period_start,
    period_start,
    periods_between,
)
from carriertui.store.rollups import roll_up_marked_hours

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
                f"{period_text(kind, start)} is not closed yet (it ends "
                f"{end:%Y-%m-%d %H:%M} UTC): only closed periods can be invoiced"
            )
        if start in result:
            raise ValidationError("period", f"{period_text(kind, start)} is chosen twice")
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
            return number, period_text(PeriodKind(kind), other_start)
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
        bucket = sums.setdefault(day, [0, 0, 0, ZERO])
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
    lines_table = table_of(InvoiceLineRow)
    created = []
    for start in starts:
        end = next_period_start(kind, start)
        lines: list[dict[str, Any]] = []
        day = start.date()
        while day < end.date():
            attempts, connected, billed, charge = sums.get(day, (0, 0, 0, ZERO))
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
        subtotal = sum((line["charge"] for line in lines), ZERO)
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
                f"{period_text(kind, start)}, total {invoice.total} {invoice.currency}"
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
            wanted = period_text(kind, start)
            if covering == wanted:
                message = f"{wanted} of {customer.name} is invoiced already: {number}"
            else:
                message = (
                    f"{wanted} of {customer.name} is invoiced already: {number} covers "
                    f"its days ({covering})"
                )
            raise DuplicateInvoiceError(number, message)
        created = _create(session, actor, customer, kind, starts, now, comment)
        return records_of(session, created)


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
    return records_of(session, created)


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
