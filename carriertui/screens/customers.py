"""Home: every customer, searchable; Enter opens one, n creates one."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Input, Label

from carriertui.screens.base import BaseScreen, run_service
from carriertui.store.customers import CustomerRecord
from carriertui.store.models import Role
from carriertui.widgets.format import money, status_style
from carriertui.widgets.plain import plain, plain_text

COLUMNS = (
    ("name", "Name", None),
    ("code", "Code", None),
    ("status", "Status", None),
    ("balance", "Balance", "right"),
    ("debit", "Debit limit", "right"),
    ("channels", "Ch.", "right"),
    ("schedule", "Invoices", None),
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
        table = self.query_one(DataTable)
        for key, title, justify in COLUMNS:
            table.add_column(plain_text(title, justify=justify), key=key)
        table.focus()
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

    def _show(self, records: list[CustomerRecord], search: str, keep_id: int | None) -> None:
        table = self.query_one(DataTable)
        if keep_id is None and table.row_count:
            keep_id = self.current_id()
        self._records = records
        table.clear()
        for record in records:
            table.add_row(
                plain_text(record.name),
                plain_text(record.account_code or ""),
                plain_text(record.status.value, style=status_style(record.status.value)),
                plain_text(money(record.balance, record.currency), justify="right"),
                plain_text(money(record.debit_limit, record.currency), justify="right"),
                plain_text(str(record.channels), justify="right"),
                plain_text(record.invoice_schedule.value),
                key=str(record.id),
            )
        if keep_id is not None:
            for index, record in enumerate(records):
                if record.id == keep_id:
                    table.move_cursor(row=index)
                    break
        shown = f"{len(records)} customer{'s' if len(records) != 1 else ''}"
        if search.strip():
            shown += f" matching {search.strip()!r}"
        self.query_one("#customers-status", Label).update(plain(shown))
        self.shown_search = search

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
