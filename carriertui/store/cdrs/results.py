"""What a CDR import reports: the counts, the first bad rows, and the rejects file that holds every
bad row for a fix and a second import."""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from carriertui.grid.export import csv_text
from carriertui.store.cdrs.fields import REJECT_COLUMNS


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
    rated: int = 0  # rows that came without money, rated with the rate cards
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
        if self.rated:
            text += f", {self.rated} rated with the rate cards"
        return text + f" ({self.rows} rows in {self.elapsed_s:.2f} s)"


ProgressCallback = Callable[[int, int, int], None]  # rows read, bytes read, file size


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
        self.committed = False

    def add(self, line: int, reason: str, fields: Sequence[str]) -> None:
        self.writer.writerow([line, csv_text(reason), *(csv_text(v) for v in fields)])

    def commit(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.temporary, self.path)
        self.committed = True

    def discard(self) -> None:
        """Remove the temporary file, unless commit() made it the reject file."""
        if self.committed:
            return
        self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temporary)


def default_rejects_path(path: Path) -> Path:
    return path.with_name(path.stem + ".rejects.csv")


def _refusal(name: str, report: ImportReport) -> str:
    shown = len(report.errors)
    more = f" (the first {shown} listed)" if shown < report.bad_rows else ""
    return (
        f"{name}: {report.bad_rows} bad rows{more}; nothing was imported "
        "(--skip-bad imports the good rows and writes the bad ones to a reject file)"
    )
