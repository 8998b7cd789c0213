"""CSV export and clipboard text for the grid.

CSV (RFC 4180: comma, double quotes doubled, CRLF line ends, UTF-8 without a BOM; a BOM only
helps old Excel guess the encoding and breaks every other reader's first header cell):

- text cells starting with ``=``, ``+``, ``-``, ``@``, TAB, CR or LF get a leading ``'``, so a
  spreadsheet shows them instead of running them as formulas (OWASP "CSV injection");
- numbers (int, Decimal, float) are written as numbers, negative ones too; a Decimal in plain
  notation (``format(d, "f")``: never ``1E+2``);
- timestamps in ISO 8601 UTC (``2026-11-26T01:02:03Z``, with ``.ffffff`` when there are
  microseconds, so an export loses nothing); booleans ``true``/``false``; None empty.

The file is written next to its target under a temporary name, flushed to disk and renamed into
place only when complete: a cancel or a failure leaves no file at ``path`` (a file already there is
left as it was). The export is created with mode 0600, as ``mkstemp`` makes it: it holds customer
data.

Where it goes: the temporary file and the rename happen in the *resolved* folder of ``path``, and
a ``path`` that is itself a symbolic link is refused (``lstat``; nothing opens the final name, it
is only ever the target of a rename or a link, so no symlink there is followed). ``within``
refuses a folder that resolves out of the given export folder; ``overwrite=False`` refuses an
existing file (a hard link makes the no-clobber check and the placing one step).
:func:`check_export_target` tells a dialog, before it writes, what to ask.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from carriertui.grid.model import Column, ColumnType, Row, display_text


class ExportError(Exception):
    """An export that could not be written; the message is one line naming the path."""


class ExportCancelled(Exception):  # not an ExportError: a cancel is no failure
    """The operator cancelled the export; nothing was written."""


class ExportExists(ExportError):
    """The target file exists and the export was not allowed to replace it."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"cannot export to {_shown(path)}: the file exists")
        self.path = path


_DANGEROUS_START = frozenset("=+-@\t\r\n")
_PASS_THROUGH = frozenset({int, float, type(None)})  # csv writes these as they are
_CLIPBOARD_BREAKS = re.compile("[\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_SHOWN_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def csv_text(text: str) -> str:
    """A text cell neutralised for spreadsheets: a leading ``'`` when it could start a formula."""
    if text and text[0] in _DANGEROUS_START:
        return "'" + text
    return text


def _iso_utc(value: datetime) -> str:
    if value.tzinfo is not UTC:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    # isoformat() is four times faster than strftime, and leaves out zero microseconds itself.
    return value.isoformat()[:-6] + "Z"  # "+00:00" -> "Z"


def csv_cell(value: Any) -> Any:
    """The cell for ``value``: a str, or an int/float/None that the csv module writes as is."""
    kind = type(value)
    if kind in _PASS_THROUGH:
        return value
    if kind is str:
        return csv_text(value)
    if kind is bool:
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = str(value)  # plain for money; "1E+2" and "1E-7" need format()
        return format(value, "f") if "E" in text else text
    if isinstance(value, datetime):
        return _iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):  # an IntEnum, say: its number
        return int(value)
    if isinstance(value, float):
        return float(value)
    return csv_text(str(value))


def _csv_column(cells: Sequence[Any]) -> list[Any]:
    # One column at a time, the common cases inline: a function call per cell would cost more
    # than the CSV writer itself.
    return [
        cell
        if type(cell) in _PASS_THROUGH
        else (
            ("'" + cell if cell[:1] in _DANGEROUS_START else cell)
            if type(cell) is str
            else csv_cell(cell)
        )
        for cell in cells
    ]


def _csv_rows(
    batch: Sequence[Row], pick: Callable[[Sequence[Any]], Sequence[Any]], width: int
) -> Iterable[Sequence[Any]]:
    if not width:
        return [() for _ in batch]
    columns = list(zip(*(pick(values) for _key, values in batch), strict=True))
    if columns and len(columns) != width:
        raise ValueError(f"rows of {len(columns)} values for {width} columns")
    return zip(*(_csv_column(cells) for cells in columns), strict=True)


def _picker(
    width: int, value_indexes: Sequence[int] | None
) -> Callable[[Sequence[Any]], Sequence[Any]]:
    if value_indexes is None:
        return lambda values: values
    indexes = tuple(value_indexes)
    if len(indexes) != width:
        raise ValueError(f"{len(indexes)} value indexes for {width} columns")
    return lambda values: [values[i] for i in indexes]


