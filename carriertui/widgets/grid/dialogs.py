"""The grid's modals: column filter, context menu, export, and a cell's whole value."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, ProgressBar, SelectionList, Static
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection as ListItem

from carriertui.grid.model import Column, ColumnType, DistinctValue, Filter, Query, RowSource
from carriertui.widgets.grid.view import cell_text
from carriertui.widgets.plain import plain

MENU_ITEMS = (
    ("copy", "Copy"),
    ("copy_headers", "Copy with Headers"),
    ("copy_groups", "Copy with Group Headers"),
    ("export", "Export…"),
)


class GridMenu(ModalScreen[str | None]):
    """Right-click, m or shift+F10 on a selection."""

    DEFAULT_CSS = """
    /* The grid's dialogs carry their layout, so they are laid out the same without the app's
       sheet. The app's sheet paints them, and wins where it repeats a rule (.dialog's width:
       hence its .grid-menu): keep the two in step. */
    GridMenu {
        align: center middle;
        & > .dialog {
            width: 40; max-width: 100%; height: auto; max-height: 100%;
            border: round $primary; background: $surface; padding: 0 1;
        }
        & .dialog-title { margin: 0 0 1 0; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", id="menu.close")]

    def __init__(
        self,
        summary: str,
        *,
        groups: bool,
        row_items: Sequence[tuple[str, str]] = (),
        items: Sequence[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__()
        self._summary = summary
        self._groups = groups
        self._row_items = tuple(row_items)
        # The grid's copy and export items (transfer.menu_items); MENU_ITEMS without.
        self._items = tuple(
            items
            if items is not None
            else [(key, label) for key, label in MENU_ITEMS if key != "copy_groups" or groups]
        )

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog grid-menu", id="grid-menu"):
            yield Static(plain(self._summary), classes="dialog-title")
            # The screen's actions on the row under the cursor first (Change Password, ...),
            # then the grid's own.
            options: list[Option | None] = [
                Option(label, id=f"row:{key}") for key, label in self._row_items
            ]
            if options:
                options.append(None)
            options += [Option(plain(label), id=key) for key, label in self._items]
            yield OptionList(*options, id="grid-menu-options")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_close(self) -> None:
        self.dismiss(None)


def parse_bound(column: Column, text: str) -> Any:
    """A range bound typed by the operator: a number, or a UTC date/time for timestamps."""
    text = text.strip()
    if not text:
        return None
    if column.type is ColumnType.TIMESTAMP:
        for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"):
            try:
                return datetime.strptime(text, pattern).replace(tzinfo=UTC)
            except ValueError:
                continue
        raise ValueError("use YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS] (UTC)")
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if column.type in (ColumnType.INTEGER, ColumnType.DURATION) and number == number.to_integral():
        return int(number)
    return number


def format_bound(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


class FilterScreen(ModalScreen[Filter | None | Literal[False]]):
    """A column's set filter (distinct values with counts) and, for numbers and times, a range.

    Dismisses with the new Filter, None to clear the column's filter, or False when cancelled.
    """

    DEFAULT_CSS = """
    /* Its layout: see GridMenu. */
    FilterScreen {
        align: center middle;
        & > .dialog {
            width: 76; max-width: 100%; height: auto; max-height: 100%;
            border: round $primary; background: $surface; padding: 0 1;
        }
        & .dialog-title { margin: 0 0 1 0; }
        & #filter-values { height: auto; max-height: 10; border: none; }
        & #filter-range { height: auto; margin: 1 0 0 0; }
        & #filter-range Label { width: auto; padding: 0 1; }
        & #filter-range Input { width: 1fr; }
        & .dialog-buttons { height: auto; margin: 1 0 0 0; }
        & .dialog-buttons Button { margin: 0 2 0 0; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="filter.cancel"),
        Binding("ctrl+s", "apply", "Apply", id="filter.apply", priority=True),
        Binding("ctrl+a", "select_all", "All", id="filter.all", priority=True),
        Binding("ctrl+n", "select_none", "None", id="filter.none", priority=True),
    ]
    LIMIT = 1000

    def __init__(self, source: RowSource, query: Query, column: Column) -> None:
        super().__init__()
        self._source = source
        self._query = query
        self._column = column
        self._values: list[DistinctValue] = []
        self._current = query.filter_for(column.key)
        self.loaded = False

    @property
    def has_range(self) -> bool:
        return self._column.type in (
            ColumnType.INTEGER,
            ColumnType.DECIMAL,
            ColumnType.MONEY,
            ColumnType.PERCENT,
            ColumnType.DURATION,
            ColumnType.TIMESTAMP,
        )

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="filter-dialog"):
            yield Static(plain(f"Filter: {self._column.title}"), classes="dialog-title")
            yield Input(
                placeholder="search values", id="filter-search", classes="line-input", compact=True
            )
            yield SelectionList[int](id="filter-values")
            yield Label("", id="filter-info", markup=False)
            if self.has_range:
                low = high = ""
                if self._current is not None and self._current.is_range:
                    low = format_bound(self._column, self._current.low)
                    high = format_bound(self._column, self._current.high)
                hint = (
                    "UTC, YYYY-MM-DD [HH:MM]" if self._column.type is ColumnType.TIMESTAMP else ""
                )
                with Horizontal(id="filter-range"):
                    yield Label("From", markup=False)
                    yield Input(
                        low, placeholder=hint, id="filter-low", classes="line-input", compact=True
                    )
                    yield Label("to", markup=False)
                    yield Input(
                        high, placeholder=hint, id="filter-high", classes="line-input", compact=True
                    )
                yield Label("", id="filter-error", classes="error-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply (ctrl+s)", id="apply", variant="primary", compact=True)
                yield Button("All (ctrl+a)", id="all", compact=True)
                yield Button("None (ctrl+n)", id="none", compact=True)
                yield Button("Clear filter", id="clear", compact=True)

    def on_mount(self) -> None:
        self._load("")
        self.query_one(SelectionList).focus()

    def _load(self, search: str) -> None:
        source, query, key = self._source, self._query, self._column.key

        def work() -> list[DistinctValue]:
            return source.distinct(query, key, search=search, limit=self.LIMIT)

        from carriertui.widgets.work import run_service

        run_service(self, work, on_done=self._show, group="filter-values", exclusive=True)

    def _show(self, values: list[DistinctValue]) -> None:
        self._values = values
        chosen = (
            self._current.values
            if self._current is not None and not self._current.is_range
            else None
        )
        options = self.query_one(SelectionList)
        options.clear_options()
        options.add_options(
            ListItem(
                plain(f"{cell_text(self._column, item.value) or '(empty)'}  ({item.count:,})"),
                index,
                chosen is None or item.value in chosen,
            )
            for index, item in enumerate(values)
        )
        more = " (first 1,000 shown: search to narrow)" if len(values) >= self.LIMIT else ""
        self.query_one("#filter-info", Label).update(plain(f"{len(values):,} values{more}"))
        self.loaded = True

    @on(Input.Changed, "#filter-search")
    def _search(self, event: Input.Changed) -> None:
        self._load(event.value)

    @on(Button.Pressed, "#all")
    def action_select_all(self) -> None:
        self.query_one(SelectionList).select_all()

    @on(Button.Pressed, "#none")
    def action_select_none(self) -> None:
        self.query_one(SelectionList).deselect_all()

    @on(Button.Pressed, "#clear")
    def _clear(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        key = self._column.key
        if self.has_range:
            try:
                low = parse_bound(self._column, self.query_one("#filter-low", Input).value)
                high = parse_bound(self._column, self.query_one("#filter-high", Input).value)
            except ValueError as error:
                self.query_one("#filter-error", Label).update(plain(f"\u26a0 {error}"))
                return
            if low is not None or high is not None:
                self.dismiss(Filter(key, low=low, high=high))
                return
        selected = set(self.query_one(SelectionList).selected)
        searched = bool(self.query_one("#filter-search", Input).value.strip())
        complete = len(self._values) < self.LIMIT and not searched
        if complete and len(selected) == len(self._values):
            self.dismiss(None)  # everything chosen: no filter
            return
        self.dismiss(Filter(key, values=frozenset(self._values[i].value for i in selected)))

    def action_cancel(self) -> None:
        self.dismiss(False)


class CellScreen(ModalScreen[None]):
    """A cell's whole value (long messages, JSON, notes), as plain text."""

    DEFAULT_CSS = """
    /* Its layout: see GridMenu. */
    CellScreen {
        align: center middle;
        & > .dialog {
            width: 76; max-width: 100%; height: auto; max-height: 100%;
            border: round $primary; background: $surface; padding: 0 1;
        }
        & .dialog-title { margin: 0 0 1 0; }
        & .dialog-body { height: auto; max-height: 16; }
        & #cell-value { width: 1fr; }
        & .hint { width: 1fr; height: auto; padding: 0 0 0 20; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,v,q", "close", "Close", id="cell.close"),
        Binding("c", "copy", "Copy", id="cell.copy"),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self._title = title
        self._text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="cell-dialog"):
            yield Static(plain(self._title), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(plain(self._text, multiline=True), id="cell-value")
            yield Static("c copies · Esc closes", classes="hint", markup=False)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self._text)
        self.notify("Copied the value", timeout=2)

    def action_close(self) -> None:
        self.dismiss(None)


class ExportScreen(ModalScreen[Path | None]):
    """Where to write the CSV; then a progress bar and Cancel while it is written.

    The grid passes ``start(path, progress, cancel_event, finished)``, which runs the export in
    a worker and calls back ``finished(result_or_error)``. ``path`` is checked first
    (``check_export_target``): a symbolic link, or a folder that leads out of the export folder
    through one, is refused; a path outside the export folder, and an existing file, are
    confirmed by the operator, each in a dialog naming the file. ``overwrite`` and ``within``
    then say what the writer may do (``write_csv``'s arguments of the same names): the check
    runs again where the file is written. A relative path is in the export folder, which is
    created when the export goes there. ``default_path`` may be a folder (the CDR report names
    its file itself).
    """

    DEFAULT_CSS = """
    /* Its layout: see GridMenu. */
    ExportScreen {
        align: center middle;
        & > .dialog {
            width: 76; max-width: 100%; height: auto; max-height: 100%;
            border: round $primary; background: $surface; padding: 0 1;
        }
        & .dialog-title { margin: 0 0 1 0; }
        & .dialog-text { width: 1fr; margin: 0 0 1 0; }
        & #export-error { width: 1fr; height: auto; }
        & .dialog-buttons { height: auto; margin: 1 0 0 0; }
        & .dialog-buttons Button { margin: 0 2 0 0; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export.cancel"),
    ]

    def __init__(
        self,
        default_path: Path,
        summary: str,
        start: Any,
        *,
        export_folder: Path | None = None,
    ) -> None:
        super().__init__()
        self._default = default_path
        self._summary = summary
        self._start = start
        self._folder = export_folder
        self.cancel_event = threading.Event()
        self.running = False
        self.overwrite = False  # the operator confirmed replacing the file
        self.within: Path | None = None  # the export folder, when the file goes there

    @property
    def export_folder(self) -> Path:
        if self._folder is None:
            from carriertui import locations

            self._folder = locations.exports_dir()
        return self._folder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="export-dialog"):
            yield Static("Export to CSV", classes="dialog-title")
            yield Static(plain(self._summary), classes="dialog-text")
            yield Input(str(self._default), id="export-path", classes="line-input", compact=True)
            yield Static("", id="export-error", classes="error-text", markup=False)
            yield ProgressBar(id="export-progress", show_eta=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", id="export", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#export-progress").display = False
        self.query_one(Input).focus()

    def show_error(self, text: str) -> None:
        """A reason, whole: it wraps inside the dialog (a path can be long)."""
        self.query_one("#export-error", Static).update(plain(f"\u26a0 {text}"))

    @on(Input.Submitted)
    @on(Button.Pressed, "#export")
    def _export(self) -> None:
        from carriertui.grid.export import ExportError, check_export_target

        if self.running:
            return
        text = self.query_one(Input).value.strip()
        if not text:
            self.show_error("enter a file path")
            return
        folder = self.export_folder
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = folder / path
        self.query_one("#export-error", Static).update("")
        try:
            if path.parent == folder or path == folder:
                folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # the default: made here
            is_folder = path.is_dir() and not path.is_symlink()
            # A folder (the CDR report names its file): check it as the folder of a file.
            probe = path / ".export" if is_folder else path
            target = check_export_target(probe, folder)
        except ExportError as error:
            self.show_error(str(error))
            return
        except OSError as error:
            self.show_error(f"cannot export to {path}: {error.strerror or error}")
            return
        chosen = target.path.parent if is_folder else target.path
        self.within = None if target.outside else folder.resolve()
        self._confirm_outside(chosen, target.outside, target.exists and not is_folder)

    def _confirm_outside(self, path: Path, outside: bool, exists: bool) -> None:
        if not outside:
            self._confirm_replace(path, exists)
            return
        from carriertui.widgets.confirm import ConfirmScreen

        question = (
            f"Export outside the export folder, to {path}? "
            f"(The export folder is {self.export_folder}.)"
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._confirm_replace(path, exists)
            else:
                self.show_error(f"not exported: {path} is outside the export folder")

        self.app.push_screen(ConfirmScreen(question, yes="Export there", no="No"), answered)

    def _confirm_replace(self, path: Path, exists: bool) -> None:
        if not exists:
            self.overwrite = False
            self._begin(path)
            return
        from carriertui.widgets.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.overwrite = True
                self._begin(path)
            else:
                self.show_error(f"not exported: {path} exists and was left as it is")

        question = f"Replace the existing file? {path} is there already."
        self.app.push_screen(ConfirmScreen(question, yes="Replace", no="Keep it"), answered)

    def _begin(self, path: Path) -> None:
        self.running = True
        self.query_one("#export", Button).disabled = True
        self.query_one(ProgressBar).display = True
        self._start(path, self.progress, self.cancel_event, self.finished)

    def progress(self, done: int, total: int | None) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=total, progress=done)

    def finished(self, result: Any) -> None:
        self.running = False
        if isinstance(result, Exception):
            self.query_one("#export", Button).disabled = False
            self.query_one(ProgressBar).display = False
            from carriertui.grid.export import ExportCancelled, ExportExists

            if isinstance(result, ExportCancelled):
                self.dismiss(None)
                return
            if isinstance(result, ExportExists) and not self.overwrite:
                # A folder was given and the file named in it (a CDR report's) is there already.
                self._confirm_replace(result.path, True)
                return
            self.show_error(str(result))
            return
        self.dismiss(result)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if self.running:
            self.cancel_event.set()  # the worker stops, removes its temp file, then finishes
            return
        self.dismiss(None)
