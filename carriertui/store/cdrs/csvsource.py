"""The CSV file read a small group of records at a time (fast paths for simple files, the csv
module for the rest), and the parsed batches the importer inserts: a source's records through a
row parser (rows.py), with the bad rows and the hours the rows touch.

Light to import (the parsing child runs it): the standard library and store/cdrs' light modules.
"""

from __future__ import annotations

import csv
import io
import operator
from collections.abc import Iterator, Sequence
from itertools import repeat
from typing import Any, NamedTuple

from carriertui.store.cdrs.fields import _CHARGE, CdrImportError, _Bad
from carriertui.store.cdrs.rows import _RowParser
from carriertui.store.errors import ValidationError


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
