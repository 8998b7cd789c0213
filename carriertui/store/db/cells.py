"""What a row source selects for a column: the raw value for iter_rows, the CSV cell for
iter_csv_cells (the database neutralises formulas and spells money, integers and UTC times)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Integer,
    String,
    Text,
    case,
    cast,
    func,
    literal,
    literal_column,
    type_coerce,
)
from sqlalchemy import Column as SqlColumn
from sqlalchemy import Enum as SqlEnum

from carriertui.grid.export import csv_cell, csv_text
from carriertui.store.db.types import MONEY_SCALE, FixedDecimal, UTCDateTime

_FIXED_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)


def base_type(element: ColumnElement[Any]) -> Any:
    kind = element.type
    return getattr(kind, "impl_instance", None) or getattr(kind, "impl", kind)


def is_text(element: ColumnElement[Any]) -> bool:
    base = base_type(element)
    return isinstance(base, String) and not isinstance(base, SqlEnum)


def is_integer(element: ColumnElement[Any]) -> bool:
    return isinstance(element.type, Integer)


def fixed_decimal(stored: int) -> Decimal:
    # FixedDecimal.process_result_value's quantize(Decimal(v) / 10**4), at a third of the cost.
    return Decimal(stored).scaleb(-MONEY_SCALE)


def sqlite_utc(stored: str) -> datetime:
    # UTCDateTime on SQLite: SQLAlchemy's "YYYY-MM-DD HH:MM:SS.ffffff", in UTC.
    return datetime.fromisoformat(stored + "+00:00")


def raw_reader(
    expression: ColumnElement[Any], postgres: bool
) -> tuple[ColumnElement[Any], Callable[[Any], Any] | None]:
    """What iter_rows selects for ``expression``, and the conversion of that to the Python value
    the column's type gives (None: the driver's value is it). Tests compare the two paths."""
    if isinstance(expression.type, FixedDecimal):
        return type_coerce(expression, BigInteger()), fixed_decimal
    if isinstance(expression.type, UTCDateTime) and not postgres:
        return type_coerce(expression, String()), sqlite_utc
    return expression, None


# Code points of the first characters that make a spreadsheet run a cell as a formula
# (grid.export.csv_text): = + - @ TAB CR LF.
FORMULA_START_CHARACTERS = frozenset("=+-@\t\r\n")
FORMULA_STARTS = [ord(c) for c in sorted(FORMULA_START_CHARACTERS)]


def csv_reader(
    expression: ColumnElement[Any], postgres: bool, dialect: Any
) -> tuple[ColumnElement[Any], Callable[[Any], Any] | None]:
    """What iter_csv_cells selects for ``expression``, and what turns the value fetched into
    its cell (None: the fetched value is the cell already).

    A cell is what the csv writer writes as it writes ``grid.export.csv_cell`` of the value:
    the database neutralises text (a leading ``'``), spells FixedDecimals in plain notation,
    integers in digits and timestamps in ISO 8601 UTC, and gives NULL as ``''``,
    so that rows of plain text take write_csv_cells's fast path; tests compare the CSV text with
    csv_cell's. Computed text (a CASE, a subquery) is neutralised in Python instead: the CASE
    would evaluate it three times per row."""

    def text_or_empty(cell: ColumnElement[Any]) -> ColumnElement[Any]:
        return type_coerce(func.coalesce(cell, literal("", Text())), Text())

    if is_text(expression):
        if not isinstance(expression, SqlColumn):
            return text_or_empty(expression), csv_text_cell
        text = type_coerce(expression, Text())
        first = func.ascii(text) if postgres else func.unicode(text)
        neutral = case((first.in_(FORMULA_STARTS), literal("'", Text()) + text), else_=text)
        return text_or_empty(neutral), None
    if isinstance(expression.type, FixedDecimal):
        stored = type_coerce(expression, BigInteger())
        magnitude = func.abs(stored)
        scale: ColumnElement[Any] = literal_column(str(10**MONEY_SCALE))
        sign = case((stored < 0, literal("-", Text())), else_=literal("", Text()))
        if not postgres:
            # One printf: a third cheaper than the concatenation below (issue 21's export);
            # printf spells NULL as 0, so NULL is tested first.
            spelled = func.printf(
                literal(f"%s%d.%0{MONEY_SCALE}d", Text()),
                sign,
                magnitude.op("/")(scale),
                magnitude.op("%")(scale),
            )
            return type_coerce(
                case((stored.is_(None), literal("", Text())), else_=spelled), Text()
            ), None
        whole = cast(magnitude.op("/")(scale), Text)
        fraction = cast(magnitude.op("%")(scale), Text)
        padded = func.lpad(fraction, MONEY_SCALE, "0")
        return text_or_empty(sign + whole + literal(".", Text()) + padded), None
    if isinstance(expression.type, UTCDateTime) and not postgres:
        # Stored as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC): "YYYY-MM-DDTHH:MM:SS[.ffffff]Z". The one
        # space becomes the T and the one "." starts the fraction, so two replace() calls do
        # it: half the cost of cutting the text apart with substr (issue 21's export).
        stored_text = type_coerce(expression, Text())
        return text_or_empty(
            func.replace(
                func.replace(stored_text, literal(" ", Text()), literal("T", Text())),
                literal(".000000", Text()),
                literal("", Text()),
            )
            + literal("Z", Text())
        ), None
    if isinstance(expression.type, UTCDateTime):
        # PostgreSQL: the timestamptz spelled in UTC by to_char, ".000000" left out as
        # isoformat() leaves it out; the TypeDecorator's processing and a datetime per value
        # were most of a CDR report's time (issue 16).
        moment = type_coerce(expression, DateTime(timezone=True))
        spelled = func.to_char(
            func.timezone(literal("UTC", Text()), moment),
            literal('YYYY-MM-DD"T"HH24:MI:SS.US"Z"', Text()),
        )
        return text_or_empty(
            func.replace(spelled, literal(".000000Z", Text()), literal("Z", Text()))
        ), None
    if is_integer(expression):
        return text_or_empty(cast(expression, Text)), None
    process = expression.type.result_processor(dialect, None)
    if process is None:
        return expression, csv_cell
    return expression, lambda value: csv_cell(process(value))


def csv_text_cell(value: str | None) -> str | None:
    return None if value is None else csv_text(value)


def nullable(expression: ColumnElement[Any]) -> bool:
    """False only for a table column declared NOT NULL (a NULLS clause would change nothing)."""
    return getattr(expression, "nullable", True) is not False


def storable(expression: ColumnElement[Any], value: Any) -> bool:
    """False for a set-filter value the column cannot hold (a FixedDecimal with more places
    would be rounded when bound, and then match a different value)."""
    if value is None:
        return True
    if isinstance(expression.type, FixedDecimal) and isinstance(value, Decimal | float | int):
        return Decimal(value).quantize(_FIXED_QUANTUM) == value
    if is_integer(expression) and isinstance(value, Decimal | float):
        return math.isfinite(value) and value == int(value)
    return True


def bound(expression: ColumnElement[Any], value: Any, rounding: str) -> Any:
    """A range bound the column can hold without changing which values pass: a FixedDecimal
    lower bound rounds up to its scale, an upper one down (and likewise to integers)."""
    if isinstance(expression.type, FixedDecimal) and isinstance(value, Decimal | float | int):
        return Decimal(value).quantize(_FIXED_QUANTUM, rounding=rounding)
    if is_integer(expression) and isinstance(value, Decimal | float) and math.isfinite(value):
        return int(Decimal(value).to_integral_value(rounding=rounding))
    return value
