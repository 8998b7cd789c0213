"""Reading a rate deck CSV: the header, each row's checks, and the dates across rows.

No SQL here: :func:`read_deck` turns a file into validated rows (or :class:`DeckError` listing
every bad line), and store/rates.py writes them. A deck comes from outside (a provider's
spreadsheet), so every cell is checked: formulas, markup and control characters in a name,
numbers that are not plain decimals, negative or absurd prices, and overlapping dates of one
prefix within the file are errors with their line, and nothing is imported.
"""

from __future__ import annotations

import csv
import gc
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from carriertui.store.errors import StoreError
from carriertui.text import has_control_characters

COLUMNS = (
    "prefix",
    "destination",
    "rate",
    "connect_fee",
    "mcd",
    "pulse",
    "effective_from",
    "effective_to",
)
REQUIRED = COLUMNS[:7]
MAX_PREFIX = 20
MAX_DESTINATION = 100
MAX_PRICE = Decimal(1000)  # per minute, and per call for the connect fee
MAX_SECONDS = 3600  # MCD and pulse
PRICE_PLACES = 6
_PREFIX = re.compile(rf"\+?[0-9]{{1,{MAX_PREFIX}}}")
_PRICE = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,12})?")
_SECONDS = re.compile(r"[0-9]{1,6}")
# A cell a spreadsheet would run as a formula, and text a renderer would take as markup.
_FORMULA_START = ("=", "+", "-", "@")
_MARKUP = re.compile(r"[\[\]<>{}]")
_SHOWN = 40
# Errors kept in the exception and its message; all of them are counted.
MAX_LISTED = 1000
PROGRESS_EVERY = 10_000  # records between two on_progress calls


# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__, 3 us a
# row here, a second of a 300,000-row deck.
@dataclass(slots=True)
class DeckRow:
    line: int
    prefix: str
    destination: str
    rate: Decimal
    connect_fee: Decimal
    mcd: int
    pulse: int
    effective_from: datetime
    effective_to: datetime | None


@dataclass(frozen=True)
class BadLine:
    line: int  # the file's line where the row starts (the header is line 1); 0: the file
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else self.reason


class DeckError(StoreError):
    """The deck was refused; ``errors`` lists the bad lines (up to MAX_LISTED), ``count`` all."""

    def __init__(self, file_name: str, errors: Sequence[BadLine], count: int | None = None) -> None:
        self.errors = list(errors[:MAX_LISTED])
        self.count = len(errors) if count is None else count
        first = str(self.errors[0]) if self.errors else "no reason"
        lines = "1 bad line" if self.count == 1 else f"{self.count:,} bad lines"
        super().__init__(
            f"rate deck {file_name} refused, nothing imported: {lines} (first: {first})"
        )


@dataclass(frozen=True)
class Deck:
    rows: list[DeckRow]
    effective: datetime  # the deck's date: the card's earlier rates end here


def _shown(value: str) -> str:
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "…")


def estimate_rows(path: Path) -> int:
    """About how many rates the deck at ``path`` holds (its lines less the header), for a
    progress bar: a quoted cell with a line break counts twice. 0 when it cannot be read."""
    lines = 0
    last = b"\n"
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except OSError:
        return 0
    if last != b"\n":
        lines += 1  # no newline after the last line
    return max(lines - 1, 0)


def parse_moment(text: str) -> datetime:
    """An ISO date (its midnight, UTC) or date-time (no zone: UTC). ValueError otherwise."""
    value = text.strip()
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# Each check takes a cell's text and returns (value, problem or None).
Checked = tuple[Any, str | None]


def _price(name: str, value: str) -> Checked:
    text = value.strip()
    if not _PRICE.fullmatch(text):
        return Decimal(0), f"{name}: not a plain decimal number: {_shown(text)}"
    amount = Decimal(text)
    if amount < 0:
        return amount, f"{name}: must not be negative ({text})"
    if amount > MAX_PRICE:
        return amount, f"{name}: at most {MAX_PRICE} ({_shown(text)})"
    if -amount.as_tuple().exponent > PRICE_PLACES:  # type: ignore[operator]
        return amount, f"{name}: at most {PRICE_PLACES} decimal places ({text})"
    return amount, None


def _seconds(name: str, minimum: int, value: str) -> Checked:
    text = value.strip()
    if not _SECONDS.fullmatch(text):
        return minimum, f"{name}: not a whole number of seconds: {_shown(text)}"
    seconds = int(text)
    if not minimum <= seconds <= MAX_SECONDS:
        return seconds, f"{name}: must be {minimum} to {MAX_SECONDS} seconds ({text})"
    return seconds, None


