"""The CDR file's columns and their limits, the import's error, one field's checks, the header.

The parsing child process imports this (through rows.py and csvsource.py): standard library and
the store's exception types only (no SQLModel, SQLAlchemy or models).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from carriertui.store.errors import StoreError, ValidationError

# The CSV header (import and CDR report alike), in the report's order. Import accepts any order.
CSV_COLUMNS = (
    "call_id",
    "customer",
    "start_time",
    "source_cli",
    "dest_number",
    "dest_name",
    "duration",
    "billed_duration",
    "sip_code",
    "release_reason",
    "pdd_ms",
    "charge",
    "cost",
    "direction",
    "source_ip",
)
# A file may leave these out (or leave them empty on a row): such a row is rated with the
# customer's cards (store/cdrs/pricing.py). charge and cost come together, billed_duration
# with them.
RATED_COLUMNS = ("billed_duration", "charge", "cost")
# A reject file starts with these two; the importer accepts them (and ignores their values), so a
# reject file can be fixed and imported as it is.
REJECT_COLUMNS = ("reject_line", "reject_reason")

MAX_CALL_ID = 128
MAX_NUMBER = 64
MAX_DEST_NAME = 100
MAX_REASON = 64
MAX_SECONDS = 7 * 86_400  # a "call" longer than a week is a stuck channel or a unit mix-up
MAX_PDD_MS = 3_600_000
MAX_MONEY = Decimal(10) ** 12  # far above any call; far below the scaled BIGINT's limit
_DANGEROUS_START = frozenset("=+-@\t\r\n")
# types.MONEY_SCALE and enums.Direction's values, which this module cannot import without
# SQLAlchemy; tests/unit/test_cdr_import_fast_paths.py checks that they agree.
MONEY_SCALE = 4
DIRECTIONS = ("inbound", "outbound")
_SCALE = 10**MONEY_SCALE
_DIRECTIONS = {direction: direction for direction in DIRECTIONS}


class CdrImportError(StoreError):
    """The file was refused; nothing was imported. ``errors`` holds the first bad rows (up to the
    cap) and ``bad_rows`` how many there were in all."""

    # errors: cdrs.BadRow objects (cdrs is not imported here: it needs SQLAlchemy).
    def __init__(self, message: str, errors: Sequence[Any] = (), bad_rows: int = 0) -> None:
        super().__init__(message)
        self.errors = tuple(errors)
        self.bad_rows = bad_rows


# -- validation ---------------------------------------------------------------------------------


class _Bad(Exception):
    pass


def _undo_neutralised(text: str) -> str:
    """A cell our CSV writers neutralised (``'=...``) back to its value, so that a CDR report or
    a reject file imports as the data it came from."""
    if len(text) > 1 and text[0] == "'" and text[1] in _DANGEROUS_START:
        return text[1:]
    return text


def _text(name: str, value: str, limit: int, *, required: bool = False) -> str:
    value = _undo_neutralised(value)
    if required and not value.strip():
        raise ValidationError(name, "is empty")
    if len(value) > limit:
        raise ValidationError(name, f"longer than {limit} characters")
    if "\x00" in value:
        raise ValidationError(name, "contains a NUL character")
    return value


def _whole(name: str, value: str, limit: int) -> int:
    text = value.strip()
    if text.startswith("-") and text[1:].isascii() and text[1:].isdigit():
        raise ValidationError(name, f"negative ({text})")
    if not (text.isascii() and text.isdigit()):
        raise ValidationError(name, f"not a whole number: {value!r}")
    number = int(text)
    if number > limit:
        raise ValidationError(name, f"{number} is more than {limit}")
    return number


def _money(name: str, value: str) -> int:
    """The amount as FixedDecimal stores it (scaled by 10**4); at most 4 places, a dot."""
    text = value.strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationError(name, f"not a decimal number: {value!r}") from None
    if not amount.is_finite() or "e" in text.lower() or "_" in text:
        raise ValidationError(name, f"not a decimal number: {value!r}")
    if amount < 0:
        raise ValidationError(name, f"negative ({text})")
    if amount >= MAX_MONEY:
        raise ValidationError(name, f"too large ({text})")
    scaled = amount.scaleb(MONEY_SCALE)
    if scaled != scaled.to_integral_value():
        raise ValidationError(name, f"more than {MONEY_SCALE} decimal places ({text})")
    return int(scaled)


def _start_time(value: str) -> datetime:
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError("start_time", f"not an ISO 8601 date-time: {value!r}") from None
    if moment.tzinfo is None or len(text) <= 10:
        raise ValidationError(
            "start_time", f"no UTC offset: {value!r} (e.g. 2026-03-01T14:30:00Z or +01:00)"
        )
    return moment.astimezone(UTC)


def _ip(value: str) -> str:
    text = value.strip()
    if not text:
        return ""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValidationError("source_ip", f"not an IP address: {value!r}") from None


def _sqlite_time(moment: datetime) -> str:
    # How SQLAlchemy's SQLite DateTime (and so UTCDateTime) stores a UTC moment: sortable text.
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


# The stored row's order (the INSERT's columns); "customer" is the customer's id by then.
_STORED_ORDER = tuple(name for name in CSV_COLUMNS)
_CHARGE = CSV_COLUMNS.index("charge")
_INSERT_COLUMNS = tuple("customer_id" if name == "customer" else name for name in CSV_COLUMNS)


def check_header(header: Sequence[str]) -> list[str]:
    """The header's cells, stripped; CdrImportError naming unknown, missing or repeated columns."""
    names = [name.strip() for name in header]
    unknown = [n for n in names if n not in CSV_COLUMNS and n not in REJECT_COLUMNS]
    missing = [n for n in CSV_COLUMNS if n not in names and n not in RATED_COLUMNS]
    repeated = sorted({n for n in names if names.count(n) > 1})
    money = [n for n in ("charge", "cost") if n in names]
    problems = []
    if unknown:
        problems.append("unknown columns: " + ", ".join(repr(n) for n in unknown))
    if missing:
        problems.append("missing columns: " + ", ".join(missing))
    if len(money) == 1:
        problems.append(
            f"{money[0]} without {'cost' if money == ['charge'] else 'charge'} "
            "(give both, or neither to rate the calls with the rate cards)"
        )
    elif money and "billed_duration" not in names:
        problems.append("missing columns: billed_duration (needed with charge and cost)")
    if repeated:
        problems.append("repeated columns: " + ", ".join(repeated))
    if problems:
        raise CdrImportError(
            "bad header (line 1): " + "; ".join(problems) + ". Expected: " + ", ".join(CSV_COLUMNS)
        )
    return names


def rates_every_row(header: Sequence[str]) -> bool:
    """Whether a file with this (checked) header brings no money at all: every row is rated."""
    return "charge" not in header
