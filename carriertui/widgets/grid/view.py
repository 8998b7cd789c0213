"""The virtual grid body: renders only the rows on screen, fetching pages from a row source.

Like Toolong's log view: a ScrollView with ``virtual_size`` and ``render_line``, an LRU cache of
pages, and queries in thread workers, so the cost of a frame does not grow with the row count.
The header (an optional group row and the titles) is drawn as the first lines of the view and
stays put while the rows scroll.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.style import Style
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.worker import get_current_worker

from carriertui.grid.model import (
    Column,
    Query,
    Row,
    RowKey,
    RowSource,
    key_columns_of,
)
from carriertui.widgets.grid.cells import (
    CELL_PAD,
    CHECK_GUTTER,
    Selection,
    cell_text,
    column_width,
    share_spare_width,
    text_widths,
)
from carriertui.widgets.grid.cursor import GridCursor
from carriertui.widgets.grid.mouse import GridMouse
from carriertui.widgets.grid.render import GridRender

__all__ = [
    "CELL_PAD",
    "CHECK_GUTTER",
    "PAGE_SIZE",
    "DataGrid",
    "Selection",
    "cell_text",
    "column_width",
]

PAGE_SIZE = 100


class DataGrid(GridMouse, GridCursor, GridRender, ScrollView, can_focus=True):
    """Rows of a RowSource under a Query, with a cell cursor, a range selection and check marks.

    The container (``Grid``) owns the chips, search box, status line and dialogs; this widget
    owns the data it shows and posts messages when something the container shows changes.
    """

    # The grid's Query (sort, filters, search). The name hides Textual's DOM `query()` method,
    # which a grid never needs (it has no children); screens and tests read `grid.view.query`.
    query: Query  # type: ignore[assignment]

    DEFAULT_CSS = """
    DataGrid {
        height: 1fr;
        overflow: auto auto;
        & > .datagrid--header { text-style: bold; background: $panel; }
        & > .datagrid--group { color: $text-muted; background: $panel; }
        & > .datagrid--zebra { background: $foreground 4%; }
        & > .datagrid--cursor-row { background: $foreground 8%; }
        & > .datagrid--selected { background: $primary 35%; }
        & > .datagrid--cursor { background: $primary; color: $text; text-style: bold; }
        & > .datagrid--pending { color: $text-muted; }
        & > .datagrid--funnel { color: $text-muted; background: $panel; }
        & > .datagrid--funnel-active { color: $accent; background: $panel; text-style: bold; }
        & > .datagrid--checked { color: $success; text-style: bold; }
        & > .datagrid--tone-success { color: $text-success; }
        & > .datagrid--tone-warning { color: $text-warning; }
        & > .datagrid--tone-error { color: $text-error; }
        & > .datagrid--tone-muted { color: $text-muted; }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "datagrid--header",
        "datagrid--group",
        "datagrid--cursor",
        "datagrid--cursor-row",
        "datagrid--selected",
        "datagrid--zebra",
        "datagrid--pending",
        "datagrid--checked",
        "datagrid--funnel",
        "datagrid--funnel-active",
        "datagrid--tone-success",
        "datagrid--tone-warning",
        "datagrid--tone-error",
        "datagrid--tone-muted",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1, 0)", "Up", id="grid.up", show=False),
        Binding("down,j", "move(1, 0)", "Down", id="grid.down", show=False),
        Binding("left,h", "move(0, -1)", "Left", id="grid.left", show=False),
        Binding("right,l", "move(0, 1)", "Right", id="grid.right", show=False),
        Binding("pageup", "page(-1)", "Page up", id="grid.page_up", show=False),
        Binding("pagedown", "page(1)", "Page down", id="grid.page_down", show=False),
        Binding("home,g", "jump(0)", "First row", id="grid.first_row", show=False),
        Binding("end,G", "jump(-1)", "Last row", id="grid.last_row", show=False),
        Binding("shift+up", "extend(-1, 0)", "Select up", id="grid.select_up", show=False),
        Binding("shift+down", "extend(1, 0)", "Select down", id="grid.select_down", show=False),
        Binding("shift+left", "extend(0, -1)", "Select left", id="grid.select_left", show=False),
        Binding("shift+right", "extend(0, 1)", "Select right", id="grid.select_right", show=False),
        Binding(
            "shift+pageup",
            "extend_page(-1)",
            "Select page up",
            id="grid.select_page_up",
            show=False,
        ),
        Binding(
            "shift+pagedown",
            "extend_page(1)",
            "Select page down",
            id="grid.select_page_down",
            show=False,
        ),
        Binding(
            "shift+end,ctrl+shift+down",
            "extend_to(-1)",
            "Select to last row",
            id="grid.select_to_last",
            show=False,
        ),
        Binding(
            "shift+home,ctrl+shift+up",
            "extend_to(0)",
            "Select to first row",
            id="grid.select_to_first",
            show=False,
        ),
        Binding(
            "ctrl+f",
            "find_column",
            "Column",
            id="grid.find_column",
            show=False,
            tooltip="Go to a column by typing part of its title",
        ),
        Binding("ctrl+a", "select_all", "Select all", id="grid.select_all", show=False),
        Binding(
            "escape", "clear_selection", "Clear selection", id="grid.clear_selection", show=False
        ),
    ]

    class QueryChanged(Message):
        """Sort, filter or search changed (the container redraws chips)."""

    class CountChanged(Message):
        """The filtered count (or the total) arrived."""

    class SelectionChanged(Message):
        """The cursor or the selection moved (the container recomputes aggregates)."""

    class FilterRequested(Message):
        """The funnel in a column header was clicked (the cursor is on that column now)."""

    class MenuRequested(Message):
        """Right button released over the grid: the container opens the context menu."""

    class Loading(Message):
        def __init__(self, loading: bool) -> None:
            super().__init__()
            self.loading = loading

    class _PageLoaded(Message):
        def __init__(
            self, generation: int, page: int, rows: list[Row], text_widths: list[int]
        ) -> None:
            super().__init__()
            self.generation = generation
            self.page = page
            self.rows = rows
            self.text_widths = text_widths  # cells the longest text of each column needs

    class _CountLoaded(Message):
        def __init__(self, generation: int, count: int, total: int, cursor: int | None) -> None:
            super().__init__()
            self.generation = generation
            self.count = count
            self.total = total
            self.cursor = cursor

    class _Failed(Message):
        def __init__(self, generation: int, error: Exception) -> None:
            super().__init__()
            self.generation = generation
            self.error = error

    def __init__(
        self,
        source: RowSource,
        *,
        query: Query | None = None,
        checkable: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.source = source
        self.columns: Sequence[Column] = tuple(source.columns)
        self._toned = any(column.tone is not None for column in self.columns)
        self._groups_of: Sequence[Column] | None = None
        self._has_groups = False
        self.query = query or Query()
        self.checkable = checkable
        self.checked: set[RowKey] = set()
        self.count: int | None = None  # rows under the query; None while counting
        self.total: int | None = None  # rows with no filter
        self.cursor = (0, 0)  # (row, column)
        self._anchor: tuple[int, int] | None = None  # selection anchor while extending
        self.selection: Selection | None = None
        self.error: Exception | None = None
        self._generation = 0
        self._count_generation = -1
        self._pages: LRUCache[int, list[Row]] = LRUCache(maxsize=64)
        self._pending: set[tuple[int, int]] = set()
        self._restore_key: RowKey | None = None
        self._offsets: list[int] = []
        self._reset_widths()
        self._key_positions = self._find_key_positions()
        self._dragging = False
        self._had_selection = False
        self._style_cache: dict[str, Style] = {}
        self._text_cache: LRUCache[tuple[int, int], tuple[list[str], list[str | None] | None]] = (
            LRUCache(maxsize=512)
        )

    # -- geometry ---------------------------------------------------------------------------

    @property
    def has_groups(self) -> bool:
        # Asked for every line drawn: remembered per columns (set_source changes them).
        columns = self.columns
        if self._groups_of is not columns:
            self._groups_of = columns
            self._has_groups = any(column.group for column in columns)
        return self._has_groups

    @property
    def header_height(self) -> int:
        return 2 if self.has_groups else 1

    @property
    def check_width(self) -> int:
        return CHECK_GUTTER if self.checkable else 0

    def _find_key_positions(self) -> tuple[int, ...]:
        keys = key_columns_of(self.source)
        return tuple(i for i, column in enumerate(self.columns) if column.key in keys)

    def pinned(self, width: int | None = None) -> tuple[int, int]:
        """(columns, cells) pinned on the left: every column up to the last key column, with
        the tick gutter, so scrolling right keeps each row's label (Period, Name, Time) on
        screen. Fewer (or none) when they would take more than half the width (``width``: the
        view's, when the caller has it already)."""
        count = max(self._key_positions, default=-1) + 1
        if width is None:
            width = self.scrollable_content_region.width
        room = width // 2
        while count and self._offsets[count - 1] + self._widths[count - 1] + CELL_PAD > room:
            count -= 1
        if not count:
            return 0, 0
        return count, self._offsets[count - 1] + self._widths[count - 1] + CELL_PAD

    def content_x(self, x: int) -> int:
        """The x in the whole (unscrolled) line of a point ``x`` cells into the view."""
        pinned = self.pinned()[1]
        return x if x < pinned else x + int(self.scroll_x)

    def _reset_widths(self) -> None:
        """Each column's own width (declared, or by type and title), nothing measured yet."""
        self._natural = [column_width(column) for column in self.columns]
        self._needs = list(self._natural)
        self._widths = list(self._natural)
        self._fitted_to = -1  # the view width the widths were last shared out for
        self._compute_offsets()

    def _fit_widths(self) -> None:
        """Share the view's spare width (what the columns' own widths leave) among the growing
        columns, up to what the longest text seen in each needs. Never a scan of the rows: the
        needs come from the pages fetched so far, so only the rows already read count."""
        view = self.scrollable_content_region.width
        self._fitted_to = view
        spare = view - self.check_width - sum(width + CELL_PAD for width in self._natural)
        widths = share_spare_width(self._natural, self._needs, spare)
        if widths == self._widths:
            return
        self._widths = widths
        self._compute_offsets()
        self._text_cache.clear()
        self._update_virtual_size()
        self.refresh()

    def _compute_offsets(self) -> None:
        offsets, x = [], self.check_width
        for width in self._widths:
            offsets.append(x)
            x += width + CELL_PAD
        self._offsets = offsets
        self._content_width = x

    @property
    def body_height(self) -> int:
        return max(1, self.scrollable_content_region.height - self.header_height)

    def _update_virtual_size(self) -> None:
        rows = self.count if self.count is not None else self._known_rows()
        size = Size(self._content_width, rows + self.header_height)
        old = self.virtual_size
        if size == old:
            return
        window = self.scrollable_content_region.height
        if (
            size.width == old.width
            and min(size.height, old.height) > window > 0
            and self.show_vertical_scrollbar
        ):
            # More rows or fewer, the vertical scroll bar stays and the width is the same: the
            # bar's thumb and this view change, nothing else on the screen does. Set without
            # the screen's layout pass and its repaint of every widget (issue 21: the count
            # arriving after the first page cost a second full frame in open and filter).
            self.set_reactive(DataGrid.virtual_size, size)
            bar = self.vertical_scrollbar
            bar.window_virtual_size = size.height
            bar.refresh()
            self.scroll_y = self.validate_scroll_y(self.scroll_y)
            self.refresh()
            return
        self.virtual_size = size

    def _known_rows(self) -> int:
        page0 = self._pages.get(0)
        return len(page0) if page0 is not None else 0

    @property
    def row_count(self) -> int:
        return self.count if self.count is not None else self._known_rows()

    # -- data -------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.reload()

    def set_query(self, query: Query) -> None:
        """Show the rows under ``query``: cursor back to the top, selection cleared."""
        self.query = query
        self.cursor = (0, self.cursor[1])
        self.selection = None
        self._anchor = None
        self.scroll_to(y=0, animate=False)
        self.reload(keep_cursor=False)
        self.post_message(self.QueryChanged())

    def set_source(self, source: RowSource, query: Query | None = None) -> None:
        """Show another source (its own columns) under ``query`` (default: no sort, no filter)."""
        self.source = source
        self.columns = tuple(source.columns)
        self._toned = any(column.tone is not None for column in self.columns)
        self._reset_widths()
        self._key_positions = self._find_key_positions()
        self.checked.clear()
        self.set_query(query or Query())

    def reload(self, *, keep_cursor: bool = True, key: RowKey | None = None) -> None:
        """Re-query (refresh): new generation, empty cache. The cursor then moves to the row with
        ``key``, or with ``keep_cursor`` stays on the same record when it still exists."""
        if key is None and keep_cursor:
            # Only a row already on screen can be kept; fetching it for the old query would be
            # wasted (its answer is dropped once the generation moves on).
            current = self.row_at(self.cursor[0], fetch=False)
            key = current[0] if current is not None else None
        restore = key
        self._generation += 1
        self._pages.clear()
        self._pending.clear()
        self.error = None
        self._restore_key = restore
        refresh = getattr(self.source, "refresh", None)
        if callable(refresh):
            refresh()
        generation = self._generation
        first_page = 0 if self._restore_key is None else self.cursor[0] // PAGE_SIZE
        self._fetch_page(first_page)
        if self._synchronous:
            self._count_work(generation, self.query, self._restore_key)
            return
        self.set_timer(0.15, lambda: self._show_loading(generation))
        self.run_worker(
            lambda: self._count_work(generation, self.query, self._restore_key),
            thread=True,
            group="grid-count",
            exclusive=True,
            exit_on_error=False,
        )

    @property
    def _synchronous(self) -> bool:
        """Sources that answer in microseconds (in memory) are asked on the UI thread: a
        thread hop would cost more than the query."""
        return bool(getattr(self.source, "synchronous", False))

    def _show_loading(self, generation: int) -> None:
        if generation == self._generation and not self.loaded:
            self.post_message(self.Loading(True))

    def _count_work(self, generation: int, query: Query, restore: RowKey | None) -> None:
        worker = None if self._synchronous else get_current_worker()
        try:
            count = self.source.count(query)
            total = self.source.total()
            cursor = self.source.index_of(query, restore) if restore is not None else None
        except Exception as error:
            if worker is None or not worker.is_cancelled:
                self.post_message(self._Failed(generation, error))
            return
        if worker is None or not worker.is_cancelled:
            self.post_message(self._CountLoaded(generation, count, total, cursor))

    def _fetch_page(self, page: int) -> None:
        request = (self._generation, page)
        if page < 0 or request in self._pending or self._pages.get(page) is not None:
            return
        self._pending.add(request)
        generation, query, columns = self._generation, self.query, self.columns

        def work() -> None:
            try:
                rows = self.source.page(query, page * PAGE_SIZE, PAGE_SIZE)
            except Exception as error:
                self.post_message(self._Failed(generation, error))
                return
            # Measured here, off the UI thread: one page's text columns, never all rows.
            widths = text_widths(columns, rows)
            self.post_message(self._PageLoaded(generation, page, rows, widths))

        if self._synchronous:
            work()
        else:
            self.run_worker(work, thread=True, group="grid-page", exit_on_error=False)

    def on_data_grid__page_loaded(self, message: _PageLoaded) -> None:
        message.stop()
        self._pending.discard((message.generation, message.page))
        if message.generation != self._generation:
            return  # a stale answer to an older sort/filter/search
        self._pages.set(message.page, message.rows)
        needs = [max(a, b) for a, b in zip(self._needs, message.text_widths, strict=True)]
        if needs != self._needs:
            self._needs = needs
            self._fit_widths()
        if self.count is None or message.page == 0:
            self._update_virtual_size()
        self.refresh()
        self.post_message(self.Loading(False))
        if self.selection is None:
            self.post_message(self.SelectionChanged())

    def on_data_grid__count_loaded(self, message: _CountLoaded) -> None:
        message.stop()
        if message.generation != self._generation:
            return
        self.count = message.count
        self.total = message.total
        self._count_generation = message.generation
        self._update_virtual_size()
        row = self.cursor[0]
        if self._restore_key is not None and message.cursor is not None:
            row = message.cursor
        self._restore_key = None
        self._set_cursor(
            min(row, max(0, message.count - 1)), self.cursor[1], scroll=True, restoring=True
        )
        self.refresh()
        self.post_message(self.CountChanged())
        self.post_message(self.Loading(False))

    def on_data_grid__failed(self, message: _Failed) -> None:
        message.stop()
        if message.generation != self._generation:
            return
        self.error = message.error
        self.post_message(self.Loading(False))
        self.post_message(self.CountChanged())

    def row_at(self, index: int, *, fetch: bool = True) -> Row | None:
        """The row at ``index`` if its page is loaded (with ``fetch``, asks for the page
        otherwise)."""
        if index < 0 or (self.count is not None and index >= self.count):
            return None
        page = index // PAGE_SIZE
        rows = self._pages.get(page)
        if rows is None:
            if fetch:
                self._fetch_page(page)
            return None
        offset = index - page * PAGE_SIZE
        return rows[offset] if offset < len(rows) else None

    def key_at(self, index: int) -> RowKey | None:
        row = self.row_at(index)
        return row[0] if row is not None else None

    @property
    def cursor_key(self) -> RowKey | None:
        return self.key_at(self.cursor[0])

    @property
    def cursor_column(self) -> Column | None:
        return self.columns[self.cursor[1]] if self.columns else None

    @property
    def generation(self) -> int:
        """Goes up with every re-query (sort, filter, search, refresh)."""
        return self._generation

    @property
    def rows_ready(self) -> bool:
        """The rows at the top of the view have arrived for the current query (the count may
        still be on its way: the first frame with rows does not wait for it)."""
        return self._pages.get(int(self.scroll_y) // PAGE_SIZE) is not None

    @property
    def loaded(self) -> bool:
        """The current query's count and the rows around the cursor have arrived."""
        if self._count_generation != self._generation or self.count is None:
            return False
        return self.count == 0 or self._pages.get(self.cursor[0] // PAGE_SIZE) is not None

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
