"""The customer's Audit Log tab: this customer's changes, newest first; Enter or d opens View
Difference (screens/audit.py, shared with the Audit Log screen)."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label

from carriertui.grid.model import Query, SortKey
from carriertui.widgets.grid import Grid, RowActivated
from carriertui.widgets.work import session_of

AUDIT_QUERY = Query(sort=(SortKey("created_at", descending=True),))


class CustomerAuditPane(Vertical):
    """The Audit Log tab's content: a hint and the customer's audit grid."""

    def __init__(self, customer_id: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.customer_id = customer_id

    def compose(self) -> ComposeResult:
        from carriertui.store import audit

        db, actor = session_of(self)
        yield Label(
            "This customer's changes, newest first. Enter or d: View Difference.",
            classes="tab-hint",
            markup=False,
        )
        yield Grid(
            audit.grid_source(db, actor, customer_id=self.customer_id),
            query=AUDIT_QUERY,
            enter="activate",
            id="audit-grid",
        )

    @property
    def grid(self) -> Grid:
        return self.query_one("#audit-grid", Grid)

    def refresh_entries(self) -> None:
        """Read the entries again (a save in another tab wrote one); the cursor stays on the
        entry it was on."""
        self.grid.refresh_data()

    def focus_default(self) -> None:
        self.grid.focus()

    @on(RowActivated)
    def _entry_activated(self, event: RowActivated) -> None:
        from carriertui.screens.audit import open_difference

        open_difference(self.screen, int(event.key))

    def show_difference(self) -> None:
        """View Difference of the entry under the cursor."""
        from carriertui.screens.audit import open_difference

        key = self.grid.view.cursor_key
        if key is not None:
            open_difference(self.screen, int(key))
