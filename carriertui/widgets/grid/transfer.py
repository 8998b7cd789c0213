"""Copy and export of a grid's cells: to the clipboard, to a CSV file (operators), and the
portal's CSV, which never touches a file.

A cell range carries its rows' key columns (Period, Name, Time: ``key_column_positions``) in front,
unless the operator chose the bare values: seven charges without their dates say nothing.

The customer portal (``app.portal``) writes no file, whatever is typed: its Export has no path
to type. Over a terminal it copies the CSV (OSC 52, as Copy does) and shows it in a read-only
view to copy from; in a browser (``app.is_web``, textual-serve) the browser downloads it through
Textual's file delivery. Both are bounded (see the limits below) and say so when they stop.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from carriertui.grid.model import Column, key_column_positions
from carriertui.text import sanitize
from carriertui.widgets.plain import notify_plain, plain

if TYPE_CHECKING:
    from carriertui.grid.export import CsvText
    from carriertui.widgets.grid.container import Grid
    from carriertui.widgets.grid.view import Selection

CLIPBOARD_ROW_LIMIT = 100_000
# OSC 52 carries the text base64-encoded in one escape sequence: tmux, screen and several
# terminals drop or cut sequences much past a few hundred kilobytes, so the portal copies (and
# shows) at most this many characters of CSV, whole rows only.
PORTAL_COPY_LIMIT = 256 * 1024
# A browser download is a file, not an escape sequence; the bound only keeps memory in check.
PORTAL_DOWNLOAD_LIMIT = 20 * 1024 * 1024


def in_portal(grid: Grid) -> bool:
    """The customer portal (``carriertui portal``), where nothing may write a server file."""
    return bool(getattr(grid.app, "portal", False))


def cell_positions(grid: Grid, left: int, right: int, *, labels: bool) -> tuple[int, ...]:
    """Columns ``left`` .. ``right``, after the row's key columns outside that range when
    ``labels``."""
    positions = tuple(range(left, right + 1))
    if not labels:
        return positions
    keys = tuple(i for i in key_column_positions(grid.view.source) if not left <= i <= right)
    return keys + positions


def missing_labels(grid: Grid) -> list[str]:
    """Titles of the key columns a copy or export of the current selection would add (none when
    the selection holds them, or when nothing is selected and whole rows go out)."""
    view = grid.view
    selection = view.effective_selection()
    if selection is None:
        return []
    columns = view.columns
    return [
        columns[i].title
        for i in cell_positions(grid, selection.left, selection.right, labels=True)
        if not selection.left <= i <= selection.right
    ]


# -- copy -----------------------------------------------------------------------------------------


def copy_cells(grid: Grid, *, headers: bool, groups: bool, labels: bool) -> None:
    """Tab-separated text of the selection (or the cursor cell) to the clipboard (OSC 52)."""
    from carriertui.grid.export import to_tsv
    from carriertui.widgets.work import run_service

    view = grid.view
    selection = view.effective_selection()
    if selection is None:
        return
    if selection.rows > CLIPBOARD_ROW_LIMIT:
        notify_plain(
            grid.app,
            f"{selection.rows:,} rows is too many for the clipboard; use Export",
            severity="warning",
        )
        return
    positions = cell_positions(grid, selection.left, selection.right, labels=labels)
    columns = [view.columns[i] for i in positions]
    added = len(positions) - selection.columns

    def work() -> str:
        rows = selected_rows(grid, selection)
        return to_tsv(
            columns,
            rows,
            headers=headers or groups,
            group_headers=groups,
            value_indexes=positions,
        )

    def done(text: str) -> None:
        grid.app.copy_to_clipboard(text)
        notify_plain(
            grid.app,
            f"Copied {selection.rows:,} × {selection.columns} cells"
            + (" with row labels" if added else "")
            + (" with headers" if headers or groups else ""),
            timeout=3,
        )
        grid.last_copied = text

    run_service(grid, work, on_done=done, group="grid-copy", exclusive=True)


def selected_rows(grid: Grid, selection: Selection) -> list[Any]:
    """Rows of the selection from the source (runs in a worker)."""
    view = grid.view
    return view.source.page(view.query, selection.top, selection.rows)


# -- export ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Extent:
    """What an export takes: rows ``offset`` .. (``limit`` of them, all when None), the
    source's columns at ``positions``."""

    offset: int
    limit: int | None
    positions: tuple[int, ...]
    columns: list[Column]
    rows: int | None
    summary: str


