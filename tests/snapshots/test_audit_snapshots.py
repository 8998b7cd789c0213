"""Snapshots of the audit tab, View Difference's changed-fields view and its full view, at 80x24
and 120x40. Seeded under a fixed clock, so the audit timestamps are always the same."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from carriertui.screens.audit import DiffScreen
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.store.audit import AuditRecord
from tests.functional.harness import freeze_cursors, log_in, seed, settle, wait_for

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
FIXED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
ENTRY = AuditRecord(
    id=42,
    created_at=FIXED,
    actor="alice",
    ip="203.0.113.9",
    action="UPDATE",
    verb="PUT",
    table="customer",
    primary_key="7",
    customer_id=7,
    message="Customer Bluefin Voice AG updated: channels, name, notes",
    comment="ticket 4711",
    before={
        "id": 7,
        "name": "Bluefin Voice GmbH",
        "channels": 30,
        "currency": "EUR",
        "notes": {"public": "Welcome!", "private": "VIP [/ do not call"},
        "ip_whitelist": ["198.51.100.1", "198.51.100.2"],
        "password_hash": "***",
    },
    after={
        "id": 7,
        "name": "Bluefin Voice AG",
        "channels": 35,
        "currency": "EUR",
        "notes": {"public": "Welcome!", "private": "VIP [@click=app.quit]x[/]"},
        "ip_whitelist": ["198.51.100.1"],
        "password_hash": "***",
    },
)


class DiffApp(App[None]):
    CSS_PATH = str(Path(__file__).resolve().parents[2] / "carriertui" / "app.tcss")

    def on_mount(self) -> None:
        self.push_screen(DiffScreen(ENTRY))

    def compose(self) -> ComposeResult:
        return iter(())


@pytest.mark.parametrize("size", SIZES)
def test_changed_fields_view(snap_compare, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[object]) -> None:
        await settle(pilot)

    assert snap_compare(DiffApp(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_full_view(snap_compare, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[object]) -> None:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)

    assert snap_compare(DiffApp(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_customer_audit_tab(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    snap_compare,
    size: tuple[int, int],
) -> None:
    from carriertui.app import CarrierApp

    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(variable, "noc-operator")
    with time_machine.travel(FIXED, tick=False):
        url = seed(tmp_path / "snap.sqlite")
    app = CarrierApp(url)

    async def run_before(pilot: Pilot[object]) -> None:
        await log_in(pilot)
        await pilot.press("down", "enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
        )
        app.screen.query_one(TabbedContent).active = "audit"
        grid = app.screen.query_one("#audit-grid")
        await wait_for(pilot, lambda: grid.view.loaded)
        grid.focus()
        await settle(pilot)
        freeze_cursors(app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
