"""Alarm rules (``go: alarm rules``, or u on the Alarms screen): the list, a new rule, remove."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from carriertui.grid.memory import InMemoryRowSource
from carriertui.grid.model import Column, Tone, tones
from carriertui.screens.base import BaseScreen, report_error, run_service
from carriertui.widgets.footer import KeyFooter
from carriertui.widgets.form import FieldRow, Form
from carriertui.widgets.grid import Grid
from carriertui.widgets.plain import notify_plain, plain

RULE_COLUMNS = (
    Column("name", "Name", width=18),
    Column("metric", "Metric", width=9),
    Column("scope", "Scope", width=10),
    Column("window", "Window", width=9),
    Column("trigger", "Trigger", width=7, align="right"),
    Column("reset", "Reset", width=6, align="right"),
    Column("severity", "Severity", width=8, tone=tones({"CRITICAL": Tone.ERROR})),
    Column("actions", "Actions", width=24),
)
METRIC_CHOICES = (
    ("ASR (%)", "asr"),
    ("ACD (s)", "acd"),
    ("NER (%)", "ner"),
    ("PDD (s)", "pdd"),
    ("Short calls (%)", "short_calls"),
    ("Calls per second", "cps"),
    ("Spend 24h", "spend"),
    ("Margin (%)", "margin"),
)


def rules_source(rules: list[Any]) -> InMemoryRowSource:
    rows = [
        (
            r.id,
            (
                r.name if r.enabled else f"{r.name} (off)",
                r.metric.label,
                r.scope,
                r.window,
                f"{r.trigger:g}",
                f"{r.reset:g}",
                r.severity.value.upper(),
                r.actions,
            ),
        )
        for r in rules
    ]
    return InMemoryRowSource(RULE_COLUMNS, rows, name="alarm-rules")


class RuleFormScreen(ModalScreen[Any]):
    """A new rule; the service's validation shows under each field. Dismisses with the rule.
    With ``customer`` (its id and its code or name) the rule watches that customer only: the
    Customer code field shows it and cannot be changed (the customer's Rules tab)."""

    HELP = (
        "A rule watches one metric over a window of CDRs: the last N minutes, or the last N "
        "calls. ASR, ACD, NER and margin raise at or below the trigger and clear above the "
        "reset; PDD, short calls, calls per second and spend raise at or above it and clear "
        "below the reset. Customer empty: every customer. Ctrl+s saves, {rule.cancel} cancels."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="rule.cancel"),
        Binding("ctrl+s", "save", "Save", id="rule.save"),
    ]
    DEFAULT_CSS = """
    RuleFormScreen #rule-dialog { width: 76; height: 22; }
    RuleFormScreen #rule-scroll { height: 1fr; }
    """

    def __init__(self, customer: tuple[int, str] | None = None) -> None:
        super().__init__()
        self.customer = customer

    def compose(self) -> ComposeResult:
        def text(field: str, label: str, value: str = "", hint: str = "") -> FieldRow:
            return FieldRow(
                label, Input(value, compact=True, id=f"f-{field}"), field=field, hint=hint
            )

        def choose(field: str, label: str, options: Any, value: str) -> FieldRow:
            control = Select(options, value=value, allow_blank=False, compact=True)
            return FieldRow(label, control, field=field)

        with Vertical(classes="dialog", id="rule-dialog"):
            title = "New alarm rule"
            if self.customer is not None:
                title += f" for {self.customer[1]}"
            yield Static(plain(title), classes="dialog-title")
            with VerticalScroll(id="rule-scroll"), Form(id="rule-form"):
                yield text("name", "Name")
                yield choose("metric", "Metric", METRIC_CHOICES, "asr")
                if self.customer is None:
                    yield text("customer", "Customer code", hint="empty: every customer")
                else:
                    fixed = Input(self.customer[1], compact=True, id="f-customer", disabled=True)
                    yield FieldRow("Customer code", fixed, field="customer", hint="this customer")
                yield text("dest_prefix", "Destination prefix")
                yield choose(
                    "window_kind",
                    "Window",
                    (("last N minutes", "minutes"), ("last N calls", "calls")),
                    "minutes",
                )
                yield text("window_size", "N (minutes/calls)", "15")
                yield text("min_attempts", "Minimum attempts", "10")
                yield text("trigger", "Trigger")
                yield text("reset", "Reset", hint="empty: the trigger")
                yield text("short_seconds", "Short call < secs", "6")
                yield choose(
                    "severity",
                    "Severity",
                    (("warning", "warning"), ("critical", "critical")),
                    "warning",
                )
                yield text("notify_contact_types", "Mail contacts", hint="e.g. NOC,Technical")
                yield text("notify_email", "Mail NOC address")
                yield text("penalty_minutes", "Penalty minutes", "0")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save ^s", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#f-name", Input).focus()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        from carriertui.store import alarms, customers
        from carriertui.store.errors import ValidationError

        form = self.query_one(Form)
        form.clear_errors()
        values = form.values()
        app: Any = self.app
        db, actor = app.db, app.actor
        code = str(values.pop("customer", None) or "").strip()
        fixed = self.customer

        def save() -> Any:
            customer_id = None
            if fixed is not None:
                customer_id = fixed[0]
            elif code:
                try:
                    customer_id = customers.find_customer(db, actor, code).id
                except Exception as error:
                    raise ValidationError("customer", str(error)) from error
            return alarms.add_rule(db, actor, values, customer_id=customer_id)

        def failed(error: Exception) -> None:
            if not form.show_validation_error(error):
                report_error(app, error)

        def saved(rule: Any) -> None:
            self.dismiss(rule)

        run_service(self, save, on_done=saved, on_error=failed, group="rule-save")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class AlarmRulesScreen(BaseScreen):
    TITLE_TEXT = "Alarm rules"
    HELP = (
        "The rules the alarms come from, by name. {rules.new} adds a rule; {rules.remove} "
        "removes the one under the cursor (its alarms stay in the history); {rules.back} goes "
        "back."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_rule", "New rule", id="rules.new"),
        Binding("x,delete", "remove_rule", "Remove", id="rules.remove"),
        Binding("escape", "back", "Back", id="rules.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rules: list[Any] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Label("Loading…", id="rules-line", classes="tab-hint", markup=False)
        yield Grid(rules_source([]), id="rules-grid")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(Grid).focus()
        self.load()

    def load(self, key: Any = None) -> None:
        from carriertui.store import alarms

        app: Any = self.app
        db, actor = app.db, app.actor
        run_service(
            self,
            lambda: alarms.list_rules(db, actor),
            on_done=lambda rules: self._loaded(rules, key),
            group="rules-load",
            exclusive=True,
        )

    def _loaded(self, rules: list[Any], key: Any) -> None:
        self.rules = rules
        grid = self.query_one(Grid)
        grid.set_source(rules_source(rules))
        if key is not None:
            grid.refresh_data(key=key)
        self.query_one("#rules-line", Label).update(
            plain(f"{len(rules)} rules. n new rule · x remove")
        )

    def _can_edit(self) -> bool:
        from carriertui.store.enums import Role

        app: Any = self.app
        if not app.actor.can(Role.OPERATOR):
            notify_plain(app, "Changing alarm rules needs the operator role.", severity="warning")
            return False
        return True

    def action_new_rule(self) -> None:
        if not self._can_edit():
            return

        def saved(rule: Any) -> None:
            if rule is not None:
                notify_plain(self.app, f"Alarm rule {rule.name} added.")
                self.load(rule.id)

        self.app.push_screen(RuleFormScreen(), saved)

    def action_remove_rule(self) -> None:
        from carriertui.store import alarms
        from carriertui.widgets.confirm import ConfirmScreen

        key = self.query_one(Grid).view.cursor_key
        rule = next((r for r in self.rules if r.id == key), None)
        if rule is None or not self._can_edit():
            return
        app: Any = self.app

        def removed(name: str) -> None:
            notify_plain(app, f"Alarm rule {name} removed.")
            self.load()

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            db, actor = app.db, app.actor
            run_service(
                self,
                lambda: alarms.remove_rule(db, actor, rule.id),
                on_done=removed,
                on_error=lambda error: report_error(app, error),
                group="rules-remove",
            )

        app.push_screen(
            ConfirmScreen(f"Remove the alarm rule {rule.name}?", "Remove", "Keep"), answered
        )

    def action_back(self) -> None:
        self.dismiss()
