"""The grid's cursor, range selection, ticks and sort cycling (the keyboard's actions). Mixed into
DataGrid, like the mouse (mouse.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.actions import SkipAction

from carriertui.grid.model import SortKey
from carriertui.widgets.grid.cells import CELL_PAD, Selection

if TYPE_CHECKING:
    from collections.abc import Sequence

    from textual.message import Message
    from textual.scroll_view import ScrollView as _MixedInto

    from carriertui.grid.model import Column, Query, RowKey
else:
    _MixedInto = object  # at run time the mixin adds only its methods; DataGrid is the widget


class GridCursor(_MixedInto):
    """DataGrid's cursor and selection (they use its geometry, query and messages)."""

    if TYPE_CHECKING:
        # What the methods use of DataGrid, declared for the type checker (DataGrid defines them).
        columns: Sequence[Column]
        cursor: tuple[int, int]
        _anchor: tuple[int, int] | None
        selection: Selection | None
        checked: set[RowKey]
        _had_selection: bool
        _restore_key: RowKey | None
        _offsets: list[int]
        _widths: list[int]
        query: Query  # type: ignore[assignment]
        SelectionChanged: type[Message]

        @property
        def header_height(self) -> int: ...
        @property
        def body_height(self) -> int: ...
        @property
        def row_count(self) -> int: ...
        @property
        def cursor_key(self) -> RowKey | None: ...
        def pinned(self) -> tuple[int, int]: ...
        def set_query(self, query: Query) -> None: ...

    def _set_cursor(
        self, row: int, column: int, *, scroll: bool = True, restoring: bool = False
    ) -> None:
        """Move the cursor. Unless ``restoring`` (a reload putting it back on its record), a
        move is the operator's: a reload still in flight no longer moves it back."""
        if not restoring:
            self._restore_key = None
        last_row = max(0, self.row_count - 1)
        row = min(max(0, row), last_row)
        column = min(max(0, column), max(0, len(self.columns) - 1))
        old_row = self.cursor[0]
        self.cursor = (row, column)
        before = self.scroll_offset
        if scroll:
            self._scroll_to_cursor()
        if self.scroll_offset == before and self.selection is None and not self._had_selection:
            # Only two rows change: repaint those, not the whole view (a key press at 1M rows
            # costs the same as at 10).
            self.refresh_line(self.header_height + old_row)
            self.refresh_line(self.header_height + row)
        else:
            self.refresh()
        self._had_selection = self.selection is not None
        self.post_message(self.SelectionChanged())

    def _scroll_to_cursor(self) -> None:
        row, column = self.cursor
        top = int(self.scroll_y)
        height = self.body_height
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False)
        pinned_columns, pinned = self.pinned()
        if self.columns and column >= pinned_columns:
            # x runs over the unpinned part: it starts ``pinned`` cells into the line.
            left = self._offsets[column] - pinned
            right = self._offsets[column] + self._widths[column] + CELL_PAD
            view = self.scrollable_content_region.width
            if left < self.scroll_x:
                self.scroll_to(x=left, animate=False)
            elif right > self.scroll_x + view:
                # To the next column's start: the first column in view is whole. A column
                # wider than the room (or a view not laid out yet) starts at the left edge.
                starts = (o - pinned for o in self._offsets[pinned_columns:])
                x = min((x for x in starts if x >= right - view), default=left)
                self.scroll_to(x=x, animate=False)

    def move_cursor(self, row: int, column: int | None = None) -> None:
        """Put the cursor on ``row`` (and ``column``), clearing any selection."""
        self.selection = None
        self._anchor = None
        self._set_cursor(row, self.cursor[1] if column is None else column)

    def action_move(self, rows: int, columns: int) -> None:
        self.selection = None
        self._anchor = None
        self._set_cursor(self.cursor[0] + rows, self.cursor[1] + columns)

    def action_page(self, direction: int) -> None:
        self.action_move(direction * self.body_height, 0)

    def action_jump(self, where: int) -> None:
        self.selection = None
        self._anchor = None
        target = 0 if where == 0 else max(0, self.row_count - 1)
        self._set_cursor(target, self.cursor[1])

    def action_extend(self, rows: int, columns: int) -> None:
        if self._anchor is None:
            self._anchor = self.cursor
        self._set_cursor(self.cursor[0] + rows, self.cursor[1] + columns)
        self.selection = Selection.between(self._anchor, self.cursor)
        self.refresh()
        self.post_message(self.SelectionChanged())

    def action_extend_page(self, direction: int) -> None:
        self.action_extend(direction * self.body_height, 0)

    def action_extend_to(self, where: int) -> None:
        """Extend the selection (or start one at the cursor) to the first or the last row."""
        target = 0 if where == 0 else max(0, self.row_count - 1)
        self.action_extend(target - self.cursor[0], 0)

    def action_find_column(self) -> None:
        from carriertui.widgets.grid.finder import ColumnFinder

        def chosen(position: int | None) -> None:
            if position is not None:
                self.move_cursor(self.cursor[0], position)

        if self.columns:
            self.app.push_screen(ColumnFinder(self.columns, self.cursor[1]), chosen)

    def action_select_all(self) -> None:
        if not self.row_count or not self.columns:
            return
        self._anchor = (0, 0)
        self.selection = Selection(0, 0, self.row_count - 1, len(self.columns) - 1)
        self.refresh()
        self.post_message(self.SelectionChanged())

    def action_clear_selection(self) -> None:
        if self.selection is None:
            # Nothing to clear here: let Esc reach the screen (back, close).
            raise SkipAction()
        self.selection = None
        self._anchor = None
        self.refresh()
        self.post_message(self.SelectionChanged())

    def toggle_check(self) -> RowKey | None:
        key = self.cursor_key
        if key is None:
            return None
        if key in self.checked:
            self.checked.discard(key)
        else:
            self.checked.add(key)
        self.refresh()
        return key

    def effective_selection(self) -> Selection | None:
        """The selection, or the cursor cell when nothing is selected (None on an empty grid)."""
        if self.selection is not None:
            return self.selection
        if not self.row_count or not self.columns:
            return None
        row, column = self.cursor
        return Selection(row, column, row, column)

    # -- sorting ----------------------------------------------------------------------------

    def cycle_sort(self, column_index: int, *, add: bool = False) -> None:
        """ascending -> descending -> none; ``add`` keeps the other sort keys (secondary)."""
        column = self.columns[column_index]
        if not column.sortable:
            self.notify(f"{column.title} cannot be sorted", severity="warning", markup=False)
            return
        current = self.query.sort_direction(column.key)
        others = tuple(s for s in self.query.sort if s.key != column.key) if add else ()
        if current is None:
            new = SortKey(column.key)
        elif not current[1]:
            new = SortKey(column.key, descending=True)
        else:
            new = None
        if add and current is not None and new is not None:
            sort = tuple(new if s.key == column.key else s for s in self.query.sort)
        else:
            sort = (*others, new) if new is not None else others
        from dataclasses import replace

        self.set_query(replace(self.query, sort=sort))
