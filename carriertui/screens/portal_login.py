"""`carriertui portal`'s login: a contact logs in with their email and password."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from carriertui.screens.login import CredentialsScreen


class PortalLoginScreen(CredentialsScreen):
    """``carriertui portal``: a contact logs in with their email and password."""

    TITLE_TEXT = "Customer portal"
    HELP = (
        "Log in to your company's customer portal with your email address and password.\n\n"
        "After 10 failed attempts in a row your login is locked for 15 minutes. Your account "
        "manager can send you a new password."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "login", "Log in", id="portal_login.submit", show=True),
    ]
    BOX_TITLE = "Customer portal login"
    NAME_LABEL = "Email"
    NAME_FIELD = "email"
    NAME_MISSING = "enter your email address"
    PREFIX = "portal-login"
    NAME_ID = "portal-email"
    PASSWORD_ID = "portal-password"  # noqa: S105 (a widget id)

    def authenticate(self, db: Any, name: str, password: str, ip: str) -> object:
        from carriertui.store.contacts import service as contacts

        return contacts.authenticate(db, name, password, ip)

    def succeeded(self, identity: Any) -> None:
        self.carrier.portal_logged_in(identity)
