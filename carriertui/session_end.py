"""How a session ends: the audited logout (Esc, ctrl+q, the idle timeout, the terminal gone) and
the idle watch. A mixin of CarrierApp, kept apart so that app.py stays about screens and keys.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from carriertui.widgets.plain import notify_plain

if TYPE_CHECKING:
    from textual import events
    from textual.app import App

    from carriertui.idle import IdleWatch
    from carriertui.store.contacts.service import PortalIdentity
    from carriertui.store.context import Actor
    from carriertui.store.db.database import Database

    # For the checker the mixin is the App it is mixed into (CarrierApp(SessionEnd, App)); at
    # run time it stays a plain class so that the App comes once in the MRO.
    _AppBase = App[int]
else:
    _AppBase = object

log = logging.getLogger("carriertui")

# How long the end of a session (idle, hangup, SIGTERM) waits for its audited logout.
SESSION_END_WAIT_S = 1.5


class SessionEnd(_AppBase):
    """Needs from the app: ``db``, ``actor``, ``portal``; keeps ``portal_identity`` (the contact
    logged in to `carriertui portal`), ``idle`` and ``ending`` (the exit code once the session
    ends on its own: idle, hangup, SIGTERM; run() then leaves without waiting for workers)."""

    db: Database | None
    actor: Actor | None
    portal: bool
    portal_identity: PortalIdentity | None = None
    # Held by a login in flight from its check of the password until the session records who
    # logged in, and by the session's end while it decides whom to log out: a session that
    # ends (the server killed, a hangup) just after a login was audited still audits its logout.
    login_lock: threading.Lock
    idle: IdleWatch | None = None
    ending: int | None = None
    _session_ending: bool = False

    def _logout_call(self, reason: str) -> Callable[[], None] | None:
        """The audited logout of whoever is logged in here, or None when nobody is."""
        from carriertui.store import sessions

        db, identity, actor = self.db, self.portal_identity, self.actor
        if db is None:
            return None
        if self.portal and identity is not None:
            return lambda: sessions.portal_logout(db, identity, reason)
        if not self.portal and actor is not None:
            return lambda: sessions.operator_logout(db, actor, reason)
        return None

    def record_login(self, authenticate: Callable[[], object]) -> object:
        """In a login's worker: ``authenticate()`` (audits the login, raises on a refusal),
        and the session knows who is logged in before the login's screen is shown."""
        with self.login_lock:
            identity = authenticate()
            if self.portal:
                self.portal_identity = identity  # type: ignore[assignment]
            else:
                self.actor = identity  # type: ignore[assignment]
            return identity

    def _logout_now(self, reason: str) -> None:
        """In a worker, at the end of the session: a login in flight settles first."""
        with self.login_lock:
            call = self._logout_call(reason)
            self.portal_identity = None
        if call is not None:
            call()

    def _audit_logout(self) -> None:
        """Esc in the portal, logout in the TUI: the session's end goes into the audit log."""
        from carriertui.widgets.work import run_service

        call = self._logout_call("")
        self.portal_identity = None
        if call is not None:
            run_service(self, call, on_done=lambda _result: None, group="session-end")

    def _start_idle_watch(self) -> None:
        from carriertui.idle import IdleWatch
        from carriertui.locations import IDLE_MINUTES_DEFAULT, ConfigError, idle_minutes

        section = "portal" if self.portal else "tui"
        try:
            minutes = idle_minutes(section)
        except ConfigError as error:  # a typo must not switch the portal's logout off
            minutes = IDLE_MINUTES_DEFAULT[section]
            notify_plain(self, f"{error}; using {minutes:g}", severity="error", timeout=10)
        if minutes > 0:
            self.idle = IdleWatch(self, minutes * 60, self._idle_timeout)

    async def on_event(self, event: events.Event) -> None:
        if self.idle is not None:
            self.idle.activity(event)
        await super().on_event(event)

    def _idle_timeout(self) -> None:
        from carriertui.idle import _duration

        assert self.idle is not None
        self.end_session(f"idle for {_duration(self.idle.idle_s)}", 0)

    def terminal_gone(self, reason: str, code: int) -> None:
        """The driver saw the terminal go (end of input, EIO, SIGHUP) or got SIGTERM."""
        log.info("ending the session: %s", reason)
        self.end_session(reason, code)

    async def action_quit(self) -> None:
        """ctrl+q: the logout is audited like Esc's, then the app exits."""
        self.end_session("quit", 0, at_once=False)

    def end_session(self, reason: str, code: int, *, at_once: bool = True) -> None:
        """Log out whoever is logged in (audited, naming ``reason``) and exit with ``code``.
        A database that does not answer within SESSION_END_WAIT_S does not hold the exit.
        ``at_once``: run() leaves without waiting for workers (idle, hangup, SIGTERM)."""
        from carriertui.widgets.work import run_service

        if self._session_ending:
            return
        self._session_ending = True
        if at_once:
            self.ending = code
        if self.idle is not None:
            self.idle.stop()
        left = False

        def leave(_result: object = None) -> None:
            nonlocal left
            if not left:
                left = True
                self.exit(code, return_code=code)

        def waited() -> None:
            if not left:
                log.warning(
                    "the end of the session (%s) was not audited within %.1f s; leaving",
                    reason,
                    SESSION_END_WAIT_S,
                )
            leave()

        def failed(error: Exception) -> None:
            log.warning("could not audit the end of the session: %s", error)
            leave()

        self.set_timer(SESSION_END_WAIT_S, waited)
        run_service(
            self,
            lambda: self._logout_now(reason),
            on_done=leave,
            on_error=failed,
            group="session-end",
        )
