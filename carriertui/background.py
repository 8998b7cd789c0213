"""The running app's scheduled work: roll-ups of new CDRs, due delayed changes and outgoing mail
every BACKGROUND_INTERVAL_S, mail sent at once after a save that queued it, and this session
following what an admin changed of its account. A mixin of CarrierApp."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from carriertui.widgets.plain import notify_plain

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

    from carriertui.store.context import Actor
    from carriertui.store.db.database import Database

    _AppBase = App[int]  # for the checker the mixin is the App it is mixed into
else:
    _AppBase = object

log = logging.getLogger("carriertui")

_UNCHECKED = object()  # the background run could not read the logged-in account this time

# How often the running app rolls up new CDRs, applies due delayed changes and sends due mail.
BACKGROUND_INTERVAL_S = 30.0


class BackgroundWork(_AppBase):
    """Needs from the app: ``db``, ``actor``, ``database_url``, ``action_logout``; keeps the
    timer, the jobs' last failures and the outbox kick's state (set in CarrierApp.__init__)."""

    if TYPE_CHECKING:
        db: Database | None
        actor: Actor | None
        database_url: str
        _background_timer: Timer | None
        _background_failures: dict[str, str]
        _outbox_kick_running: bool
        _outbox_kick_again: bool

        def action_logout(self) -> None: ...

    def _follow_account(self, account: object) -> None:
        """Apply to this session what an admin changed of its account: disabled or removed
        logs out; another role takes effect at once (keys and services follow app.actor)."""
        from dataclasses import replace

        actor = self.actor
        assert actor is not None
        disabled = account is None or getattr(account, "is_disabled", False)
        if disabled:
            notify_plain(
                self,
                f"The account {actor.name} was disabled by an admin: logged out.",
                severity="error",
                timeout=15,
            )
            self.action_logout()
            return
        role = getattr(account, "role", actor.role)
        if role != actor.role:
            self.actor = replace(actor, role=role)
            notify_plain(
                self,
                f"An admin changed your role to {role.value}: what you may do changed with it.",
                severity="warning",
                timeout=12,
            )
            self.screen.refresh_bindings()

    def _announce_background_changes(self, failures: dict[str, str]) -> None:
        """A toast when a background job starts failing or fails differently (a wrong [mail]
        setting, a database that stays busy), and one when it works again."""
        before = self._background_failures
        for name, error in failures.items():
            if before.get(name) != error:
                notify_plain(
                    self,
                    f"Background {name} failed (retried every {BACKGROUND_INTERVAL_S:.0f} s): "
                    f"{error}",
                    severity="warning",
                    timeout=12,
                )
        for name in before.keys() - failures.keys():
            notify_plain(self, f"Background {name} works again.", timeout=6)

    def _start_background(self) -> None:
        if self._background_timer is None:
            self._background_timer = self.set_interval(
                BACKGROUND_INTERVAL_S, lambda: self.run_background()
            )

    def run_background(
        self, *, on_done: Callable[[], None] | None = None, announce: bool = False
    ) -> None:
        """Roll up new CDRs, apply due delayed changes and send due mail, in a worker (the same
        services as `carriertui rollup`, `pending run` and `mail send`; safe beside them)."""
        from carriertui.widgets.work import run_service

        db = self.db
        if db is None:
            return
        url = self.database_url
        actor = self.actor

        def work() -> tuple[str, dict[str, str], object]:
            from carriertui.locations import mail_config
            from carriertui.store import mail, operators, pending, rollups
            from carriertui.store.context import client_ip
            from carriertui.store.errors import NotFoundError

            # The logged-in account as it is now: an admin may have changed its role or
            # disabled it since the login (None: the account is gone).
            account: object = _UNCHECKED
            if actor is not None:
                try:
                    account = operators.get_operator(db, actor, actor.name)
                except NotFoundError:
                    account = None
                except Exception as error:
                    log.warning("background account check failed: %s", error)

            def mail_run() -> str:
                settings = mail.MailSettings.from_config(mail_config(url))
                sent = mail.flush_outbox(
                    db, settings.transport_object(), sender=settings.sender, ip=client_ip()
                )
                problem = sent.problem()  # nothing went out: a failure worth a notice
                if problem is not None:
                    raise mail.MailDeliveryError(problem)
                return f"mail via {settings.describe()}: {sent}"

            # Three independent jobs: one failing (a busy database, a wrong [mail] setting)
            # must not hold up the others.
            parts = []
            failures: dict[str, str] = {}
            for name, job in (
                ("roll-up", lambda: str(rollups.rollup_incremental(db))),
                ("delayed changes", lambda: str(pending.run_due(db))),
                ("mail", mail_run),
            ):
                try:
                    parts.append(f"{name}: {job()}")
                except Exception as error:
                    log.warning("background %s failed: %s", name, error)
                    parts.append(f"{name} failed: {error}")
                    failures[name] = str(error)
            return ". ".join(parts) + ".", failures, account

        def done(result: tuple[str, dict[str, str], object]) -> None:
            summary, failures, account = result
            if announce:
                notify_plain(self, summary, timeout=6)
            else:
                self._announce_background_changes(failures)
            self._background_failures = failures
            if actor is not None and self.actor is actor and account is not _UNCHECKED:
                self._follow_account(account)
            if on_done is not None:
                on_done()

        def failed(error: Exception) -> None:
            log.warning("background work failed: %s", error)
            if announce:
                from carriertui.widgets.work import report_error

                report_error(self, error)

        run_service(self, work, on_done=done, on_error=failed, group="background", exclusive=False)

    def kick_outbox(self) -> None:
        """Send due mail now, in a worker: called after a save that queued mail commits, so the
        message leaves at once instead of on the next background run (up to 30 s later).

        Kicks that arrive while a send runs are folded into one more send after it (the flag is
        only touched on the UI thread, so no kick is lost). A timer run or another process
        flushing at the same time is safe: each message is claimed atomically. A failure here is
        only logged; the background run retries the message and tells the operator."""
        from carriertui.widgets.work import run_service

        db = self.db
        if db is None:
            return
        if self._outbox_kick_running:
            self._outbox_kick_again = True
            return
        self._outbox_kick_running = True
        self._outbox_kick_again = False
        url = self.database_url

        def work() -> object:
            from carriertui.locations import mail_config
            from carriertui.store import mail
            from carriertui.store.context import client_ip

            settings = mail.MailSettings.from_config(mail_config(url))
            return mail.flush_outbox(
                db, settings.transport_object(), sender=settings.sender, ip=client_ip()
            )

        def finished(outcome: object) -> None:
            if isinstance(outcome, Exception):
                log.warning("sending mail now failed (the background run retries): %s", outcome)
            self._outbox_kick_running = False
            if self._outbox_kick_again:
                self.kick_outbox()

        run_service(self, work, on_done=finished, on_error=finished, group="outbox-kick")
