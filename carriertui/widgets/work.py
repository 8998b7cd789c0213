"""Running service calls off the UI thread: the helpers every screen and reusable widget uses.

A service call (SQL, argon2, SMTP) runs in a thread worker; its answer, or its error, comes back
on the UI thread. Widgets import this module, not a screen's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from textual.dom import DOMNode
from textual.worker import Worker, get_current_worker

from carriertui.widgets.plain import notify_plain

if TYPE_CHECKING:
    from carriertui.store.context import Actor
    from carriertui.store.db.database import Database


class CarrierSession(Protocol):
    """What a screen or widget needs of the app to call a service: the open database and who is
    logged in (None before the login). The app (CarrierApp) is one; a test's bare app may be."""

    db: Database | None
    actor: Actor | None


class NotLoggedInError(RuntimeError):
    """A service call was asked for before the login or after the logout."""


def session_of(node: DOMNode) -> tuple[Database, Actor]:
    """The database and the actor of ``node``'s app, for a service call: never None (a screen
    that calls a service exists only while someone is logged in)."""
    session: CarrierSession = node.app  # type: ignore[assignment]
    db, actor = session.db, session.actor
    if db is None or actor is None:
        raise NotLoggedInError("no one is logged in")
    return db, actor


def run_service(
    node: DOMNode,
    call: Callable[[], Any],
    *,
    on_done: Callable[[Any], object],
    on_error: Callable[[Exception], object] | None = None,
    group: str = "service",
    exclusive: bool = False,
    description: str = "",
) -> Worker[None]:
    """Run ``call`` (a service call: SQL, argon2, SMTP) in a thread worker.

    ``on_done``/``on_error`` run back on the UI thread. With ``exclusive`` a newer call in the same
    group cancels the older one, and a cancelled call's result is dropped, so a slow stale query
    never overwrites a newer answer.
    """

    def work() -> None:
        worker = get_current_worker()
        try:
            result = call()
        except Exception as error:
            if worker.is_cancelled:
                return
            if on_error is None:
                node.app.call_from_thread(report_error, node.app, error)
            else:
                node.app.call_from_thread(on_error, error)
            return
        if not worker.is_cancelled:
            node.app.call_from_thread(on_done, result)

    return node.run_worker(
        work,
        thread=True,
        group=group,
        exclusive=exclusive,
        description=description,
        exit_on_error=False,
    )


def focus_when_ready(node: DOMNode, widget: Any) -> None:
    """Give ``widget`` the keys once the form's data is in, but only after the keys typed
    while it loaded (already queued) have gone by: they reach a screen with nothing focused
    and do nothing, instead of replacing the first field's text."""

    def focus() -> None:
        if widget.is_attached:
            widget.focus()

    node.call_after_refresh(focus)


def report_error(app: Any, error: Exception) -> None:
    """Show an error to the operator. Expected errors (the store's) as they are; database errors
    by their class (connection, busy, a limit of the input, internal), as the CLI says them;
    others briefly, with the traceback in the log file (never a password: services never put
    one in an exception)."""
    from carriertui.logfile import log_unexpected
    from carriertui.store import errors  # the store is loaded before any service runs

    if isinstance(error, errors.StoreError):
        notify_plain(app, str(error), severity="error", timeout=8)
        return
    failure = errors.database_failure(error)
    if failure is not None:
        kind, detail = failure
        hint = log_unexpected("database error", error) if kind == errors.INTERNAL else ""
        from carriertui.store.db.engine import redacted_url

        db = getattr(app, "db", None)
        where = redacted_url(db.url) if db is not None else "the database"
        text = errors.describe_database_failure(kind, detail, where, hint)
        notify_plain(app, text, severity="error", timeout=10)
        return
    where = log_unexpected("unexpected error", error)
    notify_plain(
        app,
        f"Unexpected error: {type(error).__name__}: {error} (details in {where})",
        severity="error",
        timeout=10,
    )
