"""The grid at 80x24 with a filter chip, a sort, a search and a cell selection."""

from __future__ import annotations

from textual.pilot import Pilot

from carriertui.grid.model import Filter, Query, SortKey
from tests.functional.harness import settle, wait_grid
from tests.functional.test_grid import GridApp, memory_source


def test_grid_with_filter_chip_and_selection(snap_compare) -> None:
    app = GridApp(
        memory_source(),
        query=Query(
            sort=(SortKey("charge", descending=True),),
            filters=(Filter("status", values=frozenset({"Active", "Penalty"})),),
        ),
    )

    async def run_before(pilot: Pilot[object]) -> None:
        grid = app.query_one("#grid")
        await wait_grid(pilot, grid)
        await pilot.press("right", "right", "shift+down", "shift+down", "shift+right")
        await pilot.pause(0.2)
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
