"""The customer portal itself (its login is screens/portal_login.py, a contact's new password
screens/portal_password.py).

The same PortalScreen serves ``carriertui portal`` (a contact logged in with email and password)
and an operator's Portal Login (pushed on the operator's screen stack, with a permanent banner).
It reads only ``store.portal``'s dataclasses, which carry public notes and never private ones.
Every string from the database is rendered as plain text (GUIDE section 4).

Kept light at import: the store is loaded in workers, after the first frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static, TabbedContent, TabPane

from carriertui.screens.base import BaseScreen, TopBar, run_service
from carriertui.screens.edit_session import EditSession
from carriertui.text import sanitize
from carriertui.widgets.footer import SteadyFooter
from carriertui.widgets.form import FieldRow, Form
from carriertui.widgets.format import money, tone_style, utc
from carriertui.widgets.grid import Grid
from carriertui.widgets.lazy_tabs import LazyTabbedContent
from carriertui.widgets.plain import join, plain

if TYPE_CHECKING:
    from carriertui.store.contacts.service import PortalIdentity
    from carriertui.store.portal import PortalAccount, PortalProfile

PROFILE_FIELDS = ("name", "phone", "mobile")


def portal_banner(identity: PortalIdentity) -> Any:
    """The Portal Login banner: who the operator sees the portal as, and who the operator is."""
    return join(
        "Portal Login: viewing as ",
        (f"{identity.name} <{identity.email}>", "bold"),
        " \u2014 operator ",
        (identity.operator or "", "bold"),
    )


class PortalScreen(BaseScreen):
    """The customer's view of their account: details with public notes, My Profile, and (once
    their branches land) number blocks and the Summary.

    ``PortalScreen(identity)`` is the whole constructor: the Contacts row menu pushes it with the
    identity from ``contacts.portal_login_as`` (an operator's Portal Login: a banner, read only,
    Esc returns), and ``carriertui portal`` switches to it after a contact's login (Esc logs out).
    """

    TITLE_TEXT = "Customer portal"
    HELP = (
        "Your company's account as we hold it.\n\n"
        "Account: balance, debit limit, channels and notes from your account manager.\n\n"
        "My Profile: change your name, phone and mobile ({portal.save} saves; numbers with the "
        "country code, e.g. +44 20 7946 0958) and your password. Your email is your login: your "
        "account manager changes it.\n\n"
        "{portal.prev_tab} and {portal.next_tab} move between tabs; {portal.refresh} reloads; "
        "{portal.logout} logs out."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close Portal Login", id="portal.close"),
        Binding("escape,q", "logout", "Log out", id="portal.logout"),
        Binding("ctrl+s", "save", "Save profile", id="portal.save", priority=True),
        Binding("left_square_bracket", "tab(-1)", "Prev tab", id="portal.prev_tab", show=False),
        Binding("right_square_bracket", "tab(1)", "Next tab", id="portal.next_tab", show=False),
        Binding("f5", "refresh", "Reload", id="portal.refresh", show=False),
    ]

    def __init__(self, identity: PortalIdentity) -> None:
        super().__init__()
        self.identity = identity
        self.account: PortalAccount | None = None
        self.profile: PortalProfile | None = None

    @property
    def is_portal_login(self) -> bool:
        """An operator looking at the portal as the contact (read only)."""
        return self.identity.operator is not None

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        if self.is_portal_login:
            yield Static(portal_banner(self.identity), id="portal-banner", classes="portal-banner")
        # The Summary is built when its tab is first shown (see LazyTabbedContent).
        with LazyTabbedContent(id="portal-tabs", lazy={"summary": self.build_summary}):
            with TabPane("Account", id="account"), VerticalScroll(id="account-scroll"):
                yield Static("Loading…", id="account-details", classes="portal-details")
                yield Static("Notes", classes="portal-heading")
                yield Static("", id="public-notes")
            with TabPane("My Profile", id="profile"), VerticalScroll(id="profile-scroll"):
                yield from self.compose_profile()
            yield from self.compose_number_blocks()
            yield from self.compose_summary()
        yield SteadyFooter()

    def compose_top(self) -> ComposeResult:
        yield TopBar(f"Customer portal \u00b7 {self.identity.name}")

    def compose_profile(self) -> ComposeResult:
        read_only = self.is_portal_login
        yield Static("", id="profile-email", classes="portal-details")
        with Form(id="profile-form"):
            for field, label in (("name", "Name"), ("phone", "Phone"), ("mobile", "Mobile")):
                control = Input(id=f"profile-{field}", compact=True, disabled=read_only)
                yield FieldRow(label, control, field=field)
        yield Label("", id="profile-status", classes="profile-status", markup=False)
        if read_only:
            yield Static(
                "Portal Login is read only: change this contact from Contacts.", classes="hint"
            )
            return
        with Horizontal(classes="form-buttons"):
            yield Button("Save (ctrl+s)", id="profile-save", variant="primary", compact=True)
            yield Button("Change password", id="change-password", compact=True)

    def compose_number_blocks(self) -> ComposeResult:
        """The customer's number blocks and extensions, read only (copy and export work)."""
        from carriertui.grid.model import Query, SortKey
        from carriertui.screens.customer.number_block import blocks_source
        from carriertui.store import portal

        db = self.carrier.db
        assert db is not None  # the portal's screens exist only once it has opened the database
        with TabPane("Number Blocks", id="numbers"), Vertical(id="portal-numbers"):
            yield Static("Number blocks", classes="portal-heading")
            yield Grid(blocks_source([]), id="portal-blocks", classes="portal-blocks")
            yield Static("Extensions", classes="portal-heading")
            yield Grid(
                portal.portal_extensions_source(db, self.identity),
                query=Query(sort=(SortKey("number"),)),
                id="portal-extensions",
            )

    def compose_summary(self) -> ComposeResult:
        yield TabPane("Summary", id="summary")

    def build_summary(self) -> list[Widget]:
        """The customer's Summary and invoices, read only (the grid's copy and export work)."""
        from carriertui.screens.portal_summary import PortalSummaryPane

        return [PortalSummaryPane(self.identity, id="portal-summary")]

    def on_mount(self) -> None:
        self.load()

    @on(TabbedContent.TabActivated)
    async def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "summary":
            from carriertui.screens.customer.summary import SummaryPane

            tabs = self.query_one("#portal-tabs", LazyTabbedContent)
            await tabs.wait_built("summary")  # built on its first show
            if tabs.active != "summary":
                return  # left meanwhile: focusing its grid would bring it back
            summary = self.query_one(SummaryPane)
            summary.load()
            summary.focus_default()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "close":
            return self.is_portal_login
        if action == "logout":
            return not self.is_portal_login
        if action == "save":
            return not self.is_portal_login and self.profile is not None
        return True

    # -- loading ----------------------------------------------------------------------------

    def load(self) -> None:
        db, identity = self.carrier.db, self.identity
        assert db is not None

        def read() -> PortalAccount:
            from carriertui.store import portal

            return portal.portal_account(db, identity)

        run_service(self, read, on_done=self.show_account, group="portal-load", exclusive=True)

        def blocks() -> list[Any]:
            from carriertui.store import portal

            return portal.portal_blocks(db, identity)

        run_service(self, blocks, on_done=self.show_blocks, group="portal-blocks", exclusive=True)

    def show_blocks(self, blocks: list[Any]) -> None:
        from carriertui.screens.customer.number_block import blocks_source

        self.query_one("#portal-blocks", Grid).set_source(blocks_source(blocks))

    def show_account(self, account: PortalAccount) -> None:
        from carriertui.store.customers import status_tone  # loaded: the account was read

        self.account = account
        currency = account.currency
        self.query_one("#account-details", Static).update(
            join(
                "Company        ",
                (account.customer_name, "bold"),
                "\nAccount code   ",
                (account.account_code or "\u2014", ""),
                "\nStatus         ",
                (account.status, tone_style(status_tone(account.status), "bold")),
                "\nCurrency       ",
                (currency, ""),
                "\nBalance        ",
                (money(account.balance, currency), "bold"),
                "\nDebit limit    ",
                (money(account.debit_limit, currency), ""),
                "\nChannels       ",
                (str(account.channels), ""),
            )
        )
        notes = account.profile.public_notes
        self.query_one("#public-notes", Static).update(
            plain(notes, multiline=True) if notes else plain("No notes.", style="dim")
        )
        self.show_profile(account.profile)

    def show_profile(self, profile: PortalProfile) -> None:
        self.profile = profile
        last = f"   Last login {utc(profile.last_login_at)}" if profile.last_login_at else ""
        self.query_one("#profile-email", Static).update(
            join("Email (login)       ", (profile.email, "bold"), (last, "dim"))
        )
        for field in PROFILE_FIELDS:
            self.query_one(f"#profile-{field}", Input).value = self._shown(field)
        self.refresh_bindings()

    def _shown(self, field: str) -> str:
        """A profile field as its Input shows it: sanitized like every display of data (an
        Input renders its value as is, control characters included)."""
        assert self.profile is not None
        return sanitize(getattr(self.profile, field) or "")

    # -- My Profile -------------------------------------------------------------------------

    def profile_changes(self) -> dict[str, str]:
        """What the contact changed on the form (typed text, the service normalises it)."""
        if self.profile is None or self.is_portal_login:
            return {}
        changes = {}
        for field in PROFILE_FIELDS:
            typed = self.query_one(f"#profile-{field}", Input).value
            if typed.strip() != self._shown(field):
                changes[field] = typed
        return changes

    @on(Button.Pressed, "#profile-save")
    def action_save(self) -> None:
        if self.profile is None or self.is_portal_login:
            return
        form = self.query_one("#profile-form", Form)
        form.clear_errors()
        changes = self.profile_changes()
        if not changes:
            self.notify("No changes to save", timeout=3)
            return
        db, identity, version = self.carrier.db, self.identity, self.profile.version
        assert db is not None

        def save(_reason: str | None) -> PortalProfile:
            from carriertui.store import portal

            return portal.update_profile(db, identity, changes, expected_version=version)

        self.edit.save(save, changes, on_done=self._saved, group="portal-save")

    @property
    def edit(self) -> EditSession[PortalProfile]:
        """My Profile's edit: a stale save is said next to the Save button (no dialog in the
        portal), with what is saved now."""

        def stale(current: PortalProfile) -> None:
            # Keep what the contact typed, against the saved version: saving again is an
            # informed overwrite; F5 loads the saved details instead.
            self.profile = current
            saved = ", ".join(
                f"{field} {getattr(current, field) or '(empty)'}" for field in PROFILE_FIELDS
            )
            self.query_one("#profile-status", Label).update(
                plain(
                    "Changed by someone else since you opened it; nothing was saved. Saved now: "
                    f"{saved}. Save again to keep yours, or F5 to load the saved details."
                )
            )

        return EditSession(
            self,
            what="profile",
            form=lambda: self.query_one("#profile-form", Form),
            opened=lambda: self.profile,
            texts=lambda profile: {field: getattr(profile, field) for field in PROFILE_FIELDS},
            reload=self.show_profile,
            keep=stale,
            stale_message=stale,
            ask_reason=False,
        )

    def _saved(self, profile: PortalProfile) -> None:
        self.query_one("#profile-status", Label).update("")
        self.show_profile(profile)
        self.notify("Your profile is saved", timeout=3)

    @on(Button.Pressed, "#change-password")
    def action_change_password(self) -> None:
        if self.is_portal_login:
            return
        from carriertui.screens.portal_password import PortalPasswordScreen

        self.app.push_screen(PortalPasswordScreen(self.identity, forced=False))

    # -- navigation -------------------------------------------------------------------------

    def action_close(self) -> None:
        """Portal Login: back to the operator's screen it was opened from."""
        if self.is_portal_login:
            self.dismiss()

    def action_logout(self) -> None:
        if self.is_portal_login:
            return
        if self.profile_changes():
            from carriertui.widgets.confirm import ConfirmScreen

            def answered(discard: bool | None) -> None:
                if discard:
                    self.carrier.portal_logout()

            self.app.push_screen(
                ConfirmScreen("Discard your unsaved profile changes and log out?", "Log out"),
                answered,
            )
            return
        self.carrier.portal_logout()

    def action_tab(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        ids = [pane.id for pane in tabs.query(TabPane) if pane.id]
        current = ids.index(tabs.active) if tabs.active in ids else 0
        tabs.active = ids[(current + step) % len(ids)]

    def action_refresh(self) -> None:
        self.query_one("#profile-status", Label).update("")
        self.load()

    def palette_commands(self) -> list[tuple[str, Any, str]]:
        tabs = self.query_one(TabbedContent)
        commands: list[tuple[str, Any, str]] = [
            ("tab: Account", lambda: setattr(tabs, "active", "account"), "Your account"),
            ("tab: My Profile", lambda: setattr(tabs, "active", "profile"), "Your details"),
        ]
        if self.is_portal_login:
            commands.append(("portal: close", self.action_close, "Back to carriertui (esc)"))
        else:
            commands.append(
                ("portal: change password", self.action_change_password, "Set a new password")
            )
            commands.append(("session: log out", self.action_logout, "Log out (esc)"))
        return commands
