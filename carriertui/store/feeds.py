"""Importing a switch's CDR file: its records read by :mod:`carriertui.feeds` into native CDR rows,
written to a private temporary CSV and imported by the native importer, so that every rule of a
native import holds: one transaction, all or nothing (or --skip-bad with a reject file), rows
whose call id is known already skipped, rows without money rated, one audit entry.

The line numbers shown (errors, the reject file) are the switch file's: each native row's
source line is kept while the rows are written (one line a row: a field with a line break is a
reject), and the native importer's line numbers are translated back.
"""

from __future__ import annotations

import csv
import operator
import os
import shutil
import tempfile
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from carriertui import feeds
from carriertui.feeds.common import (
    NATIVE_COLUMNS,
    Converted,
    FeedError,
    FeedOptions,
    Tally,
)
from carriertui.feeds.detect import detect
from carriertui.feeds.groups import (
    Block,
)
from carriertui.store import match_rules
from carriertui.store.cdrs import importer
from carriertui.store.cdrs.importer import CdrImportError
from carriertui.store.cdrs.results import (
    BadRow,
    ImportReport,
    ProgressCallback,
    _refusal,
    _Rejects,
    default_rejects_path,
)
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.enums import Role

WRITE_BATCH = 5000
_TEMP_PREFIX = "carriertui-feed-"
_MONEY = ("billed_duration", "charge", "cost")
UNRATED_COLUMNS = tuple(name for name in NATIVE_COLUMNS if name not in _MONEY)
_UNRATED = operator.itemgetter(*(NATIVE_COLUMNS.index(name) for name in UNRATED_COLUMNS))


@dataclass
class FeedReport:
    """A switch file's import: the native report (lines are the switch file's) and more."""

    format: str
    why: str  # how the format was chosen
    report: ImportReport
    tally: Tally = field(default_factory=Tally)

    def __str__(self) -> str:
        extra = self.tally.text()
        return str(self.report) + (f"; {extra}" if extra else "")


def rejects_path_for(path: Path) -> Path:
    """``NAME.rejects.csv`` next to a file; for a directory of JSON documents, beside it."""
    if path.is_dir():
        return path.with_name(path.name + ".rejects.csv")
    return default_rejects_path(path)


class _NativeFile:
    """The native CSV being written, with the source (line, file) of each of its rows.

    Without money (every format but a ConnexCS file with charge and cost) the money columns
    are left out of the header, so that the native parser rates the rows as it reads them."""

    def __init__(self, path: Path, options: FeedOptions) -> None:
        self.path = path
        self.options = options
        self.handle = path.open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.handle, lineterminator="\n")
        self.columns: tuple[str, ...] | None = None  # decided at the first write
        self.lines = array("q")
        self.sources: list[str] | None = None  # per row, when a directory is read
        self.batch: list[tuple[str, ...]] = []

    def add(self, item: Converted) -> None:
        self.batch.append(item.row)  # type: ignore[arg-type]
        self.lines.append(item.line)
        if item.source:
            if self.sources is None:
                self.sources = [""] * (len(self.lines) - 1)
            self.sources.append(item.source)
        elif self.sources is not None:
            self.sources.append("")
        if len(self.batch) >= WRITE_BATCH:
            self.flush()

    def add_block(self, block: Block) -> None:
        self.flush()
        if block.sources is not None and self.sources is None:
            self.sources = [""] * len(self.lines)
        self.lines.extend(block.lines)
        if self.sources is not None:
            self.sources.extend(block.sources or [""] * len(block.rows))
        self.batch = block.rows
        self.flush()

    def flush(self) -> None:
        rows = self.batch
        if self.columns is None:
            self.columns = NATIVE_COLUMNS if self.options.money else UNRATED_COLUMNS
            self.writer.writerow(self.columns)
        if not rows:
            return
        unrated = self.columns is UNRATED_COLUMNS
        separators = len(self.columns) - 1
        joined = "\n".join(map(",".join, map(_UNRATED, rows) if unrated else rows))
        if (
            '"' not in joined
            and joined.count(",") == separators * len(rows)
            and joined.count("\n") == len(rows) - 1
        ):
            self.handle.write(joined + "\n")  # plain fields: no quoting needed
        else:
            self.writer.writerows(map(_UNRATED, rows) if unrated else rows)
        self.batch = []

    def close(self) -> None:
        self.flush()
        self.handle.close()

    def source_of(self, native_line: int) -> tuple[int, str]:
        """The switch file's (line, file name) of the native file's line (2 = the first row)."""
        index = native_line - 2
        if 0 <= index < len(self.lines):
            name = self.sources[index] if self.sources is not None else ""
            return self.lines[index], name
        return native_line, ""


def _reason(reason: str, source: str) -> str:
    return f"{source}: {reason}" if source else reason


