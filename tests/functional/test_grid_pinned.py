"""12.14: each grid's key columns stay pinned on the left while the rest scrolls sideways, so a
row scrolled to Customer Charge (Summary) or Message (audit log) still shows its label."""

from __future__ import annotations

from pathlib import Path

import time_machine
from textual.widgets import TabbedContent

from carriertui.app import CarrierApp
from carriertui.grid.memory import InMemoryRowSource
from carriertui.grid.model import Column, ColumnType, key_columns_of
from carriertui.widgets.grid import Grid
from carriertui.widgets.grid.view import cell_text
from tests.functional.harness import settle, wait_for
from tests.functional.summary_harness import NOW, seed_traffic
from tests.functional.summary_screen import open_customer, open_summary, shown_lines, shown_rows

SIZE = (80, 24)


def test_key_columns_default_to_the_first_column_and_keep_declared_ones() -> None:
    columns = (Column("a", "A"), Column("b", "B"), Column("c", "C", ColumnType.INTEGER))
    assert InMemoryRowSource(columns, [], name="t").key_columns == ("a",)
    declared = InMemoryRowSource(columns, [], name="t", key_columns=("a", "b", "nope"))
    assert declared.key_columns == ("a", "b")

    class Bare:  # a source that declares nothing
        pass

    bare = Bare()
    bare.columns = columns  # type: ignore[attr-defined]
    assert key_columns_of(bare) == ("a",)


async def test_summary_scrolled_to_the_last_column_still_shows_each_period(
    tmp_path: Path,
) -> None:
    with time_machine.travel(NOW, tick=True):
        url, _customer = seed_traffic(tmp_path)
        async with CarrierApp(url).run_test(size=SIZE) as pilot:
            pane = await open_summary(pilot)
            view = pane.grid.view
            last = len(view.columns) - 1
            await pilot.press(*["l"] * last)
            await settle(pilot)
            assert view.cursor[1] == last and view.scroll_x > 0
            titles = shown_lines(view)[view.header_height - 1]
            assert "Invoice" in titles and "Period" in titles
            rows = shown_rows(view)
            assert len(rows) >= 5
            period = view.columns[0]
            for index, line in enumerate(rows):
                label = cell_text(period, view.row_at(int(view.scroll_y) + index)[0])
                assert line[:20].strip().startswith(label.split()[0]), (index, line)


async def test_audit_log_scrolled_to_message_still_shows_the_time(tmp_path: Path) -> None:
    with time_machine.travel(NOW, tick=True):
        url, _customer = seed_traffic(tmp_path)
        async with CarrierApp(url).run_test(size=SIZE) as pilot:
            screen = await open_customer(pilot)
            screen.query_one(TabbedContent).active = "audit"
            grid = screen.query_one("#audit-grid", Grid)
            await wait_for(pilot, lambda: grid.view.loaded and grid.view.row_count > 0)
            view = grid.view
            grid.focus()
            keys = [column.key for column in view.columns]
            await pilot.press(*["l"] * len(keys))  # to the last column
            await settle(pilot)
            assert view.scroll_x > 0
            titles = shown_lines(view)[view.header_height - 1]
            # Message now sits beside the time (visible at 80x24 unscrolled); scrolled to the
            # last column, the time is still pinned on the left.
            assert view.columns[-1].title in titles and "Date / Time" in titles
            when = view.columns[0]
            for index, line in enumerate(shown_rows(view)):
                row = view.row_at(int(view.scroll_y) + index)
                assert line.startswith(" " + cell_text(when, row[1][0])), line
