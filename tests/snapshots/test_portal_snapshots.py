"""Snapshots of the customer portal at 80x24 (an SSH session's default): the portal login, the
portal's Account tab, and an operator's Portal Login on My Profile with its banner.

Seeded under a fixed clock; nothing shown depends on the time of the run (the profile's Last
Login only appears after a contact's own login, and the Portal Login contact has none)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from carriertui.app import CarrierApp
from carriertui.screens.portal import PortalScreen
from carriertui.screens.portal_login import PortalLoginScreen
from carriertui.store.contacts import service as contacts
from tests.functional.harness import freeze_cursors, log_in, settle, wait_for
from tests.functional.portal_harness import (
    CONTACT_EMAIL,
    CONTACT_PASSWORD,
    portal_login,
    seed_portal,
)

SIZE = (80, 24)
FIXED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(variable, "noc-operator")
    with time_machine.travel(FIXED, tick=False):
        return seed_portal(tmp_path)


async def _ready(pilot: Pilot[object]) -> None:
    await settle(pilot)
    freeze_cursors(pilot.app)  # type: ignore[arg-type]
    await pilot.pause()


async def _portal_shown(pilot: Pilot[object]) -> None:
    app = pilot.app
    await wait_for(
        pilot, lambda: isinstance(app.screen, PortalScreen) and app.screen.account is not None
    )


def test_portal_login_screen(seeded: tuple[str, int], snap_compare) -> None:
    app = CarrierApp(seeded[0], portal=True)

    async def run_before(pilot: Pilot[object]) -> None:
        await wait_for(
            pilot, lambda: app.store_ready.is_set() and isinstance(app.screen, PortalLoginScreen)
        )
        await _ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_portal_account(seeded: tuple[str, int], snap_compare) -> None:
    app = CarrierApp(seeded[0], portal=True)

    async def run_before(pilot: Pilot[object]) -> None:
        await portal_login(pilot, CONTACT_EMAIL, CONTACT_PASSWORD)
        await _portal_shown(pilot)
        await _ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_operator_portal_login_profile(seeded: tuple[str, int], snap_compare) -> None:
    url, contact_id = seeded
    app = CarrierApp(url)

    async def run_before(pilot: Pilot[object]) -> None:
        await log_in(pilot, "olga")
        assert app.db is not None and app.actor is not None
        app.push_screen(PortalScreen(contacts.portal_login_as(app.db, app.actor, contact_id)))
        await _portal_shown(pilot)
        app.screen.query_one(TabbedContent).active = "profile"
        await _ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
