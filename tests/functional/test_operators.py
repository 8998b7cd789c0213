"""The Operators screen at 80x24: an admin adds an account, changes a role, disables someone
who left, and the last admin stays one."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Label, Select

from carriertui.app import CarrierApp
from carriertui.screens.operators import AccountFormScreen, OperatorsScreen
from carriertui.store import audit, operators
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from carriertui.store.errors import AuthenticationError
from carriertui.widgets.confirm import ConfirmScreen
from tests.functional.harness import (
    PASSWORD,
    log_in,
    open_db,
    palette_search,
    seed,
    settle,
    wait_for,
    wait_grid,
)

SIZE = (80, 24)
API = Actor.api()
NEW_PASSWORD = "lantern meadow copper violin"


async def _operators_screen(pilot) -> OperatorsScreen:
    app = pilot.app
    await palette_search(pilot, "go: operators")
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, OperatorsScreen))
    screen = app.screen
    await wait_grid(pilot, screen.grid)
    return screen


def _names(screen: OperatorsScreen) -> list[str]:
    view = screen.grid.view
    return [view.row_at(i)[1][0] for i in range(view.row_count)]


async def _cursor_to(pilot, screen: OperatorsScreen, name: str) -> None:
    screen.grid.view.move_cursor(_names(screen).index(name))
    await settle(pilot)


def _error(dialog: AccountFormScreen, field: str) -> str:
    row = dialog.query_one("#account-form").row(field)
    return str(row.query_one(".field-error", Label).content) if row.has_class("-invalid") else ""


async def test_an_admin_adds_an_account_with_keys(tmp_path: Path) -> None:
    url = seed(tmp_path / "o.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await _operators_screen(pilot)
        assert _names(screen) == ["alice", "olga", "vic"]
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountFormScreen))
        dialog = app.screen
        await pilot.press(*"nina", "enter")  # to the role
        dialog.query_one("#account-role", Select).value = "viewer"
        dialog.query_one("#account-password", Input).focus()
        await pilot.press(*"short", "tab", *"short", "ctrl+s")
        # The policy's refusal shows next to the field and the dialog stays open.
        await wait_for(pilot, lambda: bool(_error(dialog, "password")))
        assert "at least 15 characters" in _error(dialog, "password")
        assert isinstance(app.screen, AccountFormScreen)
        dialog.query_one("#account-password", Input).value = NEW_PASSWORD
        dialog.query_one("#account-confirm", Input).value = NEW_PASSWORD
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, OperatorsScreen))
        await wait_for(pilot, lambda: "nina" in _names(screen))
    record = operators.get_operator(open_db(url), API, "nina")
    assert record.role is Role.VIEWER
    assert operators.authenticate(open_db(url), "nina", NEW_PASSWORD, "127.0.0.1").name == "nina"


async def test_disable_someone_who_left_then_enable_again(tmp_path: Path) -> None:
    url = seed(tmp_path / "o.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await _operators_screen(pilot)
        await _cursor_to(pilot, screen, "olga")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        view = screen.grid.view
        await wait_for(
            pilot, lambda: view.row_at(1) is not None and view.row_at(1)[1][2] is not None
        )
        assert operators.get_operator(open_db(url), API, "olga").is_disabled
        try:
            operators.authenticate(open_db(url), "olga", PASSWORD, "127.0.0.1")
            raise AssertionError("a disabled account logged in")
        except AuthenticationError:
            pass
        # d on a disabled account enables it
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: view.row_at(1) is not None and view.row_at(1)[1][2] is None)
    entries = [e.message for e in audit.list_entries(open_db(url), API, limit=10)]
    assert "Operator olga: disabled" in entries and "Operator olga: enabled" in entries


async def test_a_role_change_and_the_last_admin_refusal(tmp_path: Path) -> None:
    url = seed(tmp_path / "o.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await _operators_screen(pilot)
        await _cursor_to(pilot, screen, "vic")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountFormScreen))
        app.screen.query_one("#account-role", Select).value = "operator"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, OperatorsScreen))
        await wait_for(pilot, lambda: screen.grid.view.row_at(2)[1][1] == "operator")
        # alice is the only admin: demoting her is refused next to the field, nothing saved
        await _cursor_to(pilot, screen, "alice")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountFormScreen))
        dialog = app.screen
        dialog.query_one("#account-role", Select).value = "viewer"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: bool(_error(dialog, "role")))
        assert "last enabled admin" in _error(dialog, "role")
        await pilot.press("escape")  # the refused role is still unsaved: Esc asks first
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, OperatorsScreen))
    db = open_db(url)
    assert operators.get_operator(db, API, "vic").role is Role.OPERATOR
    assert operators.get_operator(db, API, "alice").role is Role.ADMIN


async def test_only_admins_see_the_operators_screen(tmp_path: Path) -> None:
    url = seed(tmp_path / "o.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "olga")
        app.go_operators()
        await settle(pilot)
        assert not isinstance(app.screen, OperatorsScreen)
        await palette_search(pilot, "go: operators")
        await pilot.press("enter")  # the best hit is something else: no Operators screen
        await settle(pilot)
        assert not isinstance(app.screen, OperatorsScreen)


async def test_a_session_follows_what_an_admin_changes_of_its_account(tmp_path: Path) -> None:
    """olga is logged in when an admin demotes her, then disables her: the next background
    run (every 30 s) applies both to her open session."""
    from carriertui.screens.customers import CustomersScreen
    from carriertui.screens.login import LoginScreen

    url = seed(tmp_path / "o.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "olga")
        assert app.actor.role is Role.OPERATOR

        async def tick() -> None:
            ran = []
            app.run_background(on_done=lambda: ran.append(True))
            await wait_for(pilot, lambda: bool(ran))

        await tick()
        assert app.actor.role is Role.OPERATOR  # nothing changed: nothing said
        operators.set_role(open_db(url), API, "olga", "viewer")
        await tick()
        assert app.actor.role is Role.VIEWER and app.actor.name == "olga"
        assert any("changed your role to viewer" in str(n.message) for n in app._notifications)
        assert isinstance(app.screen, CustomersScreen)
        assert app.screen.check_action("new_customer", ()) is not True  # n is gone for a viewer
        operators.set_disabled(open_db(url), API, "olga", True)
        await tick()
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        assert app.actor is None
        assert any("was disabled by an admin" in str(n.message) for n in app._notifications)