def write_csv(
    path: Path,
    columns: Sequence[Column],
    batches: Iterable[list[Row]],
    *,
    include_header: bool = True,
    group_header: bool = False,
    on_progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    value_indexes: Sequence[int] | None = None,
    overwrite: bool = True,
    within: Path | None = None,
) -> int:
    """Write the rows of ``batches`` to ``path`` as CSV; return the number of rows written.

    Each row's values line up with ``columns``, or, with ``value_indexes``, ``values[i]`` for
    each i gives the columns' cells (a selection of some columns of a source's rows).
    ``group_header`` writes the column groups' titles in a row above the titles.
    ``cancelled`` is asked before each batch (raising :class:`ExportCancelled`);
    ``on_progress`` gets the rows written so far after each batch.
    Raises :class:`ExportError` for a path that cannot be written (missing folder, a folder,
    a symbolic link, no permission, a full disk), or that resolves out of ``within``;
    :class:`ExportExists` for an existing file when ``overwrite`` is False.
    """
    pick = _picker(len(columns), value_indexes)
    width = len(columns)
    return _write(
        path,
        columns,
        batches,
        lambda batch: _csv_rows(batch, pick, width),
        include_header=include_header,
        group_header=group_header,
        on_progress=on_progress,
        cancelled=cancelled,
        overwrite=overwrite,
        within=within,
    )


def write_csv_cells(
    path: Path,
    columns: Sequence[Column],
    batches: Iterable[list[Sequence[Any]]],
    *,
    include_header: bool = True,
    group_header: bool = False,
    on_progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    overwrite: bool = True,
    within: Path | None = None,
) -> int:
    """:func:`write_csv` for rows already made of CSV cells (:func:`csv_cell` of each value,
    or text the csv writer writes the same way, as ``RowSource.iter_csv_cells`` gives them):
    the export path of the grid, where a SQL source has the database neutralise and format the
    cells, and the rows go straight to the csv writer, or (see :func:`_plain_lines`) are
    joined with commas."""
    return _write(
        path,
        columns,
        batches,
        _CELLS,
        include_header=include_header,
        group_header=group_header,
        on_progress=on_progress,
        cancelled=cancelled,
        overwrite=overwrite,
        within=within,
    )


def _write(
    path: Path,
    columns: Sequence[Column],
    batches: Iterable[list[Any]],
    to_cells: Callable[[list[Any]], Iterable[Sequence[Any]]],
    *,
    include_header: bool,
    group_header: bool,
    on_progress: Callable[[int], None] | None,
    cancelled: Callable[[], bool] | None,
    overwrite: bool,
    within: Path | None,
) -> int:
    path = Path(path)
    with _placed_file(path, within=within, overwrite=overwrite) as handle:
        iterator: Iterator[list[Any]] = iter(batches)
        written = 0
        try:
            writer = csv.writer(handle, dialect="excel", lineterminator="\r\n")
            try:
                if group_header:
                    writer.writerow([csv_text(column.group or "") for column in columns])
                if include_header:
                    writer.writerow([csv_text(column.title) for column in columns])
            except OSError as error:
                raise _export_error(path, error) from error
            while True:
                if cancelled is not None and cancelled():
                    raise ExportCancelled(f"export to {_shown(path)} cancelled")
                batch = next(iterator, None)
                if batch is None:
                    break
                try:
                    if to_cells is not _CELLS:
                        writer.writerows(to_cells(batch))
                    elif (lines := _plain_lines(batch, len(columns))) is not None:
                        handle.write(lines)
                    else:
                        writer.writerows(batch)
                except OSError as error:
                    raise _export_error(path, error) from error
                written += len(batch)
                if on_progress is not None:
                    on_progress(written)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
    return written


def write_text(
    path: Path, text: str, *, overwrite: bool = True, within: Path | None = None
) -> None:
    """``text`` (UTF-8) to ``path``, placed as :func:`write_csv` places its file: a temporary
    file in the resolved folder (mode 0600), flushed to disk, renamed into place when complete;
    the same refusals (a folder, a symbolic link, a folder out of ``within``, an existing file
    without ``overwrite``) as :class:`ExportError`. For a JSON document, say."""
    path = Path(path)
    with _placed_file(path, within=within, overwrite=overwrite) as handle:
        try:
            handle.write(text)
        except OSError as error:
            raise _export_error(path, error) from error


