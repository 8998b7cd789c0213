"""The Number Block tab's modals: the number picker, the extension forms (SIP user, conference,
alias) and the SIP password shown once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from carriertui.grid.model import Query
from carriertui.screens.base import report_error, run_service, save_with_reason
from carriertui.store.enums import ExtensionKind
from carriertui.widgets.form import FieldRow, Form
from carriertui.widgets.grid import Grid, RowActivated
from carriertui.widgets.grid.view import PAGE_SIZE
from carriertui.widgets.plain import join, notify_plain, plain
from carriertui.widgets.work import session_of

if TYPE_CHECKING:
    from carriertui.store.numbers.service import UnusedNumberSource


class NumberPickerScreen(ModalScreen[int | None]):
    """The unused numbers of the customer's blocks. Typing narrows to numbers that start with
    the digits; the grid pages through the numbers without building a widget per number."""

    DEFAULT_CSS = """
    NumberPickerScreen #picker-dialog { width: 60; }
    NumberPickerScreen #picker-dialog Grid { height: 14; }
    """
    HELP = (
        "Unused numbers in this customer's blocks. Type digits to narrow the list to numbers that "
        "start with them; arrows move; Enter picks; {picker.cancel} cancels."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("down", "to_grid", "List", id="picker.to_grid", show=False),
    ]

    def __init__(self, source: UnusedNumberSource, typed: str = "") -> None:
        super().__init__()
        self.source = source
        self._typed = typed

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="picker-dialog"):
            yield Static("Pick an unused number", classes="dialog-title")
            yield Input(
                self._typed,
                placeholder="type the first digits",
                id="picker-typed",
                compact=True,
                restrict=r"[0-9]*",
                max_length=15,
            )
            yield Grid(self.source, query=Query(search=self._typed), enter="activate")
            yield Static(
                "type to narrow · ↓ list · enter pick · esc cancel",
                classes="hint",
                markup=False,
            )

    def on_mount(self) -> None:
        self.query_one("#picker-typed", Input).focus()

    @on(Input.Changed, "#picker-typed")
    def _typed_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_one(Grid).view.set_query(Query(search=event.value))

    @on(Input.Submitted, "#picker-typed")
    def _typed_submitted(self, event: Input.Submitted) -> None:
        """Enter in the field: the typed number if it is unused, else the first match."""
        event.stop()
        typed = event.value.strip()
        source = self.source

        def choose() -> int | None:
            if typed and source.is_unused(int(typed)):
                return int(typed)
            return source.first(typed)

        def chosen(number: int | None) -> None:
            if number is None:
                notify_plain(
                    self.app, "No unused number starts with those digits", severity="warning"
                )
            else:
                self.dismiss(number)

        run_service(self, choose, on_done=chosen, group="picker-choose", exclusive=True)

    @on(RowActivated)
    def _picked(self, event: RowActivated) -> None:
        event.stop()
        self.dismiss(int(event.key))

    def action_to_grid(self) -> None:
        self.query_one(Grid).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)


FORM_TITLES = {
    ExtensionKind.SIP_USER: "New SIP user",
    ExtensionKind.CONFERENCE: "New conference",
    ExtensionKind.ALIAS: "New alias",
}


class ExtensionFormScreen(ModalScreen[Any]):
    """Create a SIP user, a conference or an alias. F2 (or Pick) opens the number picker."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="extension.cancel"),
        Binding("ctrl+s", "save", "Save", id="extension.save", priority=True),
        Binding("f2", "pick", "Pick number", id="extension.pick"),
    ]

    def __init__(
        self, kind: ExtensionKind, customer_id: int, *, has_blocks: bool, target: int | None
    ) -> None:
        super().__init__()
        self.kind = kind
        self.customer_id = customer_id
        self.has_blocks = has_blocks
        self.target = target

    def compose(self) -> ComposeResult:
        def field(name: str, label: str, value: str = "", hint: str = "", **kw: Any) -> FieldRow:
            control = Input(value, id=f"field-{name}", compact=True, **kw)
            return FieldRow(label, control, field=name, hint=hint)

        digits = r"[0-9 ]*"
        with Vertical(classes="dialog", id="extension-dialog"):
            yield Static(FORM_TITLES[self.kind], classes="dialog-title")
            in_blocks = (
                "one of the unused numbers in this customer's blocks (F2 lists them)"
                if self.has_blocks
                else "any number not used on the account (this customer has no block)"
            )
            if self.kind is ExtensionKind.ALIAS:
                in_blocks = "any number not used on the account"
            yield Static(plain(f"Number: {in_blocks}."), classes="dialog-text")
            with Form(id="extension-form"):
                yield field("number", "Number", restrict=digits, max_length=20)
                if self.kind is ExtensionKind.SIP_USER:
                    yield field("display_name", "Display name", max_length=100)
                    yield field("channels", "Channels", "2", restrict=digits)
                elif self.kind is ExtensionKind.CONFERENCE:
                    yield field("name", "Name", max_length=100)
                    yield field("pin", "PIN", restrict=digits, max_length=16)
                    yield field("moderator_pin", "Moderator PIN", restrict=digits, max_length=16)
                    yield field("max_members", "Max members", "0", "0 = unlimited", restrict=digits)
                else:
                    target = "" if self.target is None else str(self.target)
                    yield field(
                        "target",
                        "Reaches",
                        target,
                        "The SIP user or conference this alias reaches",
                        restrict=digits,
                    )
            if self.kind is ExtensionKind.SIP_USER:
                yield Static(
                    "A password is generated and shown once; only its hash is kept.",
                    classes="hint",
                    markup=False,
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                if self.has_blocks and self.kind is not ExtensionKind.ALIAS:
                    yield Button("Pick number (F2)", id="pick", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#field-number", Input).focus()

    @on(Button.Pressed, "#pick")
    def action_pick(self) -> None:
        if not self.has_blocks or self.kind is ExtensionKind.ALIAS:
            return
        from carriertui.store.numbers import service as numbers

        db, actor = session_of(self)
        customer_id = self.customer_id
        typed = self.query_one("#field-number", Input).value.replace(" ", "")

        def chosen(number: int | None) -> None:
            if number is not None:
                number_input = self.query_one("#field-number", Input)
                number_input.value = str(number)
                self.query_one(Form).clear_errors()
                self.focus_next()

        run_service(
            self,
            lambda: numbers.unused_numbers(
                db, actor, customer_id, prime=typed, prime_rows=PAGE_SIZE
            ),
            on_done=lambda source: self.app.push_screen(NumberPickerScreen(source, typed), chosen),
            group="numbers-picker",
            exclusive=True,
        )

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        from carriertui.store.numbers import service as numbers

        form = self.query_one(Form)
        form.clear_errors()
        values = {row.field: row.value for row in form.rows()}
        db, actor = session_of(self)
        customer_id = self.customer_id
        number = values.pop("number")
        if self.kind is ExtensionKind.SIP_USER:

            def call(reason: str | None) -> Any:
                return numbers.create_sip_user(
                    db, actor, customer_id, number, comment=reason, **values
                )
        elif self.kind is ExtensionKind.CONFERENCE:

            def call(reason: str | None) -> Any:
                return numbers.create_conference(
                    db, actor, customer_id, number, comment=reason, **values
                )
        else:

            def call(reason: str | None) -> Any:
                return numbers.create_alias(
                    db, actor, customer_id, number, comment=reason, **values
                )

        save_with_reason(
            self, call, on_done=self.dismiss, on_error=self._failed, group="extension-save"
        )

    def _failed(self, error: Exception) -> None:
        if not self.query_one(Form).show_validation_error(error):
            report_error(self.app, error)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class PasswordOnceScreen(ModalScreen[None]):
    """The generated SIP password, shown this once: it cannot be retrieved later."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy", id="password.copy"),
        Binding("escape,enter", "close", "Close", id="password.close"),
    ]

    def __init__(self, number: int, password: str) -> None:
        super().__init__()
        self._number = number
        self._password = password

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="password-dialog"):
            yield Static(f"SIP user {self._number} created", classes="dialog-title", markup=False)
            yield Static(
                join(
                    "Username ",
                    (str(self._number), "bold"),
                    "\nPassword ",
                    (self._password, "bold $accent"),
                ),
                id="password-text",
                classes="dialog-text",
            )
            yield Static(
                "Shown once: only a hash is kept and it cannot be retrieved later. Copy it and "
                "hand it over now.",
                classes="dialog-text",
                markup=False,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Copy (c)", id="copy", variant="primary", compact=True)
                yield Button("Close (esc)", id="close", compact=True)

    @on(Button.Pressed, "#copy")
    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self._password)
        notify_plain(self.app, "Password copied", timeout=3)

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self._password = ""
        self.dismiss(None)
