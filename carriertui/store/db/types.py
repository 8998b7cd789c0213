"""Column types: timezone-aware UTC timestamps and exact decimal money on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; returns aware UTC datetimes (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; every timestamp must be timezone-aware UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def stored_utc(moment: datetime, backend: str) -> Any:
    """A UTC moment as UTCDateTime stores it, for SQL bound without the type (the bare driver,
    ``text()``): SQLAlchemy's ``YYYY-MM-DD HH:MM:SS.ffffff`` text on SQLite, the datetime on
    PostgreSQL."""
    if backend == "sqlite":
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment


MONEY_SCALE = 4
_QUANT = Decimal(1).scaleb(-MONEY_SCALE)
_FACTOR = 10**MONEY_SCALE


def quantize(value: Decimal) -> Decimal:
    return value.quantize(_QUANT, rounding=ROUND_HALF_EVEN)


class FixedDecimal(TypeDecorator[Decimal]):
    """A Decimal with 4 places stored as a scaled BIGINT.

    Exact on SQLite (whose NUMERIC is a float) and PostgreSQL alike, sortable and summable in SQL.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect) -> int | None:
        if value is None:
            return None
        return int(quantize(Decimal(value)) * _FACTOR)

    def process_result_value(self, value: int | None, dialect) -> Decimal | None:
        if value is None:
            return None
        return quantize(Decimal(value) / _FACTOR)
