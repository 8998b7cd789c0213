"""CDRs: bulk import from CSV (validated; all or nothing, or skip bad rows) and the CDR report.

Throughput matters (issue 7: >= 200,000 rows/s into SQLite), so CDRs never pass through ORM
objects or SQLAlchemy's per-value type conversion: each row is validated into the stored form
(UTC text or an aware datetime, money as a scaled integer as FixedDecimal stores it) and written
with the driver's ``executemany`` inside the write transaction of :meth:`Database.write`.

One import is one transaction: the CDRs, the hours they touched (``cdr_dirty_hour``, for the
incremental roll-up) and one audit entry commit together, or nothing does, also when the process
is killed half-way. ``ON CONFLICT (call_id) DO NOTHING`` makes re-importing a file add nothing.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import ipaddress
import operator
import os
import queue
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import repeat
from pathlib import Path
from typing import Any

from sqlalchemy import String, and_, literal, select

from carriertui.grid.export import csv_text, write_csv
from carriertui.grid.model import Column, ColumnType, Query, SortKey
from carriertui.store import audit
from carriertui.store.context import Actor
from carriertui.store.db import Database
from carriertui.store.errors import NotFoundError, StoreError, ValidationError
from carriertui.store.models import AuditAction, Cdr, Customer, Direction, HttpVerb, Role
from carriertui.store.periods import PeriodKind, period_bounds
from carriertui.store.rowsource import SqlRowSource
from carriertui.store.types import MONEY_SCALE

TABLE = "cdr"

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
# A reject file starts with these two; the importer accepts them (and ignores their values), so a
# reject file can be fixed and imported as it is.
REJECT_COLUMNS = ("reject_line", "reject_reason")
DEFAULT_ERROR_CAP = 100
BATCH_ROWS = 20_000

MAX_CALL_ID = 128
MAX_NUMBER = 64
MAX_DEST_NAME = 100
MAX_REASON = 64
MAX_SECONDS = 7 * 86_400  # a "call" longer than a week is a stuck channel or a unit mix-up
MAX_PDD_MS = 3_600_000
MAX_MONEY = Decimal(10) ** 12  # far above any call; far below the scaled BIGINT's limit
_SCALE = 10**MONEY_SCALE
_DANGEROUS_START = frozenset("=+-@\t\r\n")
_DIRECTIONS = {d.value: d.value for d in Direction}


class CdrImportError(StoreError):
    """The file was refused; nothing was imported. ``errors`` holds the first bad rows (up to the
    cap) and ``bad_rows`` how many there were in all."""

    def __init__(self, message: str, errors: Sequence[BadRow] = (), bad_rows: int = 0) -> None:
        super().__init__(message)
        self.errors = tuple(errors)
        self.bad_rows = bad_rows


@dataclass(frozen=True)
class BadRow:
    line: int  # the file's line where the row starts (the header is line 1)
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    file_name: str
    rows: int = 0  # data rows read (good and bad)
    imported: int = 0  # CDRs added
    duplicates: int = 0  # good rows whose call_id was there already
    bad_rows: int = 0  # skipped (only with skip_bad; otherwise the import raises)
    errors: list[BadRow] = field(default_factory=list)  # the first bad rows, up to the cap
    rejects_path: Path | None = None
    hours_touched: int = 0
    elapsed_s: float = 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def __str__(self) -> str:
        text = (
            f"{self.imported} CDRs imported from {self.file_name}, "
            f"{self.duplicates} already present, {self.bad_rows} bad rows skipped"
        )
        return text + f" ({self.rows} rows in {self.elapsed_s:.2f} s)"


ProgressCallback = Callable[[int, int, int], None]  # rows read, bytes read, file size


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

    def __init__(self, header: Sequence[str], customers: dict[str, int], sqlite: bool) -> None:
        self.width = len(header)
        self.at = {name: header.index(name) for name in CSV_COLUMNS}
        self.pick = operator.itemgetter(*(self.at[name] for name in CSV_COLUMNS))
        self.customers = customers
        self.sqlite = sqlite
        self._ips: dict[str, str] = {}

    def parse(self, f: list[str]) -> tuple[Any, ...]:
        if len(f) != self.width:
            raise _Bad
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
            _fast_money(charge),
            _fast_money(cost),
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
        ) = self.pick(list(zip(*records, strict=True)))
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
        numbers = []
        for column, low, high in (
            (duration, 0, MAX_SECONDS),
            (billed, 0, MAX_SECONDS),
            (sip, 100, 699),
            (pdd, 0, MAX_PDD_MS),
        ):
            joined = "".join(column)
            if not (joined.isascii() and joined.isdigit() and all(column)):
                return None
            values = list(map(int, column))
            if min(values) < low or max(values) > high:
                return None
            numbers.append(values)
        if not set(direction).issubset(_DIRECTIONS):
            return None
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
                _money_column(charge),
                _money_column(cost),
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
        return list(map(new.get, texts, map(known.get, texts)))

    def check(self, f: list[str]) -> tuple[tuple[Any, ...] | None, list[str]]:
        """(the row, []) or (None, every problem found)."""
        if len(f) != self.width:
            return None, [f"{len(f)} fields, the header has {self.width}"]
        # Our own CSV writers (reports, reject files) put a ' before a leading - + = @.
        f = [_undo_neutralised(value) for value in f]
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
        take("billed_duration", lambda v: _whole("billed_duration", v, MAX_SECONDS))

        def sip_code(value: str) -> int:
            number = _whole("sip_code", value, 699)
            if number < 100:
                raise ValidationError("sip_code", f"{number} is not a SIP status (100-699)")
            return number

        take("sip_code", sip_code)
        take("release_reason", lambda v: _text("release_reason", v, MAX_REASON))
        take("pdd_ms", lambda v: _whole("pdd_ms", v, MAX_PDD_MS))
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
        return tuple(values[name] for name in _STORED_ORDER), []


# The stored row's order (the INSERT's columns); "customer" is the customer's id by then.
_STORED_ORDER = tuple(name for name in CSV_COLUMNS)
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
    missing = [n for n in CSV_COLUMNS if n not in names]
    repeated = sorted({n for n in names if names.count(n) > 1})
    problems = []
    if unknown:
        problems.append("unknown columns: " + ", ".join(repr(n) for n in unknown))
    if missing:
        problems.append("missing columns: " + ", ".join(missing))
    if repeated:
        problems.append("repeated columns: " + ", ".join(repeated))
    if problems:
        raise CdrImportError(
            "bad header (line 1): " + "; ".join(problems) + ". Expected: " + ", ".join(CSV_COLUMNS)
        )
    return names


# -- writing ------------------------------------------------------------------------------------


class _BulkWriter:
    """executemany on the driver's connection, inside the session's write transaction."""

    def __init__(self, session: Any, backend: str) -> None:
        self.sqlite = backend == "sqlite"
        self.connection = session.connection()
        self.driver = self.connection.connection.driver_connection
        mark = "?" if self.sqlite else "%s"
        # Column names and placeholders only: the values are bound.
        self.insert_sql = (
            f"INSERT INTO cdr ({', '.join(_INSERT_COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join([mark] * len(_INSERT_COLUMNS))}) "
            "ON CONFLICT (call_id) DO NOTHING"
        )
        self.dirty_sql = (
            "INSERT INTO cdr_dirty_hour (customer_id, hour_start, hour_end) "  # noqa: S608
            f"VALUES ({mark}, {mark}, {mark}) "
            "ON CONFLICT (customer_id, hour_start) DO NOTHING"
        )
        self.hours: set[tuple[int, Any]] = set()
        self.inserted = 0
        self.customers: set[int] = set()
        if self.sqlite:
            # A bigger page cache for this connection: the call_id index takes random inserts.
            self.driver.execute("PRAGMA cache_size=-262144")

    # PostgreSQL: the driver does the inserts on a thread of its own while this one parses the
    # next batch; psycopg waits for the server without the GIL, so the two overlap.
    # SQLite: the inserts run on this thread, between batches. sqlite3's executemany takes the
    # GIL back after every row's step, and while the parser holds it (its column checks are
    # long C calls) the insert thread waits up to the switch interval per row: measured, the
    # thread made the import a quarter slower, not faster.

    def start(self) -> None:
        self._failure: BaseException | None = None
        if self.sqlite:
            return
        self._queue: queue.Queue[list[tuple[Any, ...]] | None] = queue.Queue(maxsize=3)
        self._thread = threading.Thread(target=self._run, name="cdr-insert", daemon=True)
        self._thread.start()

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert ``rows`` (a list this writer now owns), or queue them for the insert thread."""
        if self._failure is not None:
            raise self._failure
        if not rows:
            return
        if self.sqlite:
            self._insert(rows)
        else:
            self._queue.put(rows)

    def _run(self) -> None:
        try:
            while (rows := self._queue.get()) is not None:
                if self._failure is None:
                    self._insert(rows)
        except BaseException as error:  # handed to the parsing thread, raised there
            self._failure = error
            while self._queue.get() is not None:  # let the producer finish putting
                pass

    def stop(self) -> None:
        """Wait until every queued row is inserted; raise what the insert thread raised."""
        if not self.sqlite:
            self._queue.put(None)
            self._thread.join()
        if self._failure is not None:
            raise self._failure

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        cursor = self.driver.cursor()
        try:
            cursor.executemany(self.insert_sql, rows)
            added = cursor.rowcount
        finally:
            cursor.close()
        added = max(added, 0)
        self.inserted += added
        if added:
            # Only batches that added something can have changed an hour.
            if self.sqlite:  # (customer id, "YYYY-MM-DD HH"), built in C
                self.hours.update(
                    zip(
                        map(_SECOND, rows),
                        map(operator.getitem, map(_THIRD, rows), repeat(_HOUR_PREFIX)),
                        strict=True,
                    )
                )
            else:
                self.hours.update(
                    {(row[1], row[2].replace(minute=0, second=0, microsecond=0)) for row in rows}
                )

    def finish(self) -> None:
        """Mark the touched hours for the incremental roll-up."""
        marks = []
        bounds: dict[str, tuple[str, str]] = {}  # customers share hours: convert each once
        for customer_id, hour in sorted(self.hours):
            self.customers.add(customer_id)
            if self.sqlite:
                if hour not in bounds:
                    start = datetime.fromisoformat(hour + ":00:00")
                    bounds[hour] = (_sqlite_time(start), _sqlite_time(start + _HOUR))
                marks.append((customer_id, *bounds[hour]))
            else:
                marks.append((customer_id, hour, hour + _HOUR))
        if marks:
            cursor = self.driver.cursor()
            try:
                cursor.executemany(self.dirty_sql, marks)
            finally:
                cursor.close()

    def close(self) -> None:
        """Give the pooled connection its usual page cache back (also after a failure)."""
        if self.sqlite:
            with contextlib.suppress(sqlite3.Error):
                self.driver.execute("PRAGMA cache_size=-2000")


