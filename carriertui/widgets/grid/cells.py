"""What a grid's cells are, apart from the widget: column widths, a cell's text (sanitized:
data is never markup), the selection rectangle, and fitting text or blanks into cells."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual.strip import Strip

from carriertui.charset import glyph
from carriertui.grid.model import Column, ColumnType, Row, Tone
from carriertui.grid.model import display_text as model_display_text
from carriertui.text import sanitize

_DEFAULT_WIDTHS = {
    ColumnType.TEXT: 18,
    ColumnType.INTEGER: 9,
    ColumnType.DECIMAL: 12,
    ColumnType.MONEY: 13,
    ColumnType.PERCENT: 8,
    ColumnType.DURATION: 9,
    ColumnType.TIMESTAMP: 19,
    ColumnType.BOOLEAN: 5,
}
CHECK_GUTTER = 2
CELL_PAD = 1  # one space before each cell


def column_width(column: Column) -> int:
    return max(column.width or _DEFAULT_WIDTHS[column.type], len(column.title) + 2)


def text_widths(columns: Sequence[Column], rows: Sequence[Row]) -> list[int]:
    """The cells the longest text of each growing column needs in ``rows`` (a fetched page),
    measured as the cells are drawn; 0 for the columns that keep their width."""
    widths = [0] * len(columns)
    growing = [index for index, column in enumerate(columns) if column.grows]
    for _key, values in rows:
        for index in growing:
            size = cell_len(cell_text(columns[index], values[index]))
            if size > widths[index]:
                widths[index] = size
    return widths


def share_spare_width(natural: Sequence[int], needs: Sequence[int], spare: int) -> list[int]:
    """Column widths with ``spare`` cells shared out: equal shares to every column that needs
    more than it has (``needs``: the cells its longest value takes), none beyond that need; what
    a satisfied column leaves goes to the others, and cells left when all are satisfied stay
    unused (right of the last column)."""
    widths = list(natural)
    wanting = [index for index, need in enumerate(needs) if need > widths[index]]
    while spare > 0 and wanting:
        share, extra = divmod(spare, len(wanting))
        if not share:
            for index in wanting[:extra]:  # the last few cells, to the leftmost columns
                widths[index] += 1
            break
        still = []
        for index in wanting:
            gift = min(share, needs[index] - widths[index])
            widths[index] += gift
            spare -= gift
            if widths[index] < needs[index]:
                still.append(index)
        wanting = still
    return widths


def tone_style(tone: Tone | None) -> str | None:
    """The component style of a cell tone (a column's tone function may return None)."""
    return None if tone is None else f"datagrid--tone-{Tone(tone).value}"


def cell_text(column: Column, value: Any) -> str:
    """What a cell shows: the column's display text, sanitized (data is never markup)."""
    return sanitize(model_display_text(column, value))


@dataclass(frozen=True)
class Selection:
    """A rectangle of cells: rows ``top``..``bottom`` and columns ``left``..``right`` inclusive."""

    top: int
    left: int
    bottom: int
    right: int

    @classmethod
    def between(cls, anchor: tuple[int, int], cursor: tuple[int, int]) -> Selection:
        (r1, c1), (r2, c2) = anchor, cursor
        return cls(min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2))

    def contains(self, row: int, column: int) -> bool:
        return self.top <= row <= self.bottom and self.left <= column <= self.right

    @property
    def rows(self) -> int:
        return self.bottom - self.top + 1

    @property
    def columns(self) -> int:
        return self.right - self.left + 1


def blank_cells(strip: Strip, start: int, end: int) -> Strip:
    """Cells ``start``..``end`` of ``strip`` as spaces in their own styles (zebra, cursor)."""
    if end <= start:
        return Strip([])
    # By whole segments' positions, never by cutting text: Rich's Segment.split_cells cuts by
    # code point and can split an emoji sequence, and the piece would be measured wrong.
    blanks, x = [], 0
    for text, style, _ in strip:
        size = cell_len(text)
        overlap = min(end, x + size) - max(start, x)
        if overlap > 0:
            blanks.append(Segment(" " * overlap, style))
        x += size
        if x >= end:
            break
    return Strip(blanks)


def align_text(text: str, width: int, alignment: str) -> str:
    """Fit ``text`` into ``width`` terminal cells (wide characters count double)."""
    size = cell_len(text)
    if size > width:
        return set_cell_size(text, max(0, width - 1)) + glyph("cut") if width > 0 else ""
    pad = width - size
    if alignment == "right":
        return " " * pad + text
    if alignment == "center":
        return " " * (pad // 2) + text + " " * (pad - pad // 2)
    return text + " " * pad
