"""The cursor on a column that cannot be shown whole (wider than the room beside the pinned
columns, or the last one in a view that has no width yet) scrolls to that column's start
instead of failing: it raised ValueError (min() of no column start) and ended the app."""

from __future__ import annotations

from textual.app import App, ComposeResult

from carriertui.widgets.grid import Grid
from tests.functional.harness import wait_grid
from tests.functional.test_grid import memory_source


class NarrowApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Grid(memory_source(), id="grid")


async def test_the_last_column_in_a_narrow_view_scrolls_into_view() -> None:
    app = NarrowApp()
    async with app.run_test(size=(12, 12)) as pilot:
        grid = app.query_one(Grid)
        await wait_grid(pilot, grid)
        view = grid.view
        last = len(view.columns) - 1
        for column in range(last + 1):
            view.move_cursor(0, column)
            await pilot.pause()
            assert view.cursor == (0, column)
        view.reload()
        await wait_grid(pilot, grid)
        assert view.cursor[1] == last and app.is_running
