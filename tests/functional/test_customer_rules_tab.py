"""The customer's Rules tab at 80x24, as an operator presses keys: CDR match rules (issue 15)
and the alarm rules that watch this customer (issue 17)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Select, Static, TabbedContent

from carriertui.app import CarrierApp
from carriertui.screens.alarm_rules import AlarmRulesScreen, RuleFormScreen
from carriertui.screens.customer.rules import CustomerRulesPane, MatchRuleFormScreen
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.store import alarms, audit, customers, match_rules
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from carriertui.widgets.confirm import ConfirmScreen
from carriertui.widgets.form import Form
from carriertui.widgets.grid import Grid
from tests.functional.harness import grid_column, log_in, open_db, seed, settle, wait_for

SIZE = (80, 24)
ADMIN = Actor("test", Role.ADMIN, "127.0.0.1")
NAME, CODE = "Northwind Telecom Ltd", "NWT-001"


async def _open_rules_tab(pilot, name: str = NAME) -> CustomerRulesPane:
    app = pilot.app
    screen = app.screen
    names = [str(value) for value in grid_column(screen.grid)]
    screen.grid.view.move_cursor(names.index(name))
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
    )
    # Main > Contacts > Number Block > Summary > Rules
    await pilot.press(*["right_square_bracket"] * 4)
    await wait_for(pilot, lambda: app.screen.query(CustomerRulesPane))
    pane = app.screen.query_one(CustomerRulesPane)
    await wait_for(pilot, lambda: pane.label == CODE)
    assert app.screen.query_one(TabbedContent).active == "rules"
    return pane


def _error(screen, field: str) -> str:
    row = screen.query_one(Form).row(field)
    return str(row.query_one(".field-error").render()) if row.has_class("-invalid") else ""


def _texts(pane: CustomerRulesPane) -> str:
    return " ".join(str(widget.render()) for widget in pane.query(Static))


async def test_an_operator_adds_and_removes_match_and_alarm_rules(tmp_path: Path) -> None:
    url = seed(tmp_path / "r.sqlite")
    db = open_db(url)
    northwind = customers.find_customer(db, ADMIN, NAME).id
    # An every-customer rule: it is not this customer's own, so the tab does not list it.
    alarms.add_rule(db, ADMIN, {"name": "All ASR", "metric": "asr", "trigger": "20"})
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "olga")
        pane = await _open_rules_tab(pilot)
        match_grid = pane.query_one("#match-grid", Grid)
        alarm_grid = pane.query_one("#alarm-rules-grid", Grid)
        assert app.focused is not None and match_grid in app.focused.ancestors_with_self
        assert grid_column(match_grid) == [] and grid_column(alarm_grid) == []

        # a match rule: a bad source IP is refused next to the field, nothing is saved
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, MatchRuleFormScreen))
        form = app.screen
        await pilot.press(*"300.1.2.3")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: _error(form, "value") != "")
        assert "not an IP address or network" in _error(form, "value")
        assert isinstance(app.screen, MatchRuleFormScreen)
        assert match_rules.list_rules(db, ADMIN, northwind) == []
        value = form.query_one("#f-value", Input)
        value.value = ""
        await pilot.press(*"192.0.2.0/24", "enter")
        await wait_for(pilot, lambda: app.screen is not form)
        await wait_for(pilot, lambda: grid_column(match_grid, 1) == ["192.0.2.0/24"])
        assert grid_column(match_grid, 0) == ["source IP"]
        assert str(grid_column(match_grid, 2)[0]).endswith("UTC")
        (rule,) = match_rules.list_rules(db, ADMIN, northwind)
        assert (rule.kind, rule.value) == ("source_ip", "192.0.2.0/24")
        assert "1 rule" in _texts(pane)

        # a SIP user whose name another customer's rule has: the service's message, at the field
        bluefin = customers.find_customer(db, ADMIN, "Bluefin Voice GmbH").id
        match_rules.add_rule(db, ADMIN, bluefin, "sip_user", "[b]taken")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, MatchRuleFormScreen))
        form = app.screen
        form.query_one("#f-kind", Select).value = "sip_user"
        form.query_one("#f-value", Input).value = "[b]taken"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: _error(form, "value") != "")
        assert "[b]taken already names customer BFV-002" in _error(form, "value")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))

        # remove it, with the confirm dialog
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: grid_column(match_grid) == [])
        assert match_rules.list_rules(db, ADMIN, northwind) == []
        tables = [e.table for e in audit.list_entries(db, ADMIN, customer_id=northwind)]
        assert tables[:2] == ["customer_match_rule", "customer_match_rule"]

        # an alarm rule for this customer: the form has the customer fixed
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, RuleFormScreen))
        form = app.screen
        fixed = form.query_one("#f-customer", Input)
        assert fixed.value == CODE and fixed.disabled
        await pilot.press(*"NWT PDD")
        form.query_one("#row-metric Select", Select).value = "pdd"
        form.query_one("#f-trigger", Input).value = "8"
        form.query_one("#f-reset", Input).value = "5"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
        await wait_for(pilot, lambda: grid_column(alarm_grid) == ["NWT PDD"])
        assert grid_column(alarm_grid, 1) == ["PDD"]
        assert app.focused is not None and alarm_grid in app.focused.ancestors_with_self
        own = [r for r in alarms.list_rules(db, ADMIN) if r.name == "NWT PDD"]
        assert [(r.customer_id, r.trigger, r.reset) for r in own] == [(northwind, 8.0, 5.0)]

        # ... and in go: alarm rules, scoped to the customer
        customer_screen = app.screen
        app.go_alarm_rules()
        await wait_for(
            pilot, lambda: isinstance(app.screen, AlarmRulesScreen) and app.screen.query(Grid)
        )
        grid = app.screen.query_one(Grid)
        await wait_for(pilot, lambda: "NWT PDD" in grid_column(grid))
        scopes = dict(zip(grid_column(grid, 0), grid_column(grid, 2), strict=True))
        assert scopes == {"All ASR": "every", "NWT PDD": CODE}
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is customer_screen)

        # remove the alarm rule from the tab (the alarm grid has the focus)
        alarm_grid.focus()
        await settle(pilot)
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: grid_column(alarm_grid) == [])
        assert [r.name for r in alarms.list_rules(db, ADMIN)] == ["All ASR"]


async def test_a_viewer_reads_the_rules_but_cannot_change_them(tmp_path: Path) -> None:
    url = seed(tmp_path / "v.sqlite")
    db = open_db(url)
    northwind = customers.find_customer(db, ADMIN, NAME).id
    match_rules.add_rule(db, ADMIN, northwind, "tech_prefix", "4711#")
    alarms.add_rule(
        db, ADMIN, {"name": "NWT ASR", "metric": "asr", "trigger": "20"}, customer_id=northwind
    )
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "vic")
        pane = await _open_rules_tab(pilot)
        match_grid = pane.query_one("#match-grid", Grid)
        alarm_grid = pane.query_one("#alarm-rules-grid", Grid)
        await wait_for(pilot, lambda: grid_column(match_grid, 1) == ["4711#"])
        assert grid_column(alarm_grid) == ["NWT ASR"]
        assert "Read only (viewer)" in _texts(pane)
        for action in ("add_match", "add_alarm", "remove"):
            assert pane.check_action(action, ()) is None  # hidden from the footer
        screen = app.screen
        await pilot.press("a", "n", "x")
        await settle(pilot)
        assert app.screen is screen
        assert len(match_rules.list_rules(db, ADMIN, northwind)) == 1
        assert [r.name for r in alarms.list_rules(db, ADMIN, northwind)] == ["NWT ASR"]
