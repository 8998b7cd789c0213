"""The customer's Main tab: the customer's details in a form (its fields are
screens/customer_form.py, which New Customer shares), the record and rate card lines, and Save &
Stay, Save & Continue, Delay & Save through the one edit flow (screens/edit_session.py). The
screen keeps the keys (ctrl+s, ctrl+g, ctrl+d) and the record; this tab edits it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, cast

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Label

from carriertui.screens.customer_form import (
    changed_values,
    customer_rows,
    fill_form,
    form_texts,
)
from carriertui.screens.edit_session import EditSession
from carriertui.store.customers import CustomerRecord
from carriertui.widgets.form import Form
from carriertui.widgets.format import utc
from carriertui.widgets.plain import notify_plain, plain
from carriertui.widgets.work import session_of

# The tab's paragraph of the Customer screen's F1 help.
TAB_HELP = (
    "Main: edit the details. {customer.save_stay} is Save and Stay, {customer.save_continue} "
    "is Save and Continue (saves, then back to the list), {customer.delay_save} is Delay and "
    "Save (the change waits in the Delay Log). Every change is audited; with Audit Comment on "
    "(Settings > Options) a save asks for a reason. If someone else saved the customer after "
    "you opened it, nothing is overwritten: you see both versions and choose."
)


class CustomerHost(Protocol):
    """What the Main tab needs of the Customer screen around it."""

    record: CustomerRecord | None

    @property
    def can_edit(self) -> bool: ...

    def show_record(self, record: CustomerRecord) -> None: ...

    def keep_record(self, record: CustomerRecord) -> None: ...

    def audit_changed(self) -> None: ...

    def dismiss_to_list(self) -> None: ...


class CustomerMainPane(VerticalScroll):
    """The Main tab's content: the form, its info lines and the Save buttons."""

    def compose(self) -> ComposeResult:
        yield Form(id="customer-form")
        yield Label("", id="main-info", classes="record-info", markup=False)
        yield Label("", id="main-cards", classes="card-info", markup=False)
        with Horizontal(classes="form-buttons", id="main-buttons"):
            yield Button("Save & Stay ^s", id="save-stay", variant="primary", compact=True)
            yield Button("Save & Continue ^g", id="save-continue", compact=True)
            yield Button("Delay & Save ^d", id="delay-save", compact=True)

    @property
    def host(self) -> CustomerHost:
        return cast("CustomerHost", self.screen)

    @property
    def form(self) -> Form:
        return self.query_one("#customer-form", Form)

    # -- showing ----------------------------------------------------------------------------

    def show(self, record: CustomerRecord, *, editable: bool) -> None:
        """The record in the form (its rows are made on the first show), the info line, and
        the Save buttons for those who may edit."""
        form = self.form
        if form.row("name") is None:
            form.mount_all(customer_rows(record, editable=editable))
        else:
            fill_form(form, record)
        info = (
            f"Created {utc(record.created_at)} · currency {record.currency} is fixed"
            f" · version {record.version}"
        )
        if not editable:
            info += " · read only (viewer)"
        self.query_one("#main-info", Label).update(plain(info))
        self.query_one("#main-buttons").display = editable

    def show_cards(self, names: dict[Any, str | None]) -> None:
        """The rate cards the customer's calls are rated with (read only: `rates assign`)."""
        from carriertui.rating import CardKind

        customer = names.get(CardKind.CUSTOMER) or "none"
        provider = names.get(CardKind.PROVIDER) or "none"
        self.query_one("#main-cards", Label).update(
            plain(f"Rate cards: customer {customer} · provider {provider}")
        )

    # -- saving -----------------------------------------------------------------------------

    @on(Button.Pressed, "#save-stay")
    def _save_stay(self) -> None:
        self.save(False)

    @on(Button.Pressed, "#save-continue")
    def _save_continue(self) -> None:
        self.save(True)

    @on(Button.Pressed, "#delay-save")
    def _delay_save(self) -> None:
        self.delay()

    @property
    def edit(self) -> EditSession[CustomerRecord]:
        """The tab's edit of the customer (save, conflicts, Delay and Save)."""
        host = self.host

        def reload(current: CustomerRecord) -> None:
            host.show_record(current)
            host.audit_changed()

        return EditSession(
            self.screen,
            what="customer",
            form=lambda: self.form,
            opened=lambda: host.record,
            texts=form_texts,
            reload=reload,
            keep=host.keep_record,
        )

    def _changes(self) -> tuple[CustomerRecord, dict[str, Any]] | None:
        host = self.host
        if host.record is None or not host.can_edit:
            return None
        form = self.form
        form.clear_errors()
        return host.record, changed_values(form, host.record)

    def save(self, leave: bool) -> None:
        """Save and Stay, or Save and Continue (``leave``: back to the list once saved)."""
        edited = self._changes()
        if edited is None:
            return
        record, changes = edited
        if not changes:
            self.notify("No changes to save", timeout=3)
            if leave:
                self.host.dismiss_to_list()
            return
        db, actor = session_of(self)
        from carriertui.store import customers

        self.edit.save(
            lambda reason: customers.update_customer(
                db, actor, record.id, changes, expected_version=record.version, comment=reason
            ),
            changes,
            on_done=lambda saved: self._saved(saved, leave),
            group="customer-save",
        )

    def delay(self) -> None:
        """Delay and Save: the tab's changes wait in the Delay Log until their time."""
        edited = self._changes()
        if edited is None:
            return
        record, changes = edited
        if not changes:
            self.notify("No changes to delay", timeout=3)
            return
        from carriertui.store import customers

        self.edit.delay(
            customers.TABLE,
            record.id,
            record.version,
            changes,
            on_done=self._scheduled,
            group="customer-delay",
        )

    def _scheduled(self, scheduled: Any) -> None:
        host = self.host
        assert host.record is not None
        notify_plain(
            self.app,
            f"Scheduled for {utc(scheduled.due_at)} UTC: {scheduled.description} (go: delay log)",
            timeout=6,
        )
        fill_form(self.form, host.record)  # the form shows what is saved now
        host.audit_changed()

    def _saved(self, record: CustomerRecord, leave: bool) -> None:
        host = self.host
        self.notify("Saved", timeout=3)
        if leave:
            host.dismiss_to_list()
            return
        host.show_record(record)
        host.audit_changed()

    # -- leaving ----------------------------------------------------------------------------

    def leave(self, then: Callable[[], object]) -> None:
        """Leave the customer: at once when nothing was typed here, else after the operator
        agrees to discard it."""
        host = self.host
        dirty = (
            host.record is not None
            and host.can_edit
            and bool(changed_values(self.form, host.record))
        )
        self.edit.close(dirty, then)