def import_feed(
    db: Database,
    actor: Actor,
    path: Path,
    fmt: str,
    options: FeedOptions,
    *,
    skip_bad: bool = False,
    rejects_path: Path | None = None,
    on_progress: ProgressCallback | None = None,
    on_format: Callable[[str, str], None] | None = None,
    error_cap: int = importer.DEFAULT_ERROR_CAP,
    tech_prefix: str = "",
) -> FeedReport:
    """Import switch file ``path`` (format ``fmt``, or ``auto``) as the native import would.

    Raises CdrImportError (nothing imported) for a file that cannot be read as the format, or,
    without ``skip_bad``, that has any bad record (every bad line listed, up to the cap).
    ``on_format(format, why)`` is told the format before the import starts.
    """
    actor.require(Role.OPERATOR, "import CDRs")
    path = Path(path)
    why = "given"
    try:
        if fmt == feeds.AUTO:
            fmt, why = detect(path, options)
    except FeedError as error:
        raise CdrImportError(str(error)) from error
    if on_format is not None:
        on_format(fmt, why)
    if fmt == feeds.NATIVE:
        if options.customer is not None:
            raise CdrImportError(
                f"{path.name} is carriertui's own CSV, which names each row's customer: "
                "--customer is for a switch's file"
            )
        report = importer.import_cdr_file(
            db,
            actor,
            path,
            skip_bad=skip_bad,
            rejects_path=rejects_path,
            on_progress=on_progress,
            error_cap=error_cap,
            tech_prefix=tech_prefix,
        )
        return FeedReport(fmt, why, report)
    if options.customers is None:
        options.rules = match_rules.load_rules(db)
        options.customers = frozenset(options.rules.codes)
    _remove_orphans()
    with tempfile.TemporaryDirectory(prefix=f"{_TEMP_PREFIX}{os.getpid()}-") as folder:
        native = _NativeFile(Path(folder) / path.name, options)
        bad: list[tuple[int, str, str]] = []  # (line, reason, source) of the records refused here
        try:
            try:
                for item in feeds.convert(path, fmt, options):
                    if isinstance(item, Block):
                        if skip_bad or not bad:
                            native.add_block(item)
                        continue
                    row = item.row
                    if row is not None and any("\n" in v or "\r" in v for v in row):
                        item = item._replace(row=None, reason="a field holds a line break")
                    if item.row is None:
                        bad.append((item.line, item.reason, item.source))
                        if not skip_bad and len(bad) >= error_cap:
                            break  # refused anyway: enough lines listed
                    elif skip_bad or not bad:
                        native.add(item)
            finally:
                native.close()
        except FeedError as error:
            raise CdrImportError(f"{path.name}: {error}; nothing was imported") from error
        if bad and not skip_bad:
            report = ImportReport(file_name=path.name)
            report.errors = [BadRow(line, _reason(reason, src)) for line, reason, src in bad]
            report.bad_rows = len(bad)
            raise CdrImportError(_refusal(path.name, report), report.errors, report.bad_rows)
        native_rejects = Path(folder) / "native.rejects.csv"
        try:
            report = importer.import_cdr_file(
                db,
                actor,
                native.path,
                skip_bad=skip_bad,
                rejects_path=native_rejects if skip_bad else None,
                on_progress=on_progress,
                error_cap=error_cap,
                tech_prefix=tech_prefix,
            )
        except CdrImportError as error:
            mapped = [_mapped(native, item) for item in error.errors]
            message = str(error).replace(str(native.path), str(path))
            raise CdrImportError(message, mapped, error.bad_rows) from error
        report.errors = sorted(
            [BadRow(line, _reason(reason, src)) for line, reason, src in bad]
            + [_mapped(native, item) for item in report.errors],
            key=lambda item: item.line,
        )[:error_cap]
        report.rows += len(bad)
        report.bad_rows += len(bad)
        report.rejects_path = None
        if skip_bad and report.bad_rows:
            target = Path(rejects_path) if rejects_path else rejects_path_for(path)
            _write_rejects(target, bad, native, native_rejects)
            report.rejects_path = target
    return FeedReport(fmt, why, report, options.tally)


def _remove_orphans() -> None:
    """The temporary folders of imports whose process was killed (kill -9 skips the cleanup)."""
    base = Path(tempfile.gettempdir())
    try:
        folders = [p for p in base.iterdir() if p.name.startswith(_TEMP_PREFIX)]
    except OSError:
        return
    for folder in folders:
        pid = folder.name.removeprefix(_TEMP_PREFIX).split("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue  # alive (another user's): not ours to remove


def _mapped(native: _NativeFile, item: BadRow) -> BadRow:
    line, source = native.source_of(item.line)
    return BadRow(line, _reason(item.reason, source))


def _write_rejects(
    target: Path, bad: list[tuple[int, str, str]], native: _NativeFile, native_rejects: Path
) -> None:
    """One reject file: the switch file's line, the reason, the file (a JSON directory's) and
    the native row where one was made; in line order."""
    entries: list[tuple[int, str, str, list[str]]] = [
        (line, reason, source, [""] * len(NATIVE_COLUMNS)) for line, reason, source in bad
    ]
    if native_rejects.exists():
        with native_rejects.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])[2:]
            for fields in reader:
                line, source = native.source_of(int(fields[0]))
                values = dict(zip(header, fields[2:], strict=False))
                row = [values.get(name, "") for name in NATIVE_COLUMNS]
                entries.append((line, fields[1], source, row))
    entries.sort(key=lambda entry: (entry[2], entry[0]))
    try:
        rejects = _Rejects(target, ["reject_file", *NATIVE_COLUMNS])
    except OSError as error:
        raise CdrImportError(
            f"cannot write the reject file {target}: {error.strerror or error}"
        ) from error
    try:
        for line, reason, source, fields in entries:
            rejects.add(line, reason, [source, *fields])
        rejects.commit()
    finally:
        rejects.discard()
