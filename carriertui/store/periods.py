"""Calendar periods in UTC: hours, days, ISO weeks (Monday 00:00), months. Half-open [start, end).

Used by the Summary, the CDR report and (later) invoices, so a period means the same thing
everywhere (DOMAIN.md 8.3). Pure functions over aware UTC datetimes; no database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


class PeriodKind(StrEnum):
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is refused (it names no instant)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; every timestamp must be timezone-aware")
    return moment.astimezone(UTC)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def period_start(kind: PeriodKind, moment: datetime | date) -> datetime:
    """The start of the period of ``kind`` containing ``moment`` (a date means its midnight)."""
    if isinstance(moment, datetime):
        moment = as_utc(moment)
        if kind is PeriodKind.HOURLY:
            return moment.replace(minute=0, second=0, microsecond=0)
        day = moment.date()
    else:
        day = moment
        if kind is PeriodKind.HOURLY:
            return _midnight(day)
    if kind is PeriodKind.DAILY:
        return _midnight(day)
    if kind is PeriodKind.WEEKLY:
        return _midnight(day - timedelta(days=day.weekday()))
    return _midnight(day.replace(day=1))


def next_period_start(kind: PeriodKind, start: datetime) -> datetime:
    """The start of the period after the one starting at ``start``."""
    if kind is PeriodKind.HOURLY:
        return start + HOUR
    if kind is PeriodKind.DAILY:
        return start + DAY
    if kind is PeriodKind.WEEKLY:
        return start + WEEK
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def period_bounds(kind: PeriodKind, moment: datetime | date) -> tuple[datetime, datetime]:
    """[start, end) of the period of ``kind`` containing ``moment``."""
    start = period_start(kind, moment)
    return start, next_period_start(kind, start)


def periods_between(kind: PeriodKind, first: datetime, last: datetime) -> Iterator[datetime]:
    """Starts of every period from the one containing ``first`` to the one containing ``last``."""
    start = period_start(kind, first)
    end = period_start(kind, last)
    while start <= end:
        yield start
        start = next_period_start(kind, start)


def period_label(kind: PeriodKind, start: datetime) -> str:
    """``2026-03-01 14:00``, ``2026-03-01``, ``Week 09 2026`` (ISO week, ISO year), ``2026-03``."""
    start = as_utc(start)
    if kind is PeriodKind.HOURLY:
        return start.strftime("%Y-%m-%d %H:00")
    if kind is PeriodKind.DAILY:
        return start.strftime("%Y-%m-%d")
    if kind is PeriodKind.WEEKLY:
        year, week, _ = start.date().isocalendar()
        return f"Week {week:02d} {year}"
    return start.strftime("%Y-%m")
