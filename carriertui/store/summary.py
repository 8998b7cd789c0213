"""Call summaries of one customer: 24 hours (rolling), daily, weekly (ISO), monthly; all UTC.

Read from the hourly roll-ups (store/rollups.py), never from the CDRs. Plain values out:
:class:`Summary` with :class:`SummaryRow` rows for the CLI and services, and
:func:`summary_row_source` for the grid (columns grouped Period | Calls | Usage | Money).

Definitions (DOMAIN.md 5.2 and 8.1): ASR = connected / attempts x 100; ACD = duration /
connected (talk seconds); Profit = charge - cost; Profit % = profit / charge x 100. A zero
denominator gives None (shown as a dash), never 0. Money is exact Decimal in the customer's
currency; ratios are Decimals rounded half-even to 2 places.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, func, literal_column, select, type_coerce

from carriertui.grid.memory import InMemoryRowSource
from carriertui.grid.model import Column, ColumnType, Row, negative_tone
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.tables import CdrHourly, Customer
from carriertui.store.db.types import MONEY_SCALE, utcnow
from carriertui.store.enums import Role
from carriertui.store.errors import NotFoundError, ValidationError
from carriertui.store.periods import (
    HOUR,
    PeriodKind,
    as_utc,
    next_period_start,
    period_label,
    period_start,
    periods_between,
)
from carriertui.store.rollups import last_rollup_at


class SummaryView(StrEnum):
    HOURS_24 = "24h"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"

    @property
    def period(self) -> PeriodKind:
        return _VIEW_PERIODS[self]


_VIEW_PERIODS = {
    SummaryView.HOURS_24: PeriodKind.HOURLY,
    SummaryView.DAILY: PeriodKind.DAILY,
    SummaryView.WEEKLY: PeriodKind.WEEKLY,
    SummaryView.MONTHLY: PeriodKind.MONTHLY,
}
ROLLING_HOURS = 24
DASH = "\u2014"  # a ratio whose denominator is zero: never 0, never an error
_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)


def ratio(numerator: Decimal | int, denominator: Decimal | int, scale: int = 1) -> Decimal | None:
    """numerator / denominator x scale, rounded to 2 places; None for a zero denominator."""
    if not denominator:
        return None
    value = Decimal(numerator) * scale / Decimal(denominator)
    return value.quantize(_CENT, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class SummaryRow:
    period_start: datetime
    period_end: datetime
    label: str  # "2026-03-01 14:00", "2026-03-01", "Week 09 2026", "2026-03"
    attempts: int = 0
    connected: int = 0
    duration: int = 0  # talk seconds
    billed_duration: int = 0  # seconds
    charge: Decimal = Decimal("0.0000")
    cost: Decimal = Decimal("0.0000")
    pdd_sum_ms: int = 0
    partial: bool = False  # the current (open) period: its numbers still grow

    @property
    def asr(self) -> Decimal | None:
        return ratio(self.connected, self.attempts, 100)

    @property
    def acd(self) -> Decimal | None:
        return ratio(self.duration, self.connected)

    @property
    def profit(self) -> Decimal:
        return self.charge - self.cost

    @property
    def profit_pct(self) -> Decimal | None:
        return ratio(self.profit, self.charge, 100)

    @property
    def pdd_avg_ms(self) -> Decimal | None:
        return ratio(self.pdd_sum_ms, self.attempts)

    def values(self) -> dict[str, Any]:
        """The row under its API names (DOMAIN.md 5.5 spelling of issue 7): None where the
        Summary shows a dash. What the customer is billed, then the carrier's own figures."""
        return {
            **billed_row(self).values(),
            "cost": self.cost,
            "profit": self.profit,
            "profit_pct": self.profit_pct,
        }


# What the customer is billed: the portal's Summary shows these and nothing else (no provider
# cost, no margin). The operator's Summary adds Cost, Profit and Profit %.
BILLED_KEYS = (
    "period_start",
    "attempts",
    "connected",
    "asr",
    "acd",
    "duration",
    "billed_duration",
    "charge",
)


