"""Snapshots of the Number Block tab and of the number picker at 80x24 (an SSH session's size).

Nothing on these screens shows a time: the seed's blocks and extensions are the same on every run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from textual.pilot import Pilot

from carriertui.app import CarrierApp
from carriertui.screens.customer.number_block import NumberBlockPane
from carriertui.screens.customer.number_dialogs import NumberPickerScreen
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.store import customers, options, passwords
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from carriertui.store.numbers import service as numbers
from carriertui.widgets.grid import Grid
from tests.functional.harness import freeze_cursors, log_in, open_db, seed, settle, wait_for

ADMIN = Actor("seed", Role.ADMIN, "127.0.0.1")


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CarrierApp:
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(1, 1024, 1))
    url = seed(tmp_path / "snap.sqlite")
    db = open_db(url)
    options.set_options(db, ADMIN, {"number_range_start": 1000, "block_size": 1000})
    northwind = customers.find_customer(db, ADMIN, "NWT-001").id
    bluefin = customers.find_customer(db, ADMIN, "BFV-002").id
    numbers.allocate_next_block(db, ADMIN, northwind)  # 1000-1999
    numbers.allocate_next_block(db, ADMIN, bluefin)  # 2000-2999
    numbers.allocate_next_block(db, ADMIN, northwind)  # 3000-3999
    numbers.create_sip_user(db, ADMIN, northwind, 1100, display_name="Reception", channels=4)
    numbers.create_sip_user(db, ADMIN, northwind, 1101, display_name="[/ Sales desk", channels=2)
    numbers.create_conference(db, ADMIN, northwind, 1200, name="Weekly ops", max_members=20)
    numbers.create_alias(db, ADMIN, northwind, 1000, target=1100)
    numbers.create_conference(db, ADMIN, bluefin, 2000, name="Bluefin bridge")
    db.dispose()
    return CarrierApp(url)


async def _numbers_tab(pilot: Pilot[object]) -> NumberBlockPane:
    app = pilot.app
    await log_in(pilot)
    await pilot.press("down", "down", "enter")  # Northwind Telecom Ltd
    await wait_for(
        pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
    )
    await pilot.press("right_square_bracket", "right_square_bracket")
    pane = app.screen.query_one(NumberBlockPane)
    await wait_for(pilot, lambda: pane.blocks is not None and len(pane.blocks) == 2)
    grid = pane.query_one("#extensions-grid", Grid)
    await wait_for(pilot, lambda: grid.view.loaded and grid.view.row_count == 4)
    return pane


def test_number_block_tab(app: CarrierApp, snap_compare) -> None:
    async def run_before(pilot: Pilot[object]) -> None:
        pane = await _numbers_tab(pilot)
        await pilot.press("t", "1", "0", "0")
        await wait_for(pilot, lambda: "reaches" in str(pane.query_one("#dial-result").render()))
        await settle(pilot)
        freeze_cursors(app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_number_picker(app: CarrierApp, snap_compare) -> None:
    async def run_before(pilot: Pilot[object]) -> None:
        await _numbers_tab(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, NumberPickerScreen))
        await pilot.press("1", "1")
        grid = app.screen.query_one(Grid)
        await wait_for(pilot, lambda: grid.view.loaded and grid.view.query.search == "11")
        await settle(pilot)
        freeze_cursors(app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
