"""Operators (admins only): the accounts, their roles, lockouts and who is disabled.

An admin adds an account, changes a role, disables the account of someone who left (or enables
it again), clears a lockout and sets a password. Every change goes through store/operators.py,
which checks the role, keeps the last enabled admin one and audits each change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from carriertui import password_policy
from carriertui.grid.model import Query, SortKey
from carriertui.screens.base import BaseScreen, discard_or_ask, report_error, run_service
from carriertui.screens.row_menu import RowMenuGrid
from carriertui.store.enums import Role
from carriertui.widgets.footer import KeyFooter
from carriertui.widgets.form import FieldRow, Form
from carriertui.widgets.grid import Grid, RowAction
from carriertui.widgets.plain import notify_plain, plain
from carriertui.widgets.work import session_of

OPERATORS_QUERY = Query(sort=(SortKey("name"),))
ROLE_CHOICES = [(role.value, role.value) for role in (Role.VIEWER, Role.OPERATOR, Role.ADMIN)]
ROW_ACTIONS = (
    ("role", "Change role (e)"),
    ("disable", "Disable or enable (d)"),
    ("unlock", "Unlock (u)"),
    ("password", "Set password (p)"),
)


class AccountFormScreen(ModalScreen[None]):
    """A new account (name, role, password twice), or with ``name`` given a role or a new
    password for that account. Save hands the fields to ``on_save`` and the dialog stays open
    until the service succeeds, so a refused password or a taken name shows by its field."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="account.close"),
        Binding("ctrl+s", "save", "Save", id="account.save"),
    ]

    def __init__(
        self,
        *,
        what: str,
        on_save: Callable[[AccountFormScreen, dict[str, str]], None],
        name: str | None = None,
        role: str | None = None,
    ) -> None:
        super().__init__()
        self._on_save = on_save
        self._name = name
        self._role = role
        self._what = what  # "new", "role" or "password"

    def compose(self) -> ComposeResult:
        titles = {
            "new": "New operator",
            "role": f"Role of {self._name}",
            "password": f"Set the password of {self._name}",
        }
        with Vertical(classes="dialog", id="account-dialog"):
            yield Static(plain(titles[self._what]), classes="dialog-title")
            with Form(id="account-form"):
                if self._what == "new":
                    yield FieldRow(
                        "Name", Input(id="account-name", compact=True, max_length=64), field="name"
                    )
                if self._what in ("new", "role"):
                    yield FieldRow(
                        "Role",
                        Select(
                            ROLE_CHOICES,
                            value=self._role or Role.OPERATOR.value,
                            allow_blank=False,
                            id="account-role",
                            compact=True,
                        ),
                        field="role",
                    )
                if self._what in ("new", "password"):
                    yield FieldRow(
                        "Password",
                        Input(password=True, id="account-password", compact=True),
                        field="password",
                        hint=password_policy.FIELD_HINT,
                    )
                    yield FieldRow(
                        "Repeat password",
                        Input(password=True, id="account-confirm", compact=True),
                        field="confirm",
                    )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", id="account-save", variant="primary", compact=True)
                yield Button("Close (esc)", id="account-close", compact=True)

    def on_mount(self) -> None:
        form = self.query_one(Form)
        form.mark_clean()
        next(iter(form.rows())).control.focus()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        rows = list(self.query_one(Form).rows())
        controls = [row.control for row in rows]
        index = controls.index(event.input)
        if index + 1 < len(controls):
            controls[index + 1].focus()
        else:
            self.action_save()

    @on(Button.Pressed, "#account-save")
    def action_save(self) -> None:
        form = self.query_one(Form)
        form.clear_errors()
        values = {k: str(v) for k, v in form.values().items()}
        if "password" in values:
            if not values["password"]:
                form.show_error("password", "is required")
                return
            if values["password"] != values.get("confirm"):
                form.show_error("confirm", "the two passwords differ")
                return
        if "name" in values and not values["name"].strip():
            form.show_error("name", "is required")
            return
        self._on_save(self, values)

    def show_error(self, error: Exception) -> bool:
        return self.query_one(Form).show_validation_error(error)

    @on(Button.Pressed, "#account-close")
    def action_close(self) -> None:
        discard_or_ask(self, self.query_one(Form).dirty, lambda: self.dismiss(None))


