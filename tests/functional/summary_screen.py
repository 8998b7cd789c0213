"""Opening the Summary tab at 80x24 and reading what a grid shows, for the grid and Summary
tests (pinned key columns, the column finder, the layout, ticks)."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import TabbedContent

from carriertui.screens.customer.screen import CustomerScreen
from carriertui.screens.customer.summary import SummaryPane
from carriertui.widgets.grid import DataGrid
from tests.functional.harness import log_in, settle, wait_for


async def open_customer(pilot: Pilot[object]) -> CustomerScreen:
    app = pilot.app
    await log_in(pilot)
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
    )
    return app.screen  # type: ignore[return-value]


async def open_summary(pilot: Pilot[object]) -> SummaryPane:
    screen = await open_customer(pilot)
    screen.query_one(TabbedContent).active = "summary"
    pane = screen.query_one(SummaryPane)
    await wait_for(pilot, lambda: pane.summary is not None and pane.grid.view.loaded)
    await settle(pilot)
    return pane


async def switch_view(pilot: Pilot[object], pane: SummaryPane, key: str, view: str) -> None:
    await pilot.press(key)
    await wait_for(
        pilot,
        lambda: (
            pane.summary is not None and pane.summary.view.value == view and pane.grid.view.loaded
        ),
    )
    await settle(pilot)


def shown_lines(view: DataGrid) -> list[str]:
    """The lines the grid draws on screen now (header lines first), as plain text."""
    return [view.render_line(y).text for y in range(view.scrollable_content_region.height)]


def shown_rows(view: DataGrid) -> list[str]:
    """The data lines on screen now (the header lines and blank lines below the rows left out)."""
    first = int(view.scroll_y)
    visible = min(view.body_height, max(0, view.row_count - first))
    return shown_lines(view)[view.header_height : view.header_height + visible]


def screen_lines(app) -> list[str]:
    """The screen as the terminal gets it, one string per row (no styles: what a monochrome
    terminal, or NO_COLOR, leaves)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]
