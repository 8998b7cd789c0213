"""Home: every customer in the grid (sort, filter, search, copy, export); Enter opens one."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType

from carriertui.grid.model import Query, SortKey
from carriertui.screens.base import BaseScreen
from carriertui.store.customers import CustomerRecord
from carriertui.store.enums import Role
from carriertui.widgets.footer import KeyFooter
from carriertui.widgets.grid import Grid, RowActivated

DEFAULT_QUERY = Query(sort=(SortKey("name"),))


class CustomersScreen(BaseScreen):
    TITLE_TEXT = "Customers"
    HELP = (
        "Every customer of the account, in the grid.\n\n"
        "{grid.enter} opens the customer under the cursor; {customers.new} creates one; "
        "{customers.options} opens Settings > Options (admins).\n\n"
        "Grid keys: {grid.search} search (name, code, status, currency; Enter applies, Esc "
        "clears), {grid.sort} sort by the current column (again: descending, again: off), "
        "{grid.sort_add} add a further sort column, {grid.filter} filter the column by its values "
        "(numbers and dates also by range), {grid.clear_filters} clear all filters, shift+arrows "
        "or a mouse drag select cells (the status line shows count, sum, average, min and max), "
        "{grid.select_all} selects all, {grid.menu} (or right-click) copies or exports, "
        "{grid.view} shows a whole value, {grid.refresh} refreshes."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_customer", "New", id="customers.new", tooltip="Create a customer"),
        Binding("o", "options", "Options", id="customers.options", tooltip="Settings > Options"),
    ]

    def compose(self) -> ComposeResult:
        from carriertui.store import customers

        app = self.carrier
        assert app.db is not None and app.actor is not None
        yield from self.compose_top()
        yield Grid(
            customers.grid_source(app.db, app.actor),
            query=DEFAULT_QUERY,
            enter="activate",
            id="customers-grid",
        )
        yield KeyFooter()

    @property
    def grid(self) -> Grid:
        return self.query_one(Grid)

    def on_mount(self) -> None:
        self.grid.focus()

    def on_screen_resume(self) -> None:
        # Back from a customer: names or balances may have changed; the cursor stays put.
        if self.grid.view.loaded:
            self.grid.refresh_data()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        actor = self.carrier.actor
        if action == "new_customer":
            return actor is not None and actor.can(Role.OPERATOR)
        if action == "options":
            return actor is not None and actor.can(Role.ADMIN)
        return True

    @on(RowActivated)
    def _open(self, event: RowActivated) -> None:
        self.carrier.open_customer(int(event.key))

    def action_new_customer(self) -> None:
        from carriertui.screens.customer_form import NewCustomerScreen

        if not self.check_action("new_customer", ()):
            return

        def created(record: CustomerRecord | None) -> None:
            if record is not None:
                self.grid.refresh_data(key=record.id)
                self.carrier.open_customer(record.id)

        self.app.push_screen(NewCustomerScreen(), created)

    def action_options(self) -> None:
        self.carrier.go_options()

    def palette_commands(self) -> list[tuple[str, object, str]]:
        return [
            ("customers: refresh", self.grid.action_refresh, "Re-query the list (r)"),
            ("customers: export", self.grid.export, "Export the list to CSV"),
            ("customers: clear filters", self.grid.action_clear_filters, "Remove every filter (F)"),
        ]