_HOUR = timedelta(hours=1)
_HOUR_PREFIX = slice(0, 13)  # "YYYY-MM-DD HH" of the stored "YYYY-MM-DD HH:MM:SS.ffffff"
_SECOND = operator.itemgetter(1)
_THIRD = operator.itemgetter(2)


def _customer_codes(session: Any) -> dict[str, int]:
    rows = session.connection().execute(select(Customer.account_code, Customer.id))
    return {code: customer_id for code, customer_id in rows if code}


def _audit_import(
    session: Any, actor: Actor, report: ImportReport, customers: set[int], source: str
) -> None:
    audit.record(
        session,
        actor,
        action=AuditAction.CREATE,
        verb=HttpVerb.POST,
        table=TABLE,
        key=report.file_name,
        message=(
            f"Imported {report.imported} CDRs from {source} {report.file_name} "
            f"({report.duplicates} already present, {report.bad_rows} bad rows skipped)"
        ),
        after={
            "file": report.file_name,
            "rows": report.rows,
            "imported": report.imported,
            "duplicates": report.duplicates,
            "bad_rows": report.bad_rows,
            "rejects": report.rejects_path.name if report.rejects_path else None,
        },
        customer_id=next(iter(customers)) if len(customers) == 1 else None,
    )


# -- import -------------------------------------------------------------------------------------


