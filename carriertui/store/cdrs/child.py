"""CDR files read and validated into stored rows: the import's parsing half, with light imports.

:mod:`carriertui.store.cdrs` imports CDRs with this module's reader and parser, in its own
process for a small file and, for a big one, in a child process (:func:`child_main`) that
parses while the parent inserts: the two halves then run on two cores at once. So this module
imports only the standard library and the store's exception types (no SQLModel, SQLAlchemy or
models: the child starts in a few tens of milliseconds, not a second).
"""

from __future__ import annotations

import csv
import gc
import io
import ipaddress
import operator
import os
import pickle
import queue
import signal
import struct
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from itertools import repeat
from typing import TYPE_CHECKING, Any, NamedTuple

from carriertui.store.errors import StoreError, ValidationError

if TYPE_CHECKING:
    from carriertui.store.cdrs.pricing import RowRater

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


class _RowParser:
    """Turns one CSV record into the stored row, or the reasons it is bad.

    ``parse`` is the fast path for well-formed rows (this loop is the import's throughput);
    anything unusual falls through to ``check``, which validates every field and lists all
    of the row's problems, or returns the row when the unusual form was valid after all.
    """

    def __init__(
        self,
        header: Sequence[str],
        customers: dict[str, int],
        sqlite: bool,
        rater: RowRater | None = None,
    ) -> None:
        self.width = len(header)
        # A column the header leaves out (RATED_COLUMNS) is read as empty: its index is one
        # past the record's last field, where a padded record holds "".
        self.padded = any(name not in header for name in CSV_COLUMNS)
        self.at = {
            name: header.index(name) if name in header else self.width for name in CSV_COLUMNS
        }
        self.pick = operator.itemgetter(*(self.at[name] for name in CSV_COLUMNS))
        self.customers = customers
        self.sqlite = sqlite
        # Rates the rows without money; None: such rows are handed over unrated (the
        # importer rates them: ParsedBatch.pending), for a file whose header has the money.
        self.rater = rater
        self.rated = 0  # rows rated so far
        self._ips: dict[str, str] = {}

    def parse(self, f: list[str]) -> tuple[Any, ...]:
        if len(f) != self.width:
            raise _Bad
        if self.padded:
            f = [*f, ""]
        (
            call_id,
            code,
            start,
            source_cli,
            dest_number,
            dest_name,
            duration,
            billed,
            sip,
            reason,
            pdd,
            charge,
            cost,
            direction,
            ip_text,
        ) = self.pick(f)
        customer_id = self.customers[code]
        moment = datetime.fromisoformat(start)
        if moment.utcoffset() or len(start) < 20:
            raise _Bad  # no offset, or not UTC: the careful path converts it
        texts = call_id + source_cli + dest_number + dest_name + reason
        priced = not charge and not cost
        if priced:
            billed = "0"  # not read: the rate card's billed seconds replace it
        numbers = duration + billed + sip + pdd
        if (
            not call_id
            or not dest_number
            or len(call_id) > MAX_CALL_ID
            or len(source_cli) > MAX_NUMBER
            or len(dest_number) > MAX_NUMBER
            or len(dest_name) > MAX_DEST_NAME
            or len(reason) > MAX_REASON
            or "\x00" in texts
            or "'" in texts
            or not numbers.isascii()
            or not duration.isdigit()
            or not billed.isdigit()
            or not sip.isdigit()
            or not pdd.isdigit()
        ):
            raise _Bad
        duration_s, billed_s, sip_code, pdd_ms = int(duration), int(billed), int(sip), int(pdd)
        if (
            duration_s > MAX_SECONDS
            or billed_s > MAX_SECONDS
            or not 100 <= sip_code <= 699
            or pdd_ms > MAX_PDD_MS
        ):
            raise _Bad
        ip = self._ips.get(ip_text)
        if ip is None:
            ip = _ip(ip_text)
            if len(self._ips) < _IP_CACHE:
                self._ips[ip_text] = ip
        if not self.sqlite:
            stored: Any = moment.astimezone(UTC)
        elif start[4] == "-" and start[7] == "-" and start[13] == ":" and start[16] == ":":
            # "YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+00:00)", already parsed: sliced into the stored
            # form ("YYYY-MM-DD HH:MM:SS.ffffff"), five times faster than isoformat().
            if len(start) in (20, 25):
                stored = f"{start[:10]} {start[11:19]}.000000"
            elif len(start) in (27, 32) and start[19] == ".":
                stored = f"{start[:10]} {start[11:26]}"
            else:
                stored = _sqlite_time(moment)
        else:
            stored = _sqlite_time(moment)
        if priced:
            if self.rater is None:
                raise _Bad  # check() hands it over unrated
            result = self.rater.price_call(customer_id, moment.timestamp(), dest_number, duration_s)
            if isinstance(result, str):
                raise _Bad  # check() names the reason
            billed_s, charge_units, cost_units = result
            self.rated += 1
        else:
            charge_units, cost_units = _fast_money(charge), _fast_money(cost)
        return (
            call_id,
            customer_id,
            stored,
            source_cli,
            dest_number,
            dest_name,
            duration_s,
            billed_s,
            sip_code,
            reason,
            pdd_ms,
            charge_units,
            cost_units,
            _DIRECTIONS[direction],
            ip,
        )

    def parse_batch(self, records: list[list[str]]) -> list[tuple[Any, ...]] | None:
        """The stored rows of ``records``, or None when any of them needs a closer look.

        The same rules as ``parse``, checked a column at a time with C-level loops (map, join,
        str methods, a compiled pattern), not per value in Python: this is the import's hot
        loop. A batch with anything unusual (or bad) goes row by row through ``parse``/``check``.
        """
        if not records:
            return []
        try:
            return self._parse_columns(records)
        except (_Bad, KeyError, ValueError, ValidationError):
            return None

    def _parse_columns(self, records: list[list[str]]) -> list[tuple[Any, ...]] | None:
        if set(map(len, records)) != {self.width}:
            return None
        columns = list(zip(*records, strict=True))
        if self.padded:
            columns.append(("",) * len(records))
        (
            call_id,
            code,
            start,
            source_cli,
            dest_number,
            dest_name,
            duration,
            billed,
            sip,
            reason,
            pdd,
            charge,
            cost,
            direction,
            ip_text,
        ) = self.pick(columns)
        for column, limit in (
            (call_id, MAX_CALL_ID),
            (source_cli, MAX_NUMBER),
            (dest_number, MAX_NUMBER),
            (dest_name, MAX_DEST_NAME),
            (reason, MAX_REASON),
        ):
            joined = "".join(column)
            # A ' may be our CSV writers' neutralisation: check() undoes it.
            if max(map(len, column)) > limit or "\x00" in joined or "'" in joined:
                return None
        if not all(map(str.strip, call_id)) or not all(map(str.strip, dest_number)):
            return None
        customer_ids = list(map(self.customers.get, code))
        if None in customer_ids:
            return None
        texts = _utc_times(start, sqlite=self.sqlite)
        if texts is None:
            return None
        moments = list(map(datetime.fromisoformat, start))  # the calendar: no 30 February
        # On PostgreSQL the aware datetimes, UTC already (_UTC_FORMS end in Z or +00:00).
        stored: list[Any] = texts if self.sqlite else moments
        priced = not "".join(charge) and not "".join(cost)  # no money in any row: rate them all
        if priced and self.rater is None:
            return None  # row by row: each is handed over unrated, with its line
        numbers: list[list[int]] = []
        for column, low, high in (
            (duration, 0, MAX_SECONDS),
            (billed, 0, MAX_SECONDS),
            (sip, 100, 699),
            (pdd, 0, MAX_PDD_MS),
        ):
            if priced and column is billed:
                numbers.append([])  # not read: the rate card's billed seconds replace it
                continue
            joined = "".join(column)
            if not (joined.isascii() and joined.isdigit() and all(column)):
                return None
            values = list(map(int, column))
            if min(values) < low or max(values) > high:
                return None
            numbers.append(values)
        if not set(direction).issubset(_DIRECTIONS):
            return None
        if priced:
            assert self.rater is not None
            result = self.rater.price_columns(
                customer_ids,  # type: ignore[arg-type] # no None: checked above
                list(map(datetime.timestamp, moments)),
                dest_number,
                numbers[0],
            )
            if result is None:
                return None  # row by row: each row that cannot be rated is named
            numbers[1], charges, costs = result
            self.rated += len(records)
        else:
            charges, costs = _money_column(charge), _money_column(cost)
        return list(
            zip(
                call_id,
                customer_ids,
                stored,
                source_cli,
                dest_number,
                dest_name,
                numbers[0],
                numbers[1],
                numbers[2],
                reason,
                numbers[3],
                charges,
                costs,
                direction,
                self._ip_column(ip_text),
                strict=True,
            )
        )

    def _ip_column(self, texts: Sequence[str]) -> list[str]:
        """The canonical form of each address; each distinct text parsed once (and cached)."""
        known = self._ips
        new = {text: _ip(text) for text in set(texts).difference(known)}
        if len(known) + len(new) <= _IP_CACHE:
            known.update(new)
            return list(map(known.__getitem__, texts))
        # new.get(text, known.get(text)) per text; map() for speed (dict.get overloads: ignore).
        return list(map(new.get, texts, map(known.get, texts)))  # type: ignore[arg-type]

    def check(self, f: list[str]) -> tuple[tuple[Any, ...] | None, list[str]]:
        """(the row, []) or (None, every problem found)."""
        if len(f) != self.width:
            return None, [f"{len(f)} fields, the header has {self.width}"]
        # Our own CSV writers (reports, reject files) put a ' before a leading - + = @.
        f = [_undo_neutralised(value) for value in f]
        if self.padded:
            f.append("")  # the columns the header leaves out
        at = self.at
        problems: list[str] = []
        values: dict[str, Any] = {}

        def take(name: str, parse: Callable[[str], Any]) -> None:
            try:
                values[name] = parse(f[at[name]])
            except ValidationError as error:
                problems.append(f"{error.field}: {error.message}")

        take("call_id", lambda v: _text("call_id", v, MAX_CALL_ID, required=True))

        def customer(value: str) -> int:
            code = _undo_neutralised(value).strip()
            if code not in self.customers:
                raise ValidationError("customer", f"unknown account code {code!r}")
            return self.customers[code]

        take("customer", customer)
        take("start_time", _start_time)
        take("source_cli", lambda v: _text("source_cli", v, MAX_NUMBER))
        take("dest_number", lambda v: _text("dest_number", v, MAX_NUMBER, required=True))
        take("dest_name", lambda v: _text("dest_name", v, MAX_DEST_NAME))
        take("duration", lambda v: _whole("duration", v, MAX_SECONDS))
        given = [name for name in ("charge", "cost") if f[at[name]].strip()]
        priced = not given  # no money: rated with the cards (billed_duration is theirs too)
        if not priced:
            take("billed_duration", lambda v: _whole("billed_duration", v, MAX_SECONDS))

        def sip_code(value: str) -> int:
            number = _whole("sip_code", value, 699)
            if number < 100:
                raise ValidationError("sip_code", f"{number} is not a SIP status (100-699)")
            return number

        take("sip_code", sip_code)
        take("release_reason", lambda v: _text("release_reason", v, MAX_REASON))
        take("pdd_ms", lambda v: _whole("pdd_ms", v, MAX_PDD_MS))
        if len(given) == 1:
            empty = "cost" if given == ["charge"] else "charge"
            problems.append(
                f"{empty}: is empty while {given[0]} is given "
                "(give both, or leave both empty to rate the call with the rate cards)"
            )
        elif given:
            take("charge", lambda v: _money("charge", v))
            take("cost", lambda v: _money("cost", v))

        def direction(value: str) -> str:
            folded = value.strip().lower()
            if folded not in _DIRECTIONS:
                raise ValidationError("direction", f"{value!r} is not inbound or outbound")
            return folded

        take("direction", direction)
        take("source_ip", _ip)
        if problems:
            return None, problems
        moment = values["start_time"]
        values["start_time"] = _sqlite_time(moment) if self.sqlite else moment
        if priced:
            # None: handed over unrated (ParsedBatch.pending), the importer rates it.
            values["billed_duration"] = values["charge"] = values["cost"] = None
            if self.rater is not None:
                result = self.rater.price_call(
                    values["customer"],
                    moment.timestamp(),
                    values["dest_number"],
                    values["duration"],
                )
                if isinstance(result, str):
                    return None, [f"rating: {result}"]
                values["billed_duration"], values["charge"], values["cost"] = result
                self.rated += 1
        return tuple(values[name] for name in _STORED_ORDER), []


