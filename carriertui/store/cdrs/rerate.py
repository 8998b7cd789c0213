"""Re-rating a customer's CDRs of a period with the cards as they are now (``carriertui cdr
rerate``), after a deck fix.

One transaction: the period is refused if any of it is invoiced (the error names the
invoices: an issued invoice never changes under it); every CDR of the customer that started in
[start, end) is rated with the customer's and the provider card (store/cdrs/pricing.py, the
rule the import uses); one that cannot be rated refuses the whole re-rate, naming its call id
and number; the calls whose billed seconds, charge or cost change are updated; the customer's
roll-ups of those hours are recomputed; and one audit entry records the totals (calls, billed
seconds, charge, cost) before and after. Nothing is half done.

Lock order on PostgreSQL, as invoice generation's: the invoice lock first (so no invoice is
generated for the period meanwhile), the audit chain's last.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from carriertui.store import audit, rollups
from carriertui.store.cdr_rating import load_rater, stored_timestamp
from carriertui.store.cdrs.fields import _sqlite_time
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.locks import lock_invoice_numbers
from carriertui.store.db.tables import Customer, Invoice
from carriertui.store.db.types import MONEY_SCALE
from carriertui.store.enums import AuditAction, HttpVerb, Role
from carriertui.store.errors import NotFoundError, StoreError, ValidationError

TABLE = "cdr"
SHOWN_PROBLEMS = 100  # calls that cannot be rated, listed in the error


class PeriodInvoicedError(ValidationError):
    """Some of the period is invoiced; ``numbers`` names the invoices."""

    def __init__(self, numbers: list[str], message: str) -> None:
        super().__init__("period", message)
        self.numbers = numbers


class RerateError(StoreError):
    """Calls of the period cannot be rated; nothing was changed. ``problems``: the first
    (call id, reason), ``count`` how many in all."""

    def __init__(self, message: str, problems: list[tuple[str, str]], count: int) -> None:
        super().__init__(message)
        self.problems = problems
        self.count = count


@dataclass(frozen=True)
class Totals:
    calls: int
    billed_seconds: int
    charge: Decimal
    cost: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "billed_seconds": self.billed_seconds,
            "charge": str(self.charge),
            "cost": str(self.cost),
        }


@dataclass(frozen=True)
class RerateReport:
    customer_code: str
    currency: str
    start: datetime  # UTC
    end: datetime  # UTC, exclusive
    before: Totals
    after: Totals
    changed: int  # calls whose billed seconds, charge or cost changed
    hours: int  # customer-hours of roll-ups recomputed
    elapsed_s: float


def _totals(calls: int, billed: int, charge: int, cost: int) -> Totals:
    return Totals(
        calls, billed, Decimal(charge).scaleb(-MONEY_SCALE), Decimal(cost).scaleb(-MONEY_SCALE)
    )


def _day_text(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%d %H:%M}Z to {end:%Y-%m-%d %H:%M}Z"


def _refuse_invoiced(
    session: Any, customer: Customer, label: str, start: datetime, end: datetime
) -> None:
    rows = session.exec(
        select(Invoice.number, Invoice.period_kind, Invoice.period_start, Invoice.period_end)
        .where(
            Invoice.customer_id == customer.id,
            col(Invoice.period_start) < end,
            col(Invoice.period_end) > start,
        )
        .order_by(col(Invoice.period_start))
    ).all()
    if not rows:
        return
    named = ", ".join(
        f"{number} ({kind}, {first:%Y-%m-%d} to {last:%Y-%m-%d})"
        for number, kind, first, last in rows
    )
    raise PeriodInvoicedError(
        [row[0] for row in rows],
        f"calls of {label} from {_day_text(start, end)} are invoiced: {named}; "
        "an invoiced period is not re-rated",
    )


def rerate_period(
    db: Database,
    actor: Actor,
    customer_id: int,
    start: datetime,
    end: datetime,
    *,
    tech_prefix: str = "",
) -> RerateReport:
    """Re-rate ``customer_id``'s CDRs that started in [start, end) (aware datetimes) with the
    current cards; see the module's docstring."""
    actor.require(Role.OPERATOR, "re-rate CDRs")
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationError("period", "a time with a zone (UTC)")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if not start < end:
        raise ValidationError(
            "period", f"the period ends before it starts ({_day_text(start, end)})"
        )
    started = time.perf_counter()
    with db.write() as session:
        lock_invoice_numbers(session)
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFoundError(f"no customer with id {customer_id}")
        label = customer.account_code or customer.name
        _refuse_invoiced(session, customer, label, start, end)
        rater = load_rater(session, actor, tech_prefix=tech_prefix, customer_ids={customer_id})
        sqlite = db.backend == "sqlite"
        mark = "?" if sqlite else "%s"
        low: Any = _sqlite_time(start) if sqlite else start
        high: Any = _sqlite_time(end) if sqlite else end
        driver: Any = session.connection().connection.driver_connection
        cursor = driver.cursor()
        try:
            cursor.execute(
                "SELECT id, call_id, start_time, dest_number, duration, billed_duration, "  # noqa: S608
                f"charge, cost FROM cdr WHERE customer_id = {mark} AND start_time >= {mark} "
                f"AND start_time < {mark}",
                (customer_id, low, high),
            )
            rows = cursor.fetchall()
        finally:
            cursor.close()
        before = [0, 0, 0, 0]
        after = [0, 0, 0, 0]
        updates: list[tuple[int, int, int, int]] = []
        problems: list[tuple[str, str]] = []
        failed = 0
        price_call = rater.price_call
        moments: dict[Any, float] = {}
        for row_id, call_id, stored, number, duration, billed, charge, cost in rows:
            before[0] += 1
            before[1] += billed
            before[2] += charge
            before[3] += cost
            at = moments.get(stored)
            if at is None:
                at = stored_timestamp(stored)
                if len(moments) < 100_000:
                    moments[stored] = at
            priced = price_call(customer_id, at, number, duration)
            if isinstance(priced, str):
                failed += 1
                if len(problems) < SHOWN_PROBLEMS:
                    problems.append((call_id, priced))
                continue
            new_billed, new_charge, new_cost = priced
            after[0] += 1
            after[1] += new_billed
            after[2] += new_charge
            after[3] += new_cost
            if (new_billed, new_charge, new_cost) != (billed, charge, cost):
                updates.append((new_billed, new_charge, new_cost, row_id))
        if failed:
            more = f" (the first {len(problems)} listed)" if failed > len(problems) else ""
            raise RerateError(
                f"{failed} calls of {label} from {_day_text(start, end)} cannot be rated"
                f"{more}; nothing was changed",
                problems,
                failed,
            )
        if updates:
            cursor = driver.cursor()
            try:
                cursor.executemany(
                    f"UPDATE cdr SET billed_duration = {mark}, charge = {mark}, "  # noqa: S608
                    f"cost = {mark} WHERE id = {mark}",
                    updates,
                )
            finally:
                cursor.close()
        hours = rollups.roll_up_customer_hours(session, db.backend, customer_id, start, end)
        report = RerateReport(
            customer_code=label,
            currency=customer.currency,
            start=start,
            end=end,
            before=_totals(*before),
            after=_totals(*after),
            changed=len(updates),
            hours=hours,
            elapsed_s=0.0,
        )
        audit.record(
            session,
            actor,
            action=AuditAction.UPDATE,
            verb=HttpVerb.PUT,
            table=TABLE,
            key=f"{label} {start:%Y-%m-%dT%H:%M}Z/{end:%Y-%m-%dT%H:%M}Z",
            message=(
                f"Re-rated {report.before.calls} CDRs of {label} from {_day_text(start, end)} "
                f"with the current rate cards: {report.changed} changed; charge "
                f"{report.before.charge} -> {report.after.charge}, cost {report.before.cost} -> "
                f"{report.after.cost} {customer.currency}"
            ),
            before=report.before.as_dict(),
            after={**report.after.as_dict(), "changed": report.changed},
            customer_id=customer_id,
        )
    return RerateReport(**{**report.__dict__, "elapsed_s": time.perf_counter() - started})
