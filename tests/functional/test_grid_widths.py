"""A wide terminal's spare width goes to the text columns (names, messages), up to what their
longest value needs; numbers, money and dates keep their width; 80x24 keeps its layout."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from carriertui.app import CarrierApp
from carriertui.screens.audit import AuditLogScreen
from carriertui.store import customers
from carriertui.store.context import Actor
from carriertui.store.db.database import open_database
from carriertui.store.enums import Role
from carriertui.widgets.grid import Grid
from carriertui.widgets.grid.cells import CELL_PAD, column_width
from tests.functional.harness import log_in, seed, settle, wait_for, wait_grid
from tests.functional.rendered import rendered_lines

LONG_NAME = "Meridian Interconnect Holdings and Wholesale Voice Partners LLP"  # 63 characters
REASON = "ticket 48151623, migrated from the old switch"
MESSAGE = f"Customer {LONG_NAME} created (reason: {REASON})"  # 119 characters


def seeded(tmp_path: Path) -> str:
    url = seed(tmp_path / "w.sqlite")
    db = open_database(url)
    actor = Actor(name="seed", role=Role.ADMIN, ip="127.0.0.1")
    customers.create_customer(
        db, actor, {"name": LONG_NAME, "account_code": "MIH-004", "currency": "EUR"}, comment=REASON
    )
    db.dispose()
    return url


def natural_widths(grid: Grid) -> list[int]:
    return [column_width(column) for column in grid.view.columns]


def column_of(grid: Grid, key: str) -> int:
    return [column.key for column in grid.view.columns].index(key)


def used_width(grid: Grid) -> int:
    """Cells from the grid's left edge to the end of its last column."""
    view = grid.view
    return view._offsets[-1] + view._widths[-1] + CELL_PAD


def line_with(app: CarrierApp, text: str) -> str:
    return next(line for line in rendered_lines(app) if text in line)


async def resize(pilot: Pilot[object], width: int, height: int, grid: Grid) -> None:
    await pilot.resize_terminal(width, height)
    await wait_for(pilot, lambda: grid.view._fitted_to == grid.view.scrollable_content_region.width)
    await settle(pilot)


async def test_customer_list_at_200x50_shows_long_names_whole_and_keeps_number_widths(
    tmp_path: Path,
) -> None:
    app = CarrierApp(seeded(tmp_path))
    async with app.run_test(size=(200, 50)) as pilot:
        await log_in(pilot)
        grid = app.screen.grid
        view = grid.view
        natural = natural_widths(grid)
        name = column_of(grid, "name")
        assert natural[name] < len(LONG_NAME)  # at its own width the name would be cut
        assert view._widths[name] == len(LONG_NAME)  # exactly what the longest name needs
        row = line_with(app, "Meridian")
        assert LONG_NAME in row and "…" not in row
        for index, column in enumerate(view.columns):
            if not column.grows:
                assert view._widths[index] == natural[index], column.key
        # Text that fits its own width (status, code, currency) does not grow either.
        for key in ("account_code", "status", "currency", "invoice_schedule"):
            assert view._widths[column_of(grid, key)] == natural[column_of(grid, key)], key
        assert used_width(grid) <= view.scrollable_content_region.width
        assert view.max_scroll_x == 0  # no horizontal scrolling: everything is on screen
        # The numbers stay right-aligned at the right edge of their (unchanged) columns.
        balance = column_of(grid, "balance")
        end = view._offsets[balance] + view._widths[balance] + CELL_PAD
        assert row[:end].endswith("0.00")


async def test_audit_log_at_200x50_shows_more_of_a_message_than_at_80x24(
    tmp_path: Path,
) -> None:
    app = CarrierApp(seeded(tmp_path))
    async with app.run_test(size=(200, 50)) as pilot:
        await log_in(pilot)
        app.go_audit_log()
        await wait_for(
            pilot, lambda: isinstance(app.screen, AuditLogScreen) and app.screen.query(Grid)
        )
        grid = app.screen.query_one(Grid)
        await wait_grid(pilot, grid)
        await settle(pilot)
        view = grid.view
        message = column_of(grid, "message")
        natural = natural_widths(grid)
        region = view.scrollable_content_region.width
        spare = region - view.check_width - sum(width + CELL_PAD for width in natural)
        assert spare > 0
        # Two text columns need more than their own width: the message and the customer's
        # name. They share the spare width in equal shares, every cell of it used.
        customer = column_of(grid, "customer")
        gained = [view._widths[i] - natural[i] for i in (message, customer)]
        assert sum(gained) == spare and abs(gained[0] - gained[1]) <= 1
        assert used_width(grid) == region
        row = line_with(app, "Customer Meridian")
        assert MESSAGE[: view._widths[message] - 1] + "…" in row
        assert view._widths[message] - 1 > natural[message]  # more of it than at 80 columns
        for index, column in enumerate(view.columns):
            if index not in (message, customer):
                assert view._widths[index] == natural[index], column.key


async def test_80x24_keeps_the_columns_own_widths(tmp_path: Path) -> None:
    app = CarrierApp(seeded(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        grid = app.screen.grid
        assert grid.view._widths == natural_widths(grid)  # no spare width: nothing changes
        row = line_with(app, "Meridian")
        cut = LONG_NAME[: natural_widths(grid)[column_of(grid, "name")] - 1] + "…"
        assert cut in row


async def test_resize_from_80_to_200_and_back(tmp_path: Path) -> None:
    app = CarrierApp(seeded(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        grid = app.screen.grid
        view = grid.view
        natural = natural_widths(grid)
        name = column_of(grid, "name")
        await pilot.press(*["right"] * len(view.columns))  # to the last column, far right
        await settle(pilot)
        assert view.scroll_x > 0
        await resize(pilot, 200, 50, grid)
        assert view._widths[name] == len(LONG_NAME)
        assert view.scroll_x == 0 and view.max_scroll_x == 0
        assert LONG_NAME in line_with(app, "Meridian")
        await resize(pilot, 80, 24, grid)
        assert view._widths == natural
        assert view.max_scroll_x > 0  # the columns no longer fit: scrolling again
        cut = LONG_NAME[: natural[name] - 1] + "…"
        assert cut in line_with(app, "Meridian")  # the pinned name column
        await resize(pilot, 200, 50, grid)
        assert view._widths[name] == len(LONG_NAME)
