"""SVG snapshots of the login, customers and customer screens at 80x24 (SSH default) and 120x40.

Deterministic: fixed creation times in the seed, the login name from a fixed environment, cursor
blink frozen, workers waited for before the picture is taken.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from carriertui.app import CarrierApp
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.screens.login import LoginScreen
from tests.functional.harness import freeze_cursors, log_in, seed, settle, wait_for

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CarrierApp:
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(variable, "noc-operator")
    return CarrierApp(seed(tmp_path / "snap.sqlite"))


async def _ready(pilot: Pilot[object]) -> None:
    await settle(pilot)
    freeze_cursors(pilot.app)  # type: ignore[arg-type]
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_login_screen(app: CarrierApp, snap_compare, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[object]) -> None:
        await wait_for(
            pilot, lambda: app.store_ready.is_set() and isinstance(app.screen, LoginScreen)
        )
        await _ready(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_customers_screen(app: CarrierApp, snap_compare, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[object]) -> None:
        await log_in(pilot)
        await _ready(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_customer_screen(app: CarrierApp, snap_compare, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[object]) -> None:
        await log_in(pilot)
        await pilot.press("down", "enter")  # the second customer: Bluefin Voice GmbH (Penalty)
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None,
        )
        await _ready(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
