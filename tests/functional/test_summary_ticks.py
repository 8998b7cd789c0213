"""12.6: ticks in the Summary are kept by period, not by row: a roll-up in a long session that
adds the new month at the top, a refresh, and switching views and back keep them; `i` invoices
only the ticked periods and names them (never the row under the cursor)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import time_machine

from carriertui.app import CarrierApp
from carriertui.store import invoices
from tests.functional.harness import open_db, settle, wait_for
from tests.functional.summary_harness import ADMIN, NOW, seed_traffic
from tests.functional.summary_screen import open_summary, switch_view

SIZE = (80, 24)
FEBRUARY = datetime(2026, 2, 1, tzinfo=UTC)
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)


def _notes(app: CarrierApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def test_a_tick_survives_the_new_month_a_refresh_and_view_switches(tmp_path: Path) -> None:
    with time_machine.travel(NOW, tick=True) as clock:
        url, customer_id = seed_traffic(tmp_path)
        app = CarrierApp(url)
        async with app.run_test(size=SIZE) as pilot:
            pane = await open_summary(pilot)
            view = pane.grid.view
            await switch_view(pilot, pane, "4", "monthly")
            assert [view.key_at(i) for i in range(view.row_count)] == [MARCH, FEBRUARY]
            await pilot.press("down", "space")  # February, closed
            assert view.checked == {FEBRUARY}
            # An hour-long session later it is April: the roll-up (u, as the timer does)
            # re-reads the summary with April's open month on top, so February moves down.
            clock.move_to(datetime(2026, 4, 2, 9, 0, tzinfo=UTC))
            await pilot.press("up")  # the cursor on the top row, as after a long session
            await pilot.press("u")
            await wait_for(pilot, lambda: view.row_count == 3 and view.loaded, timeout=15)
            await settle(pilot)
            assert view.key_at(0) == APRIL and view.key_at(2) == FEBRUARY
            assert view.checked == {FEBRUARY}
            assert "1 ticked" in pane.grid.status_text()
            await pilot.press("r")  # the grid's refresh
            await settle(pilot)
            assert view.checked == {FEBRUARY}
            await switch_view(pilot, pane, "2", "daily")
            assert view.checked == set()  # ticks belong to their view
            await switch_view(pilot, pane, "4", "monthly")
            assert view.checked == {FEBRUARY}
            await pilot.press("down", "space")  # and March, closed now
            assert view.checked == {FEBRUARY, MARCH}
            await pilot.press("up", "i")  # the cursor is on April, the open month
            await wait_for(
                pilot,
                lambda: len(invoices.list_invoices(open_db(url), ADMIN)) == 2,
                timeout=15,
            )
            await wait_for(pilot, lambda: any("Generated 2" in m for m in _notes(app)))
            assert "Generate Invoice for 2 ticked periods: 2026-02, 2026-03" in _notes(app)
            assert not any("not closed" in m for m in _notes(app))
            await wait_for(pilot, lambda: not view.checked)  # done: their ticks are gone
    made = invoices.list_invoices(open_db(url), ADMIN, customer_id=customer_id)
    assert sorted(record.period_start for record in made) == [FEBRUARY, MARCH]


async def test_i_with_nothing_ticked_says_so_and_invoices_nothing(tmp_path: Path) -> None:
    with time_machine.travel(NOW, tick=True):
        url, _customer = seed_traffic(tmp_path)
        app = CarrierApp(url)
        async with app.run_test(size=SIZE) as pilot:
            pane = await open_summary(pilot)
            await pilot.press("down", "i")  # yesterday is closed, but it is not ticked
            await settle(pilot, 5)
            assert any("Nothing is ticked" in m for m in _notes(app))
            assert invoices.list_invoices(open_db(url), ADMIN) == []
            assert pane.grid.view.checked == set()
