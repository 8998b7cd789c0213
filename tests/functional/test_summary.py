"""The Summary tab at 80x24: the four views, the dash for empty ratios, the weighted ASR and ACD
of a selection, Generate Invoice, the CDR report and the group header row of a copy."""

from __future__ import annotations

import csv
from pathlib import Path

import time_machine
from textual.widgets import Input, TabbedContent

from carriertui import locations
from carriertui.app import CarrierApp
from carriertui.grid.export import to_tsv
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.screens.customer.summary import SummaryPane
from carriertui.store import invoices
from carriertui.widgets.grid.dialogs import ExportScreen
from carriertui.widgets.grid.view import cell_text
from tests.functional.harness import grid_column, log_in, open_db, settle, wait_for
from tests.functional.summary_harness import ADMIN, NOW, seed_traffic

SIZE = (80, 24)


async def _summary_tab(pilot) -> SummaryPane:
    app = pilot.app
    await log_in(pilot)
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
    )
    app.screen.query_one(TabbedContent).active = "summary"
    pane = app.screen.query_one(SummaryPane)
    await wait_for(pilot, lambda: pane.summary is not None and pane.grid.view.loaded)
    return pane


async def _switch(pilot, pane: SummaryPane, key: str, view: str) -> None:
    await pilot.press(key)
    await wait_for(
        pilot,
        lambda: (
            pane.summary is not None and pane.summary.view.value == view and pane.grid.view.loaded
        ),
    )
    await settle(pilot)


async def test_the_four_views_and_the_dash(tmp_path: Path) -> None:
    with time_machine.travel(NOW, tick=True):
        url, _customer = seed_traffic(tmp_path)
        app = CarrierApp(url)
        async with app.run_test(size=SIZE) as pilot:
            pane = await _summary_tab(pilot)
            assert pane.grid.view.has_focus
            daily = grid_column(pane.grid)
            assert len(daily) == 23  # 2026-02-09 .. 2026-03-03, newest first
            assert daily[0] > daily[-1]
            labels = [pane.grid.view.columns[0].formatter(key) for key in daily]
            assert labels[0] == "2026-03-03 \u25d4"  # today: the open, partial period
            quiet = daily.index(next(k for k in daily if k.day == 14 and k.month == 2))
            keys = [c.key for c in pane.grid.view.columns]
            quiet_row = pane.grid.view.row_at(quiet)[1]

            def shown(key: str) -> str:
                return cell_text(
                    pane.grid.view.columns[keys.index(key)], quiet_row[keys.index(key)]
                )

            # Calls but none answered: ASR is a real 0 %, ACD has no denominator: a dash.
            assert shown("asr") == "0.00%"
            assert shown("acd") == "\u2014"
            await _switch(pilot, pane, "1", "24h")
            assert len(grid_column(pane.grid)) == 24
            await _switch(pilot, pane, "3", "weekly")
            assert len(grid_column(pane.grid)) == 4  # ISO weeks 07-10 of 2026
            await _switch(pilot, pane, "4", "monthly")
            assert len(grid_column(pane.grid)) == 2


async def test_a_selection_shows_sum_average_and_the_weighted_asr(tmp_path: Path) -> None:
    with time_machine.travel(NOW, tick=True):
        url, _customer = seed_traffic(tmp_path)
        app = CarrierApp(url)
        async with app.run_test(size=SIZE) as pilot:
            pane = await _summary_tab(pilot)
            await pilot.press("l", "shift+down", "shift+down", "shift+right")  # attempts..connected
            await wait_for(pilot, lambda: "weighted ASR" in pane.grid.status_text(), timeout=10)
            status = pane.grid.status_text()
            assert "sum" in status and "avg" in status
            summary = pane.summary
            rows = [r for r in summary.rows if r.period_start in grid_column(pane.grid)[:3]]
            attempts = sum(r.attempts for r in rows)
            connected = sum(r.connected for r in rows)
            assert f"weighted ASR {connected * 100 / attempts:.2f}%" in status


