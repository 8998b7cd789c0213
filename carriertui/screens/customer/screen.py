"""The Customer screen: a header strip with the switcher, then the Main, Contacts, Number
Block, Summary, Rules and Audit Log tabs (one module each beside this one). The screen holds the
record, the header, the keys and the palette commands; each tab's content is its own pane."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Button, Static, TabbedContent, TabPane

from carriertui.screens.base import (
    BaseScreen,
    run_service,
)
from carriertui.screens.customer.audit import CustomerAuditPane
from carriertui.screens.customer.contacts import TAB_HELP as CONTACTS_HELP
from carriertui.screens.customer.contacts import ContactsPane
from carriertui.screens.customer.main import TAB_HELP as MAIN_HELP
from carriertui.screens.customer.main import CustomerMainPane
from carriertui.screens.customer.number_block import TAB_HELP as NUMBER_BLOCK_HELP
from carriertui.screens.customer.number_block import NumberBlockPane, NumbersChanged
from carriertui.screens.customer.rules import TAB_HELP as RULES_HELP
from carriertui.screens.customer.rules import CustomerRulesPane
from carriertui.screens.customer.summary import TAB_HELP as SUMMARY_HELP
from carriertui.screens.customer.summary import SummaryPane
from carriertui.store.customers import CustomerRecord, status_tone
from carriertui.store.enums import Role
from carriertui.widgets.footer import KeyFooter
from carriertui.widgets.format import money, tone_style
from carriertui.widgets.lazy_tabs import LazyTabbedContent
from carriertui.widgets.plain import join

if TYPE_CHECKING:
    from carriertui.screens.customer.main import CustomerHost

TABS = (
    ("main", "Main"),
    ("contacts", "Contacts"),
    ("numbers", "Number Block"),
    ("summary", "Summary"),
    ("rules", "Rules"),
    ("audit", "Audit Log"),
)


class CustomerHeader(Static):
    """Name, switcher, status, balance, debit limit, channels."""

    DEFAULT_CSS = """
    CustomerHeader { height: auto; }
    """

    def show(self, record: CustomerRecord) -> None:
        code = f"  {record.account_code}" if record.account_code else ""
        self.update(
            join(
                (record.name, "bold"),
                (code, "dim"),
                "   ",
                (record.status.value, tone_style(status_tone(record.status), "bold")),
                "\n",
                "Balance ",
                (money(record.balance, record.currency), "bold"),
                "   Debit limit ",
                (money(record.debit_limit, record.currency), "bold"),
                "   Ch. ",
                (str(record.channels), "bold"),
            )
        )


class CustomerScreen(BaseScreen):
    TITLE_TEXT = "Customer"
    DEFAULT_CSS = """
    CustomerScreen .card-info { color: $text-muted; }
    """
    HELP = "\n\n".join(
        (
            "One customer. The header shows status, balance, debit limit and channels; "
            "{customer.switch} switches to another customer.",
            CONTACTS_HELP,
            MAIN_HELP,
            NUMBER_BLOCK_HELP,
            SUMMARY_HELP,
            RULES_HELP,
            "{customer.prev_tab} and {customer.next_tab} move between tabs; {customer.back} goes "
            "back to the list.",
        )
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save(False)", "Save & stay", id="customer.save_stay", priority=True),
        Binding(
            "ctrl+g", "save(True)", "Save & continue", id="customer.save_continue", priority=True
        ),
        Binding("ctrl+d", "delay", "Delay & save", id="customer.delay_save", priority=True),
        Binding(
            "ctrl+o",
            "switch_customer",
            "Switch",
            id="customer.switch",
            tooltip="Jump to another customer",
        ),
        Binding("left_square_bracket", "tab(-1)", "Prev tab", id="customer.prev_tab", show=False),
        Binding("right_square_bracket", "tab(1)", "Next tab", id="customer.next_tab", show=False),
        Binding("r,f5", "refresh", "Refresh", id="customer.refresh", show=False),
        Binding("escape", "back", "Back", id="customer.back"),
        Binding(
            "d",
            "difference",
            "Difference",
            id="customer.difference",
            show=False,
            tooltip="View Difference of the audit entry under the cursor",
        ),
    ]

    def __init__(self, customer_id: int) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.record: CustomerRecord | None = None

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Horizontal(id="customer-header-row", classes="header-row"):
            yield CustomerHeader("Loading…", id="customer-header")
            yield Button(
                "Switch \u25be", id="switch", compact=True, tooltip="Switch customer (ctrl+o)"
            )
        # Number Block, Summary and Rules are built when first shown. Contacts and Audit Log are
        # built now: their grids are there as soon as the tab is chosen, and a save on the
        # Main tab refreshes the audit log.
        lazy: dict[str, Callable[[], Iterable[Widget]]] = {
            "numbers": lambda: [NumberBlockPane(self.customer_id, id="numbers-pane")],
            "summary": lambda: [SummaryPane(self.customer_id, id="summary-pane")],
            "rules": lambda: [CustomerRulesPane(self.customer_id, id="rules-pane")],
        }
        with LazyTabbedContent(id="customer-tabs", lazy=lazy):
            with TabPane("Main", id="main"):
                yield CustomerMainPane(id="main-scroll")
            with TabPane("Contacts", id="contacts"):
                yield ContactsPane(self.customer_id, id="customer-contacts")
            yield TabPane("Number Block", id="numbers")
            yield TabPane("Summary", id="summary")
            yield TabPane("Rules", id="rules")
            with TabPane("Audit Log", id="audit"):
                yield CustomerAuditPane(self.customer_id)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load()

    @property
    def can_edit(self) -> bool:
        actor = self.carrier.actor
        return actor is not None and actor.can(Role.OPERATOR)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("save", "delay"):
            # The Main tab's saves: hidden (and inert) while another tab has the keys.
            # By id: check_action runs for every key of every footer refresh, and a
            # selector query would walk the whole screen each time.
            tabs = self.query_one_optional("#customer-tabs", TabbedContent)
            on_main = tabs is None or tabs.active in ("", "main")
            return self.can_edit and self.record is not None and on_main
        return True

    # -- loading ----------------------------------------------------------------------------

    def load(self) -> None:
        app = self.carrier
        assert app.db is not None and app.actor is not None
        db, actor, customer_id = app.db, app.actor, self.customer_id
        from carriertui.store import customers

        run_service(
            self,
            lambda: customers.get_customer(db, actor, customer_id),
            on_done=self.show_record,
            group="customer-load",
            exclusive=True,
        )
        from carriertui.store import rate_cards

        run_service(
            self,
            lambda: rate_cards.assigned_card_names(db, actor, customer_id),
            on_done=self.main_tab.show_cards,
            group="customer-cards",
            exclusive=True,
        )

    @property
    def main_tab(self) -> CustomerMainPane:
        return self.query_one("#main-scroll", CustomerMainPane)

    @property
    def audit_tab(self) -> CustomerAuditPane:
        return self.query_one(CustomerAuditPane)

    def show_record(self, record: CustomerRecord) -> None:
        self.record = record
        self.query_one(CustomerHeader).show(record)
        self.query_one(ContactsPane).customer_name = record.name
        self.main_tab.show(record, editable=self.can_edit)
        self.refresh_bindings()

    def keep_record(self, record: CustomerRecord) -> None:
        """Another operator's version is the one opened now; the form keeps what was typed."""
        self.record = record
        self.query_one(CustomerHeader).show(record)

    def audit_changed(self) -> None:
        """A change was saved: the Audit Log tab shows its entry."""
        self.audit_tab.refresh_entries()

    # -- the Main tab's keys ----------------------------------------------------------------

    def action_save(self, leave: bool) -> None:
        self.main_tab.save(leave)

    def action_delay(self) -> None:
        self.main_tab.delay()

    # -- navigation -------------------------------------------------------------------------

    def dismiss_to_list(self) -> None:
        self.carrier.go_customers()

    def action_back(self) -> None:
        self.main_tab.leave(self.dismiss_to_list)

    @on(Button.Pressed, "#switch")
    def action_switch_customer(self) -> None:
        from carriertui.commands import CustomerSwitcherCommands, Palette

        self.app.push_screen(
            Palette(providers=[CustomerSwitcherCommands], placeholder="Switch to customer…")
        )

    @property
    def tabs(self) -> LazyTabbedContent:
        return self.query_one("#customer-tabs", LazyTabbedContent)

    @on(TabbedContent.TabActivated, "#customer-tabs")
    async def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        """The operator switched tabs to work in that tab: its grid takes the keys."""
        self.refresh_bindings()
        pane = event.pane.id or ""
        tabs = self.tabs
        # A tab shown for the first time: its content is being mounted (and reads its data).
        await tabs.wait_built(pane)
        fresh = tabs.first_show(pane)
        if pane != tabs.active:
            # A stale activation: quick `]` `]` activate two tabs before the first one's
            # message arrives. Focusing the first tab's grid now would make it active again
            # and swallow the second key.
            return
        if pane == "contacts":
            self.query_one(ContactsPane).grid.focus()
        elif pane == "summary":
            summary = self.query_one(SummaryPane)
            summary.load()
            summary.focus_default()
        elif pane == "numbers":
            # Coming back re-reads the blocks and the number plan (an admin may have set
            # Number Range Start and Block Size meanwhile); its keys work while focus is inside.
            numbers = self.query_one(NumberBlockPane)
            if not fresh:
                numbers.load()
            numbers.focus_default()
        elif pane == "rules":
            rules = self.query_one(CustomerRulesPane)
            if not fresh:  # an alarm rule may have been added in go: alarm rules meanwhile
                rules.load()
            rules.focus_default()
        elif pane == "audit":
            # What was done in the other tabs since (a contact saved, an invoice generated)
            # shows at once; the cursor stays on the entry it was on.
            audit = self.audit_tab
            audit.refresh_entries()
            audit.focus_default()

    def action_tab(self, step: int) -> None:
        tabs = self.tabs
        ids = [tab_id for tab_id, _ in TABS]
        current = ids.index(tabs.active) if tabs.active in ids else 0
        tabs.active = ids[(current + step) % len(ids)]

    def action_difference(self) -> None:
        if self.query_one(TabbedContent).active == "audit":
            self.audit_tab.show_difference()

    def action_refresh(self) -> None:
        self.load()
        self.audit_tab.refresh_entries()
        self.query_one(ContactsPane).refresh_contacts()
        numbers = self.query_one_optional(NumberBlockPane)
        if numbers is not None and numbers.is_mounted:  # else it is still reading them
            numbers.reload_all()
        rules = self.query_one_optional(CustomerRulesPane)
        if rules is not None and rules.is_mounted:
            rules.load()

    @on(NumbersChanged)
    def _numbers_changed(self) -> None:
        self.audit_changed()

    async def _numbers_command(self, action: str, kind: str | None) -> None:
        tabs = self.tabs
        tabs.active = "numbers"
        pane = self.query_one(NumberBlockPane)
        if pane.blocks is None:  # the tab was not shown yet: it is reading them
            await tabs.wait_built("numbers")
            await pane.loaded()  # the number plan decides whether a block can be assigned
        if action == "allocate":
            if pane.plan is None:
                from carriertui.screens.customer.number_block import UNSET_HINT
                from carriertui.widgets.plain import notify_plain

                notify_plain(self.app, UNSET_HINT, severity="warning", timeout=8)
                return
            pane.action_allocate()
        else:
            pane.action_new(kind or "sip_user")

    def palette_commands(self) -> list[tuple[str, Any, str]]:
        commands: list[tuple[str, Any, str]] = [
            (
                f"tab: {title}",
                lambda tab_id=tab_id: setattr(self.query_one(TabbedContent), "active", tab_id),
                f"Show the {title} tab",
            )
            for tab_id, title in TABS
        ]
        commands.append(
            ("customer: switch", self.action_switch_customer, "Jump to another customer (ctrl+o)")
        )
        if self.can_edit:
            for label, action, kind in (
                ("numbers: assign next block", "allocate", None),
                ("numbers: new SIP user", "new", "sip_user"),
                ("numbers: new conference", "new", "conference"),
                ("numbers: new alias", "new", "alias"),
            ):
                commands.append(
                    (
                        label,
                        lambda action=action, kind=kind: self._numbers_command(action, kind),
                        "On the Number Block tab",
                    )
                )
            commands.append(("customer: save and stay", lambda: self.action_save(False), "ctrl+s"))
            commands.append(
                ("customer: save and continue", lambda: self.action_save(True), "ctrl+g")
            )
        return commands


if TYPE_CHECKING:

    def _hosts_the_main_tab(screen: CustomerScreen) -> CustomerHost:
        return screen  # the type checker sees that the screen gives the Main tab what it needs