class OperatorsScreen(BaseScreen):
    TITLE_TEXT = "Operators"
    HELP = (
        "The operator accounts (admins only). {operators.add} adds an account; on the account "
        "under the cursor: {operators.role} changes the role, {operators.disable} disables it "
        "(someone who left: no login, and the delayed changes they scheduled are not applied) or "
        "enables it again, {operators.unlock} clears a lockout (10 failed logins lock an account "
        "for 15 minutes), {operators.password} sets a new password. {grid.menu} opens the row "
        "menu with the same actions.\n\n"
        "The last enabled admin can be neither demoted nor disabled, and you cannot disable your "
        "own account. Every change is audited. {operators.back} goes back."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add", id="operators.add"),
        Binding("e", "role", "Role", id="operators.role"),
        Binding("d", "disable", "Disable/enable", id="operators.disable"),
        Binding("u", "unlock", "Unlock", id="operators.unlock"),
        Binding("p", "password", "Password", id="operators.password"),
        Binding("escape", "back", "Back", id="operators.back"),
    ]

    def compose(self) -> ComposeResult:
        from carriertui.store import operators

        app: Any = self.app
        yield from self.compose_top()
        yield Label(
            "a add · e role · d disable/enable · u unlock · p password · m menu",
            classes="tab-hint",
            markup=False,
        )
        yield RowMenuGrid(
            operators.grid_source(app.db, app.actor),
            query=OPERATORS_QUERY,
            row_actions=ROW_ACTIONS,
            title_column="name",
            id="operators-grid",
        )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(Grid).focus()

    @property
    def grid(self) -> Grid:
        return self.query_one("#operators-grid", Grid)

    def _cursor(self) -> tuple[str, str, bool] | None:
        """Name, role and whether it is disabled, of the account under the cursor."""
        view = self.grid.view
        row = view.row_at(view.cursor[0])
        if row is None:
            return None
        values = row[1]
        return str(values[0]), str(values[1]), values[2] is not None

    def _run(self, call: Any, done_text: Any, *, dialog: AccountFormScreen | None = None) -> None:
        """Run a service call; on success say so and refresh the grid; a field error goes to
        the open dialog (kept open), any other error to a notification."""

        def done(record: Any) -> None:
            if dialog is not None and dialog.is_attached:
                dialog.dismiss(None)
            notify_plain(self.app, done_text(record), timeout=4)
            self.grid.refresh_data()

        def failed(error: Exception) -> None:
            if dialog is not None and dialog.is_attached and dialog.show_error(error):
                return
            report_error(self.app, error)

        run_service(self, call, on_done=done, on_error=failed, group="operators")

    # -- actions ----------------------------------------------------------------------------

    def action_add(self) -> None:
        from carriertui.store import operators

        db, actor = session_of(self)
        self._open(
            AccountFormScreen,
            "new",
            lambda values: operators.create_operator(
                db, actor, values["name"].strip(), values["role"], values["password"]
            ),
            lambda record: f"Operator {record.name} added ({record.role.value})",
        )

    def _open(
        self,
        form: type[AccountFormScreen],
        what: str,
        call: Callable[[dict[str, str]], Any],
        done_text: Callable[[Any], str],
        **fields: str,
    ) -> None:
        """The account dialog; each Save runs ``call(values)`` in a worker."""
        self.app.push_screen(
            form(
                what=what,
                on_save=lambda dialog, values: self._run(
                    lambda: call(values), done_text, dialog=dialog
                ),
                **fields,
            )
        )

    def action_role(self) -> None:
        if (current := self._cursor()) is None:
            return
        from carriertui.store import operators

        name, role, _disabled = current
        db, actor = session_of(self)
        self._open(
            AccountFormScreen,
            "role",
            lambda values: operators.set_role(db, actor, name, values["role"]),
            lambda record: f"Operator {record.name} is now {record.role.value}",
            name=name,
            role=role,
        )

    def action_password(self) -> None:
        if (current := self._cursor()) is None:
            return
        from carriertui.store import operators

        name = current[0]
        db, actor = session_of(self)
        self._open(
            AccountFormScreen,
            "password",
            lambda values: operators.change_password(db, actor, name, values["password"]),
            lambda _none: f"Password of {name} set",
            name=name,
        )

    def action_disable(self) -> None:
        if (current := self._cursor()) is None:
            return
        from carriertui.store import operators
        from carriertui.widgets.confirm import ConfirmScreen

        name, _role, disabled = current
        db, actor = session_of(self)
        question = (
            f"Enable {name} again? They can log in with their password."
            if disabled
            else f"Disable {name}? No login, and the delayed changes they scheduled will not "
            "be applied. Their name stays in the audit log."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._run(
                    lambda: operators.set_disabled(db, actor, name, not disabled),
                    lambda record: (
                        f"Operator {record.name} {'disabled' if record.is_disabled else 'enabled'}"
                    ),
                )

        verb = "Enable" if disabled else "Disable"
        self.app.push_screen(ConfirmScreen(question, verb, "Keep as is"), answered)

    def action_unlock(self) -> None:
        if (current := self._cursor()) is None:
            return
        from carriertui.store import operators

        name = current[0]
        db, actor = session_of(self)
        self._run(
            lambda: operators.unlock_operator(db, actor, name),
            lambda record: f"Operator {record.name} unlocked",
        )

    @on(RowAction, "#operators-grid")
    def _row_action(self, event: RowAction) -> None:
        event.stop()
        actions = {
            "role": self.action_role,
            "disable": self.action_disable,
            "unlock": self.action_unlock,
            "password": self.action_password,
        }
        actions[event.action]()

    def action_back(self) -> None:
        self.dismiss()
