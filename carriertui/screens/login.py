"""Login, and the first admin on an empty database. Kept light: this is the first frame."""

from __future__ import annotations

import getpass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Vertical
from textual.widgets import Button, Footer, Input, Label, Static

from carriertui.screens.base import BaseScreen, run_service
from carriertui.widgets.form import FieldRow, Form
from carriertui.widgets.plain import plain


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


class LoginScreen(BaseScreen):
    TITLE_TEXT = "Log in"
    HELP = (
        "Log in with your operator name and password.\n\n"
        "After 10 failed attempts in a row an account is locked for 15 minutes; an admin can "
        "unlock it sooner with `carriertui operator unlock NAME`."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "login", "Log in", id="login.submit", show=True, priority=False),
    ]

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Center(), Vertical(id="login-box", classes="dialog"):
            yield Static("Operator login", classes="dialog-title")
            with Form(id="login-form"):
                yield FieldRow(
                    "Operator", Input(_os_user(), id="login-name", compact=True), field="name"
                )
                yield FieldRow(
                    "Password",
                    Input(password=True, id="login-password", compact=True),
                    field="password",
                )
            yield Label("", id="login-status", markup=False)
            yield Button("Log in", id="login-button", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        name = self.query_one("#login-name", Input)
        target = self.query_one("#login-password", Input) if name.value else name
        target.focus()

    def _status(self, text: str, *, error: bool = False) -> None:
        label = self.query_one("#login-status", Label)
        label.update(plain(text))
        label.set_class(error, "-error")

    def show_store_error(self, error: Exception) -> None:
        self._status(f"Cannot open the database: {error}", error=True)

    @on(Input.Submitted, "#login-name")
    def _name_submitted(self) -> None:
        self.query_one("#login-password", Input).focus()

    @on(Input.Submitted, "#login-password")
    @on(Button.Pressed, "#login-button")
    def action_login(self) -> None:
        name = self.query_one("#login-name", Input).value.strip()
        password = self.query_one("#login-password", Input).value
        if not name:
            self.query_one(Form).show_error("name", "enter your operator name")
            return
        if not password:
            self.query_one(Form).show_error("password", "enter your password")
            return
        self.query_one(Form).clear_errors()
        self._status("Checking…")
        self.query_one("#login-button", Button).disabled = True
        app = self.carrier

        def attempt() -> object:
            app.store_ready.wait()
            if app.db is None:
                raise RuntimeError(f"the database is not available: {app.store_error}")
            from carriertui.store import operators
            from carriertui.store.context import client_ip

            return operators.authenticate(app.db, name, password, client_ip())

        run_service(
            self,
            attempt,
            on_done=self._succeeded,
            on_error=self._failed,
            group="login",
            exclusive=True,
        )

    def _succeeded(self, actor: object) -> None:
        self.carrier.logged_in(actor)  # type: ignore[arg-type]

    def _failed(self, error: Exception) -> None:
        self.query_one("#login-button", Button).disabled = False
        password = self.query_one("#login-password", Input)
        password.value = ""
        password.focus()
        self._status(str(error), error=True)


class FirstAdminScreen(BaseScreen):
    TITLE_TEXT = "First run"
    HELP = (
        "This database has no operators yet. Create the first admin: it can then add other "
        "operators with `carriertui operator add NAME --role ROLE`.\n\n"
        "Passwords: at least 15 characters, at most 128; any characters, spaces welcome; common "
        "passwords are refused."
    )

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Center(), Vertical(id="login-box", classes="dialog"):
            yield Static("Create the first admin", classes="dialog-title")
            yield Static(
                "This database has no operators. The account you create now is an admin.",
                classes="dialog-text",
            )
            with Form(id="admin-form"):
                yield FieldRow(
                    "Name", Input(_os_user(), id="admin-name", compact=True), field="name"
                )
                yield FieldRow(
                    "Password",
                    Input(password=True, id="admin-password", compact=True),
                    field="password",
                    hint="15-128 characters; a passphrase works well",
                )
                yield FieldRow(
                    "Repeat password",
                    Input(password=True, id="admin-confirm", compact=True),
                    field="confirm",
                )
            yield Label("", id="login-status", markup=False)
            yield Button("Create admin", id="admin-create", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#admin-password", Input).focus()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        order = ["admin-name", "admin-password", "admin-confirm"]
        index = order.index(event.input.id or "admin-name")
        if index + 1 < len(order):
            self.query_one(f"#{order[index + 1]}", Input).focus()
        else:
            self.create()

    @on(Button.Pressed, "#admin-create")
    def create(self) -> None:
        form = self.query_one(Form)
        form.clear_errors()
        name = self.query_one("#admin-name", Input).value.strip()
        password = self.query_one("#admin-password", Input).value
        if password != self.query_one("#admin-confirm", Input).value:
            form.show_error("confirm", "the two passwords differ")
            return
        app = self.carrier
        self.query_one("#admin-create", Button).disabled = True

        def create_and_login() -> object:
            from carriertui.store import operators
            from carriertui.store.context import client_ip

            assert app.db is not None
            operators.create_first_admin(app.db, name, password, client_ip())
            return operators.authenticate(app.db, name, password, client_ip())

        run_service(
            self, create_and_login, on_done=self._done, on_error=self._failed, group="admin"
        )

    def _done(self, actor: object) -> None:
        self.carrier.logged_in(actor)  # type: ignore[arg-type]

    def _failed(self, error: Exception) -> None:
        self.query_one("#admin-create", Button).disabled = False
        if self.query_one(Form).show_validation_error(error):
            return
        label = self.query_one("#login-status", Label)
        label.update(plain(str(error)))
        label.add_class("-error")