def export_extent(grid: Grid, *, labels: bool) -> Extent:
    """The selection, or the whole filtered result when nothing is selected."""
    view = grid.view
    selection = view.selection
    if selection is None:
        positions = tuple(range(len(view.columns)))
        total = view.count
        summary = f"All {total:,} rows of the current view" if total is not None else "All rows"
        return Extent(0, None, positions, list(view.columns), total, summary)
    positions = cell_positions(grid, selection.left, selection.right, labels=labels)
    extra = len(positions) - selection.columns
    summary = f"The selection: {selection.rows:,} rows × {selection.columns} columns"
    if extra:
        titles = ", ".join(view.columns[i].title for i in positions[:extra])
        summary += f", with the row labels ({titles})"
    return Extent(
        selection.top,
        selection.rows,
        positions,
        [view.columns[i] for i in positions],
        selection.rows,
        summary,
    )


def export_cells(grid: Grid, *, labels: bool) -> None:
    """Export to CSV: a file for operators (a dialog asks where); the portal's CSV goes to the
    clipboard and a view, or the browser, and never to a file."""
    if in_portal(grid):
        portal_export(grid, labels=labels)
    else:
        export_to_file(grid, labels=labels)


def export_to_file(grid: Grid, *, labels: bool) -> None:
    from carriertui import locations
    from carriertui.grid.export import default_export_name, write_csv_cells
    from carriertui.widgets.grid.dialogs import ExportScreen
    from carriertui.widgets.work import run_service

    view = grid.view
    source, query = view.source, view.query
    extent = export_extent(grid, labels=labels)
    name = default_export_name(source.name, datetime.now(UTC))
    folder = locations.exports_dir()

    def start(
        path: Path,
        progress: Callable[[int, int | None], None],
        cancel: Any,
        finished: Callable[[Any], None],
    ) -> None:
        overwrite, within = screen.overwrite, screen.within

        def work() -> Path:
            # The cells come ready for the csv writer (a SQL source has the database
            # neutralise and format them): the export's speed is the writer's.
            written = write_csv_cells(
                path,
                extent.columns,
                source.iter_csv_cells(
                    query, extent.offset, extent.limit, positions=extent.positions
                ),
                on_progress=lambda done: grid.app.call_from_thread(progress, done, extent.rows),
                cancelled=cancel.is_set,
                overwrite=overwrite,
                within=within,
            )
            grid.last_export = (path, written)
            return path

        run_service(grid, work, on_done=finished, on_error=finished, group="grid-export")

    def closed(path: Path | None) -> None:
        if path is not None:
            rows = grid.last_export[1] if grid.last_export else 0
            notify_plain(grid.app, f"Exported {rows:,} rows to {path}", timeout=8)

    screen = ExportScreen(folder / name, extent.summary, start, export_folder=folder)
    grid.app.push_screen(screen, closed)


# -- the portal -----------------------------------------------------------------------------------


