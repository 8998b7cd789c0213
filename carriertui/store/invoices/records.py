"""Invoices' records: numbers, tax and billed minutes, and reading invoices with their lines."""

from __future__ import annotations

import decimal
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.tables import Customer, Invoice, table_of
from carriertui.store.db.tables import InvoiceLine as InvoiceLineRow
from carriertui.store.enums import InvoiceStatus, Role
from carriertui.store.errors import NotFoundError, ValidationError
from carriertui.store.periods import (
    PeriodKind,
    period_label,
)

TABLE = "invoice"
INVOICE_KINDS = (PeriodKind.DAILY, PeriodKind.WEEKLY, PeriodKind.MONTHLY)
NUMBER_PREFIX = "INV-"
NUMBER_DIGITS = 6
_CENT = Decimal("0.01")
_MINUTE_PLACES = Decimal("0.0001")
_HUNDRED = Decimal(100)
ZERO = Decimal("0.0000")
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


def period_text(kind: PeriodKind, start: datetime) -> str:
    return f"{kind.value} period {period_label(kind, start)}"


# -- reading -------------------------------------------------------------------------------------


def records_of(session: Session, invoices: Sequence[Invoice]) -> list[InvoiceRecord]:
    if not invoices:
        return []
    ids = [invoice.id for invoice in invoices]
    lines: dict[int, list[InvoiceLine]] = defaultdict(list)
    table = table_of(InvoiceLineRow)
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
        return records_of(session, invoices)


def get_invoice(db: Database, actor: Actor, number: str) -> InvoiceRecord:
    """The invoice numbered ``number`` (``INV-000001``; case and surrounding spaces ignored)."""
    actor.require(Role.VIEWER, "read invoices")
    wanted = str(number).strip().upper()
    with db.read() as session:
        invoice = session.execute(select(Invoice).where(col(Invoice.number) == wanted)).scalar()
        if invoice is None:
            raise NotFoundError(f"no invoice numbered {wanted!r}")
        return records_of(session, [invoice])[0]


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
