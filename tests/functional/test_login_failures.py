"""A login that fails for a reason other than the password, at 80x24: a portal customer reads
that the portal is not available (never a path, an address or a driver's message: those go to the
log); an operator reads the failure by its class, as the CLI says it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from textual.widgets import Label

from carriertui import locations, logfile
from carriertui.app import CarrierApp
from carriertui.screens.login import CredentialsScreen
from tests.functional.harness import wait_for
from tests.functional.portal_harness import (
    CONTACT_EMAIL,
    CONTACT_PASSWORD,
    portal_login,
    seed_portal,
)

SIZE = (80, 24)
UNAVAILABLE = CredentialsScreen.CUSTOMER_UNAVAILABLE


def _status(app: CarrierApp) -> Label:
    return app.screen.query_one("#login-status", Label)


def _log_text() -> str:
    path = locations.log_path()
    return path.read_text(encoding="utf-8") if path.exists() else ""


async def test_a_portal_on_a_broken_database_file_names_no_path(tmp_path: Path) -> None:
    broken = tmp_path / "secret-location" / "carrier.sqlite"
    broken.parent.mkdir()
    broken.write_bytes(b"this is not an SQLite database, it is a text file\n" * 200)
    logfile.configure()  # as `carriertui portal` does before it starts the app
    app = CarrierApp(f"sqlite:///{broken}", portal=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: _status(app).has_class("-error"))
        shown = str(_status(app).render())
        assert shown == UNAVAILABLE
        assert "secret-location" not in shown
        assert "sqlite" not in shown.lower()
    assert "secret-location" in _log_text()  # the operators can still find out why


def _hide_the_contacts(url: str) -> None:
    """The database goes wrong after the app opened it: the contacts' table is gone."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as raw:
        raw.execute("ALTER TABLE contact RENAME TO contact_gone")


async def test_a_portal_login_that_hits_a_database_error_tells_the_customer_only_unavailable(
    tmp_path: Path,
) -> None:
    url, _ = seed_portal(tmp_path)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.db is not None)
        _hide_the_contacts(url)
        await portal_login(pilot, CONTACT_EMAIL, CONTACT_PASSWORD)
        await wait_for(pilot, lambda: _status(app).has_class("-error"))
        assert str(_status(app).render()) == UNAVAILABLE
    log = _log_text()
    assert "portal login failed" in log
    assert "no such table: contact" in log


async def test_an_operator_login_that_hits_a_database_error_reads_its_class(
    tmp_path: Path,
) -> None:
    from textual.widgets import Input

    url, _ = seed_portal(tmp_path)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.db is not None)
        with sqlite3.connect(url.removeprefix("sqlite:///")) as raw:
            raw.execute("ALTER TABLE operator RENAME TO operator_gone")
        app.screen.query_one("#login-name", Input).value = "admin"
        app.screen.query_one("#login-password", Input).value = "a password of some length"
        await pilot.press("enter")
        await wait_for(pilot, lambda: _status(app).has_class("-error"))
        shown = str(_status(app).render())
    assert shown.startswith(f"internal database error on {url}: ")
    assert "no such table: operator" in shown
    assert f"(details in {locations.log_path()})" in shown
