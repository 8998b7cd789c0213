"""Tabs built when first shown (issue 12.18): a customer opens with only what its Main tab
needs; the Number Block and Summary tabs are built on their first show, and keys typed ahead
and palette commands still reach them."""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.widgets import TabbedContent

from carriertui.app import CarrierApp
from carriertui.screens.customer.number_block import NumberBlockPane
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.screens.customer.summary import SummaryPane
from carriertui.store import customers, options
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from carriertui.store.numbers import service as numbers
from tests.functional.harness import (
    grid_column,
    log_in,
    open_db,
    palette_search,
    seed,
    settle,
    wait_for,
)

SIZE = (80, 24)
ADMIN = Actor("test", Role.ADMIN, "127.0.0.1")


async def _open(pilot, name: str) -> CustomerScreen:
    app = pilot.app
    screen = app.screen
    names = [str(value) for value in grid_column(screen.grid)]
    screen.grid.view.move_cursor(names.index(name))
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
    )
    await settle(pilot)
    return app.screen


async def test_a_customer_opens_without_its_number_block_and_summary_tabs(tmp_path: Path) -> None:
    app = CarrierApp(seed(tmp_path / "l.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await _open(pilot, "Atlas Comms [UK]")
        assert not screen.query(NumberBlockPane) and not screen.query(SummaryPane)
        assert {worker.group for worker in app.workers} & {"numbers-load", "summary-load"} == set()
        screen.query_one(TabbedContent).active = "summary"
        pane = screen.query_one(SummaryPane)  # there as soon as the tab is chosen
        await wait_for(pilot, lambda: pane.summary is not None and pane.grid.view.loaded)
        assert pane.grid.view.has_focus
        assert not screen.query(NumberBlockPane)


async def test_keys_typed_ahead_reach_a_tab_built_on_its_first_show(tmp_path: Path) -> None:
    app = CarrierApp(seed(tmp_path / "l.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await _open(pilot, "Atlas Comms [UK]")
        # Three quick `]` (Contacts, Number Block, Summary), queued at once as a terminal
        # delivers them, before either of the last two tabs is built: each one acts.
        for _ in range(3):
            event = events.Key("right_square_bracket", "]")
            event.set_sender(app)
            app._driver.send_message(event)
        await wait_for(pilot, lambda: screen.query(SummaryPane))
        pane = screen.query_one(SummaryPane)
        await wait_for(pilot, lambda: pane.summary is not None and pane.grid.view.loaded)
        await settle(pilot)
        assert screen.query_one(TabbedContent).active == "summary"
        assert pane.grid.view.has_focus  # its keys work at once
        await pilot.press("4")
        await wait_for(pilot, lambda: pane.summary is not None and pane.view == "monthly")
        assert screen.query_one(NumberBlockPane).blocks is not None  # built on the way, read


async def test_the_palette_assigns_a_block_before_the_number_block_tab_was_shown(
    tmp_path: Path,
) -> None:
    url = seed(tmp_path / "l.sqlite")
    options.set_options(open_db(url), ADMIN, {"number_range_start": 1000, "block_size": 1000})
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await _open(pilot, "Atlas Comms [UK]")
        assert not screen.query(NumberBlockPane)
        await palette_search(pilot, "assign next block")
        await pilot.press("enter")
        # The tab is built, reads the number plan, then assigns (no "set the range first").
        await wait_for(pilot, lambda: screen.query(NumberBlockPane))
        pane = screen.query_one(NumberBlockPane)
        await wait_for(pilot, lambda: pane.blocks is not None and len(pane.blocks) == 1)
        assert screen.query_one(TabbedContent).active == "numbers"
    atlas = customers.find_customer(open_db(url), ADMIN, "Atlas Comms [UK]")
    assert len(numbers.list_blocks(open_db(url), ADMIN, atlas.id)) == 1
