"""The customer's Number Block tab: blocks, the extensions that use their numbers, the dial plan
(its modals are number_dialogs.py, beside this module)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static
from textual.worker import Worker, WorkerCancelled

from carriertui.grid.memory import InMemoryRowSource
from carriertui.grid.model import Column, ColumnType, Query, SortKey
from carriertui.screens.base import report_error, run_service, save_with_reason
from carriertui.screens.customer.number_dialogs import ExtensionFormScreen, PasswordOnceScreen
from carriertui.store.enums import ExtensionKind, Role
from carriertui.widgets.grid import Grid, RowActivated
from carriertui.widgets.plain import join, notify_plain, plain
from carriertui.widgets.work import session_of

if TYPE_CHECKING:
    from carriertui.store.numbers.service import BlockRecord

# The tab's paragraph of the Customer screen's F1 help.
TAB_HELP = (
    "Number Block: {numbers.allocate} assigns the next free block (needs Number Range Start "
    "and Block Size in Settings > Options); {numbers.new_sip_user} adds a SIP user, "
    "{numbers.new_conference} a conference, {numbers.new_alias} an alias ({extension.pick} in "
    "the form picks an unused number); {numbers.remove} releases the block or removes the "
    "extension under the cursor; {numbers.dial} tests what a dialled number reaches."
)

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

        db, actor = session_of(self)
        customer_id = self.customer_id
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

        db, actor = session_of(self)
        customer_id = self.customer_id
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
        db, actor = session_of(self)
        customer_id = self.customer_id

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

        db, actor = session_of(self)
        customer_id = self.customer_id

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

        db, actor = session_of(self)
        customer_id = self.customer_id
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
