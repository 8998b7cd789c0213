"""The grid as screens use it: chips, search box, the virtual view, a status line, dialogs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input

from carriertui.charset import glyph
from carriertui.grid.model import (
    Aggregate,
    Filter,
    Query,
    RowKey,
    RowSource,
    average_text,
    exact_number_text,
    shown_places,
)
from carriertui.text import trimmed
from carriertui.widgets.grid.status import FitLine, Part
from carriertui.widgets.grid.view import DataGrid, Selection, cell_text
from carriertui.widgets.plain import plain

# extra aggregates a screen adds (the summary: weighted ASR and ACD): (source, query, selection)
# -> short texts; runs in a worker thread.
ExtraAggregates = Callable[[RowSource, Query, Selection], list[str]]


class RowActivated(Message):
    """Enter on a row (when the grid's ``enter`` is "activate")."""

    def __init__(self, grid: Grid, key: RowKey, values: tuple[Any, ...]) -> None:
        super().__init__()
        self.grid = grid
        self.key = key
        self.values = values

    @property
    def control(self) -> Grid:
        return self.grid


class RowAction(Message):
    """The operator chose one of the screen's row actions (``row_actions``) in the menu, for
    the row under the cursor."""

    def __init__(self, grid: Grid, action: str, key: RowKey, values: tuple[Any, ...]) -> None:
        super().__init__()
        self.grid = grid
        self.action = action
        self.key = key
        self.values = values

    @property
    def control(self) -> Grid:
        return self.grid


def describe_filter(grid: DataGrid, item: Filter) -> str:
    column = next(c for c in grid.columns if c.key == item.key)
    if item.is_range:
        low = "" if item.low is None else cell_text(column, item.low)
        high = "" if item.high is None else cell_text(column, item.high)
        return f"{column.title}: {low}{glyph('range')}{high}"
    shown = sorted(cell_text(column, value) or "(empty)" for value in item.values or ())
    text = ", ".join(shown[:3]) + (f" +{len(shown) - 3}" if len(shown) > 3 else "")
    return f"{column.title}: {text or 'nothing'}"


def _add_chip_css(app: Any) -> None:
    """The chips are Buttons: their CSS joins the app's stylesheet with the grid's own, parsed
    in the one pass that mounting the grid makes. Added by the first chip instead, it made the
    whole stylesheet parse again while the operator waited for the first filter (issue 21:
    15-45 ms of a filter's 145). The same sources a mounted Button adds (Textual's own list of
    its CSS), so mounting one later adds nothing."""
    for read_from, css, tie_breaker, scope in Button("")._get_default_css():
        app.stylesheet.add_source(
            css, read_from=read_from, is_default_css=True, tie_breaker=tie_breaker, scope=scope
        )


class Grid(Vertical):
    """A DataGrid with everything around it. ``enter``: "view" shows the cell's whole value,
    "activate" posts RowActivated (the screen opens the record)."""

    DEFAULT_CSS = """
    Grid { height: 1fr; }
    Grid > #grid-chips { height: auto; display: none; }
    Grid > #grid-chips.-active { display: block; }
    Grid > #grid-chips Button { margin: 0 1 0 0; min-width: 4; }
    Grid > #grid-search { display: none; }
    Grid > #grid-search.-active { display: block; }
    Grid > #grid-status { height: 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort", "Sort", id="grid.sort", tooltip="Sort by this column: up, down, off"),
        Binding(
            "S",
            "sort(True)",
            "Sort+",
            id="grid.sort_add",
            show=False,
            tooltip="Add this column as a further sort key",
        ),
        Binding("f", "filter", "Filter", id="grid.filter", tooltip="Filter this column by values"),
        Binding("F", "clear_filters", "Clear filters", id="grid.clear_filters", show=False),
        Binding("slash", "search", "Search", id="grid.search"),
        Binding(
            "r,f5",
            "refresh",
            "Refresh",
            id="grid.refresh",
            show=False,
            tooltip="Re-query; the cursor stays on the same record",
        ),
        Binding(
            "v",
            "view_cell",
            "View",
            id="grid.view",
            show=False,
            tooltip="Show the cell's whole value",
        ),
        Binding("enter", "enter", "Open", id="grid.enter", show=False),
        Binding(
            "space",
            "toggle_check",
            "Check",
            id="grid.check",
            show=False,
            tooltip="Tick or untick this row",
        ),
        Binding(
            "m,shift+f10", "menu", "Menu", id="grid.menu", tooltip="Copy, copy with headers, export"
        ),
        Binding(
            "equals_sign",
            "status_details",
            "Figures",
            id="grid.status",
            key_display="=",
            show=False,
            tooltip="The whole status line: every figure of the selection",
        ),
    ]

    def __init__(
        self,
        source: RowSource,
        *,
        query: Query | None = None,
        enter: str = "view",
        checkable: bool = False,
        extra_aggregates: ExtraAggregates | None = None,
        watch_new: float | None = None,
        row_actions: Sequence[tuple[str, str]] = (),
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        # (action, label): offered first in the menu (m, shift+F10, right-click) for the row
        # under the cursor; choosing one posts RowAction.
        self._row_actions = tuple(row_actions)
        self._source = source
        self._query = query
        self._enter = enter
        self._checkable = checkable
        self._extra = extra_aggregates
        self._aggregate_generation = 0
        self._status = ""
        self._is_loading = False
        self._watch_new = watch_new
        self._new_rows = 0
        # What the last copy and export gave (the tests read them; nothing else does).
        self.last_copied: str | None = None
        self.last_export: tuple[Path, int] | None = None
        self.last_portal_csv: Any = None

    def compose(self) -> ComposeResult:
        _add_chip_css(self.app)
        # The search box is mounted on the first `/`: an Input per grid costs time on every
        # screen that shows a grid, and most are never searched.
        yield Horizontal(id="grid-chips")
        yield DataGrid(self._source, query=self._query, checkable=self._checkable, id="grid-view")
        yield FitLine(id="grid-status")

    def on_mount(self) -> None:
        self.call_after_refresh(self._update_chips)  # an initial query may carry filters
        if self._watch_new:
            self.set_interval(self._watch_new, self._poll_new)

    def _poll_new(self) -> None:
        """The log is not pushed live (as in the product): say quietly when it has grown."""
        view = self.view
        if view.total is None:
            return
        source, shown = view.source, view.total

        def work() -> int:
            refresh = getattr(source, "refresh", None)
            if callable(refresh):
                refresh()
            return source.total() - shown

        def done(new: int) -> None:
            if view.total == shown and new != self._new_rows:
                self._new_rows = max(0, new)
                self._update_status()

        from carriertui.widgets.work import run_service

        run_service(self, work, on_done=done, on_error=lambda _error: None, group="grid-new")

    @property
    def view(self) -> DataGrid:
        return self.query_one(DataGrid)

    @property
    def source(self) -> RowSource:
        return self.view.source

    def set_source(self, source: RowSource, query: Query | None = None) -> None:
        self._source = source
        self.view.set_source(source, query)

    def focus(self, scroll_visible: bool = True) -> Grid:
        """Focus the grid's view (once it is mounted, when called from a screen's on_mount)."""
        views = self.query(DataGrid)
        if views:
            views.first().focus(scroll_visible)
        else:
            self.call_after_refresh(self.focus, scroll_visible)
        return self

    # -- status, chips ----------------------------------------------------------------------

    @on(DataGrid.CountChanged)
    def _count_changed(self, event: DataGrid.CountChanged) -> None:
        event.stop()
        self._new_rows = 0  # a re-query shows them
        self._update_status()

    @on(DataGrid.Loading)
    def _loading(self, event: DataGrid.Loading) -> None:
        """A query slower than 150 ms: say so, while the old rows stay on screen."""
        event.stop()
        self._is_loading = event.loading
        self._update_status()

    @on(DataGrid.QueryChanged)
    def _query_changed(self, event: DataGrid.QueryChanged) -> None:
        event.stop()
        self._update_chips()
        self._update_status()

    def _update_chips(self) -> None:
        if not self.is_attached:
            return
        chips = self.query_one("#grid-chips", Horizontal)
        query = self.view.query
        buttons = [
            Button(
                plain(describe_filter(self.view, item) + " ✕"),
                name=item.key,
                compact=True,
                classes="grid-chip",
                tooltip="Remove this filter",
            )
            for item in query.filters
        ]
        if query.search:
            buttons.append(
                Button(
                    plain(f"search: {query.search} ✕"),
                    name="\x00search",
                    compact=True,
                    classes="grid-chip",
                    tooltip="Clear the search",
                )
            )
        if not buttons:
            chips.set_class(False, "-active")
        # Chips already shown as they should be stay: a new search or filter then mounts one
        # button, not all of them again (each mount is a layout pass of the screen).
        shown = [(chip.name, str(chip.label)) for chip in chips.query(Button)]
        wanted = [(chip.name, str(chip.label)) for chip in buttons]
        if shown == wanted[: len(shown)]:
            if len(buttons) > len(shown):  # even an empty mount lays the screen out again
                self._show_chips(chips, chips.mount_all(buttons[len(shown) :]))
            return
        chips.remove_children()
        self._show_chips(chips, chips.mount_all(buttons))

    def _show_chips(self, chips: Horizontal, mounting: Any) -> None:
        """The chip row shows once its buttons are mounted: shown first (empty, no height)
        and filled after, it made two layout passes of the screen, each repainting the grid
        (issue 21's filter)."""

        async def show() -> None:
            await mounting
            chips.set_class(bool(chips.children), "-active")

        self.call_next(show)

    @on(Button.Pressed, ".grid-chip")
    def _chip_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        view = self.view
        if event.button.name == "\x00search":
            self._clear_search_box()
            view.set_query(replace(view.query, search=""))
        else:
            view.set_query(view.query.without_filter(event.button.name or ""))
        view.focus()

    def _update_status(self, aggregates: Sequence[Part] = ()) -> None:
        """One line, never wrapped: when narrow, the least important figures are left out
        (rank: 0 first to stay); ``=`` and the tooltip show the whole line."""
        view = self.view
        parts: list[Part] = []
        if view.error is not None:
            parts.append((f"error: {view.error}", 0))
        elif view.count is None or self._is_loading:
            parts.append(("loading…", 0))
        else:
            filtered = view.query.filters or view.query.search
            noun = "row" if (view.total if filtered else view.count) == 1 else "rows"
            text = f"{view.count:,} {noun}"
            if filtered and view.total is not None:
                text = f"{view.count:,} of {view.total:,} {noun}"
            parts.append((text, 3))
            if view.checked:
                parts.append((f"{len(view.checked):,} ticked", 1))
        parts.extend(aggregates)
        if self._new_rows and view.count is not None:
            parts.append((f"{self._new_rows:,} new, press r", 3))
        status = self.query_one("#grid-status", FitLine)
        status.set_parts(parts)
        self._status = status.full_text

    def action_status_details(self) -> None:
        from carriertui.widgets.grid.dialogs import CellScreen

        parts = self.query_one("#grid-status", FitLine).parts
        self.app.push_screen(CellScreen("Status", "\n".join(text for text, _rank in parts)))

    @on(DataGrid.SelectionChanged)
    def _selection_changed(self, event: DataGrid.SelectionChanged) -> None:
        event.stop()
        selection = self.view.selection
        if selection is None:
            self._update_status()
            return
        self._aggregate_generation += 1
        generation = self._aggregate_generation
        view = self.view
        numeric = [
            c.key for c in view.columns[selection.left : selection.right + 1] if c.is_numeric
        ]
        source, query, extra = view.source, view.query, self._extra

        def work() -> tuple[int, Aggregate | None, list[str]]:
            result = (
                source.aggregate(query, numeric, selection.top, selection.rows) if numeric else None
            )
            extras = extra(source, query, selection) if extra is not None else []
            return generation, result, extras

        from carriertui.widgets.work import run_service

        self.set_timer(
            0.05,
            lambda: (
                run_service(
                    self,
                    work,
                    on_done=self._show_aggregates,
                    group="grid-aggregate",
                    exclusive=True,
                )
                if generation == self._aggregate_generation
                else None
            ),
        )

    def _show_aggregates(self, result: tuple[int, Aggregate | None, list[str]]) -> None:
        generation, aggregate, extras = result
        if generation != self._aggregate_generation or self.view.selection is None:
            return
        selection = self.view.selection
        # Shown with the places of the selected cells (or more: a money sum is exact).
        selected = self.view.columns[selection.left : selection.right + 1]
        places = max((shown_places(c) for c in selected if c.is_numeric), default=0)
        parts: list[Part] = [(f"sel {selection.rows:,}×{selection.columns}", 2)]
        if aggregate is not None and aggregate.count:
            parts += [
                (f"sum {exact_number_text(aggregate.total, places)}", 0),
                (f"avg {average_text(aggregate.average, places)}", 4),
                (f"min {exact_number_text(aggregate.minimum, places)}", 6),
                (f"max {exact_number_text(aggregate.maximum, places)}", 6),
                (f"n {aggregate.count:,}", 7),
            ]
        parts.extend((text, 5) for text in extras)
        self._update_status(parts)

    # -- actions ----------------------------------------------------------------------------

    def action_sort(self, add: bool = False) -> None:
        view = self.view
        if view.columns:
            view.cycle_sort(view.cursor[1], add=add)

    @on(DataGrid.FilterRequested)
    def _funnel_clicked(self, event: DataGrid.FilterRequested) -> None:
        event.stop()
        self.action_filter()

    def action_filter(self) -> None:
        from carriertui.widgets.grid.dialogs import FilterScreen

        view = self.view
        column = view.cursor_column
        if column is None:
            return
        if not column.filterable:
            self.notify(f"{column.title} cannot be filtered", severity="warning", markup=False)
            return

        def chosen(result: Filter | Literal[False] | None) -> None:
            if result is False:
                return
            view.set_query(view.query.with_filter(result, column.key))
            view.focus()

        self.app.push_screen(FilterScreen(view.source, view.query, column), chosen)

    def _clear_search_box(self) -> None:
        for search in self.query("#grid-search").results(Input):
            search.value = ""

    def action_clear_filters(self) -> None:
        view = self.view
        if view.query.filters or view.query.search:
            self._clear_search_box()
            view.set_query(Query(sort=view.query.sort))

    async def action_search(self) -> None:
        boxes = self.query("#grid-search").results(Input)
        search = next(iter(boxes), None)
        if search is None:
            search = Input(
                self.view.query.search,
                placeholder="search, Enter to apply, Esc to clear",
                id="grid-search",
                classes="line-input",
                compact=True,
            )
            await self.mount(search, before=self.view)
        search.add_class("-active")
        search.focus()

    @on(Input.Submitted, "#grid-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        view = self.view
        text = trimmed(event.value)
        if not text:
            event.input.remove_class("-active")
        view.set_query(replace(view.query, search=text))
        view.focus()

    def on_key(self, event: Any) -> None:
        search = self.app.focused
        if event.key == "escape" and isinstance(search, Input) and search.id == "grid-search":
            event.stop()
            search.value = ""
            search.remove_class("-active")
            view = self.view
            if view.query.search:
                view.set_query(replace(view.query, search=""))
            view.focus()

    def action_refresh(self) -> None:
        self.view.reload(keep_cursor=True)

    def refresh_data(self, *, key: RowKey | None = None) -> None:
        """Re-query; the cursor goes to ``key`` (e.g. a record just created) or stays put."""
        self.view.reload(keep_cursor=True, key=key)

    def action_toggle_check(self) -> None:
        if self.view.checkable and self.view.toggle_check() is not None:
            self._update_status()

    def action_enter(self) -> None:
        view = self.view
        row = view.row_at(view.cursor[0])
        if row is None:
            return
        if self._enter == "activate":
            self.post_message(RowActivated(self, row[0], row[1]))
        else:
            self.action_view_cell()

    def action_view_cell(self) -> None:
        from carriertui.widgets.grid.dialogs import CellScreen

        view = self.view
        row = view.row_at(view.cursor[0])
        column = view.cursor_column
        if row is None or column is None:
            return
        value = row[1][view.cursor[1]]
        from carriertui.grid.model import display_text

        self.app.push_screen(CellScreen(column.title, display_text(column, value)))

    @on(DataGrid.MenuRequested)
    def action_menu(self, event: Message | None = None) -> None:
        from carriertui.widgets.grid import transfer
        from carriertui.widgets.grid.dialogs import GridMenu

        if event is not None:
            event.stop()
        view = self.view
        selection = view.effective_selection()
        if selection is None:
            return
        summary = f"{selection.rows:,} × {selection.columns} cells"
        if view.selection is None:
            summary = "All rows (nothing selected)"

        row = view.row_at(view.cursor[0]) if self._row_actions else None
        items = transfer.menu_items(
            transfer.missing_labels(self),
            groups=view.has_groups,
            portal=transfer.in_portal(self),
            web=bool(self.app.is_web),
        )

        def chosen(choice: str | None) -> None:
            if choice in ("export", "export_values"):
                self.export(labels=choice == "export")
            elif choice in ("copy", "copy_values", "copy_headers", "copy_groups"):
                self.copy(
                    headers=choice in ("copy_headers", "copy_groups"),
                    groups=choice == "copy_groups",
                    labels=choice != "copy_values",
                )
            elif choice and choice.startswith("row:") and row is not None:
                self.post_message(RowAction(self, choice[4:], row[0], row[1]))

        self.app.push_screen(
            GridMenu(
                summary,
                groups=view.has_groups,
                row_items=self._row_actions if row is not None else (),
                items=items,
            ),
            chosen,
        )

    # -- copy and export (widgets/grid/transfer.py) -------------------------------------------

    def copy(self, *, headers: bool = False, groups: bool = False, labels: bool = True) -> None:
        """Tab-separated text of the selection (or the cursor cell) to the clipboard (OSC 52),
        with the rows' key columns unless ``labels`` is False."""
        from carriertui.widgets.grid.transfer import copy_cells

        copy_cells(self, headers=headers, groups=groups, labels=labels)

    def export(self, *, labels: bool = True) -> None:
        """The selection (with its rows' key columns unless ``labels`` is False), or the whole
        filtered result when nothing is selected, to CSV: a file for operators, the clipboard
        or the browser in the portal (which writes no file)."""
        from carriertui.widgets.grid.transfer import export_cells

        export_cells(self, labels=labels)

    def status_text(self) -> str:
        return self._status
