"""The customers list, the new-customer form, the customer screen and its saves, at 80x24."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from textual.widgets import DataTable, Input, Label, TabbedContent

from carriertui.app import CarrierApp
from carriertui.screens.customer.screen import CustomerHeader, CustomerScreen
from carriertui.screens.customer_form import NewCustomerScreen
from carriertui.screens.customers import CustomersScreen
from carriertui.screens.dialogs import ConflictScreen, ReasonScreen
from carriertui.screens.help import HelpScreen
from carriertui.screens.options import OptionsScreen
from carriertui.store import audit, customers, options
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from carriertui.widgets.grid import Grid
from tests.functional.harness import (
    grid_column,
    log_in,
    open_db,
    palette_search,
    seed,
    settle,
    wait_for,
    wait_grid,
)

SIZE = (80, 24)
ADMIN = Actor("test", Role.ADMIN, "127.0.0.1")


def _by_name(url: str, name: str) -> customers.CustomerRecord:
    return customers.find_customer(open_db(url), ADMIN, name)


def _table_names(screen: CustomersScreen) -> list[str]:
    return [str(name) for name in grid_column(screen.grid)]


async def _open(pilot, name: str) -> CustomerScreen:
    app = pilot.app
    screen = app.screen
    screen.grid.view.move_cursor(_table_names(screen).index(name))
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
    )
    return app.screen


async def test_search_filters_and_escape_clears(tmp_path: Path) -> None:
    app = CarrierApp(seed(tmp_path / "c.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = app.screen
        assert _table_names(screen) == [
            "Atlas Comms [UK]",
            "Bluefin Voice GmbH",
            "Northwind Telecom Ltd",
        ]
        await pilot.press("slash")
        assert app.focused is screen.query_one("#grid-search", Input)
        await pilot.press(*"penalty", "enter")
        await wait_grid(pilot, screen.grid)
        assert _table_names(screen) == ["Bluefin Voice GmbH"]
        assert screen.grid.status_text().startswith("1 of 3 rows")
        await pilot.press("slash", "escape")
        await wait_grid(pilot, screen.grid)
        assert len(_table_names(screen)) == 3
        assert app.focused is screen.grid.view


async def test_new_customer_shows_errors_next_to_fields_and_saves_nothing_until_valid(
    tmp_path: Path,
) -> None:
    url = seed(tmp_path / "c.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "olga")
        await pilot.press("n")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, NewCustomerScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "-invalid" in modal.query_one("#row-name").classes
        assert "is required" in str(modal.query_one("#row-name .field-error", Label).render())
        await pilot.press(*"Orca Networks", "tab")
        await pilot.press(*"ORC-9")
        modal.query_one("#field-currency", Input).value = "EUROS"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "-invalid" not in modal.query_one("#row-name").classes
        assert "ISO 4217" in str(modal.query_one("#row-currency .field-error", Label).render())
        assert len(customers.list_customers(open_db(url), ADMIN)) == 3
        modal.query_one("#field-currency", Input).value = "eur"
        modal.query_one("#field-debit_limit", Input).value = "750.5"
        await pilot.press("ctrl+s")
        await wait_for(
            pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
        )
        assert app.screen.record.name == "Orca Networks"
    created = _by_name(url, "Orca Networks")
    assert (created.currency, created.debit_limit, created.account_code) == (
        "EUR",
        Decimal("750.5"),
        "ORC-9",
    )
    entries = audit.list_entries(open_db(url), ADMIN, customer_id=created.id)
    assert [(e.action, e.actor) for e in entries] == [("CREATE", "olga")]


async def test_save_and_stay_then_save_and_continue(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await _open(pilot, "Northwind Telecom Ltd")
        assert "Northwind Telecom Ltd" in screen.query_one(CustomerHeader).render().plain
        assert screen.query_one("#field-currency", Input).disabled
        balance = screen.query_one("#field-balance", Input)
        await pilot.click("#field-balance")
        balance.value = ""
        await pilot.press(*"99.5")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.record is not None and screen.record.version == 2)
        assert isinstance(app.screen, CustomerScreen)
        assert "99.50 GBP" in screen.query_one(CustomerHeader).render().plain
        screen.query_one("#field-channels", Input).value = "75"
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomersScreen))
    record = _by_name(url, "Northwind Telecom Ltd")
    assert (record.balance, record.channels, record.version) == (Decimal("99.5"), 75, 3)
    updates = [
        e
        for e in audit.list_entries(open_db(url), ADMIN, customer_id=record.id)
        if e.action == "UPDATE"
    ]
    assert len(updates) == 2
    assert (
        updates[-1].before["balance"] == "1520.7500" and updates[-1].after["balance"] == "99.5000"
    )


async def test_bad_value_on_main_tab_is_shown_under_the_field(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await _open(pilot, "Atlas Comms [UK]")
        screen.query_one("#field-tax_percent", Input).value = "150"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "at most 100" in str(
            screen.query_one("#row-tax_percent .field-error", Label).render()
        )
        assert app.focused is screen.query_one("#field-tax_percent", Input)
    assert _by_name(url, "Atlas Comms [UK]").version == 1


async def _conflict_over_debit_limit(pilot, url: str, field: str, typed: str):
    """Bluefin opened; another operator saves a debit limit of 999 first; ``typed`` goes into
    ``field`` and ctrl+s shows the conflict dialog. Returns the customer screen, the record as
    opened and the dialog's table."""
    app = pilot.app
    await log_in(pilot)
    screen = await _open(pilot, "Bluefin Voice GmbH")
    opened = screen.record
    customers.update_customer(
        open_db(url), ADMIN, opened.id, {"debit_limit": "999"}, expected_version=1
    )
    screen.query_one(f"#field-{field}", Input).value = typed
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, ConflictScreen))
    return screen, opened, app.screen.query_one("#conflict-table", DataTable)


