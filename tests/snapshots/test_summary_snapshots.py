"""SVG snapshots of the Summary tab: the four views (with the chart), and a selection with its
sum, average and weighted ASR, at 80x24 and 120x40. "Now" is fixed (time_machine), the data is
seeded at that moment, so the periods, the partial mark and the roll-up time never move."""

from __future__ import annotations

from pathlib import Path

import pytest
import time_machine
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from carriertui.app import CarrierApp
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.screens.customer.summary import SummaryPane
from tests.functional.harness import freeze_cursors, log_in, settle, wait_for
from tests.functional.summary_harness import NOW, seed_traffic

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
VIEWS = [
    pytest.param("1", "24h", id="24h"),
    pytest.param("2", "daily", id="daily"),
    pytest.param("3", "weekly", id="weekly"),
    pytest.param("4", "monthly", id="monthly"),
]


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(variable, "noc-operator")
    with time_machine.travel(NOW, tick=False):
        return seed_traffic(tmp_path)[0]


async def _summary(pilot: Pilot[object], key: str, view: str) -> SummaryPane:
    app: CarrierApp = pilot.app  # type: ignore[assignment]
    await log_in(pilot)
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
    )
    app.screen.query_one(TabbedContent).active = "summary"
    pane = app.screen.query_one(SummaryPane)
    await wait_for(pilot, lambda: pane.summary is not None and pane.grid.view.loaded)
    await pilot.press(key)
    await wait_for(
        pilot,
        lambda: (
            pane.summary is not None and pane.summary.view.value == view and pane.grid.view.loaded
        ),
    )
    return pane


async def _ready(pilot: Pilot[object]) -> None:
    await pilot.pause(0.4)  # the chart follows the rows in view on a short timer
    await settle(pilot)
    freeze_cursors(pilot.app)  # type: ignore[arg-type]
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("key", "view"), VIEWS)
def test_summary_view(url: str, snap_compare, key: str, view: str, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[object]) -> None:
        await _summary(pilot, key, view)
        await _ready(pilot)

    with time_machine.travel(NOW, tick=True):
        assert snap_compare(CarrierApp(url), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_summary_selection(url: str, snap_compare, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[object]) -> None:
        pane = await _summary(pilot, "2", "daily")
        await pilot.press("down", "l", "shift+down", "shift+down", "shift+down", "shift+right")
        await wait_for(pilot, lambda: "weighted ASR" in pane.grid.status_text())
        await _ready(pilot)

    with time_machine.travel(NOW, tick=True):
        assert snap_compare(CarrierApp(url), terminal_size=size, run_before=run_before)
