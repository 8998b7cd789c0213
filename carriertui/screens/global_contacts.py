"""Contacts (all customers): every contact of every customer, in the Contacts tab's pane
(screens/customer/contacts.py) with no customer chosen."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType

from carriertui.screens.base import BaseScreen
from carriertui.screens.customer.contacts import ContactsPane
from carriertui.widgets.footer import KeyFooter
from carriertui.widgets.grid import Grid


class GlobalContactsScreen(BaseScreen):
    TITLE_TEXT = "Contacts (all customers)"
    HELP = (
        "Every contact of every customer. {contacts.add} adds one (choose the customer first); "
        "{grid.enter} or {contacts.edit} edits; {contacts.password} Change Password, "
        "{contacts.portal} Portal Login, {contacts.delete} Delete; {grid.menu} opens the row menu "
        "with the same (its keys work in the menu too). All grid keys work: {grid.sort} sorts, "
        "{grid.filter} filters, {grid.search} searches.\n\n"
        "{contacts.back} goes back."
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back", id="contacts.back")]

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield ContactsPane(None, id="global-contacts")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(Grid).focus()

    def action_back(self) -> None:
        self.dismiss()
