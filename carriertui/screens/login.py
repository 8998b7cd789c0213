"""Login, and the first admin on an empty database. Kept light: this is the first frame."""

from __future__ import annotations

import getpass
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Vertical
from textual.widgets import Button, Input, Label, Static

from carriertui import password_policy
from carriertui.screens.base import BaseScreen, run_service
from carriertui.widgets.footer import SteadyFooter
from carriertui.widgets.form import FieldRow, Form
from carriertui.widgets.plain import plain


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


class CredentialsScreen(BaseScreen):
    """A login form: a name (operator name or email) and a password, checked by a service in a
    worker (argon2 costs about 130 ms). Subclasses name their widgets and the service."""

    # Keys typed before the form has focus (a password manager's auto-type right after the SSH
    # connection) wait for it, in order: the app holds them (CarrierApp.on_event).
    TYPE_AHEAD: ClassVar[bool] = True
    # Typed before the app put the terminal in raw mode, Enter arrives as a newline (ctrl+j):
    # it submits the field like Enter.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+j", "submit_field", "Next / log in", id="login.submit_field", show=False),
    ]
    BOX_TITLE: ClassVar[str] = ""
    NAME_LABEL: ClassVar[str] = ""
    NAME_FIELD: ClassVar[str] = "name"
    CUSTOMER_UNAVAILABLE: ClassVar[str] = (
        "The portal is not available right now; try again in a few minutes."
    )
    NAME_MISSING: ClassVar[str] = ""
    PREFIX: ClassVar[str] = "login"  # the form's and the button's ids: PREFIX-form, PREFIX-button
    NAME_ID: ClassVar[str] = "login-name"
    PASSWORD_ID: ClassVar[str] = "login-password"  # noqa: S105 (a widget id)

    def initial_name(self) -> str:
        return ""

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Center(), Vertical(id="login-box", classes="dialog login-box"):
            yield Static(self.BOX_TITLE, classes="dialog-title")
            with Form(id=f"{self.PREFIX}-form"):
                yield FieldRow(
                    self.NAME_LABEL,
                    Input(self.initial_name(), id=self.NAME_ID, compact=True),
                    field=self.NAME_FIELD,
                )
                yield FieldRow(
                    "Password",
                    Input(password=True, id=self.PASSWORD_ID, compact=True),
                    field="password",
                )
            yield Label("", id="login-status", classes="login-status", markup=False)
            yield Button("Log in", id=f"{self.PREFIX}-button", variant="primary", compact=True)
        yield SteadyFooter()

    @property
    def _name_input(self) -> Input:
        return self.query_one(f"#{self.NAME_ID}", Input)

    @property
    def _password_input(self) -> Input:
        return self.query_one(f"#{self.PASSWORD_ID}", Input)

    # True once the screen is shown and its first focus is settled: until then the app holds
    # typed keys for it (TYPE_AHEAD), so a later auto-focus cannot move them to another field.
    typing_ready: bool = False

    def on_mount(self) -> None:
        name = self._name_input
        (self._password_input if name.value else name).focus()

    def on_screen_resume(self) -> None:
        self.typing_ready = False
        self.call_after_refresh(self._ready_for_typing)

    def _ready_for_typing(self) -> None:
        self.typing_ready = True

    def _status(self, text: str, *, error: bool = False) -> None:
        label = self.query_one("#login-status", Label)
        label.update(plain(text))
        label.set_class(error, "-error")

    def show_store_error(self, error: Exception) -> None:
        from carriertui.store.errors import SchemaVersionError

        if isinstance(error, SchemaVersionError):
            # Another carriertui's schema: say which command fixes it, and let nobody log in.
            # A portal customer is told no more than that (not the database's address).
            text = str(error)
            if getattr(self.carrier, "portal", False):
                text = "the portal is being upgraded and is not available; try again later"
            self._status(text[:1].upper() + text[1:] + ".", error=True)
            self.query_one(f"#{self.PREFIX}-button", Button).disabled = True
            return
        if self._for_customer:  # the app logged the details
            self._status(self.CUSTOMER_UNAVAILABLE, error=True)
            return
        self._status(f"Cannot open the database: {error}", error=True)

    @property
    def _for_customer(self) -> bool:
        return bool(getattr(self.carrier, "portal", False))

    def _customer_failure(self, error: BaseException) -> str:
        """What a portal customer reads when the server fails: never a path, an address or a
        driver's message (those go to the log, for the operators)."""
        from carriertui.logfile import log_unexpected

        log_unexpected("portal login failed", error)
        return self.CUSTOMER_UNAVAILABLE

    def _failure_text(self, error: Exception) -> str:
        """A failed attempt in one line: the service's own words for an expected error; a
        database failure by its class (as the CLI says it); anything else briefly, with the
        details in the log. A portal customer gets only the service's words or "not available"."""
        from carriertui.store import errors

        if isinstance(error, errors.StoreError) and not isinstance(error, errors.DatabaseURLError):
            return str(error)
        if self._for_customer:
            return self._customer_failure(error)
        from carriertui.logfile import log_unexpected

        failure = errors.database_failure(error)
        app = self.carrier
        if failure is not None:
            from carriertui.store.db.engine import redacted_url

            kind, detail = failure
            hint = log_unexpected("login: database error", error) if kind == errors.INTERNAL else ""
            where = redacted_url(app.db.url) if app.db is not None else "the database"
            return errors.describe_database_failure(kind, detail, where, hint)
        where = log_unexpected("login: unexpected error", error)
        return f"Unexpected error: {type(error).__name__}: {error} (details in {where})"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input is self._name_input:
            self._password_input.focus()
        else:
            self.action_login()

    def action_submit_field(self) -> None:
        if self.focused is self._name_input:
            self._password_input.focus()
        else:
            self.action_login()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == f"{self.PREFIX}-button":
            self.action_login()

    def action_login(self) -> None:
        name = self._name_input.value.strip()
        password = self._password_input.value
        form = self.query_one(Form)
        if not name:
            form.show_error(self.NAME_FIELD, self.NAME_MISSING)
            return
        if not password:
            form.show_error("password", "enter your password")
            return
        form.clear_errors()
        self._status("Checking…")
        self.query_one(f"#{self.PREFIX}-button", Button).disabled = True
        app = self.carrier

        def attempt() -> object:
            app.store_ready.wait()
            if app.db is None:
                raise RuntimeError(f"the database is not available: {app.store_error}")
            from carriertui.store.context import client_ip

            db, ip = app.db, client_ip()
            return app.record_login(lambda: self.authenticate(db, name, password, ip))

        run_service(
            self,
            attempt,
            on_done=self.succeeded,
            on_error=self._failed,
            group=self.PREFIX,
            exclusive=True,
        )

    def authenticate(self, db: Any, name: str, password: str, ip: str) -> object:
        """The service call (in a worker); raises AuthenticationError on failure."""
        raise NotImplementedError

    def succeeded(self, identity: Any) -> None:
        raise NotImplementedError

    def _failed(self, error: Exception) -> None:
        self.query_one(f"#{self.PREFIX}-button", Button).disabled = False
        password = self._password_input
        password.value = ""
        password.focus()
        self._status(self._failure_text(error), error=True)