async def test_generate_invoice_for_a_ticked_closed_day_and_refuse_the_open_one(
    tmp_path: Path,
) -> None:
    with time_machine.travel(NOW, tick=True):
        url, customer_id = seed_traffic(tmp_path)
        app = CarrierApp(url)
        async with app.run_test(size=SIZE) as pilot:
            pane = await _summary_tab(pilot)
            await pilot.press("i")  # the cursor is on today: open, refused
            await settle(pilot, 5)
            assert invoices.list_invoices(open_db(url), ADMIN) == []
            await pilot.press("down", "space", "down", "space", "i")
            await wait_for(
                pilot, lambda: len(invoices.list_invoices(open_db(url), ADMIN)) == 2, timeout=15
            )
            await wait_for(
                pilot, lambda: grid_column(pane.grid, len(pane.grid.view.columns) - 1)[1]
            )
            numbers = grid_column(pane.grid, len(pane.grid.view.columns) - 1)
            assert numbers[0] is None and numbers[1] and numbers[2]
    made = invoices.list_invoices(open_db(url), ADMIN, customer_id=customer_id)
    assert sorted(i.number for i in made) == sorted(numbers[1:3])


async def test_cdr_report_of_a_day_writes_its_cdrs(tmp_path: Path) -> None:
    with time_machine.travel(NOW, tick=True):
        url, _customer = seed_traffic(tmp_path)
        app = CarrierApp(url)
        async with app.run_test(size=SIZE) as pilot:
            pane = await _summary_tab(pilot)
            await pilot.press("down")  # yesterday, 2026-03-02
            key = pane.grid.view.row_at(pane.grid.view.cursor[0])[0]
            expected = next(r for r in pane.summary.rows if r.period_start == key).attempts
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
            target = locations.exports_dir() / "day.csv"
            app.screen.query_one(Input).value = "day.csv"  # a name: in the export folder
            await pilot.press("enter")
            await wait_for(pilot, lambda: target.exists(), timeout=15)
    with target.open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    assert len(records) == expected > 0
    assert all(r["start_time"].startswith("2026-03-02") for r in records)


async def test_a_cdr_report_again_into_the_export_folder_asks_before_replacing(
    tmp_path: Path,
) -> None:
    """The default path is the export folder and the report names its own file: the second
    report of the same day finds it there and asks; "Keep it" leaves the first one as it was."""
    from carriertui.widgets.confirm import ConfirmScreen

    with time_machine.travel(NOW, tick=True):
        url, _customer = seed_traffic(tmp_path)
        app = CarrierApp(url)
        async with app.run_test(size=SIZE) as pilot:
            await _summary_tab(pilot)
            await pilot.press("down")  # yesterday
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
            await pilot.press("enter")  # the default: the export folder
            folder = locations.exports_dir()
            await wait_for(pilot, lambda: folder.is_dir() and any(folder.iterdir()), timeout=15)
            await wait_for(pilot, lambda: not isinstance(app.screen, ExportScreen))
            (report,) = list(folder.iterdir())
            report.write_text("the first report, edited by hand\n")
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=15)
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
            await settle(pilot)
            assert report.read_text() == "the first report, edited by hand\n"
            await pilot.press("enter")  # again, and this time replace it
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=15)
            await pilot.press("y")
            await wait_for(pilot, lambda: report.read_text().startswith("call_id"), timeout=15)
    assert list(folder.iterdir()) == [report]


async def test_copy_with_group_headers_reads_period_calls_usage_money_invoice(
    tmp_path: Path,
) -> None:
    with time_machine.travel(NOW, tick=True):
        url, _customer = seed_traffic(tmp_path)
        app = CarrierApp(url)
        async with app.run_test(size=SIZE) as pilot:
            pane = await _summary_tab(pilot)
            view = pane.grid.view
            text = to_tsv(view.columns, [view.row_at(0)], headers=True, group_headers=True)
    groups, titles, _row = text.split("\n")
    cells = groups.split("\t")
    assert cells[0] == "Period"
    assert cells[1:5] == ["Calls"] * 4
    assert cells[5:7] == ["Usage"] * 2
    assert cells[7:11] == ["Money"] * 4
    assert cells[11] == "Invoice"
    assert titles.split("\t")[1:5] == ["Attempts", "Connected", "ASR %", "ACD"]
