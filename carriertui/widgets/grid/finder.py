"""Go to a column by typing part of its title (ctrl+f in a grid): a one-line input over the list
of matching columns; Enter moves the cell cursor there (``ctrl+f`` ``c`` ``h`` Enter reaches
the Summary's Customer Charge, seven columns to the right of Period)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from carriertui.grid.model import Column, fold_ascii
from carriertui.widgets.plain import plain


def column_label(column: Column) -> str:
    return f"{column.group}: {column.title}" if column.group else column.title


def matching_columns(columns: Sequence[Column], text: str) -> list[int]:
    """Positions of the columns whose title (or group and title) holds ``text``, ignoring ASCII
    case: those where it starts a word first, then the others, each in column order."""
    wanted = fold_ascii(text.strip())
    if not wanted:
        return list(range(len(columns)))
    starts, inside = [], []
    for index, column in enumerate(columns):
        title = fold_ascii(column.title)
        label = fold_ascii(column_label(column))
        if any(word.startswith(wanted) for word in title.split()) or title.startswith(wanted):
            starts.append(index)
        elif wanted in label:
            inside.append(index)
    return starts + inside


class ColumnFinder(ModalScreen[int | None]):
    """Dismisses with the chosen column's position, or None (Esc, or nothing matches)."""

    DEFAULT_CSS = """
    /* Its layout, as the grid's other dialogs (widgets/grid/dialogs.py GridMenu). */
    ColumnFinder {
        align: center middle;
        & > .dialog {
            width: 76; max-width: 100%; height: auto; max-height: 100%;
            border: round $primary; background: $surface; padding: 0 1;
        }
        & .hint { width: 1fr; height: auto; padding: 0 0 0 20; }
        & #finder-matches { height: auto; max-height: 8; border: none; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel", id="finder.close"),
        Binding("down", "move(1)", "Next", id="finder.next", show=False),
        Binding("up", "move(-1)", "Previous", id="finder.previous", show=False),
    ]

    def __init__(self, columns: Sequence[Column], current: int = 0) -> None:
        super().__init__()
        self._columns = tuple(columns)
        self._current = current
        self._shown: list[int] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="column-finder"):
            yield Static("Go to column: type part of its title, Enter", classes="hint")
            yield Input(placeholder="column title", id="finder-input", compact=True)
            yield OptionList(id="finder-matches")

    def on_mount(self) -> None:
        self._show("")
        self.query_one("#finder-input", Input).focus()

    @on(Input.Changed, "#finder-input")
    def _typed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def _show(self, text: str) -> None:
        self._shown = matching_columns(self._columns, text)
        matches = self.query_one("#finder-matches", OptionList)
        matches.clear_options()
        matches.add_options(
            [Option(plain(column_label(self._columns[i])), id=str(i)) for i in self._shown]
        )
        if self._shown:
            # Nothing typed yet: start on the cursor's column; otherwise on the best match.
            start = self._shown.index(self._current) if not text.strip() else 0
            matches.highlighted = start

    def action_move(self, step: int) -> None:
        matches = self.query_one("#finder-matches", OptionList)
        if matches.option_count:
            current = matches.highlighted or 0
            matches.highlighted = (current + step) % matches.option_count

    @on(Input.Submitted, "#finder-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        matches = self.query_one("#finder-matches", OptionList)
        highlighted = matches.highlighted
        if not self._shown or highlighted is None:
            self.dismiss(None)
            return
        self.dismiss(self._shown[highlighted])

    @on(OptionList.OptionSelected, "#finder-matches")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int(event.option.id or 0))

    def action_close(self) -> None:
        self.dismiss(None)
