"""A grid's menu on one row (nothing selected), for grids with row actions (contacts,
operators): titled with the row's name, and the key each item shows, "Edit (e)", chooses it
in the menu too."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from textual import on
from textual.widgets import Static

from carriertui.text import sanitize
from carriertui.widgets.grid import Grid, RowAction
from carriertui.widgets.grid.dialogs import GridMenu
from carriertui.widgets.grid.view import DataGrid
from carriertui.widgets.plain import plain

_HINT = re.compile(r"\((\w+)\)$")


def hinted_key(label: str) -> str | None:
    """The key a label shows: "Portal Login (L)" -> "L"; None without one (or for Enter,
    which the list itself answers)."""
    found = _HINT.search(label)
    if found is None or found.group(1).lower() == "enter":
        return None
    return found.group(1)


class RowMenu(GridMenu):
    DEFAULT_CSS = """
    RowMenu #row-menu-scope { color: $text-muted; margin: 0 0 1 0; }
    """

    def __init__(self, name: str, *, groups: bool, row_items: Sequence[tuple[str, str]]) -> None:
        super().__init__(sanitize(name), groups=groups, row_items=row_items)
        for action, label in row_items:
            key = hinted_key(label)
            if key is not None:
                self._bindings.bind(key, f"row({action!r})", label.rsplit(" (", 1)[0])

    def on_mount(self) -> None:
        # Under the name: what Copy and Export (the grid's items) act on.
        self.query_one("#grid-menu").mount(
            Static(plain("Copy and Export act on all rows"), id="row-menu-scope"),
            after=self.query_one(".dialog-title"),
        )

    def action_row(self, action: str) -> None:
        self.dismiss(f"row:{action}")


class RowMenuGrid(Grid):
    """A Grid whose menu on a row (nothing selected) is a RowMenu titled with the row's
    ``title_column``; with a selection it is the grid's own menu."""

    def __init__(
        self, *args: Any, row_actions: Sequence[tuple[str, str]], title_column: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, row_actions=row_actions, **kwargs)
        self.menu_actions = tuple(row_actions)
        self.title_column = title_column

    @on(DataGrid.MenuRequested)
    def action_menu(self, event: Any = None) -> None:
        if event is not None:
            event.prevent_default()  # not Grid's own menu as well
            event.stop()
        view = self.view
        row = view.row_at(view.cursor[0])
        if view.selection is not None or row is None or not self.menu_actions:
            super().action_menu()
            return
        key, values = row
        names = [column.key for column in view.columns]
        title = values[names.index(self.title_column)] if self.title_column in names else key

        def chosen(choice: str | None) -> None:
            if choice == "export":
                self.export()
            elif choice in ("copy", "copy_headers", "copy_groups"):
                self.copy(headers=choice != "copy", groups=choice == "copy_groups")
            elif choice and choice.startswith("row:"):
                self.post_message(RowAction(self, choice[4:], key, values))

        self.app.push_screen(
            RowMenu(str(title), groups=view.has_groups, row_items=self.menu_actions), chosen
        )
