"""12.17: what a selection's status says agrees with the cells shown. Sums are exact (as a NOC
reconciling charges with invoices expects): shown with every place they need, never rounded
to fewer places than they have. The Summary shows money as stored, 4 places, so the cells on
screen add up to the status's sum to the last digit."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import time_machine

from carriertui.app import CarrierApp
from carriertui.grid.memory import InMemoryRowSource
from carriertui.grid.model import Column, ColumnType, exact_number_text
from carriertui.widgets.grid.view import cell_text
from tests.functional.harness import settle, wait_for
from tests.functional.summary_harness import NOW, seed_traffic
from tests.functional.summary_screen import open_summary
from tests.functional.test_grid import GridApp

SIZE = (80, 24)
# Shown at 2 places these read 31.07 + 31.07 + 31.04 = 93.18; the exact sum is 93.1719, which
# the status used to round to "93.17".
CHARGES = (Decimal("31.0660"), Decimal("31.0660"), Decimal("31.0399"))


def test_exact_number_text() -> None:
    assert exact_number_text(Decimal("93.1719"), 2) == "93.1719"
    assert exact_number_text(Decimal("93.1700"), 2) == "93.1700"  # the places it is stored with
    assert exact_number_text(Decimal("93.17"), 2) == "93.17"
    assert exact_number_text(Decimal("93.1"), 4) == "93.1000"
    assert exact_number_text(Decimal("1234567.5"), 2) == "1,234,567.50"
    assert exact_number_text(1234, 0) == "1,234"
    # A sum of ratios has more places than is useful: rounded, and marked so.
    assert exact_number_text(Decimal(100) / Decimal(3), 2) == "≈33.3333"
    assert exact_number_text(None, 2) == "—"


async def test_a_2_place_money_column_shows_the_exact_sum_not_a_rounded_one() -> None:
    columns = (Column("day", "Day"), Column("charge", "Charge", ColumnType.MONEY, width=10))
    rows = [(i, (f"day {i}", charge)) for i, charge in enumerate(CHARGES)]
    app = GridApp(InMemoryRowSource(columns, rows, name="charges"))
    async with app.run_test(size=SIZE) as pilot:
        grid = app.query_one("#grid")
        await wait_for(pilot, lambda: grid.view.loaded)
        assert [cell_text(columns[1], c) for c in CHARGES] == ["31.07", "31.07", "31.04"]
        await pilot.press("l", "shift+end")
        await pilot.pause(0.2)
        await settle(pilot)
        status = grid.status_text()
        assert "sum 93.1719" in status, status
        assert "min 31.0399" in status and "max 31.0660" in status


async def test_summary_cells_add_up_to_the_selection_sum(tmp_path: Path) -> None:
    with time_machine.travel(NOW, tick=True):
        url, _customer = seed_traffic(tmp_path)
        async with CarrierApp(url).run_test(size=SIZE) as pilot:
            pane = await open_summary(pilot)
            view = pane.grid.view
            keys = [column.key for column in view.columns]
            for key in ("charge", "cost", "profit"):
                position = keys.index(key)
                column = view.columns[position]
                view.move_cursor(0, position)
                await pilot.press(*["shift+down"] * 9)
                await wait_for(
                    pilot, lambda: "sel 10×1 · sum" in pane.grid.status_text(), timeout=10
                )
                await settle(pilot)
                shown = [cell_text(column, view.row_at(i)[1][position]) for i in range(10)]
                assert all(len(text.split(".")[1]) == 4 for text in shown), shown
                total = sum(Decimal(text.replace(",", "")) for text in shown)
                assert f"sum {total:,.4f}" in pane.grid.status_text(), (key, shown)
