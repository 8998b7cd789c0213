"""The customer's Rules tab: the CDR match rules that name this customer (issue 15) and the alarm
rules that watch this customer only (issue 17), each with add and remove. The services
(store/match_rules.py, store/alarms/) check the role and audit every change."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from carriertui.grid.memory import InMemoryRowSource
from carriertui.grid.model import Column, Tone, tones
from carriertui.screens.alarm_rules import RuleFormScreen
from carriertui.screens.base import report_error, run_service
from carriertui.store.enums import Role
from carriertui.widgets.form import FieldRow, Form
from carriertui.widgets.format import utc
from carriertui.widgets.grid import Grid
from carriertui.widgets.plain import join, notify_plain, plain
from carriertui.widgets.work import session_of

# The tab's paragraph of the Customer screen's F1 help.
TAB_HELP = (
    "Rules: the CDR match rules that name this customer (a source IP or network, a tech "
    "prefix, a SIP user, another account code) and the alarm rules that watch it only. "
    "{customer_rules.add_match} adds a match rule, {customer_rules.add_alarm} an alarm rule "
    "for this customer, {customer_rules.remove} removes the rule under the cursor of the "
    "grid in focus (Tab moves between the grids); viewers read only."
)

MATCH_COLUMNS = (
    Column("kind", "Kind", width=12),
    Column("value", "Value", width=34),
    Column("created", "Created", width=23),
)
ALARM_COLUMNS = (
    Column("name", "Name", width=16),
    Column("metric", "Metric", width=8),
    Column("window", "Window", width=9),
    Column("trigger", "Trigger", width=7, align="right"),
    Column("reset", "Reset", width=6, align="right"),
    Column("severity", "Severity", width=8, tone=tones({"CRITICAL": Tone.ERROR})),
    Column("actions", "Actions", width=24),
)
# (label, kind) for the form's Select; the kinds and labels are feeds/matching.py's.
KIND_CHOICES = (
    ("source IP or network", "source_ip"),
    ("tech prefix", "tech_prefix"),
    ("SIP user", "sip_user"),
    ("other account code", "account_code"),
)
KIND_LABELS = {
    "account_code": "account code",
    "source_ip": "source IP",
    "tech_prefix": "tech prefix",
    "sip_user": "SIP user",
}


def match_source(rules: list[Any]) -> InMemoryRowSource:
    rows = [
        (rule.id, (KIND_LABELS.get(rule.kind, rule.kind), rule.value, utc(rule.created)))
        for rule in rules
    ]
    return InMemoryRowSource(MATCH_COLUMNS, rows, name="customer-match-rules")


def alarm_source(rules: list[Any]) -> InMemoryRowSource:
    rows = [
        (
            rule.id,
            (
                rule.name if rule.enabled else f"{rule.name} (off)",
                rule.metric.label,
                rule.window,
                f"{rule.trigger:g}",
                f"{rule.reset:g}",
                rule.severity.value.upper(),
                rule.actions,
            ),
        )
        for rule in rules
    ]
    return InMemoryRowSource(ALARM_COLUMNS, rows, name="customer-alarm-rules")


class MatchRuleFormScreen(ModalScreen[Any]):
    """A new match rule for one customer; the service's message shows under the field it is
    about. Dismisses with the rule, or None."""

    HELP = (
        "A match rule names this customer in a switch's CDR that does not carry its account "
        "code: a source IP or network (a.b.c.d/n), a tech prefix, a SIP user, or another account "
        "code. A value names one customer at most. {match.save} saves, {match.cancel} cancels."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="match.cancel"),
        Binding("ctrl+s", "save", "Save", id="match.save"),
    ]
    DEFAULT_CSS = """
    MatchRuleFormScreen #match-dialog { width: 64; height: 12; }
    """

    def __init__(self, customer_id: int, label: str) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.label = label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="match-dialog"):
            yield Static(plain(f"New match rule for {self.label}"), classes="dialog-title")
            with Form(id="match-form"):
                yield FieldRow(
                    "Kind",
                    Select(
                        KIND_CHOICES,
                        value="source_ip",
                        allow_blank=False,
                        compact=True,
                        id="f-kind",
                    ),
                    field="kind",
                )
                yield FieldRow(
                    "Value",
                    Input(compact=True, id="f-value", max_length=80),
                    field="value",
                    hint="e.g. 192.0.2.0/24, 4711#, alice",
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save ^s", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#f-value", Input).focus()

    @on(Button.Pressed, "#save")
    @on(Input.Submitted, "#f-value")
    def action_save(self) -> None:
        from carriertui.store import match_rules
        from carriertui.store.errors import ValidationError

        form = self.query_one(Form)
        form.clear_errors()
        values = form.values()
        kind, value = str(values.get("kind") or ""), str(values.get("value") or "")
        db, actor = session_of(self)
        customer_id = self.customer_id

        def save() -> Any:
            try:
                return match_rules.add_rule(db, actor, customer_id, kind, value)
            except ValidationError as error:
                # The service names the rule's kind (or the customer): the value is at fault.
                if error.field == "kind":
                    raise
                raise ValidationError("value", error.message) from None

        def failed(error: Exception) -> None:
            if not form.show_validation_error(error):
                report_error(self.app, error)

        run_service(self, save, on_done=self.dismiss, on_error=failed, group="match-save")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class CustomerRulesPane(Vertical):
    """Everything on the Rules tab. Its keys work while focus is inside it; a viewer sees the
    grids only (the services refuse a viewer's change anyway)."""

    DEFAULT_CSS = """
    CustomerRulesPane { height: 1fr; }
    CustomerRulesPane > .rules-title { height: 1; }
    CustomerRulesPane > #match-grid { height: 1fr; min-height: 4; }
    CustomerRulesPane > #alarm-rules-grid { height: 1fr; min-height: 4; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add_match", "Match rule", id="customer_rules.add_match"),
        Binding("n", "add_alarm", "Alarm rule", id="customer_rules.add_alarm"),
        Binding("x,delete", "remove", "Remove", id="customer_rules.remove"),
    ]

    def __init__(self, customer_id: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.customer_id = customer_id
        self.match_rules: list[Any] = []
        self.alarm_rules: list[Any] = []
        self.label = f"#{customer_id}"  # the customer's code or name once read

    @property
    def can_edit(self) -> bool:
        return session_of(self)[1].can(Role.OPERATOR)

    def compose(self) -> ComposeResult:
        edit = self.can_edit
        yield Static("Loading…", id="match-title", classes="rules-title")
        yield Grid(match_source([]), id="match-grid")
        yield Static("", id="alarm-rules-title", classes="rules-title")
        yield Grid(alarm_source([]), id="alarm-rules-grid")
        yield Static(
            "a match rule · n alarm rule · x remove (grid in focus) · tab: other grid"
            if edit
            else "Read only (viewer). Tab: the other grid.",
            classes="rules-title tab-hint",
            markup=False,
        )

    def on_mount(self) -> None:
        self.load()

    def focus_default(self) -> None:
        self.query_one("#match-grid", Grid).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add_match", "add_alarm", "remove"):
            return True if self.can_edit else None
        return True

    # -- loading ----------------------------------------------------------------------------

    def load(self, match_key: Any = None, alarm_key: Any = None) -> None:
        from carriertui.store import alarms, customers, match_rules

        db, actor = session_of(self)
        customer_id = self.customer_id

        def read() -> tuple[str, list[Any], list[Any]]:
            record = customers.get_customer(db, actor, customer_id)
            own = [
                rule
                for rule in alarms.list_rules(db, actor, customer_id)
                if rule.customer_id == customer_id
            ]
            return (
                record.account_code or record.name,
                match_rules.list_rules(db, actor, customer_id),
                own,
            )

        run_service(
            self,
            read,
            on_done=lambda result: self._loaded(result, match_key, alarm_key),
            on_error=lambda error: report_error(self.app, error),
            group="customer-rules-load",
            exclusive=True,
        )

    def _loaded(
        self, result: tuple[str, list[Any], list[Any]], match_key: Any, alarm_key: Any
    ) -> None:
        self.label, self.match_rules, self.alarm_rules = result
        match_grid = self.query_one("#match-grid", Grid)
        match_grid.set_source(match_source(self.match_rules))
        if match_key is not None:
            match_grid.refresh_data(key=match_key)
        alarm_grid = self.query_one("#alarm-rules-grid", Grid)
        alarm_grid.set_source(alarm_source(self.alarm_rules))
        if alarm_key is not None:
            alarm_grid.refresh_data(key=alarm_key)
        count = len(self.match_rules)
        self.query_one("#match-title", Static).update(
            join(
                ("CDR match rules", "bold"),
                (f"  {count} rule{'s' if count != 1 else ''}", "dim"),
                ("  besides the account code " + self.label, "dim"),
            )
        )
        count = len(self.alarm_rules)
        self.query_one("#alarm-rules-title", Static).update(
            join(
                ("Alarm rules for this customer", "bold"),
                (f"  {count} rule{'s' if count != 1 else ''}", "dim"),
                ("  (every-customer rules: go: alarm rules)", "dim"),
            )
        )

    # -- add and remove -----------------------------------------------------------------------

    def action_add_match(self) -> None:
        if not self.can_edit:
            return

        def saved(rule: Any) -> None:
            if rule is not None:
                notify_plain(self.app, f"Match rule {KIND_LABELS[rule.kind]} {rule.value} added.")
                self.load(match_key=rule.id)
                self.query_one("#match-grid", Grid).focus()

        self.app.push_screen(MatchRuleFormScreen(self.customer_id, self.label), saved)

    def action_add_alarm(self) -> None:
        if not self.can_edit:
            return

        def saved(rule: Any) -> None:
            if rule is not None:
                notify_plain(self.app, f"Alarm rule {rule.name} added.")
                self.load(alarm_key=rule.id)
                self.query_one("#alarm-rules-grid", Grid).focus()

        self.app.push_screen(RuleFormScreen(customer=(self.customer_id, self.label)), saved)

    def action_remove(self) -> None:
        if not self.can_edit:
            return
        focused = self.app.focused
        alarm_grid = self.query_one("#alarm-rules-grid", Grid)
        if focused is not None and alarm_grid in focused.ancestors_with_self:
            key = alarm_grid.view.cursor_key
            alarm = next((r for r in self.alarm_rules if r.id == key), None)
            if alarm is not None:
                self._remove_alarm(alarm)
            return
        key = self.query_one("#match-grid", Grid).view.cursor_key
        match = next((r for r in self.match_rules if r.id == key), None)
        if match is not None:
            self._remove_match(match)

    def _confirm(self, question: str, work: Any, done: str) -> None:
        from carriertui.widgets.confirm import ConfirmScreen

        app = self.app

        def removed(_result: Any) -> None:
            notify_plain(app, done)
            self.load()

        def answered(yes: bool | None) -> None:
            if yes:
                run_service(
                    self,
                    work,
                    on_done=removed,
                    on_error=lambda error: report_error(app, error),
                    group="customer-rules-remove",
                )

        app.push_screen(ConfirmScreen(question, "Remove", "Keep"), answered)

    def _remove_match(self, rule: Any) -> None:
        from carriertui.store import match_rules

        db, actor = session_of(self)
        what = f"{KIND_LABELS.get(rule.kind, rule.kind)} {rule.value}"
        self._confirm(
            f"Remove the match rule {what}?",
            lambda: match_rules.remove_rule(db, actor, rule.id),
            f"Match rule {what} removed.",
        )

    def _remove_alarm(self, rule: Any) -> None:
        from carriertui.store import alarms

        db, actor = session_of(self)
        self._confirm(
            f"Remove the alarm rule {rule.name}? (its alarms stay in the history)",
            lambda: alarms.remove_rule(db, actor, rule.id),
            f"Alarm rule {rule.name} removed.",
        )
