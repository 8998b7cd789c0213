"""The portal's Summary tab: the operator's Summary pane, read only, over the portal's services.

Its rows come from ``store.portal.portal_summary``, which returns only what the customer is
billed (periods, attempts, connected, ASR, ACD, duration, billed duration, charge): the
carrier's cost and margin never reach this pane, so neither its grid nor a copy or export of it
can show them. Invoices come from ``store.portal.portal_invoices_source``. No key here changes
anything: generating invoices, marking them paid, CDR reports and roll-ups are operator work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carriertui.screens.base import run_service
from carriertui.screens.customer.summary import SummaryPane

if TYPE_CHECKING:
    from carriertui.store.contacts.service import PortalIdentity

# The Summary pane's actions that write or reach beyond the customer's own view.
OPERATOR_ACTIONS = frozenset({"generate", "auto_generate", "mark_paid", "cdr_report", "rollup"})
INVOICES_INFO = "Your invoices and their status"


class PortalSummaryPane(SummaryPane):
    """The contact's Summary and invoices: the billed columns only, read only."""

    def __init__(self, identity: PortalIdentity, *, id: str | None = None) -> None:
        super().__init__(identity.customer_id, actor=identity.actor, read_only=True, id=id)
        self.identity = identity

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in OPERATOR_ACTIONS:
            return False
        return super().check_action(action, parameters)

    def load(self) -> None:
        if self.view == "invoices":
            self._load_invoices()
            return
        db, identity, view = self._app.db, self.identity, self.view

        def read() -> Any:
            from carriertui.store import portal

            return portal.portal_summary(db, identity, view)

        run_service(self, read, on_done=self._show, group="summary-load", exclusive=True)

    def _load_invoices(self) -> None:
        from carriertui.store import portal

        self.summary = None
        self.workers.cancel_group(self, "summary-load")
        self._stash_ticks()
        self.grid.set_source(portal.portal_invoices_source(self._app.db, self.identity))
        self._shown_view = None  # invoice rows: nothing to tick
        self._place_chart()
        self._set_info([(INVOICES_INFO, 0)])

    # Defence in depth: the bindings are off (check_action), and the actions do nothing.
    def action_generate(self) -> None:
        return

    def action_auto_generate(self) -> None:
        return

    def action_mark_paid(self) -> None:
        return

    def action_cdr_report(self) -> None:
        return

    def action_rollup(self) -> None:
        return
