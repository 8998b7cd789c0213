"""NOC alarms in the running app at 80x24: CDRs with a sudden ASR drop are imported while the
app runs; the toast appears, the top bar's count rises, the operator acknowledges on the Alarms
screen with a comment, and a later good import clears the alarm."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.widgets import Input

from carriertui.app import CarrierApp
from carriertui.screens.alarm_rules import AlarmRulesScreen, RuleFormScreen
from carriertui.screens.alarms import AcknowledgeScreen, AlarmsScreen
from carriertui.screens.base import TopBar
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.store import alarms, customers
from carriertui.store.cdrs import importer
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from carriertui.widgets.grid import Grid
from tests.functional.harness import grid_column, log_in, open_db, seed, settle, wait_for
from tests.unit.cdr_helpers import csv_row, write_csv_file

SIZE = (80, 24)
ADMIN = Actor("test", Role.ADMIN, "127.0.0.1")
CODE = "ATL-003"
_serial = iter(range(1, 10**9))


def traffic(folder: Path, *, answered: int, failed: int) -> Path:
    start = datetime.now(UTC) - timedelta(minutes=3)
    rows = []
    for n in range(answered + failed):
        index = next(_serial)
        row = csv_row(
            index,
            customer=CODE,
            call_id=f"tui-{index}",
            start_time=(start + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        if n < answered:
            row.update(duration="120", billed_duration="120", sip_code="200")
        else:
            row.update(duration="0", billed_duration="0", sip_code="503", charge="0", cost="0")
        rows.append(row)
    return write_csv_file(folder / f"cdrs-{index}.csv", rows)


def top_bar_text(app: CarrierApp) -> str:
    return str(app.screen.query_one(TopBar).render())


def toasts(app: CarrierApp) -> list[str]:
    return [n.message for n in app._notifications]


async def import_file(url: str, path: Path) -> None:
    """The import a switch's CDR feed would run, committed outside the app."""
    db = open_db(url)
    try:
        await asyncio.to_thread(importer.import_cdr_file, db, ADMIN, path)
    finally:
        db.dispose()


@pytest.fixture
def evaluating(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARRIERTUI_ALARMS_EVALUATE", "true")
    monkeypatch.setenv("CARRIERTUI_ALARMS_WATCH_SECONDS", "0.3")


async def test_asr_drop_toasts_counts_acknowledges_and_clears(
    tmp_path: Path, evaluating: None
) -> None:
    url = seed(tmp_path / "a.sqlite")
    db = open_db(url)
    atlas = customers.find_customer(db, ADMIN, CODE)
    alarms.add_rule(
        db,
        ADMIN,
        {"name": "Atlas [/b] ASR", "metric": "asr", "window_size": 15, "min_attempts": 10,
         "trigger": 30, "reset": 40, "severity": "critical"},
        customer_id=atlas.id,
    )  # fmt: skip
    db.dispose()
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await import_file(url, traffic(tmp_path, answered=16, failed=4))  # ASR 80 %: fine
        await pilot.pause(1.0)
        await settle(pilot)
        assert not any(t.startswith("ALARM") for t in toasts(app))
        assert "ALARM" not in top_bar_text(app)

        await import_file(url, traffic(tmp_path, answered=0, failed=40))  # 16 of 60: 26.7 %
        await wait_for(pilot, lambda: any(t.startswith("ALARM") for t in toasts(app)))
        (toast,) = [t for t in toasts(app) if t.startswith("ALARM")]
        assert toast == ("ALARM CRITICAL: Atlas [/b] ASR - ATL-003: ASR 26.7% (threshold 30.0%)")
        await wait_for(pilot, lambda: "! 1 ALARM " in top_bar_text(app))

        app.go_alarms()
        await wait_for(pilot, lambda: isinstance(app.screen, AlarmsScreen) and app.screen.found)
        screen = app.screen
        grid = screen.query_one(Grid)
        assert "! 1 ALARM " in top_bar_text(app)  # every screen's top bar
        assert grid_column(grid, 0) == ["raised"]
        assert grid_column(grid, 1) == ["CRITICAL"]
        assert grid_column(grid, 2) == [CODE]
        assert grid_column(grid, 4) == ["26.7%"]
        assert grid_column(grid, 8) == ["Atlas [/b] ASR"]  # data, never markup

        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AcknowledgeScreen))
        await pilot.press("enter")  # no comment: refused, the dialog stays
        await settle(pilot)
        assert isinstance(app.screen, AcknowledgeScreen)
        app.screen.query_one(Input).value = "carrier B failing, rerouted"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AlarmsScreen))
        await wait_for(pilot, lambda: grid_column(screen.query_one(Grid), 0) == ["acked"])
        assert grid_column(screen.query_one(Grid), 7) == ["alice"]
        await wait_for(pilot, lambda: "ALARM" not in top_bar_text(app))  # none unacknowledged
        acked = alarms.list_alarms(open_db(url), ADMIN)[0]
        assert (acked.acknowledged_by, acked.ack_comment) == (
            "alice",
            "carrier B failing, rerouted",
        )

        await import_file(url, traffic(tmp_path, answered=60, failed=0))  # 76 of 120: 63 %
        await wait_for(pilot, lambda: grid_column(screen.query_one(Grid), 0) == [])
        await pilot.press("c")  # the history shows it cleared
        await wait_for(pilot, lambda: grid_column(screen.query_one(Grid), 0) == ["cleared"])

        await pilot.press("enter")  # the customer's Summary (o too)
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
        await wait_for(pilot, lambda: app.screen.tabs.active == "summary")
        assert app.screen.customer_id == atlas.id


async def test_rules_screen_adds_and_removes_a_rule(tmp_path: Path) -> None:
    url = seed(tmp_path / "r.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        app.go_alarm_rules()
        await wait_for(pilot, lambda: isinstance(app.screen, AlarmRulesScreen))
        rules_screen = app.screen
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, RuleFormScreen))
        form = app.screen
        form.query_one("#f-name", Input).value = "Atlas PDD"
        form.query_one("#f-customer", Input).value = CODE
        form.query_one("#f-trigger", Input).value = "8"
        form.query_one("#f-reset", Input).value = "9"  # above the trigger: wrong for PDD
        from textual.widgets import Select

        form.query_one("#row-metric Select", Select).value = "pdd"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: form.query("#row-reset.-invalid"))
        assert isinstance(app.screen, RuleFormScreen)
        form.query_one("#f-reset", Input).value = "5"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, AlarmRulesScreen))
        grid = rules_screen.query_one(Grid)
        await wait_for(pilot, lambda: grid_column(grid, 0) == ["Atlas PDD"])
        assert grid_column(grid, 2) == [CODE]
        (rule,) = alarms.list_rules(open_db(url), ADMIN)
        assert (rule.metric, rule.trigger, rule.reset) == ("pdd", 8.0, 5.0)
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("y")  # Remove (the dialog focuses Keep)
        await wait_for(pilot, lambda: grid_column(grid, 0) == [])
        assert alarms.list_rules(open_db(url), ADMIN) == []