class _Rejects:
    """The reject file: written next to its target under a temporary name, renamed at the end."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self.path = path
        fd, self.temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".part", dir=path.parent
        )
        self.handle = open(fd, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.handle, dialect="excel", lineterminator="\r\n")
        self.writer.writerow([*REJECT_COLUMNS, *header])

    def add(self, line: int, reason: str, fields: Sequence[str]) -> None:
        self.writer.writerow([line, csv_text(reason), *(csv_text(v) for v in fields)])

    def commit(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.temporary, self.path)

    def discard(self) -> None:
        self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temporary)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a bulk load: a million new row tuples would trigger
    hundreds of collections that find nothing (reference counting frees the rows anyway)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def default_rejects_path(path: Path) -> Path:
    return path.with_name(path.stem + ".rejects.csv")


def import_cdr_file(
    db: Database,
    actor: Actor,
    path: Path,
    *,
    skip_bad: bool = False,
    rejects_path: Path | None = None,
    on_progress: ProgressCallback | None = None,
    error_cap: int = DEFAULT_ERROR_CAP,
) -> ImportReport:
    """Import the CDRs of CSV file ``path`` (the header names the columns, in any order).

    Default: a file with any bad row is refused whole (CdrImportError listing the first
    ``error_cap`` bad lines and reasons; nothing imported). ``skip_bad``: the good rows are
    imported and the bad ones written to ``rejects_path`` (default ``NAME.rejects.csv`` next to
    the file) with their line and reason. Rows whose call_id exists already are counted as
    duplicates and left alone. Audited as one entry.
    """
    actor.require(Role.OPERATOR, "import CDRs")
    path = Path(path)
    started = time.perf_counter()
    report = ImportReport(file_name=path.name)
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below, read by the text wrapper
    except OSError as error:
        raise CdrImportError(f"cannot read {path}: {error.strerror or error}") from error
    with raw:
        size = os.fstat(raw.fileno()).st_size
        source = _CsvSource(raw, path.name)
        header_cells = source.header()
        if header_cells is None:
            raise CdrImportError(f"{path.name} is empty: expected a header row")
        header = check_header(header_cells)
        rejects: _Rejects | None = None
        if skip_bad:
            target = Path(rejects_path) if rejects_path else default_rejects_path(path)
            try:
                rejects = _Rejects(target, header)
            except OSError as error:
                raise CdrImportError(
                    f"cannot write the reject file {target}: {error.strerror or error}"
                ) from error
            report.rejects_path = target
        try:
            with _collector_paused(), db.write() as session:
                parser = _RowParser(header, _customer_codes(session), db.backend == "sqlite")
                writer = _BulkWriter(session, db.backend)
                try:
                    writer.start()
                    try:
                        _import_rows(
                            source,
                            parser,
                            writer,
                            report,
                            rejects,
                            size,
                            on_progress,
                            cap=error_cap,
                        )
                    finally:
                        writer.stop()
                    if report.bad_rows and not skip_bad:
                        raise CdrImportError(
                            _refusal(path.name, report), report.errors, report.bad_rows
                        )
                    writer.finish()
                finally:
                    writer.close()
                report.duplicates = report.rows - report.bad_rows - writer.inserted
                report.imported = writer.inserted
                report.hours_touched = len(writer.hours)
                _audit_import(session, actor, report, writer.customers, "file")
            if rejects is not None:
                rejects.commit()
                rejects = None
        finally:
            if rejects is not None:
                rejects.discard()
    report.elapsed_s = time.perf_counter() - started
    return report


def _refusal(name: str, report: ImportReport) -> str:
    shown = len(report.errors)
    more = f" (the first {shown} listed)" if shown < report.bad_rows else ""
    return (
        f"{name}: {report.bad_rows} bad rows{more}; nothing was imported "
        "(--skip-bad imports the good rows and writes the bad ones to a reject file)"
    )


def _import_rows(
    source: _CsvSource,
    parser: _RowParser,
    writer: _BulkWriter,
    report: ImportReport,
    rejects: _Rejects | None,
    size: int,
    on_progress: ProgressCallback | None,
    *,
    cap: int,
) -> None:
    parse = parser.parse
    rows = 0
    batch: list[tuple[Any, ...]] = []  # stored rows for the next insert (BATCH_ROWS)
    # Refusing the whole file: once a row is bad, nothing more is written (it will roll back),
    # but every row is still checked so that the refusal lists them.
    refusing = rejects is None
    for first_lines, records, bytes_read in source.batches():
        rows += len(records)
        checked = parser.parse_batch(records)
        if checked is not None:
            batch += checked
        else:  # something unusual or bad: row by row, each bad row with its line
            for index, fields in enumerate(records):
                try:
                    batch.append(parse(fields))
                except (_Bad, KeyError, ValueError, ValidationError):
                    row, problems = parser.check(fields)
                    if row is not None:
                        batch.append(row)
                        continue
                    report.bad_rows += 1
                    line = (
                        first_lines + index if isinstance(first_lines, int) else first_lines[index]
                    )
                    reason = "; ".join(problems)
                    if len(report.errors) < cap:
                        report.errors.append(BadRow(line, reason))
                    if rejects is not None:
                        rejects.add(line, reason, fields)
        if len(batch) >= BATCH_ROWS:
            if not (refusing and report.bad_rows):
                writer.write(batch)
            batch = []
            if on_progress is not None:
                on_progress(rows, bytes_read, size)
    if batch and not (refusing and report.bad_rows):
        writer.write(batch)
    if on_progress is not None:
        on_progress(rows, size, size)
    report.rows = rows


class _CsvSource:
    """The CSV file's records, a small group at a time (_GROUP_ROWS, at most BATCH_ROWS), each
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

    def __init__(self, raw: Any, name: str) -> None:
        self.raw = raw
        self.name = name
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
            data = self.raw.read(_CHUNK_BYTES)
            if not data:
                return
            if len(data) == _CHUNK_BYTES:  # end the chunk after its last whole line
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
            group = min(_GROUP_ROWS, BATCH_ROWS)
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
                if len(records) >= min(_GROUP_ROWS, BATCH_ROWS):
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