def _destination(value: str) -> Checked:
    text = value.strip()
    if not text:
        return text, "destination: is required"
    if len(text) > MAX_DESTINATION:
        return text, f"destination: at most {MAX_DESTINATION} characters (it has {len(text)})"
    if has_control_characters(text):
        return text, f"destination: must not contain control characters: {_shown(text)}"
    if text.startswith(_FORMULA_START):
        return text, f"destination: looks like a spreadsheet formula: {_shown(text)}"
    if _MARKUP.search(text):
        return text, f"destination: markup characters [ ] < > {{ }} not allowed: {_shown(text)}"
    return text, None


_NEVER = datetime.min.replace(tzinfo=UTC)


def _moment(name: str, default: datetime | None, value: str) -> Checked:
    text = value.strip()
    if not text:
        if default is None:
            return (_NEVER, f"{name}: is required") if name == "effective_from" else (None, None)
        return default, None
    try:
        return parse_moment(text), None
    except ValueError:
        return _NEVER, f"{name}: not an ISO date or date-time (UTC): {_shown(text)}"


def check_header(header: Sequence[str], *, effective_given: bool) -> dict[str, int]:
    """Column name -> index; DeckError (line 1) for a missing, unknown or repeated column."""
    names = [name.strip().lower() for name in header]
    problems = []
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        problems.append("unknown columns: " + ", ".join(_shown(name) for name in unknown))
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problems.append("repeated columns: " + ", ".join(repeated))
    needed = [n for n in REQUIRED if not (effective_given and n == "effective_from")]
    missing = [name for name in needed if name not in names]
    if missing:
        problems.append("missing columns: " + ", ".join(missing))
    if problems:
        raise DeckError("header", [BadLine(1, "; ".join(problems))])
    return {name: index for index, name in enumerate(names)}


def read_deck(
    path: Path,
    *,
    effective: datetime | None = None,
    on_progress: Callable[[int, bool], None] | None = None,
) -> Deck:
    """Every row of the deck at ``path`` checked, or DeckError listing every bad line.

    ``effective`` (the import's --effective): the date of rows whose effective_from is empty or
    absent, and the deck's date; a row may start later, not earlier. Without it the deck's date
    is its earliest effective_from. ``on_progress(records, done)``: the records read so far,
    every PROGRESS_EVERY of them, and once more with ``done`` True when all are (before the
    checks across rows; the TUI's progress bar). An exception it raises ends the read.
    """
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        reason = f"cannot read {path.name}: {error.strerror}"
        raise DeckError(path.name, [BadLine(0, reason)]) from None
    errors: list[BadLine] = []
    rows: list[DeckRow] = []
    # The cyclic collector off while the rows pile up: 300,000 new rows would trigger collections
    # that walk every one of them and find nothing (measured: twice the time of the checks).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _read(path, handle, effective, rows, errors, on_progress)
    finally:
        if collecting:
            gc.enable()


def _read(
    path: Path,
    handle: Any,
    effective: datetime | None,
    rows: list[DeckRow],
    errors: list[BadLine],
    on_progress: Callable[[int, bool], None] | None = None,
) -> Deck:
    with handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise DeckError(path.name, [BadLine(1, "the file is empty: no header")])
            try:
                index = check_header(header, effective_given=effective is not None)
            except DeckError as error:
                raise DeckError(path.name, error.errors) from None
            check = _row_checker(index, len(header), effective)
            line = reader.line_num + 1
            seen = 0
            for record in reader:
                start, line = line, reader.line_num + 1
                if on_progress is not None:
                    seen += 1
                    if not seen % PROGRESS_EVERY:
                        on_progress(seen, False)
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue  # a blank line (spreadsheets add them at the end)
                row = check(start, record)
                if type(row) is DeckRow:
                    rows.append(row)
                else:
                    errors.append(row)  # type: ignore[arg-type]
            if on_progress is not None:
                on_progress(seen, True)
        except csv.Error as error:
            errors.append(BadLine(reader.line_num, f"not valid CSV: {error}"))
        except UnicodeDecodeError:
            errors.append(BadLine(reader.line_num + 1, "not UTF-8 text"))
    if not errors and not rows:
        errors.append(BadLine(0, f"{path.name} has a header and no rates"))
    _check_dates(rows, errors)
    if errors:
        errors.sort(key=lambda bad: bad.line)
        raise DeckError(path.name, errors)
    deck_date = effective if effective is not None else min(r.effective_from for r in rows)
    return Deck(rows, deck_date)


