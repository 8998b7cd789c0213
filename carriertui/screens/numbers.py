"""The customer's Number Block tab: blocks, the extensions that use their numbers, the dial plan;
and its modals: the number picker, the extension forms and the password shown once."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker, WorkerCancelled

from carriertui.grid.memory import InMemoryRowSource
from carriertui.grid.model import Column, ColumnType, Query, SortKey
from carriertui.screens.base import report_error, run_service, save_with_reason
from carriertui.store.enums import ExtensionKind, Role
from carriertui.widgets.form import FieldRow, Form
from carriertui.widgets.grid import Grid, RowActivated
from carriertui.widgets.grid.view import PAGE_SIZE
from carriertui.widgets.plain import join, notify_plain, plain

if TYPE_CHECKING:
    from carriertui.store.numbers.service import BlockRecord, UnusedNumberSource

BLOCK_COLUMNS = (
    Column("block", "Block", ColumnType.INTEGER, width=5),
    Column("range", "Range", width=33),
    Column("prefix", "Prefix", width=8),
    Column("extensions", "Extensions", width=12),
    Column("used", "Used", ColumnType.INTEGER, width=7),
    Column("free", "Free", ColumnType.INTEGER, width=7),
)
UNSET_HINT = (
    "No block can be assigned yet: Number Range Start and Block Size are unset. An admin sets "
    "them in Settings > Options (ctrl+p, go: options). Without a block, any number not used on "
    "the account is accepted."
)


def blocks_source(blocks: list[BlockRecord]) -> InMemoryRowSource:
    rows = [
        (
            block.block_index,
            (
                block.block_index,
                block.range_text,
                block.prefix or "",
                block.extensions_text,
                block.used,
                block.free,
            ),
        )
        for block in blocks
    ]
    return InMemoryRowSource(BLOCK_COLUMNS, rows, name="number-blocks")


class NumbersChanged(Message):
    """A block or an extension changed: the customer's audit tab re-queries."""


