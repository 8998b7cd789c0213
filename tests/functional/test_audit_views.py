"""The audit log screens and View Difference, as an operator uses them at 80x24."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Input, TabbedContent

from carriertui.app import CarrierApp
from carriertui.screens.audit import AuditLogScreen, DiffScreen
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.widgets.diff_view import DiffView, FullDiff
from carriertui.widgets.grid import Grid
from tests.functional.harness import (
    grid_column,
    log_in,
    palette_search,
    seed,
    settle,
    wait_for,
    wait_grid,
)

SIZE = (80, 24)


def grid_column_rows(grid: Grid) -> list[tuple]:
    return [grid.view.row_at(i)[1] for i in range(grid.view.row_count)]


async def _edit_bluefin(pilot) -> CustomerScreen:
    app = pilot.app
    screen = app.screen
    names = [str(n) for n in grid_column(screen.grid)]
    screen.grid.view.move_cursor(names.index("Bluefin Voice GmbH"))
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record)
    customer = app.screen
    customer.query_one("#field-name", Input).value = "Bluefin Voice AG"
    customer.query_one("#field-channels", Input).value = "35"
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: customer.record.version == 2)
    return customer


async def test_customer_tab_enter_opens_view_difference_with_changed_fields(tmp_path: Path) -> None:
    app = CarrierApp(seed(tmp_path / "a.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        customer = await _edit_bluefin(pilot)
        customer.query_one(TabbedContent).active = "audit"
        audit_grid = customer.query_one("#audit-grid", Grid)
        await wait_for(pilot, lambda: audit_grid.view.row_count == 2 and audit_grid.view.loaded)
        audit_grid.focus()
        await pilot.press("g", "enter")  # the newest entry: the UPDATE
        await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen))
        diff = app.screen.query_one(DiffView)
        assert [(c.path, c.before, c.after) for c in diff.changes] == [
            ("channels", 30, 35),
            ("name", "Bluefin Voice GmbH", "Bluefin Voice AG"),
            ("version", 1, 2),
        ]
        fields = app.screen.query_one("#diff-fields", Grid)
        await wait_grid(pilot, fields)
        assert [str(v) for v in grid_column(fields)] == ["channels", "name", "version"]
        assert "3 changed" in str(app.screen.query_one("#diff-summary").render())
        await pilot.press("p")
        patch = json.loads(app.clipboard)
        assert {"op": "replace", "path": "/channels", "value": 35} in patch
        await pilot.press("t")
        assert diff.showing_full
        full = app.screen.query_one(FullDiff)
        assert not full.side_by_side  # 80 columns: one column with - and +
        assert full.change_lines
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CustomerScreen)


async def test_full_view_is_side_by_side_from_100_columns(tmp_path: Path) -> None:
    app = CarrierApp(seed(tmp_path / "a.sqlite"))
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        await _edit_bluefin(pilot)
        await pilot.press("escape")
        await settle(pilot)
        app.go_audit_log()
        await wait_for(
            pilot, lambda: isinstance(app.screen, AuditLogScreen) and app.screen.query(Grid)
        )
        grid = app.screen.query_one(Grid)
        await wait_grid(pilot, grid)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen))
        await pilot.press("t")
        full = app.screen.query_one(FullDiff)
        assert full.side_by_side


async def test_palette_goes_to_the_account_audit_log_newest_first(tmp_path: Path) -> None:
    app = CarrierApp(seed(tmp_path / "a.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await palette_search(pilot, "go: audit")
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, AuditLogScreen) and app.screen.query(Grid)
        )
        grid = app.screen.query_one(Grid)
        await wait_grid(pilot, grid)
        rows = [grid.view.row_at(i)[1] for i in range(grid.view.row_count)]
        titles = [column.title for column in grid.view.columns]
        action, customer = titles.index("Action"), titles.index("Customer")
        assert rows[0][action] == "LOGIN"  # alice's login is the newest entry
        assert [r[action] for r in rows].count("CREATE") == 6  # three operators, three customers
        assert {r[customer] for r in rows} == {
            None,
            "Northwind Telecom Ltd",
            "Bluefin Voice GmbH",
            "Atlas Comms [UK]",
        }
        # The search looks inside the records: an account code finds its customer's entry.
        before = grid.view.generation
        await pilot.press("slash", *"BFV-002", "enter")
        await wait_grid(pilot, grid, after=before)
        assert [r[customer] for r in grid_column_rows(grid)] == ["Bluefin Voice GmbH"]
        await pilot.press("escape")
        assert not isinstance(app.screen, AuditLogScreen)


async def test_the_log_says_when_new_entries_arrived_and_r_shows_them(tmp_path: Path) -> None:
    from carriertui.store import customers
    from carriertui.store.context import Actor
    from carriertui.store.enums import Role
    from tests.functional.harness import open_db

    url = seed(tmp_path / "a.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        app.go_audit_log()
        await wait_for(
            pilot, lambda: isinstance(app.screen, AuditLogScreen) and app.screen.query(Grid)
        )
        grid = app.screen.query_one(Grid)
        await wait_grid(pilot, grid)
        shown = grid.view.count
        customers.create_customer(
            open_db(url), Actor("bob", Role.ADMIN, "10.9.9.9"), {"name": "New Co"}
        )
        grid._poll_new()  # the screen polls every few seconds; the test asks now
        await wait_for(pilot, lambda: "1 new, press r" in grid.status_text())
        assert grid.view.count == shown  # nothing moves under the operator's cursor
        before = grid.view.generation
        await pilot.press("r")
        await wait_grid(pilot, grid, after=before)
        assert grid.view.count == shown + 1
        assert "new, press r" not in grid.status_text()
