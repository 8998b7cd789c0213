"""At 80x24: a grid search holding a NUL (pasted: a key cannot type one) or another control
character is refused with the reason under the grid, instead of listing every row (12.9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input

from carriertui.app import CarrierApp
from tests.functional.harness import grid_column, log_in, seed, settle, wait_for
from tests.functional.portal_harness import screen_text

SIZE = (80, 24)


@pytest.mark.parametrize("pasted", ["\x00", "North\x00", "\x01", "\ufffe", "\x1f", " \x1f "])
async def test_a_pasted_control_character_is_refused_not_matched(
    tmp_path: Path, pasted: str
) -> None:
    app = CarrierApp(seed(tmp_path / "c.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = app.screen
        grid = screen.grid
        assert len(grid_column(grid)) == 3
        await pilot.press("slash")
        search = screen.query_one("#grid-search", Input)
        search.post_message(events.Paste(pasted))
        await settle(pilot)
        assert search.value == pasted
        generation = grid.view.generation
        await pilot.press("enter")
        await wait_for(pilot, lambda: grid.view.generation > generation or grid.view.error)
        await wait_for(pilot, lambda: grid.view.error is not None)
        status = grid.status_text()
        code = f"U+{ord(pasted.strip(' ')[-1]):04X}"
        assert status.startswith("error: search: cannot contain U+"), status
        assert code in status
        assert grid_column(grid) == []  # not every row
        # The whole reason is on screen, on the line under the grid, at 80 columns.
        shown = screen_text(app)
        assert f"error: search: cannot contain {code}: only printable text can be searched" in shown
        # A printable search works again at once.
        await pilot.press("slash", "escape")
        await wait_for(pilot, lambda: grid.view.error is None and len(grid_column(grid)) == 3)