class NumberBlockPane(Vertical):
    """Everything on the Number Block tab. Its keys work while focus is inside it."""

    DEFAULT_CSS = """
    NumberBlockPane { height: 1fr; }
    NumberBlockPane > .numbers-title { height: auto; }
    NumberBlockPane > #blocks-grid { height: 6; }
    NumberBlockPane > #extensions-grid { height: 1fr; min-height: 5; }
    NumberBlockPane > #dial-row { height: 1; }
    NumberBlockPane #dial { width: 16; }
    NumberBlockPane #dial-result { width: 1fr; padding: 0 0 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("plus", "allocate", "+Block", id="numbers.allocate"),
        Binding("n", "new('sip_user')", "SIP user", id="numbers.new_sip_user"),
        Binding("c", "new('conference')", "Conference", id="numbers.new_conference"),
        Binding("a", "new('alias')", "Alias", id="numbers.new_alias"),
        Binding("x,delete", "remove", "Remove", id="numbers.remove"),
        Binding(
            "t", "dial", "Dial", id="numbers.dial", tooltip="Test what a dialled number reaches"
        ),
    ]

    def __init__(self, customer_id: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.customer_id = customer_id
        self.blocks: list[BlockRecord] | None = None
        self.plan: tuple[int, int] | None = None
        self._loading: Worker[None] | None = None

    @property
    def _app(self) -> Any:
        return self.app

    @property
    def can_edit(self) -> bool:
        actor = self._app.actor
        return actor is not None and actor.can(Role.OPERATOR)

    def compose(self) -> ComposeResult:
        from carriertui.store.numbers import service as numbers

        app = self._app
        yield Static("Loading…", id="blocks-title", classes="numbers-title")
        yield Grid(blocks_source([]), id="blocks-grid")
        yield Static(
            join(
                ("Extensions", "bold"),
                "  n SIP user · c conference · a alias · x remove · t dial"
                if self.can_edit
                else "  t dial (read only: viewer)",
            ),
            classes="numbers-title",
        )
        yield Grid(
            numbers.extensions_grid_source(app.db, app.actor, self.customer_id),
            query=Query(sort=(SortKey("number"),)),
            id="extensions-grid",
        )
        with Horizontal(id="dial-row"):
            yield Label("Dial ", markup=False)
            yield Input(
                placeholder="e.g. 100",
                id="dial",
                compact=True,
                restrict=r"[0-9 ]*",
                max_length=20,
                tooltip="What a phone of this customer dials; a short extension is completed "
                "with the block's prefix",
            )
            yield Static("", id="dial-result")

    def on_mount(self) -> None:
        self.load()

    # -- loading ----------------------------------------------------------------------------

    def load(self) -> None:
        from carriertui.store.numbers import service as numbers

        app = self._app
        db, actor, customer_id = app.db, app.actor, self.customer_id
        self._loading = run_service(
            self,
            lambda: (
                numbers.number_plan(db, actor),
                numbers.list_blocks(db, actor, customer_id),
            ),
            on_done=self._loaded,
            group="numbers-load",
            exclusive=True,
        )

    async def loaded(self) -> None:
        """Wait until the newest read of the blocks and the number plan is shown."""
        while (worker := self._loading) is not None and not worker.is_finished:
            with contextlib.suppress(WorkerCancelled):
                await worker.wait()
            if worker is self._loading:
                return

    def _loaded(self, result: tuple[tuple[int, int] | None, list[BlockRecord]]) -> None:
        self.plan, self.blocks = result
        self.query_one("#blocks-grid", Grid).set_source(blocks_source(self.blocks))
        self._show_title()
        self.refresh_bindings()

    def _show_title(self) -> None:
        title = self.query_one("#blocks-title", Static)
        if self.plan is None:
            title.update(join(("Blocks", "bold"), "  ", (UNSET_HINT, "$warning")))
            return
        start, size = self.plan
        count = len(self.blocks or ())
        held = f"{count} block{'s' if count != 1 else ''}" if count else "no block yet"
        keys = "  + assign next · x release" if self.can_edit else ""
        title.update(
            join(
                ("Blocks", "bold"),
                (f"  {held} (start {start}, size {size})", "dim"),
                keys,
            )
        )

    def reload_all(self) -> None:
        self.load()
        self.query_one("#extensions-grid", Grid).refresh_data()
        self.post_message(NumbersChanged())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "allocate":
            # Disabled (shown greyed) while Start or Size is unset: the title says why.
            return None if self.plan is None or not self.can_edit else True
        if action in ("new", "remove"):
            return True if self.can_edit else None
        return True

    def focus_default(self) -> None:
        self.query_one("#blocks-grid", Grid).focus()

    # -- blocks -----------------------------------------------------------------------------

    def action_allocate(self) -> None:
        if self.plan is None or not self.can_edit:
            return
        from carriertui.store.numbers import service as numbers

        app = self._app
        db, actor, customer_id = app.db, app.actor, self.customer_id
        save_with_reason(
            self,
            lambda reason: numbers.allocate_next_block(db, actor, customer_id, comment=reason),
            on_done=self._allocated,
            on_error=lambda error: report_error(self.app, error),
            group="numbers-allocate",
        )

    def _allocated(self, block: BlockRecord) -> None:
        prefix = f", prefix {block.prefix}" if block.prefix else ""
        notify_plain(
            self.app, f"Block {block.block_index} assigned: {block.range_text}{prefix}", timeout=6
        )
        self.reload_all()
        grid = self.query_one("#blocks-grid", Grid)
        self.call_after_refresh(grid.refresh_data, key=block.block_index)

    def action_remove(self) -> None:
        if not self.can_edit:
            return
        focused = self.app.focused
        blocks_grid = self.query_one("#blocks-grid", Grid)
        if focused is not None and blocks_grid in focused.ancestors_with_self:
            key = blocks_grid.view.cursor_key
            if key is not None:
                self._confirm_release(int(key))
            return
        key = self.query_one("#extensions-grid", Grid).view.cursor_key
        row = self.query_one("#extensions-grid", Grid).view.row_at(
            self.query_one("#extensions-grid", Grid).view.cursor[0]
        )
        if key is not None and row is not None:
            self._confirm_remove(int(row[1][0]), str(row[1][1]))

    def _confirm_release(self, block_index: int) -> None:
        from carriertui.store.numbers import service as numbers
        from carriertui.widgets.confirm import ConfirmScreen

        block = next((b for b in self.blocks or () if b.block_index == block_index), None)
        if block is None:
            return
        app = self._app
        db, actor, customer_id = app.db, app.actor, self.customer_id

        def answered(yes: bool | None) -> None:
            if yes:
                save_with_reason(
                    self,
                    lambda reason: numbers.release_block(
                        db, actor, customer_id, block_index, comment=reason
                    ),
                    on_done=lambda released: self._changed(
                        f"Block {released.block_index} ({released.range_text}) released"
                    ),
                    on_error=lambda error: report_error(self.app, error),
                    group="numbers-release",
                )

        self.app.push_screen(
            ConfirmScreen(
                f"Release block {block.block_index} ({block.range_text})? It is refused while "
                "any of its numbers is in use.",
                "Release",
                "Keep",
            ),
            answered,
        )

    def _confirm_remove(self, number: int, kind: str) -> None:
        from carriertui.store.numbers import service as numbers
        from carriertui.widgets.confirm import ConfirmScreen

        app = self._app
        db, actor, customer_id = app.db, app.actor, self.customer_id

        def answered(yes: bool | None) -> None:
            if yes:
                save_with_reason(
                    self,
                    lambda reason: numbers.delete_extension(
                        db, actor, customer_id, number, comment=reason
                    ),
                    on_done=lambda removed: self._changed(f"{removed.describe()} removed"),
                    on_error=lambda error: report_error(self.app, error),
                    group="numbers-remove",
                )

        self.app.push_screen(
            ConfirmScreen(f"Remove {kind} {number}? Its number becomes free.", "Remove", "Keep"),
            answered,
        )

    def _changed(self, message: str) -> None:
        notify_plain(self.app, message, timeout=5)
        self.reload_all()

    # -- extensions -------------------------------------------------------------------------

    def action_new(self, kind: str) -> None:
        if not self.can_edit:
            return
        target = None
        if kind == ExtensionKind.ALIAS.value:
            grid = self.query_one("#extensions-grid", Grid)
            row = grid.view.row_at(grid.view.cursor[0])
            if row is not None and row[1][1] != ExtensionKind.ALIAS.label:
                target = int(row[1][0])

        def created(result: Any) -> None:
            if result is None:
                return
            from carriertui.store.numbers.service import NewSipUser

            if isinstance(result, NewSipUser):
                self.app.push_screen(PasswordOnceScreen(result.extension.number, result.password))
                self._changed(f"SIP user {result.extension.number} created")
            else:
                self._changed(f"{result.describe()} created")

        self.app.push_screen(
            ExtensionFormScreen(
                ExtensionKind(kind),
                self.customer_id,
                has_blocks=bool(self.blocks),
                target=target,
            ),
            created,
        )

    @on(RowActivated)
    def _row_activated(self, event: RowActivated) -> None:
        event.stop()

    # -- dial plan --------------------------------------------------------------------------

    def action_dial(self) -> None:
        self.query_one("#dial", Input).focus()

    @on(Input.Changed, "#dial")
    @on(Input.Submitted, "#dial")
    def _dialled(self, event: Input.Changed | Input.Submitted) -> None:
        event.stop()
        digits = event.value.replace(" ", "")
        result = self.query_one("#dial-result", Static)
        if not digits:
            result.update("")
            return
        from carriertui.store.numbers import service as numbers

        app = self._app
        db, actor, customer_id = app.db, app.actor, self.customer_id
        run_service(
            self,
            lambda: numbers.resolve_dial(db, actor, customer_id, digits),
            on_done=lambda resolved: result.update(
                plain(resolved.text, style="" if resolved.reaches else "$text-muted")
            ),
            on_error=lambda error: result.update(plain(str(error), style="$error")),
            group="numbers-dial",
            exclusive=True,
        )


# -- modals ------------------------------------------------------------------------------------


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

        app: Any = self.app
        db, actor, customer_id = app.db, app.actor, self.customer_id
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
            on_done=lambda source: app.push_screen(NumberPickerScreen(source, typed), chosen),
            group="numbers-picker",
            exclusive=True,
        )

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        from carriertui.store.numbers import service as numbers

        form = self.query_one(Form)
        form.clear_errors()
        values = {row.field: row.value for row in form.rows()}
        app: Any = self.app
        db, actor, customer_id = app.db, app.actor, self.customer_id
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