@dataclass(frozen=True)
class BilledRow:
    """One Summary period as its customer sees it: calls, usage and charge; no cost or margin
    (the portal's rows are built from these, so no copy or export there can carry them)."""

    period_start: datetime
    period_end: datetime
    label: str
    attempts: int = 0
    connected: int = 0
    duration: int = 0  # talk seconds
    billed_duration: int = 0  # seconds
    charge: Decimal = Decimal("0.0000")
    partial: bool = False

    @property
    def asr(self) -> Decimal | None:
        return ratio(self.connected, self.attempts, 100)

    @property
    def acd(self) -> Decimal | None:
        return ratio(self.duration, self.connected)

    def values(self) -> dict[str, Any]:
        return {
            "period_start": self.period_start,
            "period": self.label,
            "partial": self.partial,
            "attempts": self.attempts,
            "connected": self.connected,
            "asr": self.asr,
            "acd": self.acd,
            "duration": self.duration,
            "billed_duration": self.billed_duration,
            "charge": self.charge,
        }


def billed_row(row: SummaryRow) -> BilledRow:
    """``row`` without its cost, margin and PDD."""
    return BilledRow(
        period_start=row.period_start,
        period_end=row.period_end,
        label=row.label,
        attempts=row.attempts,
        connected=row.connected,
        duration=row.duration,
        billed_duration=row.billed_duration,
        charge=row.charge,
        partial=row.partial,
    )


@dataclass(frozen=True)
class WeightedKpis:
    """The true ASR and ACD of several rows, not an average of their ASRs and ACDs."""

    attempts: int
    connected: int
    duration: int
    asr: Decimal | None
    acd: Decimal | None


def weighted_kpis(rows: Iterable[SummaryRow | BilledRow]) -> WeightedKpis:
    """Σconnected / Σattempts x 100 and Σduration / Σconnected over ``rows``."""
    attempts = connected = duration = 0
    for row in rows:
        attempts += row.attempts
        connected += row.connected
        duration += row.duration
    return WeightedKpis(
        attempts,
        connected,
        duration,
        ratio(connected, attempts, 100),
        ratio(duration, connected),
    )


@dataclass(frozen=True)
class Summary:
    customer_id: int
    customer_code: str | None
    customer_name: str
    currency: str
    view: SummaryView
    rows: tuple[SummaryRow, ...]  # oldest first, every period of the range (empty ones too)
    rolled_up_at: datetime | None  # when the roll-up last ran; None: never
    generated_at: datetime

    @property
    def partial_row(self) -> SummaryRow | None:
        return next((row for row in self.rows if row.partial), None)

    @property
    def columns(self) -> tuple[Column, ...]:
        """The grid's columns for these rows (the operator's: with Cost, Profit, Profit %)."""
        return summary_columns(self.view)

    def billed(self) -> BilledSummary:
        """The same periods as the customer sees them: no cost, no margin."""
        return BilledSummary(
            customer_id=self.customer_id,
            customer_code=self.customer_code,
            customer_name=self.customer_name,
            currency=self.currency,
            view=self.view,
            rows=tuple(billed_row(row) for row in self.rows),
            rolled_up_at=self.rolled_up_at,
            generated_at=self.generated_at,
        )

    def totals(self) -> SummaryRow:
        """All rows added up (period = the whole range)."""
        if not self.rows:
            start = period_start(self.view.period, self.generated_at)
            return SummaryRow(start, start, "Total")
        total = SummaryRow(self.rows[0].period_start, self.rows[-1].period_end, "Total")
        return _add_all(total, self.rows)


@dataclass(frozen=True)
class BilledSummary:
    """A customer's Summary as the portal shows it: :class:`BilledRow` rows only."""

    customer_id: int
    customer_code: str | None
    customer_name: str
    currency: str
    view: SummaryView
    rows: tuple[BilledRow, ...]
    rolled_up_at: datetime | None
    generated_at: datetime

    @property
    def partial_row(self) -> BilledRow | None:
        return next((row for row in self.rows if row.partial), None)

    @property
    def columns(self) -> tuple[Column, ...]:
        """Exactly the billed columns (BILLED_KEYS)."""
        return billed_columns(self.view)


def _add_all(target: SummaryRow, rows: Iterable[SummaryRow]) -> SummaryRow:
    attempts = connected = duration = billed = pdd = 0
    charge = cost = Decimal("0.0000")
    for row in rows:
        attempts += row.attempts
        connected += row.connected
        duration += row.duration
        billed += row.billed_duration
        charge += row.charge
        cost += row.cost
        pdd += row.pdd_sum_ms
    return replace(
        target,
        attempts=attempts,
        connected=connected,
        duration=duration,
        billed_duration=billed,
        charge=charge,
        cost=cost,
        pdd_sum_ms=pdd,
    )


def _money(scaled: Any) -> Decimal:
    return Decimal(int(scaled or 0)).scaleb(-MONEY_SCALE)