# The stored row's order (the INSERT's columns); "customer" is the customer's id by then.
_STORED_ORDER = tuple(name for name in CSV_COLUMNS)
_CHARGE = CSV_COLUMNS.index("charge")
_INSERT_COLUMNS = tuple("customer_id" if name == "customer" else name for name in CSV_COLUMNS)


def _fast_money(text: str) -> int:
    whole, dot, fraction = text.partition(".")
    if (
        whole.isdigit()
        and whole.isascii()
        and len(fraction) <= MONEY_SCALE
        and (not dot or (fraction.isdigit() and fraction.isascii()))
        and len(whole) < 12
    ):
        return int(whole + fraction.ljust(MONEY_SCALE, "0")) if dot else int(whole) * _SCALE
    raise _Bad


# "YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+00:00)": the UTC forms whose stored text is a few string
# edits away. By length: (has the fraction, the UTC suffix).
_UTC_FORMS = {20: (False, "Z"), 25: (False, "+00:00"), 27: (True, "Z"), 32: (True, "+00:00")}
_ISO_SEPARATORS = ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"))
_FIFTH_LAST = operator.itemgetter(-5)
_IP_CACHE = 100_000


def _utc_times(texts: Sequence[str], *, sqlite: bool) -> list[str] | None:
    """The stored form ("YYYY-MM-DD HH:MM:SS.ffffff") of date-times that all have one of the
    _UTC_FORMS (the same one), checked and edited as one string; None for anything else.
    Not for SQLite: [] once checked (PostgreSQL stores the datetimes). The caller checks the
    calendar (datetime.fromisoformat)."""
    lengths = set(map(len, texts))
    if len(lengths) != 1:
        return None
    length = lengths.pop()
    form = _UTC_FORMS.get(length)
    if form is None:
        return None
    fraction, suffix = form
    separators = list(_ISO_SEPARATORS)
    if fraction:
        separators.append((19, "."))
    at = length - len(suffix)
    separators.extend((at + offset, char) for offset, char in enumerate(suffix))
    joined = "".join(texts)
    count = len(texts)
    # Every value has the same length: joined[i::length] is character i of each of them.
    if not joined.isascii() or any(joined[i::length] != char * count for i, char in separators):
        return None
    digits = joined
    for char in "-:T.Z+":
        digits = digits.replace(char, "")
    if not digits.isdigit():
        return None
    if not sqlite:
        return []
    joined = "\n".join(texts).replace("T", " ").replace(suffix, "")
    if not fraction:
        joined = joined.replace("\n", ".000000\n") + ".000000"
    return joined.split("\n")