# -- generated CDRs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CdrValues:
    """One CDR as a service caller (the demo, a test) hands it over: already valid."""

    call_id: str
    customer_id: int
    start_time: datetime  # aware
    source_cli: str
    dest_number: str
    dest_name: str
    duration: int
    billed_duration: int
    sip_code: int
    release_reason: str
    pdd_ms: int
    charge: Decimal
    cost: Decimal
    direction: str
    source_ip: str


def stored_row(values: CdrValues, sqlite: bool) -> tuple[Any, ...]:
    moment = values.start_time.astimezone(UTC)
    return (
        values.call_id,
        values.customer_id,
        _sqlite_time(moment) if sqlite else moment,
        values.source_cli,
        values.dest_number,
        values.dest_name,
        values.duration,
        values.billed_duration,
        values.sip_code,
        values.release_reason,
        values.pdd_ms,
        int(values.charge.scaleb(MONEY_SCALE)),
        int(values.cost.scaleb(MONEY_SCALE)),
        values.direction,
        values.source_ip,
    )


def insert_cdrs(
    db: Database,
    actor: Actor,
    batches: Iterable[Iterable[CdrValues]],
    *,
    source: str,
) -> ImportReport:
    """Add CDRs that are valid already (generated, not read from a file) in one transaction,
    marked for the roll-up and audited as one entry, as an import is. ``source`` names them
    in the audit log (e.g. "demo seed 20261126")."""
    actor.require(Role.OPERATOR, "import CDRs")
    started = time.perf_counter()
    report = ImportReport(file_name=source)
    sqlite = db.backend == "sqlite"
    with _collector_paused(), db.write() as session:
        writer = _BulkWriter(session, db.backend)
        try:
            writer.start()
            try:
                for batch in batches:
                    rows = [stored_row(values, sqlite) for values in batch]
                    report.rows += len(rows)
                    writer.write(rows)
            finally:
                writer.stop()
            writer.finish()
        finally:
            writer.close()
        report.imported = writer.inserted
        report.duplicates = report.rows - writer.inserted
        report.hours_touched = len(writer.hours)
        _audit_import(session, actor, report, writer.customers, "generator")
    report.elapsed_s = time.perf_counter() - started
    return report


