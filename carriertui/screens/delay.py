"""Delay and Save: choosing when a change applies, and the Delay Log of pending changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from carriertui.grid.model import Query, SortKey
from carriertui.screens.base import BaseScreen, report_error, run_service
from carriertui.store.enums import Role
from carriertui.widgets.footer import KeyFooter
from carriertui.widgets.format import utc
from carriertui.widgets.grid import Grid
from carriertui.widgets.plain import notify_plain, plain
from carriertui.widgets.work import session_of

DELAY_LOG_QUERY = Query(sort=(SortKey("due_at", descending=True),))
PRESETS = (("15m", "15 min"), ("1h", "1 hour"), ("4h", "4 hours"), ("1d", "1 day"))


class DelayScreen(ModalScreen[datetime | None]):
    """Choose a delay (30m, 2h, 1d, 1h30m) or a UTC time; dismisses with the due time."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel", id="delay.cancel")
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="delay-dialog"):
            yield Static("Delay and Save", classes="dialog-title")
            yield Static(
                "The change waits in the Delay Log and is applied at its time. If someone "
                "edits the record before then, it is not applied (a conflict).",
                classes="dialog-text",
            )
            with Horizontal(classes="dialog-buttons", id="delay-presets"):
                for value, label in PRESETS:
                    yield Button(label, id=f"preset-{value}", compact=True)
            yield Input(
                placeholder="a delay (30m, 2h, 1d, 1h30m) or a UTC time (2026-12-01 08:00)",
                id="delay-when",
                compact=True,
            )
            yield Label("", id="delay-error", markup=False, classes="field-error-text")
            yield Label("", id="delay-preview", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Schedule", id="schedule", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Button.Pressed, "#delay-presets Button")
    def _preset(self, event: Button.Pressed) -> None:
        assert event.button.id is not None
        self.query_one(Input).value = event.button.id.removeprefix("preset-")
        self.query_one(Input).focus()

    def _parse(self, text: str) -> datetime | None:
        from carriertui.store.errors import ValidationError
        from carriertui.store.pending import parse_due

        error = self.query_one("#delay-error", Label)
        try:
            due = parse_due(text)
        except ValidationError as problem:
            error.update(plain(f"\u26a0 {problem.message}"))
            return None
        error.update("")
        return due

    @on(Input.Changed)
    def _preview(self, event: Input.Changed) -> None:
        preview = self.query_one("#delay-preview", Label)
        if not event.value.strip():
            preview.update("")
            return
        due = self._parse(event.value)
        preview.update(plain(f"Applies at {utc(due)} UTC" if due else ""))

    @on(Input.Submitted)
    @on(Button.Pressed, "#schedule")
    def _schedule(self) -> None:
        due = self._parse(self.query_one(Input).value)
        if due is not None:
            self.dismiss(due)

    @on(Button.Pressed, "#cancel")
    def action_close(self) -> None:
        self.dismiss(None)


class DelayLogScreen(BaseScreen):
    TITLE_TEXT = "Delay Log"
    HELP = (
        "Delayed changes (Delay and Save), latest due first: pending ones wait for their time; "
        "applied, conflict (the record was edited after scheduling, so nothing was applied), "
        "failed and cancelled ones stay listed. The running app applies due changes every 30 "
        "seconds; `carriertui pending run` does it from cron.\n\n"
        "{delaylog.cancel} cancels the pending change under the cursor. {delaylog.back} goes "
        "back."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cancel_change", "Cancel change", id="delaylog.cancel"),
        Binding("escape", "back", "Back", id="delaylog.back"),
    ]

    def compose(self) -> ComposeResult:
        from carriertui.store import pending

        app: Any = self.app
        yield from self.compose_top()
        yield Label(
            "Pending and past delayed changes. c cancels a pending one.",
            classes="tab-hint",
            markup=False,
        )
        yield Grid(
            pending.grid_source(app.db, app.actor),
            query=DELAY_LOG_QUERY,
            watch_new=10.0,
            id="delay-grid",
        )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(Grid).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_change":
            actor = self.carrier.actor
            return actor is not None and actor.can(Role.OPERATOR)
        return True

    def action_cancel_change(self) -> None:
        from carriertui.store import pending
        from carriertui.widgets.confirm import ConfirmScreen

        grid = self.query_one(Grid)
        view = grid.view
        row = view.row_at(view.cursor[0])
        if row is None:
            return
        change_id, values = int(row[0]), row[1]
        status, description = values[1], values[2]
        if status != "pending":
            notify_plain(self.app, f"That change is {status}, not pending", timeout=4)
            return
        db, actor = session_of(self)

        def answered(yes: bool | None) -> None:
            if not yes:
                return

            def cancelled(_record: object) -> None:
                notify_plain(self.app, "Delayed change cancelled", timeout=3)
                grid.refresh_data()

            run_service(
                self,
                lambda: pending.cancel_change(db, actor, change_id),
                on_done=cancelled,
                on_error=lambda error: report_error(self.app, error),
            )

        self.app.push_screen(
            ConfirmScreen(f"Cancel this delayed change? {description}", "Cancel it", "Keep it"),
            answered,
        )

    def action_back(self) -> None:
        self.dismiss()