def _money_column(texts: Sequence[str]) -> list[int]:
    """Scaled amounts (as _fast_money); raises _Bad like it."""
    joined = "".join(texts)
    if (
        joined.count(".") == len(texts)
        and joined.isascii()
        and joined.replace(".", "").isdigit()
        and min(map(len, texts)) >= 6
        and max(map(len, texts)) <= 16
        and set(map(_FIFTH_LAST, texts)) == {"."}
    ):
        # "D.DDDD" to "DDDDDDDDDDD.DDDD": the digits without the dot are the scaled amount.
        return list(map(int, "\n".join(texts).replace(".", "").split("\n")))
    return list(map(_fast_money, texts))


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


class _CsvSource:
    """The CSV file's records, a small group at a time (``group_rows``, default _GROUP_ROWS), each
    group with the lines its records start on (a number when they are consecutive lines, else
    a list) and the bytes read so far. Small groups keep a group's strings in the CPU cache
    while the parser checks them column by column: at 20,000 rows a group the column checks
    ran at half the speed (measured 1.8 against 4.0 us/row, splitting included).

    Most files are simple: UTF-8, no quotes, no NULs, one line terminator (LF or CRLF)
    throughout. Such a chunk of the file is decoded and split on line ends and commas in a
    few C-level calls, three times faster than the csv module and with the same fields. The
    first chunk that is not simple sends the rest of the file, from that chunk's first line
    on, through the csv module (quoted fields, line breaks in fields, its errors).
    """

    def __init__(
        self,
        raw: Any,
        name: str,
        *,
        chunk_bytes: int | None = None,
        group_rows: int | None = None,
    ) -> None:
        self.raw = raw
        self.name = name
        self.chunk_bytes = chunk_bytes or _CHUNK_BYTES
        self.group_rows = group_rows or _GROUP_ROWS
        self.line = 0  # lines consumed so far
        self.reader: Any = None  # the csv module's reader, once the file is not simple
        self.line_base = 0  # lines consumed before the csv module's reader started

    def header(self) -> list[str] | None:
        """The header row's cells (None for an empty file)."""
        lines = _simple_lines(self.raw.readline(), at_start=True)
        if lines is not None and len(lines) == 1 and lines[0]:
            self.line = 1
            return lines[0].split(",")
        self._use_csv_module(0)
        try:
            return next(self.reader, None)
        except (csv.Error, UnicodeDecodeError) as error:
            raise CdrImportError(f"{self.name} line 1: {error}") from error
        finally:
            self.line = self.reader.line_num

    def _use_csv_module(self, position: int) -> None:
        self.raw.seek(position)
        text = io.TextIOWrapper(
            self.raw, encoding="utf-8-sig" if position == 0 else "utf-8", newline=""
        )
        self.reader = csv.reader(text, dialect="excel", strict=True)
        self.line_base = self.line

    def batches(self) -> Iterator[tuple[int | list[int], list[list[str]], int]]:
        while self.reader is None:
            position = self.raw.tell()
            data = self.raw.read(self.chunk_bytes)
            if not data:
                return
            if len(data) == self.chunk_bytes:  # end the chunk after its last whole line
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    self._use_csv_module(position)
                    break
                data = data[:cut]
                self.raw.seek(position + cut)
            lines = _simple_lines(data, at_start=False)
            if lines is None:
                self._use_csv_module(position)
                break
            first = self.line + 1
            self.line += len(lines)
            end = position + len(data)
            group = self.group_rows
            for at in range(0, len(lines), group):
                part = lines[at : at + group]
                records = list(map(str.split, part, repeat(",")))
                if "" not in part:
                    yield first + at, records, end
                else:  # blank lines hold no record (as in the csv module)
                    kept = [index for index, line in enumerate(part) if line]
                    yield [first + at + index for index in kept], [records[i] for i in kept], end
        yield from self._csv_module_batches()

    def _csv_module_batches(self) -> Iterator[tuple[int | list[int], list[list[str]], int]]:
        reader = self.reader
        line = self.line  # where the last record ended: the next one starts on the line after
        records: list[list[str]] = []
        starts: list[int] = []
        try:
            for fields in reader:
                start = line + 1
                line = self.line_base + reader.line_num
                if not fields:
                    continue  # a blank line
                records.append(fields)
                starts.append(start)
                if len(records) >= self.group_rows:
                    yield starts, records, self.raw.tell()
                    records, starts = [], []
        except (csv.Error, UnicodeDecodeError) as error:
            raise CdrImportError(
                f"{self.name} line {line + 1}: {error}; nothing was imported"
            ) from error
        if records:
            yield starts, records, self.raw.tell()


