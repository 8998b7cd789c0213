"""SVG snapshots of the Contacts tab, the contact form and the Delay Log at 80x24.

Deterministic: the seed and the contacts are written at a fixed time (time_machine), the
delayed change is due at a fixed time, the cursor blink is frozen and workers are waited for.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from carriertui.app import CarrierApp
from carriertui.screens.customer.contact_form import ContactFormScreen
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.screens.delay import DelayLogScreen
from carriertui.store import customers, pending
from carriertui.store.contacts import service as contacts
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from tests.functional.harness import freeze_cursors, log_in, open_db, seed, settle, wait_for

FIXED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SIZE = (80, 24)
ADMIN = Actor("olga", Role.OPERATOR, "192.0.2.10")
CONTACTS = (
    {
        "name": "Eleanor Whitfield",
        "email": "eleanor@atlas.example",
        "phone": "+44 20 7946 0321",
        "mobile": "+44 7911 123456",
        "contact_type": "Billing",
        "email_verified": True,
        "public_notes": "Invoices to accounts payable.",
        "private_notes": "Prefers calls before 11:00.",
    },
    {
        "name": "[@click=app.quit]Raj[/] Patel",  # hostile: shown literally
        "email": "noc@atlas.example",
        "contact_type": "NOC",
        "ip_whitelist": "203.0.113.0/24, 10.20",
    },
)


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(variable, "noc-operator")
    with time_machine.travel(FIXED, tick=False):
        url = seed(tmp_path / "snap.sqlite")
        db = open_db(url)
        atlas = customers.find_customer(db, ADMIN, "Atlas Comms [UK]")
        records = [contacts.create_contact(db, ADMIN, atlas.id, c) for c in CONTACTS]
        pending.schedule_change(
            db,
            ADMIN,
            contacts.TABLE,
            records[0].id,
            {"mobile_verified": True},
            due_at=FIXED + timedelta(hours=2),
            expected_version=records[0].version,
        )
    return url


async def _contacts_tab(pilot: Pilot[object]) -> None:
    app: CarrierApp = pilot.app  # type: ignore[assignment]
    await log_in(pilot)
    await pilot.press("enter")  # Atlas Comms [UK], the first by name
    await wait_for(
        pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
    )
    app.screen.query_one(TabbedContent).active = "contacts"
    grid = app.screen.query_one("#contacts-grid")
    await wait_for(pilot, lambda: grid.view.loaded and grid.view.row_count == 2)


async def _ready(pilot: Pilot[object]) -> None:
    await settle(pilot)
    freeze_cursors(pilot.app)  # type: ignore[arg-type]
    await pilot.pause()


def test_contacts_tab(url: str, snap_compare) -> None:
    async def run_before(pilot: Pilot[object]) -> None:
        await _contacts_tab(pilot)
        await _ready(pilot)

    assert snap_compare(CarrierApp(url), terminal_size=SIZE, run_before=run_before)


def test_contact_form(url: str, snap_compare) -> None:
    app = CarrierApp(url)

    async def run_before(pilot: Pilot[object]) -> None:
        await _contacts_tab(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        await _ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_new_contact_form_with_a_typed_password(url: str, snap_compare) -> None:
    app = CarrierApp(url)

    async def run_before(pilot: Pilot[object]) -> None:
        await _contacts_tab(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        await pilot.press(*"Jane Roe", "tab", *"jane@", "ctrl+g")
        await _ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_delay_log(url: str, snap_compare) -> None:
    app = CarrierApp(url)

    async def run_before(pilot: Pilot[object]) -> None:
        await log_in(pilot)
        app.go_delay_log()
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, DelayLogScreen) and app.screen.query("#delay-grid"),
        )
        grid = app.screen.query_one("#delay-grid")
        await wait_for(pilot, lambda: grid.view.loaded and grid.view.row_count == 1)
        await _ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
