"""The idle logout at 80x24, with a short setting (0.05 min = 3 s: the warning 1.5 s before):
the warning says when, a key keeps the session, and then the logout is audited and the app
exits. The portal has it by default; the operator UI only when `[tui] idle_minutes` is set."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets._toast import Toast

from carriertui.app import CarrierApp
from carriertui.screens.customers import CustomersScreen
from carriertui.screens.portal import PortalScreen
from carriertui.screens.portal_login import PortalLoginScreen
from carriertui.store import audit
from tests.functional.harness import log_in, open_db, seed, wait_for
from tests.functional.portal_harness import ADMIN, CONTACT_EMAIL, portal_login, seed_portal
from tests.functional.portal_harness import CONTACT_PASSWORD as PORTAL_PASSWORD

SIZE = (80, 24)
IDLE_MINUTES = "0.05"  # 3 s; the warning comes at half of it for a setting under 2 minutes


def _toasts(app: CarrierApp) -> list[str]:
    return [str(toast._notification.message) for toast in app.screen.query(Toast)]


def _warning(app: CarrierApp) -> str | None:
    return next((text for text in _toasts(app) if "logged out at" in text), None)


async def _wait_exit(app: CarrierApp, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while app.is_running and app.return_code is None:
        assert loop.time() < deadline, "the app did not exit"
        await asyncio.sleep(0.05)


def _entries(url: str) -> list[audit.AuditRecord]:
    return audit.list_entries(open_db(url), ADMIN)


async def test_idle_portal_is_warned_kept_by_a_key_then_logged_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARRIERTUI_PORTAL_IDLE_MINUTES", IDLE_MINUTES)
    url, contact_id = seed_portal(tmp_path)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await portal_login(pilot, CONTACT_EMAIL, PORTAL_PASSWORD)
        await wait_for(pilot, lambda: isinstance(app.screen, PortalScreen))
        assert app.idle is not None and app.idle.idle_s == 3

        await wait_for(pilot, lambda: _warning(app) is not None, timeout=5)
        warning = _warning(app)
        assert warning is not None
        assert "you will be logged out at" in warning and " UTC (in " in warning
        assert "Press any key to stay logged in." in warning
        kept_at = asyncio.get_running_loop().time()
        await pilot.press("down")  # any key
        await wait_for(pilot, lambda: _warning(app) is None, timeout=2)
        # Past the moment it would have logged out without the key: still there.
        await pilot.pause(2.0)
        assert app.is_running and isinstance(app.screen, PortalScreen)
        assert [e.action for e in _entries(url)][:1] == ["LOGIN"]

        await wait_for(pilot, lambda: _warning(app) is not None, timeout=5)
        await _wait_exit(app)
        assert asyncio.get_running_loop().time() - kept_at >= 3
    assert app.return_code == 0
    logout = _entries(url)[0]
    assert (logout.action, logout.actor) == ("LOGOUT", "Portal")
    assert logout.primary_key == str(contact_id)
    assert logout.message == f"Portal logout of Jane Doe <{CONTACT_EMAIL}> (idle for 3 seconds)"


async def test_idle_portal_login_screen_exits_without_an_audit_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody logged in: the forgotten login screen still ends (and frees the SSH session)."""
    monkeypatch.setenv("CARRIERTUI_PORTAL_IDLE_MINUTES", IDLE_MINUTES)
    url, _ = seed_portal(tmp_path)
    before = len(_entries(url))
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        assert isinstance(app.screen, PortalLoginScreen)
        await wait_for(pilot, lambda: _warning(app) is not None, timeout=5)
        await _wait_exit(app)
    assert len(_entries(url)) == before


async def test_portal_idle_logout_is_on_by_default(tmp_path: Path) -> None:
    url, _ = seed_portal(tmp_path)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE, notifications=True):
        assert app.idle is not None and app.idle.idle_s == 15 * 60
        assert app.idle.warn_s == 60


async def test_portal_escape_logout_is_audited(tmp_path: Path) -> None:
    """Esc goes through the same audited logout as the idle timeout."""
    url, contact_id = seed_portal(tmp_path)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await portal_login(pilot, CONTACT_EMAIL, PORTAL_PASSWORD)
        await wait_for(pilot, lambda: isinstance(app.screen, PortalScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PortalLoginScreen))
        await wait_for(pilot, lambda: _entries(url)[0].action == "LOGOUT")
    logout = _entries(url)[0]
    assert logout.message == f"Portal logout of Jane Doe <{CONTACT_EMAIL}>"
    assert logout.primary_key == str(contact_id)


async def test_operator_ui_has_no_idle_logout_by_default(tmp_path: Path) -> None:
    url = seed(tmp_path / "ops.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE, notifications=True):
        assert app.idle is None


async def test_idle_operator_is_logged_out_when_tui_idle_minutes_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARRIERTUI_TUI_IDLE_MINUTES", IDLE_MINUTES)
    url = seed(tmp_path / "ops.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        assert isinstance(app.screen, CustomersScreen)
        await wait_for(pilot, lambda: _warning(app) is not None, timeout=5)
        await _wait_exit(app)
    logout = _entries(url)[0]
    assert (logout.action, logout.actor, logout.table) == ("LOGOUT", "alice", "operator")
    assert logout.message == "Logout of alice (idle for 3 seconds)"


async def test_a_bad_idle_setting_keeps_the_portal_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARRIERTUI_PORTAL_IDLE_MINUTES", "forever")
    url, _ = seed_portal(tmp_path)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert app.idle is not None and app.idle.idle_s == 15 * 60
        assert any("idle_minutes" in text for text in _toasts(app))


async def test_a_session_ending_just_after_an_audited_login_audits_its_logout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server killed (or the SSH connection dropped) right after the login was written to
    the audit log, before the portal was shown: the logout is audited all the same (it used to
    exit without one, as nobody was logged in yet on screen)."""
    import threading

    from carriertui.store.contacts import service as contacts

    url, contact_id = seed_portal(tmp_path)
    audited = threading.Event()
    real = contacts.authenticate

    def authenticate_then_pause(*args: object) -> object:
        identity = real(*args)  # type: ignore[arg-type]
        audited.set()  # the LOGIN is committed; the login screen has not heard of it yet
        threading.Event().wait(0.5)
        return identity

    monkeypatch.setattr(contacts, "authenticate", authenticate_then_pause)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.store_ready.is_set())
        screen = app.screen
        screen.query_one("#portal-email").value = CONTACT_EMAIL  # type: ignore[attr-defined]
        password = screen.query_one("#portal-password")
        password.value = PORTAL_PASSWORD  # type: ignore[attr-defined]
        password.focus()
        await pilot.press("enter")
        await wait_for(pilot, audited.is_set)
        app.terminal_gone("hangup: SIGHUP", 129)
        await _wait_exit(app)
    assert app.return_code == 129
    logout, login = _entries(url)[:2]
    assert (login.action, logout.action) == ("LOGIN", "LOGOUT")
    assert logout.primary_key == str(contact_id)
    assert logout.message == f"Portal logout of Jane Doe <{CONTACT_EMAIL}> (hangup: SIGHUP)"