# -- the CDR report -----------------------------------------------------------------------------

_REPORT_TYPES = {
    "start_time": ColumnType.TIMESTAMP,
    "duration": ColumnType.INTEGER,
    "billed_duration": ColumnType.INTEGER,
    "sip_code": ColumnType.INTEGER,
    "pdd_ms": ColumnType.INTEGER,
    "charge": ColumnType.MONEY,
    "cost": ColumnType.MONEY,
}
# Titles are the import's header names: a CDR report imports as it is.
REPORT_COLUMNS = tuple(
    Column(name, name, _REPORT_TYPES.get(name, ColumnType.TEXT)) for name in CSV_COLUMNS
)
REPORT_KINDS = (PeriodKind.DAILY, PeriodKind.WEEKLY, PeriodKind.MONTHLY)


@dataclass(frozen=True)
class CdrReport:
    path: Path | None
    rows: int
    customer_code: str
    kind: PeriodKind
    start: datetime
    end: datetime


def cdr_source(
    db: Database, actor: Actor, customer_id: int, start: datetime, end: datetime
) -> SqlRowSource:
    """One customer's CDRs with start_time in [start, end), columns as the import's header."""
    actor.require(Role.VIEWER, "read CDRs")
    with db.read() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFoundError(f"no customer with id {customer_id}")
        code = customer.account_code or str(customer_id)
    table = Cdr.__table__  # type: ignore[attr-defined]
    expressions: dict[str, Any] = {
        name: table.c[name] for name in CSV_COLUMNS if name != "customer"
    }
    expressions["customer"] = literal(code, String())
    return SqlRowSource(
        db,
        name=f"cdrs-{code}",
        columns=REPORT_COLUMNS,
        selectable=table,
        expressions=expressions,
        key=table.c.id,
        where=and_(
            table.c.customer_id == customer_id,
            table.c.start_time >= start,
            table.c.start_time < end,
        ),
    )


