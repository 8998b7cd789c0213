"""One customer: a header strip with the switcher, then the Main, Contacts, Number Block,
Summary, Rules and Audit Log tabs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Label, Static, TabbedContent, TabPane

from carriertui.grid.model import Query, SortKey
from carriertui.screens.base import (
    BaseScreen,
    run_service,
)
from carriertui.screens.customer.contacts import ContactsPane
from carriertui.screens.customer.number_block import NumberBlockPane, NumbersChanged
from carriertui.screens.customer.rules import CustomerRulesPane
from carriertui.screens.customer.summary import SummaryPane
from carriertui.screens.customer_form import (
    changed_values,
    customer_rows,
    fill_form,
    form_texts,
)
from carriertui.screens.edit_session import EditSession
from carriertui.store.customers import CustomerRecord, status_tone
from carriertui.store.enums import Role
from carriertui.widgets.footer import KeyFooter
from carriertui.widgets.form import Form
from carriertui.widgets.format import money, tone_style, utc
from carriertui.widgets.grid import Grid, RowActivated
from carriertui.widgets.lazy_tabs import LazyTabbedContent
from carriertui.widgets.plain import join, plain
from carriertui.widgets.work import session_of

AUDIT_QUERY = Query(sort=(SortKey("created_at", descending=True),))
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
    HELP = (
        "One customer. The header shows status, balance, debit limit and channels; "
        "{customer.switch} switches to another customer.\n\n"
        "Contacts: {contacts.add} adds a contact, {grid.enter} or {contacts.edit} edits, "
        "{contacts.password} Change Password, {contacts.portal} Portal Login, {contacts.delete} "
        "Delete; {grid.menu} opens the row menu with the same (its keys work in the menu).\n\n"
        "Main: edit the details. {customer.save_stay} is Save and Stay, {customer.save_continue} "
        "is Save and Continue (saves, then back to the list), {customer.delay_save} is Delay and "
        "Save (the change waits in the Delay Log). Every change is audited; with Audit Comment on "
        "(Settings > Options) a save asks for a reason. If someone else saved the customer after "
        "you opened it, nothing is overwritten: you see both versions and choose.\n\n"
        "Number Block: {numbers.allocate} assigns the next free block (needs Number Range Start "
        "and Block Size in Settings > Options); {numbers.new_sip_user} adds a SIP user, "
        "{numbers.new_conference} a conference, {numbers.new_alias} an alias ({extension.pick} in "
        "the form picks an unused number); {numbers.remove} releases the block or removes the "
        "extension under the cursor; {numbers.dial} tests what a dialled number reaches.\n\n"
        "Summary: {summary.24h} 24 hours, {summary.daily} Daily, {summary.weekly} Weekly, "
        "{summary.monthly} Monthly (UTC), {summary.invoices} Invoices. Select cells for sum and "
        "average (the status line adds the weighted ASR and ACD of the selected rows; "
        "{grid.status} shows every figure); {grid.find_column} goes to a column by its title, "
        "{grid.select_to_last} selects to the last row; {grid.menu} copies or exports. Tick rows "
        "with {grid.check} and press {summary.generate} to Generate Invoice for the ticked "
        "periods (closed ones only); {summary.auto} creates every missing invoice; "
        "{summary.cdr_report} writes the row's CDR report; {summary.rollup} rolls up new CDRs "
        "now; {summary.paid} marks an invoice paid; {summary.chart} shows or hides the chart.\n\n"
        "Rules: the CDR match rules that name this customer (a source IP or network, a tech "
        "prefix, a SIP user, another account code) and the alarm rules that watch it only. "
        "{customer_rules.add_match} adds a match rule, {customer_rules.add_alarm} an alarm rule "
        "for this customer, {customer_rules.remove} removes the rule under the cursor of the "
        "grid in focus (Tab moves between the grids); viewers read only.\n\n"
        "{customer.prev_tab} and {customer.next_tab} move between tabs; {customer.back} goes back "
        "to the list."
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
        from carriertui.store import audit

        app = self.carrier
        assert app.db is not None and app.actor is not None
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
            with TabPane("Main", id="main"), VerticalScroll(id="main-scroll"):
                yield Form(id="customer-form")
                yield Label("", id="main-info", classes="record-info", markup=False)
                yield Label("", id="main-cards", classes="card-info", markup=False)
                with Horizontal(classes="form-buttons", id="main-buttons"):
                    yield Button("Save & Stay ^s", id="save-stay", variant="primary", compact=True)
                    yield Button("Save & Continue ^g", id="save-continue", compact=True)
                    yield Button("Delay & Save ^d", id="delay-save", compact=True)
            with TabPane("Contacts", id="contacts"):
                yield ContactsPane(self.customer_id, id="customer-contacts")
            yield TabPane("Number Block", id="numbers")
            yield TabPane("Summary", id="summary")
            yield TabPane("Rules", id="rules")
            with TabPane("Audit Log", id="audit"), Vertical():
                yield Label(
                    "This customer's changes, newest first. Enter or d: View Difference.",
                    classes="tab-hint",
                    markup=False,
                )
                yield Grid(
                    audit.grid_source(app.db, app.actor, customer_id=self.customer_id),
                    query=AUDIT_QUERY,
                    enter="activate",
                    id="audit-grid",
                )
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
            on_done=self.show_cards,
            group="customer-cards",
            exclusive=True,
        )

    def show_cards(self, names: dict[Any, str | None]) -> None:
        """The rate cards the customer's calls are rated with (read only: `rates assign`)."""
        from carriertui.rating import CardKind

        customer = names.get(CardKind.CUSTOMER) or "none"
        provider = names.get(CardKind.PROVIDER) or "none"
        self.query_one("#main-cards", Label).update(
            plain(f"Rate cards: customer {customer} · provider {provider}")
        )

    def show_record(self, record: CustomerRecord) -> None:
        self.record = record
        self.query_one(CustomerHeader).show(record)
        self.query_one(ContactsPane).customer_name = record.name
        form = self.query_one(Form)
        if form.row("name") is None:
            form.mount_all(customer_rows(record, editable=self.can_edit))
        else:
            fill_form(form, record)
        info = (
            f"Created {utc(record.created_at)} · currency {record.currency} is fixed"
            f" · version {record.version}"
        )
        if not self.can_edit:
            info += " · read only (viewer)"
        self.query_one("#main-info", Label).update(plain(info))
        self.query_one("#main-buttons").display = self.can_edit
        self.refresh_bindings()

    # -- saving -----------------------------------------------------------------------------

    @on(Button.Pressed, "#save-stay")
    def _save_stay(self) -> None:
        self.action_save(False)

    @on(Button.Pressed, "#save-continue")
    def _save_continue(self) -> None:
        self.action_save(True)

    @property
    def edit(self) -> EditSession[CustomerRecord]:
        """The Main tab's edit of the customer (save, conflicts, Delay and Save)."""

        def reload(current: CustomerRecord) -> None:
            self.show_record(current)
            self.query_one("#audit-grid", Grid).refresh_data()

        def keep(current: CustomerRecord) -> None:
            self.record = current
            self.query_one(CustomerHeader).show(current)

        return EditSession(
            self,
            what="customer",
            form=lambda: self.query_one(Form),
            opened=lambda: self.record,
            texts=form_texts,
            reload=reload,
            keep=keep,
        )

    def _changes(self) -> tuple[CustomerRecord, dict[str, Any]] | None:
        if self.record is None or not self.can_edit:
            return None
        form = self.query_one(Form)
        form.clear_errors()
        return self.record, changed_values(form, self.record)

    def action_save(self, leave: bool) -> None:
        edited = self._changes()
        if edited is None:
            return
        record, changes = edited
        if not changes:
            self.notify("No changes to save", timeout=3)
            if leave:
                self.dismiss_to_list()
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

    @on(Button.Pressed, "#delay-save")
    def action_delay(self) -> None:
        """Delay and Save: the Main tab's changes wait in the Delay Log until their time."""
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
        from carriertui.widgets.plain import notify_plain

        assert self.record is not None
        notify_plain(
            self.app,
            f"Scheduled for {utc(scheduled.due_at)} UTC: {scheduled.description} (go: delay log)",
            timeout=6,
        )
        fill_form(self.query_one(Form), self.record)  # the form shows what is saved now
        self.query_one("#audit-grid", Grid).refresh_data()

    def _saved(self, record: CustomerRecord, leave: bool) -> None:
        self.notify("Saved", timeout=3)
        if leave:
            self.dismiss_to_list()
            return
        self.show_record(record)
        self.query_one("#audit-grid", Grid).refresh_data()

    # -- navigation -------------------------------------------------------------------------

    def dismiss_to_list(self) -> None:
        self.carrier.go_customers()

    def action_back(self) -> None:
        dirty = (
            self.record is not None
            and self.can_edit
            and bool(changed_values(self.query_one(Form), self.record))
        )
        self.edit.close(dirty, self.dismiss_to_list)

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
            audit_grid = self.query_one("#audit-grid", Grid)
            audit_grid.refresh_data()
            audit_grid.focus()

    def action_tab(self, step: int) -> None:
        tabs = self.tabs
        ids = [tab_id for tab_id, _ in TABS]
        current = ids.index(tabs.active) if tabs.active in ids else 0
        tabs.active = ids[(current + step) % len(ids)]

    @on(RowActivated)
    def _audit_entry_activated(self, event: RowActivated) -> None:
        from carriertui.screens.audit import open_difference

        open_difference(self, int(event.key))

    def action_difference(self) -> None:
        from carriertui.screens.audit import open_difference

        key = self.query_one("#audit-grid", Grid).view.cursor_key
        if key is not None and self.query_one(TabbedContent).active == "audit":
            open_difference(self, int(key))

    def action_refresh(self) -> None:
        self.load()
        self.query_one("#audit-grid", Grid).refresh_data()
        self.query_one(ContactsPane).refresh_contacts()
        numbers = self.query_one_optional(NumberBlockPane)
        if numbers is not None and numbers.is_mounted:  # else it is still reading them
            numbers.reload_all()
        rules = self.query_one_optional(CustomerRulesPane)
        if rules is not None and rules.is_mounted:
            rules.load()

    @on(NumbersChanged)
    def _numbers_changed(self) -> None:
        self.query_one("#audit-grid", Grid).refresh_data()

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
