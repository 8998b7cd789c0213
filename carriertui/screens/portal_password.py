"""A contact's own new password in the portal: forced after a generated one, or from My
Profile (never during an operator's Portal Login)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from carriertui import password_policy
from carriertui.screens.base import BaseScreen, run_service
from carriertui.widgets.footer import SteadyFooter
from carriertui.widgets.form import FieldRow, Form
from carriertui.widgets.plain import plain

if TYPE_CHECKING:
    from carriertui.store.contacts.service import PortalIdentity


class PortalPasswordScreen(BaseScreen):
    """A contact sets their own password: forced after a generated one (before the portal
    shows), or from My Profile. Never offered during an operator's Portal Login."""

    TITLE_TEXT = "New password"
    HELP = (
        f"Choose a password of at least {password_policy.MIN_LENGTH} characters (at most "
        f"{password_policy.MAX_LENGTH}). Any characters work, spaces "
        "too: a few unrelated words make a good one. Common passwords are refused.\n\n"
        "Enter moves to the next field and saves from the last one."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="portal_password.cancel"),
        Binding("escape", "logout", "Log out", id="portal_password.logout"),
    ]

    def __init__(self, identity: PortalIdentity, *, forced: bool | None = None) -> None:
        super().__init__()
        self.identity = identity
        self.forced = identity.must_change_password if forced is None else forced

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Center(), Vertical(id="password-box", classes="dialog password-box"):
            if self.forced:
                yield Static("Choose your own password", classes="dialog-title")
                yield Static(
                    "Your password was generated and emailed to you. Choose your own before "
                    "you continue.",
                    classes="dialog-text",
                )
            else:
                yield Static("Change your password", classes="dialog-title")
            with Form(id="password-form"):
                yield FieldRow(
                    "Current password",
                    Input(password=True, id="current-password", compact=True),
                    field="current_password",
                )
                yield FieldRow(
                    "New password",
                    Input(password=True, id="new-password", compact=True),
                    field="password",
                    hint=password_policy.FIELD_HINT,
                )
                yield FieldRow(
                    "Repeat new password",
                    Input(password=True, id="confirm-password", compact=True),
                    field="confirm",
                )
            yield Static(
                f"At least {password_policy.MIN_LENGTH} characters; a few unrelated words work "
                "well.",
                classes="hint",
            )
            yield Label("", id="login-status", classes="login-status", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Set password", id="set-password", variant="primary", compact=True)
                yield Button(
                    "Log out (esc)" if self.forced else "Cancel (esc)",
                    id="cancel-password",
                    compact=True,
                )
        yield SteadyFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Esc leaves: a forced change can only be escaped by logging out.
        if action == "cancel":
            return not self.forced
        if action == "logout":
            return self.forced
        return True

    def on_mount(self) -> None:
        self.query_one("#current-password", Input).focus()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        order = ["current-password", "new-password", "confirm-password"]
        index = order.index(event.input.id or order[0])
        if index + 1 < len(order):
            self.query_one(f"#{order[index + 1]}", Input).focus()
        else:
            self.submit()

    @on(Button.Pressed, "#set-password")
    def submit(self) -> None:
        form = self.query_one(Form)
        form.clear_errors()
        current = self.query_one("#current-password", Input).value
        new = self.query_one("#new-password", Input).value
        if not current:
            form.show_error("current_password", "enter your current password")
            return
        if new != self.query_one("#confirm-password", Input).value:
            form.show_error("confirm", "the two passwords differ")
            return
        app = self.carrier
        db, identity = app.db, self.identity
        assert db is not None
        self.query_one("#set-password", Button).disabled = True
        self.query_one("#login-status", Label).update(plain("Saving…"))

        def change() -> None:
            from carriertui.store.contacts import service as contacts

            contacts.portal_change_password(db, identity, current, new)

        run_service(
            self, change, on_done=self._changed, on_error=self._failed, group="portal-password"
        )

    def _changed(self, _result: object) -> None:
        if self.forced:
            self.carrier.portal_logged_in(replace(self.identity, must_change_password=False))
            self.app.notify("Your new password is set", timeout=4)
            return
        self.app.notify("Your password was changed", timeout=4)
        self.dismiss()

    def _failed(self, error: Exception) -> None:
        self.query_one("#set-password", Button).disabled = False
        status = self.query_one("#login-status", Label)
        status.update("")
        if self.query_one(Form).show_validation_error(error):
            return
        status.update(plain(str(error)))
        status.add_class("-error")

    @on(Button.Pressed, "#cancel-password")
    def _cancel_pressed(self) -> None:
        if self.forced:
            self.action_logout()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        if not self.forced:
            self.dismiss()

    def action_logout(self) -> None:
        self.carrier.portal_logout()
