"""The customer's Contacts tab: one pane (a grid with its keys and row menu) that the Global
Contacts screen (screens/global_contacts.py) shows too, for every customer; the form is
contact_form.py, Change Password contact_password.py, beside this module."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from carriertui.grid.model import Query, SortKey
from carriertui.screens.base import (
    report_error,
    run_service,
    save_with_reason,
)
from carriertui.screens.customer.contact_form import ContactFormScreen
from carriertui.screens.customer.contact_password import ContactPasswordScreen
from carriertui.screens.row_menu import RowMenuGrid
from carriertui.store.contacts.service import (
    ContactRecord,
)
from carriertui.store.enums import Role
from carriertui.widgets.grid import Grid, RowAction, RowActivated
from carriertui.widgets.plain import join, notify_plain, plain
from carriertui.widgets.work import session_of

# The tab's paragraph of the Customer screen's F1 help.
TAB_HELP = (
    "Contacts: {contacts.add} adds a contact, {grid.enter} or {contacts.edit} edits, "
    "{contacts.password} Change Password, {contacts.portal} Portal Login, {contacts.delete} "
    "Delete; {grid.menu} opens the row menu with the same (its keys work in the menu)."
)

__all__ = [
    "ContactsPane",
    "PickCustomerScreen",
]

CONTACTS_QUERY = Query(sort=(SortKey("name"),))
# The row menu's items, with the keys that choose them in the menu and on the grid. Portal
# Login is `L`: the grid keeps `l` for moving right (hjkl work in every grid).
ROW_ACTIONS = (
    ("edit", "Edit (e)"),
    ("password", "Change Password (p)"),
    ("portal", "Portal Login (L)"),
    ("delete", "Delete (delete)"),
)


class PickCustomerScreen(ModalScreen[tuple[int, str] | None]):
    """Global Contacts' add: choose the customer first (type to narrow the list)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel", id="pick_customer.cancel")
    ]
    LIMIT = 50

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="pick-customer"):
            yield Static("Add a contact to which customer?", classes="dialog-title")
            yield Input(placeholder="Type a name or account code", id="pick-search", compact=True)
            yield OptionList(id="pick-options")
            yield Label("", id="pick-info", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self._search("")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            options.focus()
            options.highlighted = 0
            options.action_select()

    def _search(self, text: str) -> None:
        from carriertui.store import customers

        db, actor = session_of(self)

        def show(found: list[Any]) -> None:
            options = self.query_one(OptionList)
            options.clear_options()
            for record in found[: self.LIMIT]:
                label = plain(record.name)
                if record.account_code:
                    label = join(record.name, (f"  {record.account_code}", "dim"))
                options.add_option(Option(label, id=str(record.id)))
            more = len(found) - self.LIMIT
            self.query_one("#pick-info", Label).update(
                plain(f"{more} more: type to narrow" if more > 0 else "Enter or click chooses")
            )
            self._names = {str(record.id): record.name for record in found[: self.LIMIT]}

        run_service(
            self,
            lambda: customers.list_customers(db, actor, text or None),
            on_done=show,
            group="pick-customer",
            exclusive=True,
        )

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        key = event.option.id
        if key is not None:
            self.dismiss((int(key), self._names[key]))

    def action_close(self) -> None:
        self.dismiss(None)


class ContactsPane(Vertical):
    """The contacts grid: one customer's (``customer_id``) or everyone's (None, with a
    Customer column). a adds, Enter or e edits, m opens the row menu."""

    DEFAULT_CSS = """
    ContactsPane { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add", id="contacts.add", tooltip="Add a contact"),
        Binding("e", "edit", "Edit", id="contacts.edit", show=False),
        Binding("p", "password", "Change Password", id="contacts.password", show=False),
        Binding(
            "L",
            "portal",
            "Portal Login",
            id="contacts.portal",
            show=False,
            tooltip="Portal Login: the portal as this contact sees it",
        ),
        Binding("delete", "delete", "Delete", id="contacts.delete", show=False),
    ]

    def __init__(self, customer_id: int | None, *, customer_name: str = "", id: str | None = None):
        super().__init__(id=id)
        self.customer_id = customer_id
        self.customer_name = customer_name

    @property
    def _app(self) -> Any:
        return self.app

    @property
    def can_edit(self) -> bool:
        actor = self._app.actor
        return actor is not None and actor.can(Role.OPERATOR)

    def compose(self) -> ComposeResult:
        from carriertui.store.contacts import service as contacts

        app = self._app
        hint = (
            "a add · Enter/e edit · p Change Password · L Portal Login · m menu"
            if self.can_edit
            else "Enter shows a contact (read only: viewer)"
        )
        yield Label(hint, classes="tab-hint", markup=False)
        yield RowMenuGrid(
            contacts.grid_source(app.db, app.actor, customer_id=self.customer_id),
            query=CONTACTS_QUERY,
            enter="activate",
            row_actions=ROW_ACTIONS if self.can_edit else (("edit", "Show (Enter)"),),
            title_column="name",
            id="contacts-grid",
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add", "password", "portal", "delete"):
            return self.can_edit
        return True

    @property
    def grid(self) -> Grid:
        return self.query_one("#contacts-grid", Grid)

    def _cursor(self) -> tuple[int, tuple[Any, ...]] | None:
        view = self.grid.view
        row = view.row_at(view.cursor[0])
        return None if row is None else (int(row[0]), row[1])

    def refresh_contacts(self) -> None:
        self.grid.refresh_data()

    # -- add and edit -----------------------------------------------------------------------

    def action_add(self) -> None:
        if self.customer_id is not None:
            self._open_form(self.customer_id, self.customer_name, None)
            return

        def picked(choice: tuple[int, str] | None) -> None:
            if choice is not None:
                self._open_form(choice[0], choice[1], None)

        self.app.push_screen(PickCustomerScreen(), picked)

    def _open_form(self, customer_id: int, name: str, contact_id: int | None) -> None:
        def closed(saved: bool | None) -> None:
            if saved:
                self.refresh_contacts()
            self.grid.focus()

        self.app.push_screen(ContactFormScreen(customer_id, name, contact_id=contact_id), closed)

    def action_edit(self) -> None:
        current = self._cursor()
        if current is not None:
            self._edit(current[0])

    @on(RowActivated, "#contacts-grid")
    def _activated(self, event: RowActivated) -> None:
        event.stop()
        self._edit(int(event.key))

    def _edit(self, contact_id: int) -> None:
        # The form opens at once and reads the contact itself (see ContactFormScreen).
        self._open_form(self.customer_id or 0, self.customer_name, contact_id)

    # -- the row menu -----------------------------------------------------------------------

    @on(RowAction, "#contacts-grid")
    def _row_action(self, event: RowAction) -> None:
        event.stop()
        contact_id = int(event.key)
        if event.action == "edit":
            self._edit(contact_id)
        elif event.action == "password":
            self._password(contact_id)
        elif event.action == "portal":
            self._portal(contact_id)
        elif event.action == "delete":
            self._delete(contact_id)

    def action_password(self) -> None:
        if (current := self._cursor()) is not None:
            self._password(current[0])

    def action_portal(self) -> None:
        if (current := self._cursor()) is not None:
            self._portal(current[0])

    def action_delete(self) -> None:
        if (current := self._cursor()) is not None:
            self._delete(current[0])

    def _with_record(self, contact_id: int, then: Any) -> None:
        from carriertui.store.contacts import service as contacts

        db, actor = session_of(self)
        run_service(
            self,
            lambda: contacts.get_contact(db, actor, contact_id),
            on_done=then,
            group="contact-open",
            exclusive=True,
        )

    def _password(self, contact_id: int) -> None:
        def opened(record: ContactRecord) -> None:
            self.app.push_screen(
                ContactPasswordScreen(record.id, record.name, record.email, record.ip_whitelist),
                lambda changed: self.refresh_contacts() if changed else None,
            )

        self._with_record(contact_id, opened)

    def _portal(self, contact_id: int) -> None:
        from carriertui.store.contacts import service as contacts

        db, actor = session_of(self)

        def entered(identity: Any) -> None:
            from carriertui.screens.portal import PortalScreen

            self.app.push_screen(PortalScreen(identity))

        run_service(
            self,
            lambda: contacts.portal_login_as(db, actor, contact_id),
            on_done=entered,
            group="contact-portal",
            exclusive=True,
        )

    def _delete(self, contact_id: int) -> None:
        from carriertui.widgets.confirm import ConfirmScreen

        def opened(record: ContactRecord) -> None:
            def answered(yes: bool | None) -> None:
                if yes:
                    self._really_delete(record)

            self.app.push_screen(
                ConfirmScreen(
                    f"Delete contact {record.name} <{record.email}>? Their portal login stops "
                    "working and their unsent mail and delayed changes are cancelled.",
                    "Delete",
                    "Keep",
                ),
                answered,
            )

        self._with_record(contact_id, opened)

    def _really_delete(self, record: ContactRecord) -> None:
        from carriertui.store.contacts import service as contacts

        db, actor = session_of(self)

        def done(_result: Any) -> None:
            notify_plain(self.app, f"Contact {record.name} deleted", timeout=4)
            self.refresh_contacts()

        save_with_reason(
            self,
            lambda reason: contacts.delete_contact(
                db, actor, record.id, expected_version=record.version, comment=reason
            ),
            on_done=done,
            on_error=lambda error: report_error(self.app, error),
            group="contact-delete",
        )
