"""The Alarms screen (``go: alarms``): active alarms (or the whole history), acknowledge with a
comment, jump to the customer's Summary. Severity and state are words, coloured as well."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from carriertui.grid.memory import InMemoryRowSource
from carriertui.grid.model import Column, Tone, tones
from carriertui.screens.base import BaseScreen, report_error, run_service
from carriertui.widgets.footer import KeyFooter
from carriertui.widgets.grid import Grid, RowActivated
from carriertui.widgets.plain import notify_plain, plain

ALARM_COLUMNS = (
    Column(
        "state",
        "State",
        width=8,
        tone=tones({"raised": Tone.ERROR, "acked": Tone.WARNING, "cleared": Tone.MUTED}),
    ),
    Column(
        "severity",
        "Severity",
        width=8,
        tone=tones({"CRITICAL": Tone.ERROR, "WARNING": Tone.WARNING}),
    ),
    Column("customer", "Customer", width=12),
    Column("metric", "Metric", width=9),
    Column("value", "Value", width=8, align="right"),
    Column("threshold", "Threshold", width=9, align="right"),
    Column("since", "Since", width=6, align="right"),
    Column("ack_by", "Ack by", width=10),
    Column("rule", "Rule", width=20),
    Column("id", "ID", width=5, align="right"),
)
STATE_TEXT = {"raised": "raised", "acknowledged": "acked", "cleared": "cleared"}


def alarms_source(found: list[Any]) -> InMemoryRowSource:
    from carriertui.alarms import format_value
    from carriertui.store.alarms.queries import since

    rows = [
        (
            a.id,
            (
                STATE_TEXT[a.state.value],
                a.severity.value.upper(),
                a.customer_code or a.customer_name,
                a.metric.label,
                format_value(a.metric, a.last_value if a.state.active else a.value),
                format_value(a.metric, a.threshold),
                since(a.raised_at),
                a.acknowledged_by or "",
                a.rule_name,
                str(a.id),
            ),
        )
        for a in found
    ]
    return InMemoryRowSource(ALARM_COLUMNS, rows, name="alarms")


class AcknowledgeScreen(ModalScreen[str | None]):
    """The comment an acknowledgement needs: what is being done about it."""

    HELP = "Say what is being done; Enter acknowledges, {ack.cancel} cancels."
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="ack.cancel"),
    ]

    def __init__(self, title: str) -> None:
        super().__init__()
        self._title = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="ack-dialog"):
            yield Static(plain("Acknowledge alarm"), classes="dialog-title")
            yield Static(plain(self._title), classes="dialog-text")
            yield Input(
                placeholder="e.g. carrier X down, traffic rerouted",
                id="ack-comment",
                compact=True,
                max_length=1000,
            )
            yield Label("", id="ack-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Acknowledge", id="ok", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        comment = self.query_one(Input).value.strip()
        if not comment:
            self.query_one("#ack-error", Label).update(plain("\u26a0 a comment is required"))
            return
        self.dismiss(comment)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class AlarmsScreen(BaseScreen):
    TITLE_TEXT = "Alarms"
    HELP = (
        "Active alarms, newest first: raised (nobody has acknowledged it yet) and acked "
        "(acknowledged, still past its threshold). An alarm clears by itself once its value is "
        "back past the rule's reset threshold. Value is the latest measured.\n\n"
        "{alarms.ack} acknowledges the alarm under the cursor, with a comment; Enter or "
        "{alarms.summary} opens the customer's Summary; {alarms.history} shows cleared alarms "
        "too; {alarms.rules} opens the rules; {alarms.back} goes back."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "acknowledge", "Ack", id="alarms.ack"),
        Binding("o", "summary", "Summary", id="alarms.summary"),
        Binding("c", "history", "History", id="alarms.history"),
        Binding("u", "rules", "Rules", id="alarms.rules"),
        Binding("escape", "back", "Back", id="alarms.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.history = False
        self.found: list[Any] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Label("Loading…", id="alarms-line", classes="tab-hint", markup=False)
        yield Grid(alarms_source([]), enter="activate", id="alarms-grid")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(Grid).focus()
        self.load()

    def alarms_changed(self) -> None:
        """The app's alarm watch saw a change (a raise, a clear, an acknowledgement)."""
        self.load()

    def load(self) -> None:
        from carriertui.alarms import AlarmState
        from carriertui.store import alarms

        app: Any = self.app
        db, actor = app.db, app.actor
        states = () if self.history else (AlarmState.RAISED, AlarmState.ACKNOWLEDGED)
        run_service(
            self,
            lambda: alarms.list_alarms(db, actor, states=states, limit=2000),
            on_done=self._loaded,
            group="alarms-load",
            exclusive=True,
        )

    def _loaded(self, found: list[Any]) -> None:
        self.found = found
        grid = self.query_one(Grid)
        key = grid.view.cursor_key
        grid.set_source(alarms_source(found))
        if key is not None:
            grid.refresh_data(key=key)
        raised = sum(1 for a in found if a.state.value == "raised")
        acked = sum(1 for a in found if a.state.value == "acknowledged")
        what = "All alarms" if self.history else "Active alarms"
        self.query_one("#alarms-line", Label).update(
            plain(f"{what}: {raised} raised, {acked} acknowledged. a ack · o Summary · c history")
        )

    def _current(self) -> Any | None:
        key = self.query_one(Grid).view.cursor_key
        return next((a for a in self.found if a.id == key), None)

    def action_acknowledge(self) -> None:
        from carriertui.store import alarms
        from carriertui.store.enums import Role

        alarm = self._current()
        app: Any = self.app
        if alarm is None:
            return
        if not app.actor.can(Role.OPERATOR):
            notify_plain(app, "Acknowledging needs the operator role.", severity="warning")
            return
        if alarm.state.value != "raised":
            notify_plain(app, f"Alarm {alarm.id} is {alarm.state.value}: nothing to acknowledge.")
            return
        who = alarm.customer_code or alarm.customer_name
        title = f"{alarm.rule_name} - {who} ({alarm.severity.value})"

        def given(comment: str | None) -> None:
            if not comment:
                return
            db, actor = app.db, app.actor
            run_service(
                self,
                lambda: alarms.acknowledge(db, actor, alarm.id, comment),
                on_done=self._acknowledged,
                on_error=lambda error: report_error(app, error),
                group="alarms-ack",
            )

        app.push_screen(AcknowledgeScreen(title), given)

    def _acknowledged(self, alarm: Any) -> None:
        notify_plain(self.app, f"Alarm {alarm.id} acknowledged by {alarm.acknowledged_by}.")
        watch = getattr(self.app, "alarm_watch", None)
        if watch is not None:
            watch.tick()
        self.load()

    @on(RowActivated)
    async def _activated(self) -> None:
        await self.action_summary()

    async def action_summary(self) -> None:
        from carriertui.screens.customer.screen import CustomerScreen

        alarm = self._current()
        if alarm is None:
            return
        screen = CustomerScreen(alarm.customer_id)
        await self.app.push_screen(screen)
        # The customer's record arrives from a worker and focuses the Main tab: switch after it.
        for _ in range(200):
            if screen.record is not None or not screen.is_attached:
                break
            await asyncio.sleep(0.025)
        if screen.is_attached:
            screen.call_after_refresh(setattr, screen.tabs, "active", "summary")

    def action_history(self) -> None:
        self.history = not self.history
        self.load()

    def action_rules(self) -> None:
        from carriertui.screens.alarm_rules import AlarmRulesScreen

        self.app.push_screen(AlarmRulesScreen())

    def action_back(self) -> None:
        self.dismiss()
