"""The Outbox screen, the customer's Delay and Save, and the app's own background work."""

from __future__ import annotations

import mailbox
import time
from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import Input

from carriertui.app import CarrierApp
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.screens.delay import DelayScreen
from carriertui.screens.outbox import OutboxScreen
from carriertui.store import customers, mail, pending
from carriertui.store.contacts import service as contacts
from carriertui.store.context import Actor
from carriertui.store.db.types import utcnow
from carriertui.store.enums import PendingStatus, Role
from carriertui.widgets.grid import Grid
from tests.functional.harness import grid_column, log_in, open_db, seed, settle, wait_for, wait_grid

SIZE = (80, 24)
ADMIN = Actor("test", Role.ADMIN, "127.0.0.1")


@pytest.fixture
def maildir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "mail"
    monkeypatch.setenv("CARRIERTUI_MAIL_TRANSPORT", "maildir")
    monkeypatch.setenv("CARRIERTUI_MAIL_MAILDIR", str(path))
    return path


async def test_send_now_in_the_outbox_delivers_and_shows_it(tmp_path: Path, maildir: Path) -> None:
    url = seed(tmp_path / "o.sqlite")
    atlas = customers.find_customer(open_db(url), ADMIN, "Atlas Comms [UK]")
    contacts.create_contact(open_db(url), ADMIN, atlas.id, {"name": "J", "email": "j@x.example"})
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        app.go_outbox()
        await wait_for(
            pilot, lambda: isinstance(app.screen, OutboxScreen) and app.screen.query(Grid)
        )
        grid = app.screen.query_one(Grid)
        await wait_grid(pilot, grid)
        status = [column.key for column in grid.view.columns].index("status")
        assert grid_column(grid, status) == ["pending"]
        await pilot.press("n")
        await wait_for(pilot, lambda: grid_column(grid, status) == ["sent"], timeout=20)
    (message,) = list(mailbox.Maildir(maildir))
    assert message["To"] == "j@x.example"
    assert contacts.find_contact(open_db(url), ADMIN, "j@x.example").must_change_password


async def test_delay_and_save_on_the_customer_main_tab(tmp_path: Path) -> None:
    url = seed(tmp_path / "o.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
        )
        screen = app.screen
        channels = screen.query_one("#field-channels", Input)
        channels.value = "99"
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, DelayScreen))
        await pilot.press(*"1h", "enter")
        await wait_for(pilot, lambda: app.screen is screen)
        await wait_for(pilot, lambda: len(pending.list_changes(open_db(url), ADMIN)) == 1)
        await settle(pilot)
        assert channels.value == "10"  # the form shows what is saved now
    (change,) = pending.list_changes(open_db(url), ADMIN)
    assert change.target_table == "customer" and change.changes == {"channels": 99}
    record = customers.find_customer(open_db(url), ADMIN, "Atlas Comms [UK]")
    assert record.channels == 10
    report = pending.run_due(open_db(url), now=change.due_at + timedelta(seconds=1))
    assert report.applied == 1
    assert customers.get_customer(open_db(url), ADMIN, record.id).channels == 99


async def test_the_running_app_applies_due_changes_and_sends_mail(
    tmp_path: Path, maildir: Path
) -> None:
    url = seed(tmp_path / "o.sqlite")
    db = open_db(url)
    atlas = customers.find_customer(db, ADMIN, "Atlas Comms [UK]")
    jane = contacts.create_contact(db, ADMIN, atlas.id, {"name": "Jane", "email": "jane@x.ex"})
    pending.schedule_change(
        db,
        ADMIN,
        contacts.TABLE,
        jane.id,
        {"email_verified": True},
        due_at=utcnow() + timedelta(seconds=1),
        expected_version=jane.version,
    )
    time.sleep(1.1)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        app.run_background()  # what the 30-second timer runs
        await wait_for(
            pilot,
            lambda: pending.list_changes(open_db(url), ADMIN)[0].status is PendingStatus.APPLIED,
        )
        await wait_for(pilot, lambda: len(list(mailbox.Maildir(maildir))) == 1)
    assert contacts.get_contact(open_db(url), ADMIN, jane.id).email_verified
    assert [m.status.value for m in mail.list_messages(open_db(url), ADMIN)] == ["sent"]


async def test_a_background_job_that_starts_failing_is_announced_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong [mail] setting: the operator is told when mail starts failing, not every 30
    seconds, and told again when it works; the other jobs go on meanwhile."""
    url = seed(tmp_path / "o.sqlite")
    monkeypatch.setenv("CARRIERTUI_MAIL_TRANSPORT", "carrier-pigeon")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)

        def toasts() -> list[str]:
            return [str(n.message) for n in app._notifications]

        async def tick() -> None:
            ran = []
            app.run_background(on_done=lambda: ran.append(True))
            await wait_for(pilot, lambda: bool(ran))

        await tick()
        failed = [t for t in toasts() if t.startswith("Background mail failed")]
        assert len(failed) == 1 and "carrier-pigeon" in failed[0]
        assert not any("roll-up failed" in t or "changes failed" in t for t in toasts())
        await tick()  # the same failure again: no second toast
        assert len([t for t in toasts() if t.startswith("Background mail failed")]) == 1
        monkeypatch.setenv("CARRIERTUI_MAIL_TRANSPORT", "maildir")
        monkeypatch.setenv("CARRIERTUI_MAIL_MAILDIR", str(tmp_path / "mail"))
        await tick()
        assert "Background mail works again." in toasts()
