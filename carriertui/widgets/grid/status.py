"""A one-line status that never wraps: its parts have ranks, and when the line is too narrow the
least important parts are left out (a trailing ``…`` says so). The whole text stays in the
tooltip and in :attr:`FitLine.full_text` (the grid's ``=`` shows it in a dialog)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len, set_cell_size
from textual.content import Content
from textual.widget import Widget

from carriertui.charset import glyph
from carriertui.text import sanitize
from carriertui.widgets.plain import plain

SEPARATOR = " · "

# (text, rank): rank 0 is the most important part; the highest ranks go first.
Part = tuple[str, int]


def fit_parts(parts: Sequence[Part], width: int) -> str:
    """``parts`` joined by `` · `` in their order, without the least important ones that do not
    fit in ``width`` cells; the last one left is cut with an ellipsis if it still does not."""
    kept = [part for part in parts if part[0]]
    dropped = False
    while kept:
        more = SEPARATOR + glyph("cut") if dropped else ""
        text = SEPARATOR.join(text for text, _rank in kept) + more
        if cell_len(text) <= width or len(kept) == 1:
            break
        worst = max(range(len(kept)), key=lambda i: (kept[i][1], i))
        del kept[worst]
        dropped = True
    else:
        return ""
    if cell_len(text) > width:
        text = set_cell_size(text, max(0, width - 1)) + glyph("cut") if width > 0 else ""
    return text


class FitLine(Widget):
    """One line of plain text (data is never markup) fitted to the widget's width."""

    DEFAULT_CSS = """
    FitLine { height: 1; width: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._parts: tuple[Part, ...] = ()

    @property
    def parts(self) -> tuple[Part, ...]:
        return self._parts

    @property
    def full_text(self) -> str:
        return SEPARATOR.join(text for text, _rank in self._parts if text)

    @property
    def shown_text(self) -> str:
        return fit_parts(self._parts, self.content_region.width)

    def set_parts(self, parts: Sequence[Part]) -> None:
        parts = tuple((sanitize(text), rank) for text, rank in parts)
        if parts == self._parts:
            return  # a cursor move that changes nothing repaints nothing
        self._parts = parts
        self.tooltip = plain(self.full_text) if self.full_text else None
        self.refresh()

    def render(self) -> Content:
        return Content(self.shown_text)  # sanitized in set_parts: plain text, never markup