async def test_someone_elses_save_is_never_overwritten_silently(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        screen, _opened, rows = await _conflict_over_debit_limit(pilot, url, "debit_limit", "10")
        assert [cell.plain for cell in rows.get_row_at(0)] == ["debit_limit", "10", "999"]
        assert _by_name(url, "Bluefin Voice GmbH").debit_limit == Decimal("999")
        await pilot.press("r")
        await settle(pilot)
        assert screen.query_one("#field-debit_limit", Input).value == "999"
        assert screen.record.version == 2


async def test_keep_mine_saves_my_field_and_keeps_their_other_change(tmp_path: Path) -> None:
    """Two operators on one customer: she raised the debit limit, he typed a new channel
    count. "Keep mine" keeps his channels and takes her limit into the form, so his save
    does not put the old limit back."""
    url = seed(tmp_path / "c.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        screen, opened, rows = await _conflict_over_debit_limit(pilot, url, "channels", "45")
        table = [[cell.plain for cell in rows.get_row_at(i)] for i in range(rows.row_count)]
        assert table == [
            ["channels", "45", str(opened.channels)],
            ["debit_limit", "(not changed by you)", "999"],
        ]
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.query_one("#field-channels", Input).value == "45"
        assert screen.query_one("#field-debit_limit", Input).value.startswith("999")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.record.version == 3)
    saved = _by_name(url, "Bluefin Voice GmbH")
    assert (saved.channels, saved.debit_limit) == (45, Decimal("999"))


async def test_viewer_reads_but_cannot_change(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "vic")
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, CustomersScreen)
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, CustomersScreen)
        screen = await _open(pilot, "Northwind Telecom Ltd")
        assert screen.query_one("#field-name", Input).disabled
        assert not screen.query_one("#main-buttons").display
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "read only" in str(screen.query_one("#main-info", Label).render())
    assert _by_name(url, "Northwind Telecom Ltd").version == 1


async def test_audit_comment_asks_for_a_reason_and_escape_cancels_the_save(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    options.set_options(open_db(url), ADMIN, {"audit_comment": True})
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await _open(pilot, "Atlas Comms [UK]")
        screen.query_one("#field-channels", Input).value = "12"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ReasonScreen))
        await pilot.press("enter")  # an empty reason is refused
        assert isinstance(app.screen, ReasonScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert _by_name(url, "Atlas Comms [UK]").channels == 10
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ReasonScreen))
        await pilot.press(*"ticket 42", "enter")
        await wait_for(pilot, lambda: screen.record.version == 2)
        audit_grid = screen.query_one("#audit-grid", Grid)
        await wait_for(pilot, lambda: audit_grid.view.row_count == 2 and audit_grid.view.loaded)
        messages = [str(row) for row in grid_column(audit_grid, 2)]
        assert any(m.endswith("(reason: ticket 42)") for m in messages)
    record = _by_name(url, "Atlas Comms [UK]")
    assert record.channels == 12
    entry = audit.list_entries(open_db(url), ADMIN, customer_id=record.id)[0]
    assert (entry.action, entry.comment) == ("UPDATE", "ticket 42")


