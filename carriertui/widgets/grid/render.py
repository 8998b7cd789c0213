"""The grid's drawing: the group and title lines (sort marks, filter funnels), the rows (zebra,
cursor, selection, ticks, tones), numbers cut at an edge left blank. Mixed into DataGrid."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.geometry import Region
from textual.strip import Strip

from carriertui.charset import glyph
from carriertui.widgets.grid.cells import (
    CELL_PAD,
    Selection,
    align_text,
    blank_cells,
    cell_text,
    tone_style,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from textual.scroll_view import ScrollView as _MixedInto

    from carriertui.grid.model import Column, Query, Row, RowKey
else:
    _MixedInto = object  # at run time the mixin adds only its methods; DataGrid is the widget


class GridRender(_MixedInto):
    """DataGrid's lines (they use its geometry, rows and query)."""

    if TYPE_CHECKING:
        # What the drawing uses of DataGrid, declared for the type checker (DataGrid defines it).
        columns: Sequence[Column]
        cursor: tuple[int, int]
        selection: Selection | None
        checkable: bool
        checked: set[RowKey]
        query: Query  # type: ignore[assignment]
        _offsets: list[int]
        _widths: list[int]
        _fitted_to: int
        _content_width: int
        _generation: int
        _toned: bool
        _style_cache: dict[str, Style]
        _text_cache: LRUCache[tuple[int, int], tuple[list[str], list[str | None] | None]]

        @property
        def header_height(self) -> int: ...
        @property
        def has_groups(self) -> bool: ...
        @property
        def check_width(self) -> int: ...
        @property
        def row_count(self) -> int: ...
        def pinned(self, width: int | None = None) -> tuple[int, int]: ...
        def _fit_widths(self) -> None: ...
        def row_at(self, index: int, *, fetch: bool = True) -> Row | None: ...

    def render_lines(self, crop: Region) -> list[Strip]:
        # Once per frame, before any line: a resize, or a scroll bar coming or going, changes
        # the width to share out (no Resize event tells of the scroll bar).
        if self.scrollable_content_region.width != self._fitted_to:
            self._fit_widths()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        if y < self.header_height:
            strip = self._group_line() if (self.has_groups and y == 0) else self._title_line()
        else:
            strip = self._row_line(scroll_y + y - self.header_height)
        pinned = self.pinned(width)[1]
        start, end = pinned + scroll_x, scroll_x + width  # the scrolled part of the line
        # A number cut at either edge is left blank: "2.22%" cut from "42.22%", or the "0" of
        # "0.4373", would read as another number. (A title or text cut on the right stays:
        # it shows there is more to the right.)
        first, last = start, end
        for offset, size, column in zip(self._offsets, self._widths, self.columns, strict=True):
            right = offset + size + CELL_PAD
            if offset < start < right:
                first = right
            if offset < end < right and y >= self.header_height and column.is_numeric:
                last = offset
        base = self._style("base")
        if not scroll_x and first == start and last == end:
            # Not scrolled and nothing blanked: the pinned part and the rest are one piece of the
            # line. One strip instead of five (each Strip is seven caches): the frame after the
            # rows arrive costs a third less (issue 21's open / filter / end).
            return strip.crop_extend(0, width, base)
        parts = [strip.crop(0, pinned)] if pinned else []
        parts += [
            blank_cells(strip, start, first),
            strip.crop(first, last),
            blank_cells(strip, last, end),
        ]
        return Strip.join(parts).crop_extend(0, width, base)

    def _group_line(self) -> Strip:
        style = self.get_component_rich_style("datagrid--group")
        segments = [Segment(" " * self.check_width, style)]
        index = 0
        while index < len(self.columns):
            group = self.columns[index].group or ""
            span = index
            while span + 1 < len(self.columns) and (self.columns[span + 1].group or "") == group:
                span += 1
            width = sum(self._widths[i] + CELL_PAD for i in range(index, span + 1))
            label = f" {group} ".center(width, glyph("rule")) if group else " " * width
            segments.append(Segment(label[:width], style))
            index = span + 1
        return Strip(segments)

    def _title_line(self) -> Strip:
        """Titles with the sort mark (↑/↓, numbered when several) and, at the right edge of each
        filterable column, a funnel: ▿ to open its filter, ▾ when a filter is on."""
        style = self._style("datagrid--header")
        funnel_style = self._style("datagrid--funnel")
        active_style = self._style("datagrid--funnel-active")
        segments = [Segment(" " * self.check_width, style)]
        for index, column in enumerate(self.columns):
            mark = ""
            direction = self.query.sort_direction(column.key)
            if direction is not None:
                position, descending = direction
                mark = glyph("sort_descending" if descending else "sort_ascending") + (
                    str(position + 1) if len(self.query.sort) > 1 else ""
                )
            width = self._widths[index] - (1 if column.filterable else 0)
            room = width - len(mark)
            title = column.title
            text = title[:room] + mark if column.alignment != "right" else mark + title[:room]
            segments.append(Segment(" " + align_text(text, width, column.alignment), style))
            if column.filterable:
                active = self.query.filter_for(column.key) is not None
                segments.append(
                    Segment(
                        glyph("filter_active" if active else "filter"),
                        active_style if active else funnel_style,
                    )
                )
        return Strip(segments)

    def _style(self, name: str) -> Style:
        """Component styles, computed once per theme/CSS change instead of once per line."""
        style = self._style_cache.get(name)
        if style is None:
            style = self.rich_style if name == "base" else self.get_component_rich_style(name)
            self._style_cache[name] = style
        return style

    def notify_style_update(self) -> None:
        # The text cache holds texts and style names, never a style: it stays (focus changes
        # the styles, and clearing it made the frame after focus format every cell again).
        self._style_cache.clear()
        super().notify_style_update()

    def _cells(self, index: int, row: Row) -> tuple[list[str], list[str | None] | None]:
        """The aligned cell texts of a row and their tone styles (None: no cell has a tone);
        cached, since moving the cursor repaints a row whose text has not changed."""
        cached = self._text_cache.get((self._generation, index))
        if cached is None:
            values = row[1]
            texts = [
                " "
                + align_text(
                    cell_text(column, values[position]), self._widths[position], column.alignment
                )
                for position, column in enumerate(self.columns)
            ]
            cell_tones: list[str | None] | None = None
            if self._toned:
                cell_tones = [
                    None if column.tone is None else tone_style(column.tone(values[position]))
                    for position, column in enumerate(self.columns)
                ]
            cached = (texts, cell_tones)
            self._text_cache.set((self._generation, index), cached)
        return cached

    def _row_line(self, index: int) -> Strip:
        if index >= self.row_count:
            return Strip.blank(self._content_width, self._style("base"))
        row = self.row_at(index)
        if row is None:
            filler = ("  " + glyph("ellipsis")).ljust(self._content_width - self.check_width)
            return Strip(
                [Segment(" " * self.check_width + filler, self._style("datagrid--pending"))]
            )
        base = self._style("base")
        if index % 2:
            base = base + self._style("datagrid--zebra")
        cursor_row, cursor_column = self.cursor
        if index == cursor_row:
            base = base + self._style("datagrid--cursor-row")
        segments: list[Segment] = []
        if self.checkable:
            checked = row[0] in self.checked
            style = base + self._style("datagrid--checked") if checked else base
            segments.append(Segment(glyph("checked") + " " if checked else "  ", style))
        selection = self.selection
        in_selection = selection is not None and selection.top <= index <= selection.bottom
        selected = base + self._style("datagrid--selected") if in_selection else base
        cursor_here = index == cursor_row and self.has_focus
        texts, cell_tones = self._cells(index, row)
        for position, text in enumerate(texts):
            style = (
                selected
                if selection is not None
                and in_selection
                and selection.left <= position <= selection.right
                else base
            )
            if cell_tones is not None and (tone := cell_tones[position]) is not None:
                style = style + self._style(tone)
            if cursor_here and position == cursor_column:
                style = style + self._style("datagrid--cursor")
            segments.append(Segment(text, style))
        # Every cell is padded to its column's width: the line's length is known.
        return Strip(segments, self._content_width)
