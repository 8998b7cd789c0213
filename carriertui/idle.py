"""The idle logout: after ``idle_minutes`` without a key press or click, the session is logged
out (audited) and the app exits; a notice warns a minute before, and any key keeps the session.

The portal has it on by default (`[portal] idle_minutes`, 15): a forgotten portal session must not
stay logged in. The operator UI has `[tui] idle_minutes`, off by default.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from textual import events
from textual.notifications import Notification, Notify

from carriertui.text import sanitize

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

WARN_BEFORE_S = 60.0
# What counts as the user being there. Not a mouse move: a pointer resting over a browser tab
# (textual-serve) or a terminal moves without anyone at the keyboard.
ACTIVITY = (
    events.Key,
    events.MouseDown,
    events.MouseScrollDown,
    events.MouseScrollUp,
    events.Paste,
)


def _duration(seconds: float) -> str:
    if seconds >= 90:
        minutes = round(seconds / 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    whole = max(1, round(seconds))
    return f"{whole} second{'s' if whole != 1 else ''}"


class IdleWatch:
    """Counts the time since the last key press or click on ``app``; ``warn`` before
    ``idle_s`` a notice says when the session ends, and at ``idle_s`` ``on_timeout`` runs once.

    ``clock`` (monotonic seconds) is injectable for tests; the check runs every second (more
    often for a short setting).
    """

    def __init__(
        self,
        app: App[Any],
        idle_s: float,
        on_timeout: Callable[[], None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.idle_s = idle_s
        self.warn_s = min(WARN_BEFORE_S, idle_s / 2)
        self.on_timeout = on_timeout
        self.clock = clock
        self.last_activity = clock()
        self.warning: Notification | None = None
        self.fired = False
        self._timer: Timer = app.set_interval(min(1.0, max(0.05, self.warn_s / 5)), self.check)

    def activity(self, event: events.Event) -> None:
        """Called for every input event the app receives."""
        if isinstance(event, ACTIVITY) and not self.fired:
            self.touch()

    def touch(self) -> None:
        self.last_activity = self.clock()
        if self.warning is not None:
            notification, self.warning = self.warning, None
            # Queued behind the Notify that shows it, should that not be handled yet.
            self.app.call_later(self.app._unnotify, notification)

    def stop(self) -> None:
        self._timer.stop()

    def check(self) -> None:
        if self.fired:
            return
        idle = self.clock() - self.last_activity
        if idle >= self.idle_s:
            self.fired = True
            self.stop()
            self.on_timeout()
        elif idle >= self.idle_s - self.warn_s and self.warning is None:
            self._warn(self.idle_s - idle)

    def _warn(self, remaining_s: float) -> None:
        at = datetime.now(UTC) + timedelta(seconds=remaining_s)
        message = (
            f"No key pressed for {_duration(self.idle_s - remaining_s)}: you will be logged out "
            f"at {at:%H:%M:%S} UTC (in {_duration(remaining_s)}). Press any key to stay "
            "logged in."
        )
        self.warning = Notification(
            sanitize(message),
            "Idle",
            "warning",
            remaining_s + 5,
            markup=False,
        )
        self.app.post_message(Notify(self.warning))
