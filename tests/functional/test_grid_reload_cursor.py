"""A move made while a reload is still counting stays: the reload's answer used to put the
cursor back on the record it was on when the reload began (Home, then Enter, opened the old
row in the customer's Audit Log tab right after a save)."""

from __future__ import annotations

import asyncio
import threading

from carriertui.grid.memory import InMemoryRowSource
from carriertui.grid.model import Query
from carriertui.widgets.grid import Grid
from tests.functional.harness import wait_for, wait_grid
from tests.functional.test_grid import COLUMNS, ROWS, SIZE, GridApp


class SlowCount(InMemoryRowSource):
    """Answers on the grid's worker threads (as the SQL sources do); its count waits for
    ``release`` once ``hold`` is set."""

    def __init__(self) -> None:
        super().__init__(COLUMNS, ROWS, name="calls")
        self.synchronous = False
        self.hold = threading.Event()
        self.release = threading.Event()
        self.counting = threading.Event()

    def count(self, query: Query) -> int:
        if self.hold.is_set():
            self.counting.set()
            self.release.wait(10)
        return super().count(query)


async def test_a_move_during_a_reload_is_not_undone_by_its_answer() -> None:
    source = SlowCount()
    app = GridApp(source)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.query_one(Grid)
        await wait_grid(pilot, grid)
        view = grid.view
        view.move_cursor(3)
        await pilot.pause()
        kept = view.cursor_key
        assert view.cursor[0] == 3 and kept is not None
        source.hold.set()
        view.reload()  # keeps the cursor on its record when it answers
        for _ in range(500):  # not wait_for: it waits for the grid's workers, here the count
            if source.counting.is_set():
                break
            await asyncio.sleep(0.01)
        assert source.counting.is_set()
        # The operator presses Home while the reload counts (Pilot.press would wait for the
        # count's worker first: the key's own action, as its binding runs it).
        await view.run_action("jump(0)")
        assert view.cursor[0] == 0
        source.release.set()
        await wait_for(pilot, lambda: view.loaded and view.count is not None)
        await pilot.pause()
        assert view.cursor[0] == 0, "the reload's answer moved the cursor back"
        # A reload with nobody moving still keeps the record under the cursor.
        source.hold.clear()
        view.move_cursor(2)
        await pilot.pause()
        on = view.cursor_key
        view.reload()
        await wait_for(pilot, lambda: view.loaded and view.count is not None)
        await pilot.pause()
        assert view.cursor_key == on
