"""Small modals: the Audit Comment reason, an edit conflict, a yes/no question."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Static

from carriertui.widgets.plain import plain, plain_text


class ReasonScreen(ModalScreen[str | None]):
    """Audit Comment is on: the operator gives a reason, kept with the audit entry."""

    HELP = (
        "Audit Comment is on: every save needs a reason. Enter saves; {reason.cancel} cancels the "
        "save."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel save", id="reason.cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="reason-dialog"):
            yield Static("Reason for this change", classes="dialog-title")
            yield Static(
                "Audit Comment is on: the reason is kept in the audit log.", classes="dialog-text"
            )
            yield Input(
                placeholder="e.g. ticket 4711: raise limit for weekend",
                id="reason",
                compact=True,
                max_length=500,
            )
            yield Label("", id="reason-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="ok", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        reason = self.query_one(Input).value.strip()
        if not reason:
            self.query_one("#reason-error", Label).update(
                plain("\u26a0 a reason is required (Esc cancels the save)")
            )
            return
        self.dismiss(reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConflictScreen(ModalScreen[str]):
    """Someone else saved first: show both versions; the operator chooses. Nothing is
    overwritten silently. Returns "reload" (take theirs) or "keep" (keep editing mine)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "keep", "Keep my edits", id="conflict.keep"),
        Binding("r", "reload", "Load theirs", id="conflict.reload"),
    ]

    def __init__(
        self, rows: Sequence[tuple[str, str, str]], who: str, what: str = "customer"
    ) -> None:
        super().__init__()
        self._rows = rows
        self._who = who
        self._what = what

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="conflict-dialog"):
            yield Static("Changed by someone else", classes="dialog-title")
            yield Static(
                plain(
                    f"{self._who} saved this {self._what} after you opened it. Nothing of yours "
                    "was saved. Compare, then load their version, or keep yours: what you "
                    "changed stays, their other changes are taken into the form."
                ),
                classes="dialog-text",
            )
            with VerticalScroll(classes="dialog-body"):
                table: DataTable[object] = DataTable(id="conflict-table", cursor_type="row")
                yield table
            with Horizontal(classes="dialog-buttons"):
                yield Button("Load theirs (r)", id="reload", variant="warning", compact=True)
                yield Button("Keep mine (esc)", id="keep", compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(plain_text("Field"), plain_text("Yours"), plain_text("Saved now"))
        for field, mine, theirs in self._rows:
            table.add_row(plain_text(field), plain_text(mine), plain_text(theirs, style="bold"))
        self.query_one("#keep", Button).focus()

    @on(Button.Pressed, "#reload")
    def action_reload(self) -> None:
        self.dismiss("reload")

    @on(Button.Pressed, "#keep")
    def action_keep(self) -> None:
        self.dismiss("keep")
