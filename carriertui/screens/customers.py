"""Home: every customer, searchable; Enter opens one, n creates one."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Input, Label

from carriertui.screens.base import BaseScreen, run_service
from carriertui.store.customers import CustomerRecord
from carriertui.store.models import Role
from carriertui.widgets.format import money, status_style
from carriertui.widgets.plain import plain, plain_text


def _right(value: str) -> Text:
    return plain_text(value, justify="right")


# key, title, right-aligned, the narrowest screen that shows it, the cell for a record.
# Debit limit and invoice schedule give way at 80 columns (an SSH session's default); both are in
# the customer's header and Main tab.
COLUMNS: tuple[tuple[str, str, bool, int, Callable[[CustomerRecord], Text]], ...] = (
    ("name", "Name", False, 0, lambda r: plain_text(r.name)),
    ("code", "Code", False, 0, lambda r: plain_text(r.account_code or "")),
    (
        "status",
        "Status",
        False,
        0,
        lambda r: plain_text(r.status.value, style=status_style(r.status.value)),
    ),
    ("balance", "Balance", True, 0, lambda r: _right(money(r.balance, r.currency))),
    ("channels", "Ch.", True, 0, lambda r: _right(str(r.channels))),
    ("debit", "Debit limit", True, 100, lambda r: _right(money(r.debit_limit, r.currency))),
    ("schedule", "Invoices", False, 112, lambda r: plain_text(r.invoice_schedule.value)),
)


class CustomersScreen(BaseScreen):
    TITLE_TEXT = "Customers"
    HELP = (
        "Every customer of the account.\n\n"
        "Type `/` to search by name, account code or status; Enter runs the search and Esc "
        "clears it. Enter on a row opens the customer; `n` creates one."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_customer", "Open", id="customers.open", show=True),
        Binding("n", "new_customer", "New", id="customers.new", tooltip="Create a customer"),
        Binding("slash", "focus_search", "Search", id="customers.search"),
        Binding("r,f5", "refresh", "Refresh", id="customers.refresh"),
        Binding("o", "options", "Options", id="customers.options", tooltip="Settings > Options"),
        Binding("escape", "clear_search", "Clear search", id="customers.clear", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._records: list[CustomerRecord] = []
        # The search the table currently shows; None until the first load has arrived.
        self.shown_search: str | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Input(placeholder="/ search name, code or status", id="customer-search", compact=True)
        table: DataTable[object] = DataTable(
            id="customers-table", cursor_type="row", zebra_stripes=True
        )
        yield table
        yield Label("", id="customers-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        actor = self.carrier.actor
        if action == "new_customer":
            return actor is not None and actor.can(Role.OPERATOR)
        if action == "options":
            return actor is not None and actor.can(Role.ADMIN)
        return True

    # -- loading ----------------------------------------------------------------------------

    def load(self, *, keep_id: int | None = None) -> None:
        app = self.carrier
        search = self.query_one("#customer-search", Input).value
        assert app.db is not None and app.actor is not None
        db, actor = app.db, app.actor
        from carriertui.store import customers

        if self.shown_search is None:
            self.query_one("#customers-status", Label).update("Loading customers…")
        run_service(
            self,
            lambda: customers.list_customers(db, actor, search),
            on_done=lambda records: self._show(records, search, keep_id),
            group="customers-load",
            exclusive=True,
        )

    def _visible_columns(self) -> tuple[str, ...]:
        width = self.size.width or self.app.size.width
        return tuple(key for key, _, _, minimum, _ in COLUMNS if width >= minimum)

    def on_resize(self) -> None:
        if self._records:
            self._fill(keep_id=self.current_id())

    def _name_width(self) -> int | None:
        """Below 100 columns long names are cut (with an ellipsis) so the numbers stay visible."""
        width = self.size.width or self.app.size.width
        if width >= 100 or not self._records:
            return None
        longest = max(len(record.name) for record in self._records)
        return max(12, min(longest, width - 52))

    def _show(self, records: list[CustomerRecord], search: str, keep_id: int | None) -> None:
        if keep_id is None:
            keep_id = self.current_id()
        self._records = records
        self._fill(keep_id)
        shown = f"{len(records)} customer{'s' if len(records) != 1 else ''}"
        if search.strip():
            shown += f" matching {search.strip()!r}"
        self.query_one("#customers-status", Label).update(plain(shown))
        self.shown_search = search

    def _fill(self, keep_id: int | None) -> None:
        table = self.query_one(DataTable)
        visible = self._visible_columns()
        table.clear(columns=True)
        for key, title, right, _, _ in COLUMNS:
            if key in visible:
                width = self._name_width() if key == "name" else None
                label = plain_text(title, justify="right" if right else None)
                table.add_column(label, key=key, width=width)
        cells = [cell for key, _, _, _, cell in COLUMNS if key in visible]
        for record in self._records:
            table.add_row(*(cell(record) for cell in cells), key=str(record.id))
        if keep_id is not None:
            for index, record in enumerate(self._records):
                if record.id == keep_id:
                    table.move_cursor(row=index)
                    break

    def current_id(self) -> int | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return int(row_key.value) if row_key.value is not None else None

    def on_screen_resume(self) -> None:
        if self._records:
            self.load()

    # -- actions ----------------------------------------------------------------------------

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.carrier.open_customer(int(event.row_key.value))

    def action_open_customer(self) -> None:
        customer_id = self.current_id()
        if customer_id is not None:
            self.carrier.open_customer(customer_id)

    def action_new_customer(self) -> None:
        from carriertui.screens.customer_form import NewCustomerScreen

        if not self.check_action("new_customer", ()):
            return

        def created(record: CustomerRecord | None) -> None:
            if record is not None:
                self.load(keep_id=record.id)
                self.carrier.open_customer(record.id)

        self.app.push_screen(NewCustomerScreen(), created)

    def action_focus_search(self) -> None:
        self.query_one("#customer-search", Input).focus()

    @on(Input.Submitted, "#customer-search")
    def _search(self) -> None:
        self.load()
        self.query_one(DataTable).focus()

    def action_clear_search(self) -> None:
        search = self.query_one("#customer-search", Input)
        if search.value:
            search.value = ""
            self.load()
        self.query_one(DataTable).focus()

    def action_refresh(self) -> None:
        self.load()

    def action_options(self) -> None:
        self.carrier.go_options()

    def palette_commands(self) -> list[tuple[str, object, str]]:
        return [("customers: refresh", self.action_refresh, "Reload the list (r)")]
