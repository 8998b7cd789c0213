"""What the commands print and write: lines, tables, JSON, CSV, files placed atomically, and a
progress bar.

Every data string printed passes through :func:`carriertui.text.sanitize`; CSV is written as
``grid.export`` writes it (the same cells, the same atomic placing of a file).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from carriertui import charset
from carriertui.cli.common import CommandError
from carriertui.text import sanitize

if TYPE_CHECKING:
    from decimal import Decimal
    from pathlib import Path


def out(line: str = "") -> None:
    """One line of the command's report on standard output, terminal or pipe alike: sanitized
    here too (the callers sanitize their data already; a pager such as ``less -R`` would
    otherwise pass an escape sequence that slipped through to the terminal). Newlines and tabs
    stay: print_json's indentation. CSV to standard output is data and does not come here."""
    text = sanitize(line, multiline=True)
    # A terminal that is not UTF-8 (carriertui.charset) gets ASCII; a pipe gets the data as is.
    print(charset.for_terminal(text) if sys.stdout.isatty() else text)


def warn(line: str) -> None:
    """A line on standard error, sanitized."""
    print(sanitize(line), file=sys.stderr)


# -- values ------------------------------------------------------------------------------------


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def when(value: datetime | None, missing: str = "-") -> str:
    return missing if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def money(value: Decimal) -> str:
    from decimal import Decimal

    cents = value.quantize(Decimal("0.01"))
    return f"{cents:.2f}" if cents == value else f"{value.normalize():f}"


def option_text(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_text(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "value"):  # enums
        return str(value.value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# -- tables ------------------------------------------------------------------------------------


def _cell_width(text: str) -> int:
    import unicodedata

    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()
) -> None:
    """Columns padded to their widest cell; ``right`` lists the indexes of numeric columns."""
    cells = [[sanitize(value) for value in row] for row in rows]
    widths = [_cell_width(header) for header in headers]
    for row in cells:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], _cell_width(value))

    def line(values: Sequence[str]) -> str:
        parts = []
        for index, value in enumerate(values):
            pad = " " * (widths[index] - _cell_width(value))
            parts.append(pad + value if index in right else value + pad)
        return "  ".join(parts).rstrip()

    out(line([sanitize(header) for header in headers]))
    out(line(["-" * width for width in widths]))
    for row in cells:
        out(line(row))


# -- JSON --------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    from decimal import Decimal
    from enum import Enum

    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def json_text(data: Any) -> str:
    """``data`` as indented JSON: money as decimal strings, times in UTC, enums by value."""
    import json

    return json.dumps(data, default=_json_default, ensure_ascii=False, indent=2)


def print_json(data: Any) -> None:
    """JSON with every control character escaped: faithful data, harmless to a terminal."""
    import json

    from carriertui.text import JSON_ESCAPE_CHARS

    # json.dumps escapes C0 controls inside strings but not DEL, C1 controls, bidi controls,
    # noncharacters or lone surrogates (with ensure_ascii off): those become \u escapes.
    text = JSON_ESCAPE_CHARS.sub(lambda match: json.dumps(match.group())[1:-1], json_text(data))
    # Only the indentation's newlines remain; sanitize keeps them and has nothing else to do.
    out(sanitize(text, multiline=True))


# -- files and CSV -----------------------------------------------------------------------------


def write_json_file(path: Path, data: Any) -> None:
    """``data`` as JSON in a file placed atomically (``grid.export.write_text``: mode 0600, no
    symbolic link followed); a failure is one CommandError line."""
    from carriertui.grid.export import ExportError, write_text

    try:
        write_text(path, json_text(data) + "\n")
    except ExportError as error:
        raise CommandError(str(error)) from error


def write_csv_file(path: Path, columns: Sequence[Any], batches: Iterable[Any]) -> int:
    """``grid.export.write_csv``; a failure is one CommandError line. The rows written."""
    from carriertui.grid.export import ExportError, write_csv

    try:
        return write_csv(path, columns, batches)
    except ExportError as error:
        raise CommandError(str(error)) from error


def write_csv_to_stdout(columns: Sequence[Any], batches: Any) -> None:
    """CSV as ``grid.export.write_csv`` writes it (the same cells: RFC 4180, formulas
    neutralised), to standard output; on a terminal, control characters are made visible."""
    import csv

    from carriertui.grid.export import csv_cell, csv_text

    terminal = sys.stdout.isatty()

    def cell(value: Any) -> Any:
        shown = csv_cell(value)
        return sanitize(shown) if terminal and isinstance(shown, str) else shown

    writer = csv.writer(sys.stdout, dialect="excel", lineterminator="\r\n")
    writer.writerow([csv_text(column.title) for column in columns])
    for batch in batches:
        writer.writerows([[cell(value) for value in values] for _key, values in batch])
    sys.stdout.flush()


class ProgressBar:
    """A one-line progress bar on standard error, drawn only when it is a terminal."""

    WIDTH = 30

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty()
        self._last = 0.0
        self._drawn = False

    def update(self, rows: int, done: int, total: int) -> None:
        import time

        now = time.monotonic()
        if not self.enabled or now - self._last < 0.1:
            return
        self._last = now
        fraction = min(done / total, 1.0) if total else 1.0
        filled = int(fraction * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        sys.stderr.write(f"\r{self.label} [{bar}] {fraction:4.0%} {rows:,} rows")
        sys.stderr.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


# -- CDR imports ---------------------------------------------------------------------------------


@contextlib.contextmanager
def refused_import(bar: ProgressBar) -> Iterator[None]:
    """Around a CDR import (`cdr import`, any format): the bar closed, and a refused file's bad
    lines on stderr before the command's error."""
    from carriertui.store.cdrs.importer import CdrImportError  # loaded: the import runs next

    try:
        yield
    except CdrImportError as error:
        bar.close()
        for bad in error.errors:
            print(sanitize(str(bad)), file=sys.stderr)
        raise CommandError(str(error)) from error
    finally:
        bar.close()


def print_import_report(report: Any, extra: str = "") -> None:
    """A CDR import's outcome: the rows skipped on stderr, the summary (and ``extra``, what the
    switch format adds), the reject file and the throughput."""
    for bad in report.errors:
        print(f"skipped {sanitize(str(bad))}", file=sys.stderr)
    out(sanitize(str(report)))
    if extra:
        out(sanitize(extra))
    if report.rejects_path is not None and report.bad_rows:
        out(f"bad rows written to {sanitize(report.rejects_path)}")
    out(f"throughput: {report.rows_per_s:,.0f} rows/s")