def _day_of(column: str, backend: str) -> str:
    """SQL for a UTCDateTime column's UTC date as ``YYYY-MM-DD`` text."""
    if backend == "sqlite":
        return f"substr({column}, 1, 10)"
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def _buckets(
    db: Database, customer_id: int, start: datetime, end: datetime, *, by_day: bool
) -> list[tuple[datetime, tuple[int, ...]]]:
    """(hour or day start, sums) of the customer's roll-ups in [start, end), oldest first."""
    hourly = CdrHourly.__table__.c  # type: ignore[attr-defined]
    sums = [
        func.sum(hourly.attempts),
        func.sum(hourly.connected),
        func.sum(hourly.duration),
        func.sum(hourly.billed_duration),
        func.sum(type_coerce(hourly.charge, BigInteger())),
        func.sum(type_coerce(hourly.cost, BigInteger())),
        func.sum(hourly.pdd_sum_ms),
    ]
    conditions = (
        hourly.customer_id == customer_id,
        hourly.hour_start >= start,
        hourly.hour_start < end,
    )
    if by_day:
        day: ColumnElement[Any] = literal_column(_day_of("cdr_hourly.hour_start", db.backend))
        statement = select(day, *sums).where(*conditions).group_by(day).order_by(day)
    else:
        statement = (
            select(hourly.hour_start, *sums)
            .where(*conditions)
            .group_by(hourly.hour_start)
            .order_by(hourly.hour_start)
        )
    result = []
    with db.read() as session:
        for first, *values in session.connection().execute(statement):
            moment = period_start(PeriodKind.DAILY, date.fromisoformat(first)) if by_day else first
            result.append((moment, tuple(int(v or 0) for v in values)))
    return result


def _data_range(db: Database, customer_id: int) -> tuple[datetime | None, datetime | None]:
    hourly = CdrHourly.__table__.c  # type: ignore[attr-defined]
    statement = select(func.min(hourly.hour_start), func.max(hourly.hour_start)).where(
        hourly.customer_id == customer_id
    )
    with db.read() as session:
        first, last = session.connection().execute(statement).one()
    # MIN/MAX lose the column type on some backends: read them as the column would.
    return _as_moment(first), _as_moment(last)


