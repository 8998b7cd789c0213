"""The grid's mouse: a click on a title sorts (shift adds a sort key), on its funnel filters, in
the tick gutter ticks; a drag selects; the right button opens the menu. Mixed into DataGrid."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events

from carriertui.widgets.grid.cells import CELL_PAD, Selection

if TYPE_CHECKING:
    from collections.abc import Sequence

    from textual.message import Message
    from textual.scroll_view import ScrollView as _MixedInto

    from carriertui.grid.model import Column, RowKey
else:
    _MixedInto = object  # at run time the mixin adds only its handlers; DataGrid is the widget


class GridMouse(_MixedInto):
    """DataGrid's mouse handlers (they use its cursor, geometry and messages)."""

    if TYPE_CHECKING:
        # What the handlers use of DataGrid, declared for the type checker (DataGrid defines them).
        columns: Sequence[Column]
        checkable: bool
        cursor: tuple[int, int]
        _anchor: tuple[int, int] | None
        selection: Selection | None
        _dragging: bool
        _offsets: list[int]
        _widths: list[int]
        FilterRequested: type[Message]
        SelectionChanged: type[Message]
        MenuRequested: type[Message]

        @property
        def header_height(self) -> int: ...
        @property
        def check_width(self) -> int: ...
        @property
        def row_count(self) -> int: ...
        def content_x(self, x: int) -> int: ...
        def _set_cursor(
            self, row: int, column: int, *, scroll: bool = True, restoring: bool = False
        ) -> None: ...
        def cycle_sort(self, column_index: int, *, add: bool = False) -> None: ...
        def toggle_check(self) -> RowKey | None: ...

    def column_at(self, x: int) -> int | None:
        x = self.content_x(x)
        for index, offset in enumerate(self._offsets):
            if offset <= x < offset + self._widths[index] + CELL_PAD:
                return index
        return None

    def _cell_at(self, event: events.MouseEvent) -> tuple[int, int] | None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < self.header_height:
            return None
        column = self.column_at(offset.x)
        row = int(self.scroll_y) + offset.y - self.header_height
        if column is None or row >= self.row_count:
            return None
        return row, column

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == self.header_height - 1:
            column = self.column_at(offset.x)
            if column is None:
                return
            funnel = self._offsets[column] + self._widths[column]  # the column's last cell
            if self.columns[column].filterable and self.content_x(offset.x) == funnel:
                self._set_cursor(self.cursor[0], column, scroll=False)
                self.post_message(self.FilterRequested())
            else:
                self.cycle_sort(column, add=event.shift)
            return
        if self.checkable and self.content_x(offset.x) < self.check_width:
            cell = self._cell_at(event)
            if cell is not None:
                self._set_cursor(cell[0], self.cursor[1])
                self.toggle_check()
                self.post_message(self.SelectionChanged())

    def on_mouse_down(self, event: events.MouseDown) -> None:
        cell = self._cell_at(event)
        if cell is None:
            return
        if event.button == 3:  # right button: keep the selection, open the menu on release
            return
        self.focus()
        if event.shift:
            self._anchor = self._anchor or self.cursor
            self._set_cursor(*cell, scroll=False)
            self.selection = Selection.between(self._anchor, self.cursor)
        else:
            self._anchor = cell
            self.selection = None
            self._set_cursor(*cell, scroll=False)
        self._dragging = True
        self.capture_mouse()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if not self._dragging:
            return
        cell = self._cell_at(event)
        if cell is None or self._anchor is None:
            return
        self._set_cursor(*cell, scroll=True)
        self.selection = Selection.between(self._anchor, self.cursor)
        self.refresh()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if event.button == 3:
            self.post_message(self.MenuRequested())
            return
        if self._dragging:
            self._dragging = False
            self.release_mouse()
            self.post_message(self.SelectionChanged())