async def test_audit_tab_lists_this_customers_entries(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await _open(pilot, "Bluefin Voice GmbH")
        await pilot.press("tab")
        for _ in range(5):  # Contacts, Number Block, Summary, Rules, Audit Log
            await pilot.press("right_square_bracket")
        tabs = screen.query_one(TabbedContent)
        assert tabs.active == "audit"
        audit_grid = screen.query_one("#audit-grid", Grid)
        await wait_grid(pilot, audit_grid)
        view = audit_grid.view
        assert view.row_count == 1
        values = dict(zip([c.key for c in view.columns], view.row_at(0)[1], strict=True))
        keys = ("actor", "ip", "action", "verb", "table_name", "primary_key")
        assert [values[key] for key in keys] == [
            "seed",
            "127.0.0.1",
            "CREATE",
            "POST",
            "customer",
            str(screen.record.id),
        ]
        # A save shows up in the tab at once, newest first.
        await pilot.press("shift+tab")
        screen.action_tab(-5)
        await settle(pilot)
        screen.query_one("#field-channels", Input).value = "31"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.record.version == 2)
        await wait_for(pilot, lambda: view.row_count == 2 and view.row_at(0) is not None)
        assert view.row_at(0)[1][1] == "UPDATE"  # Date / Time, Action, Message, ...
        # Work done elsewhere (another tab, another operator) shows when the tab is shown again.
        tabs = screen.query_one(TabbedContent)
        assert tabs.active == "main"
        customers.update_customer(
            open_db(url), ADMIN, screen.record.id, {"channels": 32}, expected_version=2
        )
        screen.action_tab(5)
        assert tabs.active == "audit"
        await wait_for(pilot, lambda: view.row_count == 3 and view.row_at(0) is not None)
        assert view.row_at(0)[1][1] == "UPDATE"  # Date / Time, Action, Message, ...


async def test_palette_and_switcher_jump_to_a_customer(tmp_path: Path) -> None:
    app = CarrierApp(seed(tmp_path / "c.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await palette_search(pilot, "customer: bluefin")
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
        )
        assert app.screen.record.name == "Bluefin Voice GmbH"
        await palette_search(pilot, "atlas", key="ctrl+o")
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, CustomerScreen)
                and app.screen.record is not None
                and app.screen.record.name == "Atlas Comms [UK]"
            ),
        )
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CustomersScreen)


async def test_options_screen_validates_and_saves(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("o")
        await wait_for(
            pilot, lambda: isinstance(app.screen, OptionsScreen) and app.screen.options is not None
        )
        screen = app.screen
        screen.query_one("#option-number_range_start", Input).value = "1000"
        screen.query_one("#option-block_size", Input).value = "0"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "at least 1" in str(screen.query_one("#row-block_size .field-error", Label).render())
        assert options.get_options(open_db(url), ADMIN).number_range_start is None
        screen.query_one("#option-block_size", Input).value = "1000"
        await pilot.press("ctrl+s")
        await settle(pilot)
    saved = options.get_options(open_db(url), ADMIN)
    assert (saved.number_range_start, saved.block_size, saved.audit_comment) == (1000, 1000, False)


async def test_f1_lists_the_screens_keys_and_ctrl_t_changes_theme(tmp_path: Path) -> None:
    app = CarrierApp(seed(tmp_path / "c.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = app.screen.query_one("#help-keys", DataTable)
        listed = {keys.get_row_at(i)[0].plain for i in range(keys.row_count)}
        assert {"n", "/", "o", "f1", "ctrl+p"} <= listed
        await pilot.press("escape")
        assert isinstance(app.screen, CustomersScreen)
        before = app.theme
        await pilot.press("ctrl+t")
        assert app.theme != before


async def test_keymap_from_the_config_file_rebinds_by_id(tmp_path: Path) -> None:
    from carriertui import locations

    config = locations.config_path()
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[keymap]\n"customers.new" = "a"\n')
    app = CarrierApp(seed(tmp_path / "c.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, CustomersScreen)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, NewCustomerScreen)
