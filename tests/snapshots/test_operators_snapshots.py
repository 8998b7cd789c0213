"""SVG snapshot of the Operators screen at 80x24: a disabled account, a locked one, the tones.

Deterministic: the accounts are made, locked and disabled at a fixed time (time_machine)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from sqlmodel import select
from textual.pilot import Pilot

from carriertui.app import CarrierApp
from carriertui.screens.operators import OperatorsScreen
from carriertui.store import operators
from carriertui.store.context import Actor
from carriertui.store.db.tables import Operator
from tests.functional.harness import freeze_cursors, log_in, open_db, seed, settle, wait_for

FIXED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SIZE = (80, 24)


@pytest.fixture
def url(tmp_path: Path) -> str:
    with time_machine.travel(FIXED, tick=False):
        url = seed(tmp_path / "snap.sqlite", with_customers=False)
        db = open_db(url)
        operators.set_disabled(db, Actor.api(), "vic", True)
        with db.write() as session:  # olga locked out after ten failed logins
            olga = session.exec(select(Operator).where(Operator.name == "olga")).one()
            olga.locked_until = datetime(2999, 1, 1, tzinfo=UTC)
    return url


def test_operators_screen(url: str, snap_compare) -> None:
    app = CarrierApp(url)

    async def run_before(pilot: Pilot[object]) -> None:
        await log_in(pilot)
        app.go_operators()
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, OperatorsScreen) and app.screen.query("#operators-grid"),
        )
        grid = app.screen.grid
        await wait_for(pilot, lambda: grid.view.loaded and grid.view.row_count == 3)
        await settle(pilot)
        freeze_cursors(app)
        await pilot.pause()

    # The login stamps alice's last login: at a fixed time too (the clock still runs).
    with time_machine.travel(FIXED, tick=True):
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