@contextlib.contextmanager
def _placed_file(path: Path, *, within: Path | None, overwrite: bool) -> Iterator[TextIO]:
    """A text file that becomes ``path`` when the block ends: written under a temporary name in
    the resolved folder, flushed to disk, then placed (:func:`_place`). On a failure or a cancel
    the temporary file is removed and ``path`` is left as it was; an OSError is an ExportError."""
    temporary = _create_temporary(path, within=within, overwrite=overwrite)
    try:
        with open(temporary.fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
            try:
                handle.flush()
                os.fsync(handle.fileno())
            except OSError as error:
                raise _export_error(path, error) from error
        _place(temporary, path, overwrite=overwrite)
    except OSError as error:
        # close() flushing the last buffer onto a full disk lands here.
        _remove(temporary.name)
        raise _export_error(path, error) from error
    except BaseException:
        _remove(temporary.name)
        raise


@dataclass(frozen=True)
class CsvText:
    """CSV held in memory (the portal copies, shows or downloads it; it writes no file)."""

    text: str
    rows: int  # data rows in ``text``
    complete: bool  # False: stopped at the size limit, more rows were left out


def csv_cells_text(
    columns: Sequence[Column],
    batches: Iterable[list[Sequence[Any]]],
    *,
    limit: int,
    include_header: bool = True,
) -> CsvText:
    """The CSV that :func:`write_csv_cells` would write, as text, with whole rows up to
    ``limit`` characters: the same quoting, neutralising and CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect="excel", lineterminator="\r\n")
    if include_header:
        writer.writerow([csv_text(column.title) for column in columns])
    rows = 0
    iterator: Iterator[list[Sequence[Any]]] = iter(batches)
    try:
        for batch in iterator:
            for row in batch:
                mark = buffer.tell()
                writer.writerow(row)
                if buffer.tell() > limit:
                    buffer.seek(mark)
                    buffer.truncate()
                    return CsvText(buffer.getvalue(), rows, complete=False)
                rows += 1
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    return CsvText(buffer.getvalue(), rows, complete=True)


def _cells_as_they_are(batch: list[Any]) -> Iterable[Sequence[Any]]:
    return batch


_CELLS = _cells_as_they_are


def _plain_lines(batch: Sequence[Sequence[Any]], width: int) -> str | None:
    """The batch's CSV lines joined with commas, when that is what the csv writer would write:
    every cell a str and none holding a comma, a double quote, CR or LF (so none is quoted), and
    at least two columns (the writer quotes a lone empty cell). Checked on the whole batch's
    text at once, so a batch of plain text costs a join instead of the writer's work per
    character (a third of an export); None otherwise, and the writer takes the batch."""
    # map() keeps the loops in C: the generator and list comprehension this replaced cost a
    # quarter of the write (issue 21's export).
    if width < 2 or not batch or set(map(len, batch)) != {width}:
        return None
    try:
        text = "\r\n".join(map(",".join, batch))
    except TypeError:  # a number or None among the cells
        return None
    rows = len(batch)
    if (
        '"' in text
        or text.count(",") != rows * (width - 1)
        or text.count("\n") != rows - 1
        or text.count("\r") != rows - 1
    ):
        return None
    return text + "\r\n"


class _Temporary:
    def __init__(self, fd: int, name: str, target: Path) -> None:
        self.fd = fd
        self.name = name
        self.target = target  # the final file: the resolved folder and the name


def _resolved_folder(path: Path) -> Path:
    """``path``'s folder with every symbolic link resolved (ExportError when it is missing)."""
    folder = path.parent
    try:
        resolved = folder.resolve(strict=True)
    except FileNotFoundError:
        raise ExportError(
            f"cannot export to {_shown(path)}: folder {_shown(folder)} does not exist"
        ) from None
    except OSError as error:
        raise _export_error(path, error) from error
    if not resolved.is_dir():
        raise ExportError(f"cannot export to {_shown(path)}: {_shown(folder)} is not a folder")
    return resolved


def _inside(folder: Path, base: Path) -> bool:
    return folder == base or base in folder.parents


def _existing(path: Path, target: Path) -> os.stat_result | None:
    """The target's own status (``lstat``: a symbolic link is not followed), or None."""
    try:
        status = os.lstat(target)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _export_error(path, error) from error
    if stat.S_ISLNK(status.st_mode):
        raise ExportError(
            f"cannot export to {_shown(path)}: it is a symbolic link (links are not followed)"
        )
    if stat.S_ISDIR(status.st_mode):
        raise ExportError(f"cannot export to {_shown(path)}: it is a folder")
    return status


def _final_target(path: Path, within: Path | None) -> Path:
    if not path.name or path.name in (".", ".."):
        raise ExportError(f"cannot export to {_shown(path)}: enter a file name")
    folder = _resolved_folder(path)
    if within is not None:
        base = Path(within).resolve()
        if not _inside(folder, base):
            raise ExportError(
                f"cannot export to {_shown(path)}: its folder leads out of the export folder "
                f"{_shown(base)} (through a symbolic link)"
            )
    return folder / path.name


def _create_temporary(path: Path, *, within: Path | None, overwrite: bool) -> _Temporary:
    target = _final_target(path, within)
    if _existing(path, target) is not None and not overwrite:
        raise ExportExists(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=target.parent)
    except OSError as error:
        raise _export_error(path, error) from error
    return _Temporary(fd, name, target)


# A hard link is the no-clobber rename; these say the file system has none (FAT, some shares).
_NO_LINKS = frozenset({errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP})


def _place(temporary: _Temporary, path: Path, *, overwrite: bool) -> None:
    """Move the complete temporary file to its target. Checked again here (the folder may have
    changed since the export began): a symbolic link at the target is refused, and without
    ``overwrite`` an existing file too, in the same step that places the file where links work.
    A rename replaces a link itself, never what it points to."""
    target = temporary.target
    exists = _existing(path, target) is not None
    if not overwrite:
        if exists:
            raise ExportExists(path)
        try:
            os.link(temporary.name, target)
        except FileExistsError:
            raise ExportExists(path) from None
        except OSError as error:
            if error.errno not in _NO_LINKS:
                raise _export_error(path, error) from error
        else:
            _remove(temporary.name)
            return
    try:
        os.replace(temporary.name, target)
    except OSError as error:
        raise _export_error(path, error) from error


@dataclass(frozen=True)
class ExportTarget:
    """What a dialog asks about before it exports to a typed path (see check_export_target)."""

    path: Path  # the file that will be written: the resolved folder and the name
    outside: bool  # not in the export folder: ask first
    exists: bool  # a file is there: ask before replacing it


def check_export_target(path: Path, export_folder: Path) -> ExportTarget:
    """Check a typed export path against the export folder, without writing anything.

    Raises :class:`ExportError` for a name that is a folder or a symbolic link, a missing
    folder, and a path that names a place in the export folder but whose folder resolves out of
    it through a symbolic link (never followed). A path outside the export folder, and an
    existing file, are allowed once the operator has confirmed (``outside``, ``exists``).
    """
    typed = Path(os.path.abspath(Path(path).expanduser()))  # ".." folded, links kept
    base_typed = Path(os.path.abspath(Path(export_folder).expanduser()))
    base = base_typed.resolve()
    claimed_inside = _inside(typed.parent, base_typed) or _inside(typed.parent, base)
    target = _final_target(typed, base if claimed_inside else None)
    exists = _existing(typed, target) is not None
    return ExportTarget(target, outside=not _inside(target.parent, base), exists=exists)


def _remove(name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name)


_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOENT: "the folder does not exist",
    errno.EISDIR: "it is a folder",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.ENAMETOOLONG: "the name is too long",
}


