"""Change Password of a contact: Auto Generate & Email (default), or a password typed by hand;
a contact with an IP whitelist is named as such."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, Switch

from carriertui import password_policy
from carriertui.screens.base import discard_or_ask, report_error, save_with_reason
from carriertui.text import sanitize
from carriertui.widgets.form import FieldRow, Form
from carriertui.widgets.plain import join, notify_plain, plain
from carriertui.widgets.work import session_of


class ContactPasswordScreen(ModalScreen[bool]):
    """Change Password: Auto Generate & Email (default), or a password typed by hand. A contact
    with an IP whitelist is named as such: from any other address the portal refuses the new
    password with the same bare "Login failed" as a wrong one."""

    DEFAULT_CSS = """
    ContactPasswordScreen #password-info, ContactPasswordScreen #password-whitelist {
        width: 1fr;
        height: auto;
    }
    ContactPasswordScreen #password-whitelist { margin: 0 0 1 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="contact_password.save", priority=True),
        Binding("escape", "close", "Cancel", id="contact_password.cancel"),
    ]

    def __init__(
        self, contact_id: int, name: str, email: str, whitelist: tuple[str, ...] = ()
    ) -> None:
        super().__init__()
        self.contact_id = contact_id
        self.contact_name = name
        self.email = email
        self.whitelist = whitelist

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="password-dialog"):
            yield Static(
                join(("Change Password: ", "bold"), (self.contact_name, "bold")),
                classes="dialog-title",
            )
            if self.whitelist:
                yield Static(
                    join(
                        ("\u26a0 IP whitelist: ", "bold"),
                        (sanitize(", ".join(self.whitelist)), "bold"),
                        ". The portal accepts this contact only from these addresses; from "
                        "any other the login fails without saying why.",
                    ),
                    id="password-whitelist",
                )
            with Form(id="password-form"):
                yield FieldRow(
                    "Auto & Email",
                    Switch(True, id="auto"),
                    field="auto",
                    hint="Auto Generate & Email Password",
                )
                yield FieldRow(
                    "Password",
                    Input(password=True, id="password", compact=True, max_length=128),
                    field="password",
                )
                yield FieldRow(
                    "Confirm",
                    Input(password=True, id="confirm", compact=True, max_length=128),
                    field="confirm",
                )
            yield Label("", id="password-info", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self._auto_changed()
        self.query_one(Form).mark_clean()
        self.query_one(Switch).focus()

    @on(Switch.Changed)
    def _auto_changed(self) -> None:
        auto = self.query_one(Switch).value
        form = self.query_one(Form)
        for field in ("password", "confirm"):
            row = form.row(field)
            assert row is not None
            row.display = not auto
        info = (
            f"A new password ({password_policy.GENERATED_LENGTH} characters, from secrets) is "
            f"generated when the email to "
            f"{sanitize(self.email)} is sent; the contact must change it at first login."
            if auto
            else f"At least {password_policy.MIN_LENGTH} characters; common passwords are refused. "
            "Nothing is emailed."
        )
        self.query_one("#password-info", Label).update(plain(info))

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        from carriertui.store.contacts import service as contacts

        form = self.query_one(Form)
        form.clear_errors()
        password: str | None = None
        if not self.query_one(Switch).value:
            password = self.query_one("#password", Input).value
            if not password:
                form.show_error("password", "is required when Auto & Email is off")
                return
            if password != self.query_one("#confirm", Input).value:
                form.show_error("confirm", "does not match the password")
                return
        db, actor = session_of(self)
        contact_id = self.contact_id

        def done(_record: Any) -> None:
            if password is None:
                notify_plain(self.app, f"A new password will be emailed to {self.email}", timeout=5)
                self.app.kick_outbox()  # type: ignore[attr-defined]
            else:
                notify_plain(self.app, f"Password of {self.contact_name} set", timeout=4)
            self.dismiss(True)

        def failed(error: Exception) -> None:
            if not form.show_validation_error(error):
                report_error(self.app, error)

        save_with_reason(
            self,
            lambda reason: contacts.change_password(
                db, actor, contact_id, password=password, comment=reason
            ),
            on_done=done,
            on_error=failed,
            group="contact-password",
        )

    @on(Button.Pressed, "#cancel")
    def action_close(self) -> None:
        discard_or_ask(self, self.query_one(Form).dirty, lambda: self.dismiss(False))
