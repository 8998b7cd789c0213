"""Mail queued by a save leaves right after the save commits, not on the next background run.

A real SMTP server on loopback (aiosmtpd), the app's background interval left at its 30 s: the
password email of a contact added with Auto & Email, and of a Change Password reset, reaches the
server within 3 s of the key press that saved it (issue 12, item 18: it used to leave 22-26 s
later, on the timer's tick).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from carriertui import app as app_module
from carriertui.app import CarrierApp
from carriertui.screens.customer.contact_form import ContactFormScreen
from carriertui.screens.customer.contact_password import ContactPasswordScreen
from carriertui.store import customers, mail
from carriertui.store.contacts import service as contacts
from carriertui.store.context import Actor
from carriertui.store.enums import OutboxStatus, Role
from tests.functional.harness import open_db, seed, settle, wait_for
from tests.functional.test_contacts import _contacts_tab
from tests.unit.test_mail import Collector, unused_port

SIZE = (80, 24)
ADMIN = Actor("test", Role.ADMIN, "127.0.0.1")
FIRST = "Atlas Comms [UK]"  # the first customer by name in the seed
WITHIN_S = 3.0


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    """An SMTP server on loopback, configured as the app's [mail] through the environment."""
    port = unused_port()
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("CARRIERTUI_MAIL_HOST", "127.0.0.1")
    monkeypatch.setenv("CARRIERTUI_MAIL_PORT", str(port))
    monkeypatch.setenv("CARRIERTUI_MAIL_FROM", "noc@carrier.example")
    yield collector
    controller.stop()


async def _arrives(pilot, smtp: Collector, count: int, started: float) -> float:
    await wait_for(pilot, lambda: len(smtp.messages) >= count, timeout=WITHIN_S)
    return time.monotonic() - started


async def test_a_contact_added_with_auto_and_email_is_mailed_at_once(
    tmp_path: Path, smtp: Collector
) -> None:
    assert app_module.BACKGROUND_INTERVAL_S == 30.0  # the timer alone would take up to 30 s
    url = seed(tmp_path / "m.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        await pilot.press(*"Jane Roe", "tab", *"jane@example.com")
        started = time.monotonic()
        await pilot.press("ctrl+g")  # Save (Auto & Email is on by default)
        elapsed = await _arrives(pilot, smtp, 1, started)
        await settle(pilot)
    assert elapsed <= WITHIN_S
    ((recipients, message),) = smtp.messages
    assert recipients == ["jane@example.com"]
    assert message["Subject"] == "Your customer portal login"
    assert "Your password: " in message.get_payload()
    db = open_db(url)
    (queued,) = mail.list_messages(db, ADMIN)
    assert queued.status is OutboxStatus.SENT and queued.attempts == 1
    assert contacts.find_contact(db, ADMIN, "jane@example.com").must_change_password


async def test_a_change_password_reset_is_mailed_at_once(tmp_path: Path, smtp: Collector) -> None:
    url = seed(tmp_path / "m.sqlite")
    atlas = customers.find_customer(open_db(url), ADMIN, FIRST)
    contacts.create_contact(
        open_db(url), ADMIN, atlas.id, {"name": "Jane Roe", "email": "jane@example.com"}
    )
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        # The welcome email queued before the app started waits for the timer: the kick comes
        # from a save in this session, not from the login.
        await settle(pilot)
        assert smtp.messages == []
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("down", "enter")  # Edit, then Change Password
        await wait_for(pilot, lambda: isinstance(app.screen, ContactPasswordScreen))
        started = time.monotonic()
        await pilot.press("ctrl+s")  # Auto Generate & Email is the default
        elapsed = await _arrives(pilot, smtp, 2, started)
        await settle(pilot)
    assert elapsed <= WITHIN_S
    # One flush sends what is due: the waiting welcome email and the reset, oldest first.
    assert [message["Subject"] for _, message in smtp.messages] == [
        "Your customer portal login",
        "Your new customer portal password",
    ]
    statuses = [queued.status for queued in mail.list_messages(open_db(url), ADMIN)]
    assert statuses == [OutboxStatus.SENT, OutboxStatus.SENT]
