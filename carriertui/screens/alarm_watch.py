"""The running app's alarm watch: every few seconds (``[alarms] watch_seconds``, default 1) it
reads the alarm counts, toasts each alarm raised since the last look (by this process or any
other: a `cdr import`, cron's `alarms check`, another operator's app), and keeps the raised
count in every screen's top bar. With ``[alarms] evaluate`` on (off by default) it also
evaluates the rules first, so an import from anywhere toasts within about a second of its
commit.

The reads are two small queries in a worker; evaluation takes the write lock only when there
are CDRs past the watermark (store/alarms/evaluation.py, ``pending_work``).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from carriertui.widgets.plain import notify_plain
from carriertui.widgets.work import run_service

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

    from carriertui.store.alarms import AlarmCounts, AlarmRecord

log = logging.getLogger("carriertui")


def alarm_toast_text(alarm: AlarmRecord) -> str:
    from carriertui.alarms import format_value

    who = alarm.customer_code or alarm.customer_name
    return (
        f"ALARM {alarm.severity.value.upper()}: {alarm.rule_name} - {who}: "
        f"{alarm.metric.label} {format_value(alarm.metric, alarm.value)} "
        f"(threshold {format_value(alarm.metric, alarm.threshold)})"
    )


class AlarmWatch:
    def __init__(self, app: App[Any], *, interval_s: float, evaluate: bool) -> None:
        self.app = app
        self.evaluate = evaluate
        self.interval_s = interval_s
        self.counts: AlarmCounts | None = None
        self.last_toast_at: float | None = None  # time.monotonic() of the last alarm toast
        self._seen_id: int | None = None  # alarms above this are new (None: not read yet)
        self._running = False
        self._failing: str | None = None
        self._timer: Timer | None = app.set_interval(interval_s, self.tick)
        self.tick()

    @property
    def raised(self) -> int:
        return self.counts.raised if self.counts is not None else 0

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def tick(self) -> None:
        app: Any = self.app
        db, actor = app.db, app.actor
        if db is None or actor is None or self._running or self._timer is None:
            return
        self._running = True
        seen, evaluate = self._seen_id, self.evaluate

        def work() -> tuple[AlarmCounts, list[AlarmRecord]]:
            from carriertui.store import alarms

            if evaluate:
                alarms.evaluate(db, alarms.alarm_actor())
            counts = alarms.alarm_counts(db, actor)
            new: list[AlarmRecord] = []
            if seen is not None and counts.latest_id > seen:
                new = alarms.list_alarms(db, actor, after_id=seen, limit=20)
            return counts, new

        run_service(app, work, on_done=self._done, on_error=self._failed, group="alarm-watch")

    def _done(self, result: tuple[AlarmCounts, list[AlarmRecord]]) -> None:
        self._running = False
        counts, new = result
        if self._failing is not None:
            notify_plain(self.app, "The alarm watch works again.", timeout=5)
            self._failing = None
        self._seen_id = counts.latest_id
        for alarm in reversed(new):  # oldest first
            notify_plain(
                self.app,
                alarm_toast_text(alarm),
                severity="error" if alarm.severity.value == "critical" else "warning",
                timeout=20,
            )
            self.last_toast_at = time.monotonic()
        changed = self.counts != counts
        self.counts = counts
        if changed or new:
            self._changed()

    def _failed(self, error: Exception) -> None:
        self._running = False
        text = str(error)
        log.warning("alarm watch failed: %s", text)
        if text != self._failing:
            self._failing = text
            notify_plain(self.app, f"The alarm watch failed (retrying): {text}", severity="warning")

    def _changed(self) -> None:
        """Every top bar shows the new count; an open Alarms screen reloads its grid."""
        from carriertui.screens.base import TopBar

        for screen in self.app.screen_stack:
            for bar in screen.query(TopBar):
                bar.refresh_bar()
            reload = getattr(screen, "alarms_changed", None)
            if callable(reload):
                reload()