class LoginScreen(CredentialsScreen):
    TITLE_TEXT = "Log in"
    HELP = (
        "Log in with your operator name and password.\n\n"
        "After 10 failed attempts in a row an account is locked for 15 minutes; an admin can "
        "unlock it sooner with `carriertui operator unlock NAME`."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "login", "Log in", id="login.submit", show=True, priority=False),
    ]
    BOX_TITLE = "Operator login"
    NAME_LABEL = "Operator"
    NAME_MISSING = "enter your operator name"

    def initial_name(self) -> str:
        # In a browser (`carriertui serve`) the account running the app is the server's, not
        # the operator's: offering its name would also show it to every visitor.
        return "" if self.app.is_web else _os_user()

    def authenticate(self, db: Any, name: str, password: str, ip: str) -> object:
        from carriertui.store import operators

        return operators.authenticate(db, name, password, ip)

    def succeeded(self, identity: Any) -> None:
        self.carrier.logged_in(identity)


class FirstAdminScreen(BaseScreen):
    TITLE_TEXT = "First run"
    HELP = (
        "This database has no operators yet. Create the first admin: it can then add other "
        "operators with `carriertui operator add NAME --role ROLE`.\n\n"
        f"Passwords: at least {password_policy.MIN_LENGTH} characters, at most "
        f"{password_policy.MAX_LENGTH}; any characters, spaces welcome; common "
        "passwords are refused."
    )

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Center(), Vertical(id="login-box", classes="dialog login-box"):
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
                    hint=password_policy.FIELD_HINT,
                )
                yield FieldRow(
                    "Repeat password",
                    Input(password=True, id="admin-confirm", compact=True),
                    field="confirm",
                )
            yield Label("", id="login-status", classes="login-status", markup=False)
            yield Button("Create admin", id="admin-create", variant="primary", compact=True)
        yield SteadyFooter()

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