def report_period(kind: PeriodKind | str, day: date) -> tuple[PeriodKind, datetime, datetime]:
    """The daily, weekly (ISO, Monday 00:00 UTC) or monthly period containing ``day``."""
    try:
        kind = PeriodKind(kind)
    except ValueError:
        kind = None  # type: ignore[assignment]
    if kind not in REPORT_KINDS:
        raise ValidationError("period", "daily, weekly or monthly")
    start, end = period_bounds(kind, day)
    return kind, start, end


def report_batches(
    db: Database,
    actor: Actor,
    customer_id: int,
    kind: PeriodKind | str,
    day: date,
    *,
    batch: int = 5000,
) -> tuple[CdrReport, Iterator[list[Any]]]:
    """The report's description and its rows in batches (oldest call first), streamed."""
    kind, start, end = report_period(kind, day)
    source = cdr_source(db, actor, customer_id, start, end)
    code = source.name.removeprefix("cdrs-")
    query = Query(sort=(SortKey("start_time"),))
    return (
        CdrReport(None, 0, code, kind, start, end),
        source.iter_rows(query, batch=batch),
    )


def default_report_name(report: CdrReport) -> str:
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in report.customer_code)
    return f"cdrs-{safe}-{report.kind.value}-{report.start:%Y-%m-%d}.csv"


def export_cdr_report(
    db: Database,
    actor: Actor,
    customer_id: int,
    kind: PeriodKind | str,
    day: date,
    path: Path,
    *,
    on_progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> CdrReport:
    """Write the customer's CDRs of the period containing ``day`` to ``path`` as CSV (UTC times,
    every column, RFC 4180, formula-safe), through a temporary file renamed when complete.
    ``path`` may be a folder: the file is then named by :func:`default_report_name`."""
    report, batches = report_batches(db, actor, customer_id, kind, day)
    path = Path(path)
    if path.is_dir():
        path = path / default_report_name(report)
    written = write_csv(path, REPORT_COLUMNS, batches, on_progress=on_progress, cancelled=cancelled)
    return CdrReport(path, written, report.customer_code, report.kind, report.start, report.end)
