"""Logging in, failing to, and the first admin on an empty database, at 80x24."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Label

from carriertui.app import CarrierApp
from carriertui.screens.customers import CustomersScreen
from carriertui.screens.login import FirstAdminScreen, LoginScreen
from carriertui.store import audit, operators
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from carriertui.store.errors import AuthenticationError
from tests.functional.harness import PASSWORD, log_in, open_db, seed, settle, wait_for

SIZE = (80, 24)


async def test_login_opens_the_customers_screen(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, LoginScreen)
        await log_in(pilot, type_keys=True)
        assert isinstance(app.screen, CustomersScreen)
        assert app.actor is not None and app.actor.name == "alice"
        assert app.screen.grid.view.row_count == 3
    db = open_db(url)
    logins = [e for e in audit.list_entries(db, Actor("t", Role.ADMIN, "x")) if e.action == "LOGIN"]
    assert [e.actor for e in logins] == ["alice"]
    assert logins[0].message == "Login"


async def _attempt(pilot, name: str, password: str) -> str:
    app = pilot.app
    app.screen.query_one("#login-name", Input).value = name
    app.screen.query_one("#login-password", Input).value = password
    await pilot.click("#login-button")
    await settle(pilot)
    await wait_for(pilot, lambda: not app.screen.query_one("#login-button").disabled)
    return str(app.screen.query_one("#login-status", Label).render())


async def test_unknown_user_and_wrong_password_read_the_same(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite", with_customers=False)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.store_ready.is_set())
        unknown = await _attempt(pilot, "nobody", PASSWORD)
        wrong = await _attempt(pilot, "alice", "not the right password at all")
        assert unknown == wrong == AuthenticationError.MESSAGE
        assert isinstance(app.screen, LoginScreen)
        assert app.screen.query_one("#login-password", Input).value == ""
        assert app.actor is None


async def test_first_admin_is_offered_on_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FirstAdminScreen))
        screen = app.screen
        screen.query_one("#admin-name", Input).value = "noc-admin"
        screen.query_one("#admin-password", Input).value = "short"
        screen.query_one("#admin-confirm", Input).value = "different"
        await pilot.click("#admin-create")
        await settle(pilot)
        assert "-invalid" in screen.query_one("#row-confirm").classes
        screen.query_one("#admin-confirm", Input).value = "short"
        await pilot.click("#admin-create")
        await settle(pilot)
        row = screen.query_one("#row-password")
        assert "-invalid" in row.classes
        assert "at least 15 characters" in str(row.query_one(".field-error", Label).render())
        assert operators.count_operators(open_db(url)) == 0
        screen.query_one("#admin-password", Input).value = PASSWORD
        screen.query_one("#admin-confirm", Input).value = PASSWORD
        await pilot.click("#admin-password")
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomersScreen))
        assert app.actor is not None and app.actor.role is Role.ADMIN
    db = open_db(url)
    assert [o.name for o in operators.list_operators(db, Actor("t", Role.ADMIN, "x"))] == [
        "noc-admin"
    ]


async def test_demo_opens_logged_in_with_a_banner_and_the_login_is_audited(
    tmp_path: Path, short_demo: None
) -> None:
    from carriertui.demo.builder import DEMO_OPERATOR, build_demo

    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    build_demo(url).dispose()
    app = CarrierApp(url, demo=True, auto_login=DEMO_OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, CustomersScreen) and app.screen.grid.view.loaded
        )
        assert app.actor is not None and app.actor.name == DEMO_OPERATOR
        bar = str(app.screen.query_one("#top-bar").render())
        assert "DEMO DATABASE" in bar
        assert app.screen.grid.view.row_count >= 10
    entries = audit.list_entries(open_db(url), Actor("t", Role.ADMIN, "x"))
    assert entries[0].action == "LOGIN" and entries[0].actor == DEMO_OPERATOR
    assert "without a password" in entries[0].message
