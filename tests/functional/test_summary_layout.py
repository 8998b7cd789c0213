"""12.16 and 12.7: at 80x24 the Summary gives the grid every row it can (14: 24 less the app
header 1, customer header 2, tabs 2, the view switch with its info 1, the grid's group and
title rows 2, the status 1 and the footer 1; it was 10), the chart is collapsed (t shows it,
remembered for the session), the status is one line that leaves out what does not fit (= shows
all of it), and the active view is named in text, not only by colour."""

from __future__ import annotations

from pathlib import Path

import pytest
import time_machine
from textual.theme import Theme
from textual.widgets import Sparkline, TabbedContent

from carriertui.app import CarrierApp
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.screens.customer.summary import SummaryPane
from carriertui.screens.customers import CustomersScreen
from carriertui.widgets.grid.dialogs import CellScreen
from carriertui.widgets.grid.status import FitLine, fit_parts
from tests.functional.harness import settle, wait_for
from tests.functional.summary_harness import NOW, seed_traffic
from tests.functional.summary_screen import (
    open_summary,
    screen_lines,
    shown_rows,
    switch_view,
)

SIZE = (80, 24)
GREY = "#9a9a9a"
MONOCHROME = Theme(
    name="test-monochrome",
    primary=GREY,
    secondary=GREY,
    accent=GREY,
    warning=GREY,
    error=GREY,
    success=GREY,
    foreground=GREY,
    background="#000000",
    surface="#000000",
    panel="#000000",
    dark=True,
)


def test_fit_parts_leaves_out_the_least_important_first_and_says_so() -> None:
    parts = [("23 rows", 3), ("sel 7×1", 2), ("sum 13.9340", 0), ("min 1.3399", 6)]
    assert fit_parts(parts, 80) == "23 rows · sel 7×1 · sum 13.9340 · min 1.3399"
    assert fit_parts(parts, 40) == "23 rows · sel 7×1 · sum 13.9340 · …"
    assert fit_parts(parts, 20) == "sum 13.9340 · …"
    assert fit_parts(parts, 8) == "sum 13.…"


async def test_summary_at_80x24_shows_14_rows_and_a_one_line_status(tmp_path: Path) -> None:
    with time_machine.travel(NOW, tick=True):
        url, _customer = seed_traffic(tmp_path)
        app = CarrierApp(url)
        async with app.run_test(size=SIZE) as pilot:
            pane = await open_summary(pilot)
            view = pane.grid.view
            assert not pane.query_one("#summary-chart").display
            assert len(shown_rows(view)) >= 14
            assert "t shows the chart" in pane.query_one("#summary-info", FitLine).full_text
            # A wide selection: every figure together is longer than the line.
            await pilot.press("l", *["shift+right"] * 7, "shift+down", "shift+down")
            await wait_for(pilot, lambda: "weighted ASR" in pane.grid.status_text(), timeout=10)
            await settle(pilot)
            status = pane.grid.query_one("#grid-status", FitLine)
            assert status.region.height == 1
            assert len(status.full_text) > status.region.width
            assert status.shown_text.startswith("23 rows · sel 3×8 · sum ")
            assert status.shown_text.endswith("…")
            assert screen_lines(app)[status.region.y].strip() == status.shown_text
            assert len(shown_rows(view)) >= 14  # the status did not take a second row
            await pilot.press("equals_sign")  # the whole status
            await wait_for(pilot, lambda: isinstance(app.screen, CellScreen))
            text = str(app.screen.query_one("#cell-value").render())
            assert "weighted ASR" in text and "min " in text and "max " in text
            await pilot.press("escape")
            # t shows the chart: two rows less for the grid; remembered for the session.
            await pilot.press("escape", "t")
            await settle(pilot)
            assert pane.query_one("#summary-chart").display
            assert len(shown_rows(view)) >= 12
            await pilot.pause(0.4)  # the chart follows the rows on a timer
            assert pane.query_one("#chart-minutes", Sparkline).data
            await pilot.press("escape")  # back to the customers, and open it again
            await wait_for(pilot, lambda: isinstance(app.screen, CustomersScreen))
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None,
            )
            screen = app.screen
            screen.query_one(TabbedContent).active = "summary"
            again = screen.query_one(SummaryPane)
            await wait_for(pilot, lambda: again.summary is not None and again.grid.view.loaded)
            assert again is not pane and again.query_one("#summary-chart").display
            await pilot.press("t")
            await settle(pilot)
            assert not again.query_one("#summary-chart").display


async def test_a_tall_terminal_starts_with_the_chart(tmp_path: Path) -> None:
    with time_machine.travel(NOW, tick=True):
        url, _customer = seed_traffic(tmp_path)
        async with CarrierApp(url).run_test(size=(120, 40)) as pilot:
            pane = await open_summary(pilot)
            assert pane.query_one("#summary-chart").display
            assert len(shown_rows(pane.grid.view)) >= 23  # every daily row


@pytest.mark.parametrize("theme", ["textual-dark", MONOCHROME.name])
async def test_the_active_view_is_named_in_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, theme: str
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    with time_machine.travel(NOW, tick=True):
        url, _customer = seed_traffic(tmp_path)
        app = CarrierApp(url)
        async with app.run_test(size=SIZE) as pilot:
            app.register_theme(MONOCHROME)
            app.theme = theme
            pane = await open_summary(pilot)
            row = pane.query_one("#summary-views").region.y
            for key, view, label in (
                ("1", "24h", "1 24 hours"),
                ("3", "weekly", "3 Weekly"),
                ("4", "monthly", "4 Monthly"),
                ("2", "daily", "2 Daily"),
            ):
                await switch_view(pilot, pane, key, view)
                line = screen_lines(app)[row]
                assert f"[{label}]" in line, line
                assert line.count("[") == 1, line  # only the active one
            await pilot.press("5")
            await wait_for(pilot, lambda: "[5 Invoices]" in screen_lines(app)[row])