def _row_checker(
    index: dict[str, int], width: int, effective: datetime | None
) -> Callable[[int, list[str]], DeckRow | BadLine]:
    """The check of one record: its DeckRow, or the BadLine naming all its problems.

    Decks repeat a few prices, increments, dates and names over hundreds of thousands of rows:
    each column keeps the cell texts it found good, with their values, so that most rows are
    checked by a dict look-up per cell (the fast path); a cell not seen yet takes the full
    check (the slow path), which also collects every problem of a bad row.
    """
    at = [index.get(name) for name in COLUMNS]
    i_prefix, i_dest, i_rate, i_fee, i_mcd, i_pulse, i_from, i_to = at
    prefix_ok = _PREFIX.fullmatch
    checks: list[Callable[[str], Checked]] = [
        _destination,
        partial(_price, "rate"),
        partial(_price, "connect_fee"),
        partial(_seconds, "mcd", 0),
        partial(_seconds, "pulse", 1),
        partial(_moment, "effective_from", effective),
        partial(_moment, "effective_to", None),
    ]
    good: list[dict[str, Any]] = [{} for _ in checks]
    g_dest, g_rate, g_fee, g_mcd, g_pulse, g_from, g_to = good
    absent = object()
    lowest = effective or _NEVER

    def cells(record: list[str]) -> list[str]:
        return [
            "" if column is None else record[column]
            for column in (i_dest, i_rate, i_fee, i_mcd, i_pulse, i_from, i_to)
        ]

    def slow(line: int, record: list[str]) -> DeckRow | BadLine:
        problems: list[str] = []
        prefix = record[i_prefix].strip()  # type: ignore[index]
        if not prefix_ok(prefix):
            problems.append(
                f"prefix: 1 to {MAX_PREFIX} digits (a leading + allowed), not {_shown(prefix)}"
            )
        values = []
        for text, check, known in zip(cells(record), checks, good, strict=True):
            value, problem = check(text)
            values.append(value)
            if problem is not None:
                problems.append(problem)
            elif len(known) < 100_000:
                known[text] = value
        begins, ends = values[5], values[6]
        if not problems:
            if effective is not None and begins < effective:
                problems.append(
                    f"effective_from {begins:%Y-%m-%d %H:%M}Z is before the deck's "
                    f"--effective {effective:%Y-%m-%d %H:%M}Z"
                )
            if ends is not None and ends <= begins:
                problems.append("effective_to: must be after effective_from")
        if problems:
            return BadLine(line, "; ".join(problems))
        return DeckRow(line, prefix.removeprefix("+"), *values)

    def check(line: int, record: list[str]) -> DeckRow | BadLine:
        if len(record) != width:
            return BadLine(line, f"{len(record)} fields where the header has {width}")
        prefix = record[i_prefix]  # type: ignore[index]
        begins = g_from.get("" if i_from is None else record[i_from], absent)
        ends = g_to.get("" if i_to is None else record[i_to], absent)
        destination = g_dest.get(record[i_dest], absent)  # type: ignore[index]
        rate = g_rate.get(record[i_rate], absent)  # type: ignore[index]
        fee = g_fee.get(record[i_fee], absent)  # type: ignore[index]
        mcd = g_mcd.get(record[i_mcd], absent)  # type: ignore[index]
        pulse = g_pulse.get(record[i_pulse], absent)  # type: ignore[index]
        if (
            begins is absent
            or ends is absent
            or destination is absent
            or rate is absent
            or fee is absent
            or mcd is absent
            or pulse is absent
            or not prefix_ok(prefix)
            or begins < lowest
            or (ends is not None and ends <= begins)
        ):
            return slow(line, record)
        if prefix[0] == "+":
            prefix = prefix[1:]
        return DeckRow(line, prefix, destination, rate, fee, mcd, pulse, begins, ends)

    return check


def _check_dates(rows: list[DeckRow], errors: list[BadLine]) -> None:
    """Two rows of one prefix whose periods overlap: the later line is the error."""
    prefixes = [row.prefix for row in rows]
    if len(set(prefixes)) == len(prefixes):
        return  # one version of each prefix, as most decks have: nothing can overlap
    by_prefix: dict[str, list[DeckRow]] = {}
    for row in rows:
        by_prefix.setdefault(row.prefix, []).append(row)
    for prefix, versions in by_prefix.items():
        if len(versions) < 2:
            continue
        versions.sort(key=lambda row: (row.effective_from, row.line))
        for before, after in itertools.pairwise(versions):
            if before.effective_to is None or after.effective_from < before.effective_to:
                first, second = sorted((before.line, after.line))
                errors.append(
                    BadLine(second, f"prefix {prefix}: its dates overlap those of line {first}")
                )
