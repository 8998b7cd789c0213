"""The Summary's chart starts its bars at zero: a customer with no traffic draws an empty chart
(it drew full bars under "max 0"), and a period with no minutes draws no bar (issue 20, 7)."""

from __future__ import annotations

from pathlib import Path

import time_machine

from carriertui.app import CarrierApp
from carriertui.widgets.sparkline import Sparkline, bar_levels, buckets
from tests.functional.harness import seed, settle, wait_for
from tests.functional.summary_harness import NOW, seed_traffic
from tests.functional.summary_screen import open_summary, screen_lines

BARS = set("▁▂▃▄▅▆▇█")


async def _chart_lines(pilot, pane) -> tuple[str, str]:
    if not pane.chart_shown:
        await pilot.press("t")
    await wait_for(pilot, lambda: bool(pane.query_one("#chart-minutes", Sparkline).data))
    await pilot.pause(0.4)  # the chart follows the rows in view on a short timer
    await settle(pilot)
    lines = screen_lines(pilot.app)
    minutes = next(line for line in lines if "Minutes (max" in line)
    asr = next(line for line in lines if "ASR % (max" in line)
    return minutes, asr


async def test_a_customer_without_traffic_draws_an_empty_chart(tmp_path: Path) -> None:
    app = CarrierApp(seed(tmp_path / "quiet.sqlite"))  # no CDRs at all
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_summary(pilot)
        minutes, asr = await _chart_lines(pilot, pane)
        # Periods to draw, every one of them zero: the case that drew full bars.
        data = pane.query_one("#chart-minutes", Sparkline).data
        assert data and set(data) == {0.0}
        assert "Minutes (max 0)" in minutes and "ASR % (max 0)" in asr
        assert not BARS & set(minutes + asr)
        assert minutes.split("Minutes (max 0)", 1)[1].strip() == ""


async def test_traffic_draws_bars_from_zero(tmp_path: Path) -> None:
    with time_machine.travel(NOW, tick=False):
        url, _customer_id = seed_traffic(tmp_path)
    app = CarrierApp(url)
    with time_machine.travel(NOW, tick=True):
        await _daily_chart_has_bars(app)


async def _daily_chart_has_bars(app: CarrierApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_summary(pilot)
        await pilot.press("2")  # daily: the seeded weeks
        await wait_for(pilot, lambda: pane.summary.view.value == "daily" and pane.grid.view.loaded)
        minutes, _asr = await _chart_lines(pilot, pane)
        assert BARS & set(minutes)
        data = pane.query_one("#chart-minutes", Sparkline).data
        assert max(data) > 0


def test_bar_heights_are_their_share_of_the_largest_value() -> None:
    assert bar_levels([0, 0, 0], 8) == [0, 0, 0]  # no traffic: nothing
    assert bar_levels([], 8) == []
    assert bar_levels([5], 8) == [8]  # one period with traffic: the largest, a full bar
    assert bar_levels([0, 1, 50, 100], 8) == [0, 1, 4, 8]  # any traffic shows, zero does not
    assert bar_levels([90, 100], 8) == [7, 8]  # not scaled from the smallest value


def test_buckets_fill_the_width() -> None:
    assert buckets([1, 2], 4) == [1, 1, 2, 2]
    assert buckets([1, 5, 2, 0, 3, 1], 3) == [5, 2, 3]  # the largest of each bucket
    assert buckets([], 10) == [] and buckets([1], 0) == []