def portal_export(grid: Grid, *, labels: bool) -> None:
    """The portal's Export: no path, no file. The CSV is made in a worker, then delivered to
    the browser (web) or copied and shown (terminal)."""
    from carriertui.grid.export import csv_cells_text, default_export_name
    from carriertui.widgets.work import run_service

    app = grid.app
    view = grid.view
    source, query = view.source, view.query
    extent = export_extent(grid, labels=labels)
    web = bool(app.is_web)
    limit = PORTAL_DOWNLOAD_LIMIT if web else PORTAL_COPY_LIMIT
    name = default_export_name(source.name, datetime.now(UTC))

    def work() -> CsvText:
        batches = source.iter_csv_cells(
            query, extent.offset, extent.limit, positions=extent.positions
        )
        return csv_cells_text(extent.columns, batches, limit=limit)

    def done(result: CsvText) -> None:
        shown = f"{result.rows:,} rows"
        if not result.complete:
            shown = (
                f"the first {result.rows:,} rows ({limit // 1024:,} KB, the most that "
                f"{'a download' if web else 'the clipboard'} takes here; select fewer rows "
                "for the rest)"
            )
        grid.last_portal_csv = result
        if web:
            app.deliver_text(
                io.StringIO(result.text),
                save_filename=name,
                mime_type="text/csv",
                encoding="utf-8",
                name="carriertui-export",
            )
            notify_plain(app, f"Downloading {name}: {shown}", timeout=8)
            return
        app.copy_to_clipboard(result.text)
        app.push_screen(CsvScreen(name, result.text, f"Copied {shown} as CSV to your clipboard."))

    run_service(grid, work, on_done=done, group="grid-export", exclusive=True)


class CsvScreen(ModalScreen[None]):
    """The portal's export over a terminal: the CSV, read only, to copy from (it was copied to
    the clipboard already; ``c`` copies it again)."""

    DEFAULT_CSS = """
    /* Its layout, as the grid's other dialogs (widgets/grid/dialogs.py GridMenu): the whole
       height, for the CSV. */
    CsvScreen {
        align: center middle;
        & > .dialog {
            width: 76; max-width: 100%; height: 100%;
            border: round $primary; background: $surface; padding: 0 1;
        }
        & .dialog-title { margin: 0 0 1 0; }
        & #csv-text { height: 1fr; }
        & #csv-note { width: 1fr; height: auto; }
        & .hint { width: 1fr; height: auto; padding: 0 0 0 20; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="csv.close"),
        Binding("c", "copy", "Copy again", id="csv.copy"),
    ]

    def __init__(self, name: str, text: str, note: str) -> None:
        super().__init__()
        self._name = name
        self._text = text
        self._note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="csv-dialog"):
            yield Static(plain(f"Export: {self._name}"), classes="dialog-title")
            yield Static(plain(self._note), id="csv-note")
            # Shown as plain text with control characters made visible; the clipboard has the
            # CSV itself.
            yield TextArea(
                sanitize(self._text, multiline=True),
                read_only=True,
                soft_wrap=False,
                show_line_numbers=False,
                id="csv-text",
            )
            yield Static("c copies again · Esc closes", classes="hint", markup=False)

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    @property
    def csv(self) -> str:
        return self._text

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self._text)
        notify_plain(self.app, "Copied the CSV again", timeout=2)

    def action_close(self) -> None:
        self.dismiss(None)


def menu_items(
    labels: Sequence[str], *, groups: bool, portal: bool, web: bool
) -> list[tuple[str, str]]:
    """The grid menu's copy and export items. With ``labels`` (key columns the selection lacks)
    the first choice adds them, a second gives the bare values."""
    # The menu is 40 cells wide: each label fits on one line.
    export = "Export"
    if portal:
        export = "Download" if web else "Export (copy)"
    items: list[tuple[str, str]] = []
    if labels:
        titles = ", ".join(labels)
        label = f"Copy with row labels ({titles})"
        items += [
            ("copy", label if len(label) <= 32 else "Copy with row labels"),
            ("copy_values", "Copy values only"),
        ]
    else:
        items.append(("copy", "Copy"))
    items.append(("copy_headers", "Copy with Headers"))
    if groups:
        items.append(("copy_groups", "Copy with Group Headers"))
    if labels:
        items += [
            ("export", f"{export} with row labels…"),
            ("export_values", f"{export}, values only…"),
        ]
    else:
        items.append(("export", f"{export}…"))
    return items