_CHUNK_BYTES = 4 << 20
_GROUP_ROWS = 1000


def _simple_lines(data: bytes, *, at_start: bool) -> list[str] | None:
    """The lines of ``data`` (ending with a line end, or at the end of the file) when the csv
    module would read them as plain comma-separated fields, one record a line; else None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None  # the csv module's reader reports it, with its line
    if at_start:
        text = text.removeprefix("\ufeff")
    if '"' in text or "\x00" in text:
        return None
    if "\r" in text:
        crlf = text.count("\r\n")
        if text.count("\r") != crlf or text.count("\n") != crlf:
            return None  # a lone CR or LF: the csv module's line ends
        lines = text.split("\r\n")
    else:
        lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # after the last line end
    if lines and max(map(len, lines)) > csv.field_size_limit():
        return None  # the csv module refuses such a field
    return lines


# -- parsed batches -----------------------------------------------------------------------------


class ParsedBatch(NamedTuple):
    """What the importer inserts next (one insert batch) and what it learnt on the way there."""

    rows: list[tuple[Any, ...]]  # stored rows; empty once a refused file has a bad row
    bad: list[tuple[int, str, list[str] | None]]  # (line, reason, fields) of the bad rows read
    rows_read: int  # data rows read so far, good and bad
    bad_rows: int  # bad rows so far (more than ``bad`` lists when refusing past the cap)
    bytes_read: int
    last: bool  # the end of the file
    hours: set[tuple[int, Any]] | None = None  # touched_hours(rows), when asked for
    # (line, stored row with billed_duration, charge and cost None, fields or None): rows
    # without money the parser had no rater for (a header with the money columns); the
    # importer rates them. Not in ``rows`` (nor in ``hours``).
    pending: Sequence[tuple[int, tuple[Any, ...], list[str] | None]] = ()
    rows_rated: int = 0  # rows rated by the parser so far


def parsed_batches(
    source: _CsvSource,
    parser: _RowParser,
    *,
    refusing: bool,
    cap: int,
    batch_rows: int,
    hours: bool = False,
) -> Iterator[ParsedBatch]:
    """The file's stored rows, ``batch_rows`` at a time (the last batch may be smaller), each
    with the bad rows read since the previous one.

    ``refusing``: the file is refused whole if any row is bad. Once one is, no more rows are
    handed over (nothing will be inserted) but every row is still checked, and the first
    ``cap`` bad rows are listed without their fields (there is no reject file). Otherwise every
    bad row is listed with its fields, for the reject file. ``hours``: each batch also carries
    the hours its rows touch (touched_hours).
    """
    parse = parser.parse
    rows_read = 0
    bad_rows = 0
    bytes_read = 0
    batch: list[tuple[Any, ...]] = []
    bad: list[tuple[int, str, list[str] | None]] = []
    pending: list[tuple[int, tuple[Any, ...], list[str] | None]] = []
    for first_lines, records, bytes_read in source.batches():
        rows_read += len(records)
        checked = parser.parse_batch(records)
        if checked is not None:
            batch += checked
        else:  # something unusual or bad: row by row, each bad row with its line
            for index, fields in enumerate(records):
                try:
                    batch.append(parse(fields))
                except (_Bad, KeyError, ValueError, ValidationError):
                    row, problems = parser.check(fields)
                    line = (
                        first_lines + index if isinstance(first_lines, int) else first_lines[index]
                    )
                    if row is not None:
                        if row[_CHARGE] is None:
                            pending.append((line, row, None if refusing else fields))
                        else:
                            batch.append(row)
                        continue
                    bad_rows += 1
                    if not refusing:
                        bad.append((line, "; ".join(problems), fields))
                    elif bad_rows <= cap:
                        bad.append((line, "; ".join(problems), None))
        if len(batch) + len(pending) >= batch_rows:
            rows = [] if refusing and bad_rows else batch
            touched = touched_hours(rows, parser.sqlite) if hours else None
            yield ParsedBatch(
                rows, bad, rows_read, bad_rows, bytes_read, False, touched, pending, parser.rated
            )
            batch, bad, pending = [], [], []
    rows = [] if refusing and bad_rows else batch
    touched = touched_hours(rows, parser.sqlite) if hours else None
    yield ParsedBatch(
        rows, bad, rows_read, bad_rows, bytes_read, True, touched, pending, parser.rated
    )


def touched_hours(rows: Sequence[tuple[Any, ...]], sqlite: bool) -> set[tuple[int, Any]]:
    """(customer id, hour) of each stored row, the hour as the incremental roll-up marks it:
    "YYYY-MM-DD HH" on SQLite (built in C), an aware datetime on PostgreSQL."""
    if sqlite:
        return set(
            zip(
                map(_SECOND, rows),
                map(operator.getitem, map(_THIRD, rows), repeat(_HOUR_PREFIX)),
                strict=True,
            )
        )
    return {(row[1], row[2].replace(minute=0, second=0, microsecond=0)) for row in rows}


_HOUR_PREFIX = slice(0, 13)  # "YYYY-MM-DD HH" of the stored "YYYY-MM-DD HH:MM:SS.ffffff"
_SECOND = operator.itemgetter(1)
_THIRD = operator.itemgetter(2)


# -- the parsing process ------------------------------------------------------------------------
#
# For a big file, cdrs.import_cdr_file runs child_main() in a child process, which reads and
# validates the file while the parent inserts the rows it sent before: in one process the GIL
# would keep the two halves on one core.
#
# Both pipes carry pickles, each after its length (8 bytes, little-endian). Unpickling can run
# any code the pickle names, so it is safe only between two ends that trust each other, as
# here: the parent starts the child itself, from its own interpreter and package, and each end
# reads nothing but the pipe the other holds (no file, socket or other process writes into
# them). Do not reuse this protocol for data from anywhere else.
#
# parent -> child (stdin): the job (a dict, see _parse_job), then nothing. The parent closes
#     stdin when it is done or gives up; it closes by itself when the parent dies. Either way
#     the child exits at once.
# child -> parent (stdout): ("batch", ParsedBatch) for each batch, then ("done",), or
#     ("error", message) for a CdrImportError (the file cannot be read: the message is the
#     one the in-process import raises). Anything else that goes wrong in the child is a crash:
#     a traceback on its stderr, a non-zero exit, and the parent reports both.

_LENGTH = struct.Struct("<Q")
_QUEUED_MESSAGES = 4  # ready messages that wait for the parent (about 3 MB each)


def encode_message(message: Any) -> bytes:
    buffer = io.BytesIO()
    buffer.write(bytes(_LENGTH.size))
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    # Fast mode leaves out the memo (each string remembered in case it comes again): three
    # times faster for a batch of row tuples. It cannot pickle cycles; messages have none.
    pickler.fast = True
    pickler.dump(message)
    data = buffer.getbuffer()
    _LENGTH.pack_into(data, 0, len(data) - _LENGTH.size)
    return bytes(data)


def read_message(stream: Any) -> Any:
    """The next message on ``stream`` (see above: only from a process this one trusts).
    EOFError at the end of the stream, also in the middle of a message."""
    head = stream.read(_LENGTH.size)
    if len(head) != _LENGTH.size:
        raise EOFError("end of stream")
    (length,) = _LENGTH.unpack(head)
    data = stream.read(length)
    if len(data) != length:
        raise EOFError("end of stream in a message")
    return pickle.loads(data)  # noqa: S301 - our own child's or parent's pipe, see above


def _parse_job(job: dict[str, Any]) -> Iterator[ParsedBatch]:
    # The parent passed its open file (same file, whatever happened to its path since) and the
    # header it checked; the header is read again here to find where the rows start.
    with open(job["fd"], "rb") as raw:
        raw.seek(0)
        source = _CsvSource(
            raw, job["name"], chunk_bytes=job["chunk_bytes"], group_rows=job["group_rows"]
        )
        cells = source.header()
        if cells is None or check_header(cells) != job["header"]:
            raise CdrImportError(f"{job['name']} changed while it was read; nothing was imported")
        parser = _RowParser(job["header"], job["customers"], job["sqlite"], job.get("rater"))
        yield from parsed_batches(
            source,
            parser,
            refusing=job["refusing"],
            cap=job["cap"],
            batch_rows=job["batch_rows"],
            hours=job["hours"],
        )


def _exit_when_closed(fd: int) -> None:
    """Exit when the parent closes our stdin, or dies: nobody wants the rows any more."""
    # os.read, not sys.stdin: a daemon thread blocked in a buffered read at interpreter exit
    # holds the buffer's lock, and Python aborts.
    while os.read(fd, 4096):
        pass
    os._exit(1)


def _send(messages: queue.Queue[bytes | None], out: Any) -> None:
    try:
        while (data := messages.get()) is not None:
            out.write(data)
            out.flush()
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)


def child_main() -> None:
    """The child process: read the job from stdin, send the batches to stdout (see above)."""
    # With SIGPIPE's default action, a write to a parent that died ends this process.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    # Ctrl-C reaches the whole process group: the parent handles it (and then closes stdin).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.disable()  # as in the parent: a million row tuples, no cycles (see cdrs._collector_paused)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print() goes to stderr, not into the messages
    try:
        job = read_message(sys.stdin.buffer)
    except EOFError:
        return  # the parent gave up before sending the job
    threading.Thread(target=_exit_when_closed, args=(sys.stdin.fileno(),), daemon=True).start()
    # A thread writes while this one parses on: a pipe holds 64 KB and a message is megabytes.
    messages: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUED_MESSAGES)
    sender = threading.Thread(target=_send, args=(messages, out))
    sender.start()
    try:
        for batch in _parse_job(job):
            messages.put(encode_message(("batch", batch)))
        messages.put(encode_message(("done",)))
    except CdrImportError as error:
        messages.put(encode_message(("error", str(error))))
    finally:
        messages.put(None)
        sender.join()
