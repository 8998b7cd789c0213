"""Settings > Options: account-wide settings (admins change them; others may look)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Static, Switch

from carriertui.screens.base import (
    BaseScreen,
    discard_or_ask,
    focus_when_ready,
    report_error,
    run_service,
    save_with_reason,
)
from carriertui.store.enums import Role
from carriertui.store.options import DEFINITIONS, Options
from carriertui.widgets.footer import KeyFooter
from carriertui.widgets.form import FieldRow, Form
from carriertui.widgets.plain import plain
from carriertui.widgets.work import session_of


class OptionsScreen(BaseScreen):
    TITLE_TEXT = "Settings > Options"
    HELP = (
        "Account-wide settings. Number Range Start and Block Size define the internal number "
        "blocks (block k covers start + k*size to start + (k+1)*size - 1); both must be set "
        "before any block can be assigned. Leave a number empty to unset it.\n\n"
        "Audit Comment: when on, every save in this UI asks for a reason, kept in the audit "
        "log.\n\n"
        "{options.save} saves; {options.back} goes back."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="options.save", priority=True),
        Binding("escape", "back", "Back", id="options.back"),
    ]

    AUTO_FOCUS = None  # nothing takes keys before the options are read (see _show)

    def __init__(self) -> None:
        super().__init__()
        self.options: Options | None = None

    @property
    def can_edit(self) -> bool:
        actor = self.carrier.actor
        return actor is not None and actor.can(Role.ADMIN)

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with VerticalScroll(id="options-body", classes="options-body"):
            yield Static("Settings > Options", classes="dialog-title")
            with Form(id="options-form"):
                for key in ("number_range_start", "block_size"):
                    definition = DEFINITIONS[key]
                    yield FieldRow(
                        definition.label,
                        Input(
                            id=f"option-{key}",
                            compact=True,
                            restrict=r"[0-9]*",
                            placeholder="unset",
                            disabled=not self.can_edit,
                        ),
                        field=key,
                    )
                    yield Label(definition.help, classes="hint", markup=False)
                definition = DEFINITIONS["audit_comment"]
                yield FieldRow(
                    definition.label,
                    Switch(id="option-audit_comment", disabled=not self.can_edit),
                    field="audit_comment",
                )
                yield Label(definition.help, classes="hint", markup=False)
            yield Label(
                "" if self.can_edit else "Read only: only admins change options.",
                id="options-status",
                markup=False,
            )
            with Horizontal(classes="form-buttons"):
                yield Button(
                    "Save (ctrl+s)",
                    id="options-save",
                    variant="primary",
                    compact=True,
                    disabled=not self.can_edit,
                )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        db, actor = session_of(self)
        from carriertui.store import options

        run_service(
            self, lambda: options.get_options(db, actor), on_done=self._show, group="options"
        )

    def _show(self, values: Options) -> None:
        self.options = values
        for key in ("number_range_start", "block_size"):
            value = getattr(values, key)
            self.query_one(f"#option-{key}", Input).value = "" if value is None else str(value)
        self.query_one("#option-audit_comment", Switch).value = values.audit_comment
        self.query_one(Form).mark_clean()
        if self.can_edit:
            focus_when_ready(self, self.query_one("#option-number_range_start", Input))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save":
            return self.can_edit
        return True

    @on(Button.Pressed, "#options-save")
    def action_save(self) -> None:
        if not self.can_edit or self.options is None:
            return
        form = self.query_one(Form)
        form.clear_errors()
        changes = form.values()
        db, actor = session_of(self)
        from carriertui.store import options

        save_with_reason(
            self,
            lambda reason: options.set_options(db, actor, changes, comment=reason),
            on_done=self._saved,
            on_error=self._failed,
            group="options-save",
        )

    def _saved(self, values: Options) -> None:
        self.options = values
        self.query_one(Form).mark_clean()
        self.query_one("#options-status", Label).update(plain("Saved."))
        self.notify("Options saved", timeout=3)

    def _failed(self, error: Exception) -> None:
        if not self.query_one(Form).show_validation_error(error):
            report_error(self.app, error)

    def action_back(self) -> None:
        form = self.query_one(Form)
        discard_or_ask(self, self.can_edit and form.dirty, self.app.pop_screen)
