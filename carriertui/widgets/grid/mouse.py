"""The grid's mouse: a click on a title sorts (shift adds a sort key), on its funnel filters, in
the tick gutter ticks; a drag selects; the right button opens the menu. Mixed into DataGrid."""

from __future__ import annotations

from textual import events

from carriertui.widgets.grid.cells import CELL_PAD, Selection


class GridMouse:
    """DataGrid's mouse handlers (they use its cursor, geometry and messages)."""

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
            self.anchor = self.anchor or self.cursor
            self._set_cursor(*cell, scroll=False)
            self.selection = Selection.between(self.anchor, self.cursor)
        else:
            self.anchor = cell
            self.selection = None
            self._set_cursor(*cell, scroll=False)
        self._dragging = True
        self.capture_mouse()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if not self._dragging:
            return
        cell = self._cell_at(event)
        if cell is None or self.anchor is None:
            return
        self._set_cursor(*cell, scroll=True)
        self.selection = Selection.between(self.anchor, self.cursor)
        self.refresh()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if event.button == 3:
            self.post_message(self.MenuRequested())
            return
        if self._dragging:
            self._dragging = False
            self.release_mouse()
            self.post_message(self.SelectionChanged())
