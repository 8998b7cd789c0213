"""12.15: ctrl+f goes to a column by part of its title; shift+end / shift+home (also
ctrl+shift+down / up) select the cursor's column to the last / first row. Reaching Customer
Charge in Summary > Daily and selecting the last 7 closed days takes 11 keys (it took 24)."""

from __future__ import annotations

from pathlib import Path

import time_machine

from carriertui.app import CarrierApp
from carriertui.grid.model import Column, ColumnType
from carriertui.widgets.grid import Selection
from carriertui.widgets.grid.finder import ColumnFinder, matching_columns
from tests.functional.harness import settle, wait_for
from tests.functional.summary_harness import NOW, seed_traffic
from tests.functional.summary_screen import open_summary

SIZE = (80, 24)


def test_matches_start_of_a_word_first_then_anywhere_ignoring_case() -> None:
    columns = (
        Column("period", "Period", group="Period"),
        Column("charge", "Customer Charge", ColumnType.MONEY, group="Money"),
        Column("cost", "Cost", ColumnType.MONEY, group="Money"),
        Column("pct", "Profit %", ColumnType.PERCENT, group="Money"),
    )
    assert matching_columns(columns, "ch") == [1]
    assert matching_columns(columns, "CO") == [2]  # "Cost" starts with it; "Customer" does not
    assert matching_columns(columns, "o") == [0, 1, 2, 3]  # anywhere (Period's "o" too)
    assert matching_columns(columns, "money") == [1, 2, 3]  # the group counts
    assert matching_columns(columns, "zzz") == []
    assert matching_columns(columns, "") == [0, 1, 2, 3]


async def test_customer_charge_of_the_last_7_closed_days_in_under_12_keys(tmp_path: Path) -> None:
    with time_machine.travel(NOW, tick=True):
        url, _customer = seed_traffic(tmp_path)
        async with CarrierApp(url).run_test(size=SIZE) as pilot:
            pane = await open_summary(pilot)
            view = pane.grid.view
            charge = [c.key for c in view.columns].index("charge")
            keys = ["ctrl+f", "c", "h"]
            await pilot.press(*keys)
            await wait_for(pilot, lambda: isinstance(pilot.app.screen, ColumnFinder))
            more = ["enter", "down", *["shift+down"] * 6]  # today is open: start at yesterday
            await pilot.press(*more)
            await settle(pilot)
            assert len(keys + more) < 12
            assert view.selection == Selection(1, charge, 7, charge)
            assert view.selection.rows == 7 and view.selection.columns == 1
            await wait_for(pilot, lambda: "sel 7×1 · sum" in pane.grid.status_text(), timeout=10)
            rows = [view.row_at(i) for i in range(1, 8)]
            total = sum(row[1][charge] for row in rows)
            assert f"sum {total:,.4f}" in pane.grid.status_text()


async def test_shift_end_and_shift_home_select_the_column_to_the_last_and_first_row(
    tmp_path: Path,
) -> None:
    with time_machine.travel(NOW, tick=True):
        url, _customer = seed_traffic(tmp_path)
        async with CarrierApp(url).run_test(size=SIZE) as pilot:
            pane = await open_summary(pilot)
            view = pane.grid.view
            last = view.row_count - 1
            await pilot.press("down", "down", "l", "shift+end")
            assert view.selection == Selection(2, 1, last, 1)
            assert view.cursor == (last, 1)
            await pilot.press("escape", "up", "ctrl+shift+up")
            assert view.selection == Selection(0, 1, last - 1, 1)
            await pilot.press("escape", "ctrl+shift+down")
            assert view.selection == Selection(0, 1, last, 1)
            await pilot.press("escape", "shift+home")
            assert view.selection == Selection(0, 1, last, 1)  # from the last row to the first
            # The finder: Esc leaves the cursor where it was; a title that matches nothing too.
            await pilot.press("escape", "ctrl+f", "z", "z", "z", "enter")
            await settle(pilot)
            assert view.cursor[1] == 1 and not isinstance(pilot.app.screen, ColumnFinder)
            await pilot.press("ctrl+f", "p", "r", "o", "f", "i", "t", "down", "enter")
            await settle(pilot)
            assert view.columns[view.cursor[1]].title == "Profit %"