def _export_error(path: Path, error: OSError) -> ExportError:
    reason = _REASONS.get(error.errno or 0) or _shown(error.strerror or str(error))
    return ExportError(f"cannot export to {_shown(path)}: {reason}")


def _shown(value: object) -> str:
    """A path or message on one line, whatever characters it holds."""
    return _SHOWN_CONTROL.sub("?", str(value))


# -- clipboard ----------------------------------------------------------------------------------


def _tsv_cell(text: str) -> str:
    return _CLIPBOARD_BREAKS.sub(" ", text)


def to_tsv(
    columns: Sequence[Column],
    rows: Iterable[Row],
    *,
    headers: bool,
    group_headers: bool,
    value_indexes: Sequence[int] | None = None,
) -> str:
    """Tab-separated text of ``rows`` for the clipboard (pastes into a spreadsheet as cells).

    Cells are their display text, with tabs and line breaks inside them turned into spaces;
    rows end with ``\\n`` except the last. ``group_headers`` adds a row of each column's group
    title (empty when it has none) above the titles, which ``headers`` adds. ``value_indexes``
    as in :func:`write_csv`.
    """
    pick = _picker(len(columns), value_indexes)
    lines: list[str] = []
    if group_headers:
        lines.append("\t".join(_tsv_cell(column.group or "") for column in columns))
    if headers:
        lines.append("\t".join(_tsv_cell(column.title) for column in columns))
    for _key, values in rows:
        cells = pick(values)
        lines.append(
            "\t".join(
                _tsv_cell(
                    csv_text(display_text(column, value))
                    if column.type is ColumnType.TEXT
                    else display_text(column, value)
                )
                for column, value in zip(columns, cells, strict=True)
            )
        )
    return "\n".join(lines)


_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_export_name(source_name: str, now: datetime) -> str:
    """``audit-log-20261126T010203Z.csv``: the table name and the UTC time, safe as a file name."""
    if now.tzinfo is None:
        raise ValueError("naive datetime given; pass an aware UTC time")
    stem = _NAME_UNSAFE.sub("-", source_name).strip(".-") or "export"
    return f"{stem}-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.csv"