def _as_moment(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else as_utc(value)


def _customer(db: Database, customer_id: int) -> Customer:
    with db.read() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFoundError(f"no customer with id {customer_id}")
        session.expunge(customer)
        return customer


def customer_summary(
    db: Database,
    actor: Actor,
    customer_id: int,
    view: SummaryView | str,
    *,
    first: date | None = None,
    last: date | None = None,
    now: datetime | None = None,
) -> Summary:
    """The customer's Summary rows for ``view``, oldest first.

    24h: the last 24 hourly buckets up to and including the current hour (no ``first``/
    ``last``). Daily, weekly, monthly: every period from the one containing ``first`` to the
    one containing ``last`` (default: from the customer's first roll-up to the current period),
    periods without calls included as zero rows. The period containing ``now`` is partial.
    """
    actor.require(Role.VIEWER, "read call summaries")
    try:
        view = SummaryView(view)
    except ValueError:
        raise ValidationError("view", f"{view!r} is not 24h, daily, weekly or monthly") from None
    now = as_utc(now) if now is not None else utcnow()
    customer = _customer(db, customer_id)
    kind = view.period
    if view is SummaryView.HOURS_24:
        if first is not None or last is not None:
            raise ValidationError("view", "the 24h view is the last 24 hours: no from/to dates")
        end = period_start(kind, now) + HOUR
        start = end - ROLLING_HOURS * HOUR
    else:
        if first is not None and last is not None and first > last:
            raise ValidationError("from", f"{first} is after {last}")
        data_first, data_last = _data_range(db, customer_id)
        low = period_start(kind, first) if first is not None else None
        high = period_start(kind, last) if last is not None else None
        if low is None:
            low = period_start(kind, data_first or now)
            if high is not None:
                low = min(low, high)
        if high is None:
            high = period_start(kind, max(now, data_last or now))
            high = max(high, low)
        start, end = low, next_period_start(kind, high)
    sums = dict(_buckets(db, customer_id, start, end, by_day=kind is not PeriodKind.HOURLY))
    rows = [
        _row(kind, period, sums, now)
        for period in periods_between(kind, start, end - timedelta(microseconds=1))
    ]
    return Summary(
        customer_id=customer_id,
        customer_code=customer.account_code,
        customer_name=customer.name,
        currency=customer.currency,
        view=view,
        rows=tuple(rows),
        rolled_up_at=last_rollup_at(db),
        generated_at=now,
    )


def _row(
    kind: PeriodKind, start: datetime, sums: dict[datetime, tuple[int, ...]], now: datetime
) -> SummaryRow:
    end = next_period_start(kind, start)
    attempts = connected = duration = billed = charge = cost = pdd = 0
    # Buckets are hours or days; a week or month adds up the days inside it.
    step = HOUR if kind is PeriodKind.HOURLY else timedelta(days=1)
    moment = start
    while moment < end:
        found = sums.get(moment)
        if found is not None:
            attempts += found[0]
            connected += found[1]
            duration += found[2]
            billed += found[3]
            charge += found[4]
            cost += found[5]
            pdd += found[6]
        moment += step
    return SummaryRow(
        period_start=start,
        period_end=end,
        label=period_label(kind, start),
        attempts=attempts,
        connected=connected,
        duration=duration,
        billed_duration=billed,
        charge=_money(charge),
        cost=_money(cost),
        pdd_sum_ms=pdd,
        partial=start <= now < end,
    )


# -- the grid ----------------------------------------------------------------------------------


def _acd_text(value: Any) -> str:
    seconds = int(Decimal(value).to_integral_value(rounding=ROUND_HALF_EVEN))
    return f"{seconds // 60}:{seconds % 60:02d}"


def summary_columns(view: SummaryView | str) -> tuple[Column, ...]:
    """The Summary grid's columns, grouped Period | Calls | Usage | Money (the Invoice group is
    added by the screen that knows about invoices)."""
    kind = SummaryView(view).period
    return (
        Column(
            "period_start",
            "Period",
            ColumnType.TIMESTAMP,
            width=16 if kind is PeriodKind.HOURLY else 12,
            formatter=lambda value: period_label(kind, value),
            group="Period",
        ),
        Column("attempts", "Attempts", ColumnType.INTEGER, width=10, group="Calls"),
        Column("connected", "Connected", ColumnType.INTEGER, width=10, group="Calls"),
        Column("asr", "ASR %", ColumnType.PERCENT, width=8, group="Calls", empty=DASH),
        Column(
            "acd",
            "ACD",
            ColumnType.DURATION,
            width=7,
            formatter=_acd_text,
            group="Calls",
            empty=DASH,
        ),
        Column("duration", "Duration", ColumnType.DURATION, width=11, group="Usage"),
        Column("billed_duration", "Billed Duration", ColumnType.DURATION, width=15, group="Usage"),
        Column("charge", "Customer Charge", ColumnType.MONEY, width=15, group="Money"),
        Column("cost", "Cost", ColumnType.MONEY, width=12, group="Money"),
        Column("profit", "Profit", ColumnType.MONEY, width=12, group="Money", tone=negative_tone),
        Column(
            "profit_pct",
            "Profit %",
            ColumnType.PERCENT,
            width=9,
            group="Money",
            empty=DASH,
            tone=negative_tone,
        ),
    )


def billed_columns(view: SummaryView | str) -> tuple[Column, ...]:
    """The portal's Summary columns: what the customer is billed (BILLED_KEYS), in order."""
    by_key = {column.key: column for column in summary_columns(view)}
    return tuple(by_key[key] for key in BILLED_KEYS)


def summary_grid_rows(summary: Summary | BilledSummary) -> list[Row]:
    """(period_start, values in ``summary.columns`` order) for each row."""
    keys = [column.key for column in summary.columns]
    rows = []
    for row in summary.rows:
        values = row.values()
        rows.append((row.period_start, tuple(values[key] for key in keys)))
    return rows


def summary_row_source(
    summary: Summary | BilledSummary, *, name: str | None = None
) -> InMemoryRowSource:
    """The Summary as a grid row source (a few hundred periods: in memory is plenty). Row keys
    are the periods' start times."""
    code = summary.customer_code or str(summary.customer_id)
    return InMemoryRowSource(
        summary.columns,
        summary_grid_rows(summary),
        name=name or f"summary-{code}-{summary.view.value}",
    )


def rows_by_keys(
    summary: Summary | BilledSummary, keys: Sequence[datetime]
) -> list[SummaryRow | BilledRow]:
    """The rows of ``summary`` whose period starts are ``keys`` (a grid selection's row keys),
    for :func:`weighted_kpis`."""
    wanted = set(keys)
    return [row for row in summary.rows if row.period_start in wanted]
