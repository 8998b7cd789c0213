"""The audit log: the account-wide screen, and View Difference for one entry."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from carriertui.diffing import json_patch
from carriertui.grid.model import Query, SortKey
from carriertui.screens.base import BaseScreen, run_service
from carriertui.store.audit import AuditRecord
from carriertui.widgets.diff_view import DiffView
from carriertui.widgets.footer import KeyFooter
from carriertui.widgets.format import utc
from carriertui.widgets.grid import Grid, RowActivated
from carriertui.widgets.plain import join, notify_plain
from carriertui.widgets.work import session_of

NEW_ENTRIES_POLL_S = 10.0
NEWEST_FIRST = Query(sort=(SortKey("created_at", descending=True),))


class DiffScreen(ModalScreen[None]):
    """View Difference for one audit entry."""

    HELP = (
        "What this audit entry changed. The table lists changed fields (dotted paths; list items "
        "by id or position); unchanged fields are hidden. {diff.toggle} shows both records in "
        "full (side by side from 100 columns, else one column with - and +); "
        "{diff.next}/{diff.prev} jump between changes.\n\n"
        "{diff.copy_before} copies the record before, {diff.copy_after} the record after, "
        "{diff.copy_patch} the change as a JSON Patch (RFC 6902). {diff.close} closes."
    )
    TITLE_TEXT = "View Difference"
    # Opaque: the dialog fills the screen anyway, and a see-through modal makes every frame
    # render the screen below as well and blend it into this one.
    DEFAULT_CSS = """
    DiffScreen { background: $surface; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="diff.close"),
        Binding("b", "copy('before')", "Copy before", id="diff.copy_before"),
        Binding("a", "copy('after')", "Copy after", id="diff.copy_after"),
        Binding("p", "copy('patch')", "Copy patch", id="diff.copy_patch"),
    ]

    def __init__(self, entry: AuditRecord) -> None:
        super().__init__()
        self.entry = entry

    def compose(self) -> ComposeResult:
        entry = self.entry
        with Vertical(id="diff-dialog", classes="diff-dialog"):
            yield Static(
                join(
                    ("View Difference  ", "bold $primary"),
                    (f"{entry.action} {entry.verb} {entry.table} {entry.primary_key}", "bold"),
                    "\n",
                    (f"{utc(entry.created_at)} · {entry.actor} from {entry.ip}", "dim"),
                    "\n",
                    (entry.message, ""),
                    (f"  (reason: {entry.comment})" if entry.comment else "", "italic"),
                ),
                id="diff-header",
                classes="diff-header",
            )
            yield DiffView(entry.before, entry.after, id="diff-view")
            # A plain line, not a Footer: a Footer composes a widget per binding, which cost
            # about 100 ms every time View Difference opened.
            yield Static(
                "t fields/full · n/N next/prev change · b/a copy before/after · p copy JSON Patch"
                " · v whole value · esc close",
                id="diff-keys",
                classes="diff-keys",
                markup=False,
            )

    def action_copy(self, what: str) -> None:
        entry = self.entry
        if what == "patch":
            text = json.dumps(json_patch(entry.before or {}, entry.after or {}), indent=2)
        else:
            record = entry.before if what == "before" else entry.after
            if record is None:
                notify_plain(self.app, f"This entry has no {what} record", severity="warning")
                return
            text = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False)
        self.app.copy_to_clipboard(text)
        self.last_copied = text
        notify_plain(self.app, f"Copied the {what}" if what != "patch" else "Copied the JSON Patch")

    def action_close(self) -> None:
        self.dismiss(None)


def open_difference(screen: Any, entry_id: int) -> None:
    """Load an entry in a worker and show View Difference."""
    from carriertui.store import audit

    db, actor = session_of(screen)
    run_service(
        screen,
        lambda: audit.get_entry(db, actor, entry_id),
        on_done=lambda entry: screen.app.push_screen(DiffScreen(entry)),
        group="audit-entry",
        exclusive=True,
    )


class AuditLogScreen(BaseScreen):
    """Every audit entry of the account, newest first."""

    TITLE_TEXT = "Audit Log"
    HELP = (
        "Who changed what, from which IP, when. Newest first; the log is not pushed live: "
        "{grid.refresh} refreshes.\n\n"
        "{grid.enter} or {audit.difference} opens View Difference. The grid keys work as "
        "everywhere: {grid.search} searches, {grid.filter} filters a column (Action, Table, User, "
        "IP; Date / Time by range), {grid.sort} sorts, {grid.menu} copies or exports."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "difference", "Difference", id="audit.difference"),
        Binding("escape", "back", "Back", id="audit.back"),
    ]

    def compose(self) -> ComposeResult:
        from carriertui.store import audit

        app = self.carrier
        assert app.db is not None and app.actor is not None
        yield from self.compose_top()
        yield Grid(
            audit.grid_source(app.db, app.actor),
            query=NEWEST_FIRST,
            enter="activate",
            watch_new=NEW_ENTRIES_POLL_S,
            id="audit-log-grid",
        )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(Grid).focus()

    @on(RowActivated)
    def _activated(self, event: RowActivated) -> None:
        open_difference(self, int(event.key))

    def action_difference(self) -> None:
        key = self.query_one(Grid).view.cursor_key
        if key is not None:
            open_difference(self, int(key))

    def action_back(self) -> None:
        self.app.pop_screen()
