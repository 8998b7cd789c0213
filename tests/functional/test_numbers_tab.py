"""The Number Block tab at 80x24, as an operator presses keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlmodel import select
from textual.widgets import Input, Static, TabbedContent

from carriertui.app import CarrierApp
from carriertui.screens.customer.number_block import NumberBlockPane
from carriertui.screens.customer.number_dialogs import (
    ExtensionFormScreen,
    NumberPickerScreen,
    PasswordOnceScreen,
)
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.store import audit, customers, options, passwords
from carriertui.store.context import Actor
from carriertui.store.db.tables import SipUser
from carriertui.store.enums import Role
from carriertui.store.numbers import service as numbers
from carriertui.widgets.confirm import ConfirmScreen
from carriertui.widgets.form import Form
from carriertui.widgets.grid import Grid
from tests.functional.harness import grid_column, log_in, open_db, seed, settle, wait_for

SIZE = (80, 24)
ADMIN = Actor("test", Role.ADMIN, "127.0.0.1")


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, at minimal cost (the production parameters are tested elsewhere)."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(1, 1024, 1))


def _customer_id(url: str, name: str) -> int:
    return customers.find_customer(open_db(url), ADMIN, name).id


def _set_plan(url: str) -> None:
    options.set_options(open_db(url), ADMIN, {"number_range_start": 1000, "block_size": 1000})


async def _open_numbers_tab(pilot, name: str) -> NumberBlockPane:
    app = pilot.app
    screen = app.screen
    names = [str(value) for value in grid_column(screen.grid)]
    screen.grid.view.move_cursor(names.index(name))
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
    )
    await pilot.press("right_square_bracket", "right_square_bracket")
    pane = app.screen.query_one(NumberBlockPane)
    await wait_for(pilot, lambda: pane.blocks is not None)
    assert app.screen.query_one(TabbedContent).active == "numbers"
    return pane


def _title(pane: NumberBlockPane) -> str:
    return str(pane.query_one("#blocks-title", Static).render())


def _block_rows(pane: NumberBlockPane) -> list[int]:
    return [int(value) for value in grid_column(pane.query_one("#blocks-grid", Grid))]


def _notifications(app: CarrierApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def test_plus_is_disabled_until_the_plan_is_set_then_assigns_blocks(
    tmp_path: Path,
) -> None:
    url = seed(tmp_path / "n.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        pane = await _open_numbers_tab(pilot, "Northwind Telecom Ltd")
        assert "Number Range Start and Block Size are unset" in _title(pane)
        assert "Settings > Options" in _title(pane)
        assert pane.check_action("allocate", ()) is None  # shown greyed in the footer
        await pilot.press("plus")
        await settle(pilot)
        assert numbers.list_blocks(open_db(url), ADMIN) == []

        _set_plan(url)
        # coming back to the tab reads the plan again
        await pilot.press("left_square_bracket", "right_square_bracket")
        await wait_for(pilot, lambda: pane.plan == (1000, 1000))
        assert "no block yet (start 1000, size 1000)" in _title(pane)
        await pilot.press("plus")
        await wait_for(pilot, lambda: _block_rows(pane) == [0])
        await pilot.press("plus")
        await wait_for(pilot, lambda: _block_rows(pane) == [0, 1])
        assert "2 blocks" in _title(pane)
        assert "Block 1 assigned: 2000\u20132999, prefix 2" in _notifications(app)
        northwind = _customer_id(url, "Northwind Telecom Ltd")
        held = numbers.list_blocks(open_db(url), ADMIN, northwind)
        assert [(b.range_start, b.range_end) for b in held] == [(1000, 1999), (2000, 2999)]
        entries = audit.list_entries(open_db(url), ADMIN, customer_id=northwind)
        assert [e.table for e in entries[:2]] == ["number_block", "number_block"]
        assert {e.actor for e in entries[:2]} == {"alice"}


async def test_sip_user_from_the_picker_and_its_password_shown_once(tmp_path: Path) -> None:
    url = seed(tmp_path / "n.sqlite")
    _set_plan(url)
    northwind = _customer_id(url, "Northwind Telecom Ltd")
    db = open_db(url)
    numbers.allocate_next_block(db, ADMIN, northwind)
    numbers.create_conference(db, ADMIN, northwind, 1000, name="Taken")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await _open_numbers_tab(pilot, "Northwind Telecom Ltd")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ExtensionFormScreen))
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, NumberPickerScreen))
        picker = app.screen
        grid = picker.query_one(Grid)
        await wait_for(pilot, lambda: grid.view.loaded)
        assert grid_column(grid)[:2] == [1001, 1002]  # 1000 is in use
        await pilot.press("1", "0", "5")
        await wait_for(pilot, lambda: grid.view.query.search == "105")
        assert grid_column(grid)[:3] == [1050, 1051, 1052]
        await pilot.press("down", "down", "enter")  # to the list, one row down, pick
        await wait_for(pilot, lambda: isinstance(app.screen, ExtensionFormScreen))
        form = app.screen
        assert form.query_one("#field-number", Input).value == "1051"
        assert app.focused is form.query_one("#field-display_name", Input)
        await pilot.press(*"Front desk")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PasswordOnceScreen))
        shown = app.screen._password
        assert shown in str(app.screen.query_one("#password-text", Static).render())
        await pilot.press("c")
        assert app.clipboard == shown
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
        extensions = app.screen.query_one("#extensions-grid", Grid)
        await wait_for(pilot, lambda: 1051 in grid_column(extensions))
    with open_db(url).read() as session:
        user = session.exec(select(SipUser)).one()
        username, stored = user.username, user.password_hash
    assert username == "1051" and stored != shown
    assert passwords.verify_password(stored, shown)


async def test_duplicate_and_out_of_block_numbers_are_shown_under_the_field(
    tmp_path: Path,
) -> None:
    url = seed(tmp_path / "n.sqlite")
    _set_plan(url)
    db = open_db(url)
    northwind, bluefin = (
        _customer_id(url, n) for n in ("Northwind Telecom Ltd", "Bluefin Voice GmbH")
    )
    numbers.allocate_next_block(db, ADMIN, northwind)  # 1000-1999
    numbers.allocate_next_block(db, ADMIN, bluefin)  # 2000-2999
    numbers.create_conference(db, ADMIN, bluefin, 2100, name="Bluefin bridge")
    numbers.create_conference(db, ADMIN, northwind, 1100, name="Northwind bridge")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await _open_numbers_tab(pilot, "Bluefin Voice GmbH")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ExtensionFormScreen))
        form = app.screen
        await pilot.press(*"1100", "tab", *"Standup")
        await pilot.press("ctrl+s")
        row = form.query_one(Form).row("number")
        await wait_for(pilot, lambda: row.has_class("-invalid"))
        error = str(row.query_one(".field-error").render())
        assert "Duplicate User Detected" in error
        form.query_one("#field-number", Input).value = "2200"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
        form_numbers = [e.number for e in numbers.list_extensions(db, ADMIN, bluefin)]
        assert form_numbers == [2100, 2200]
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ExtensionFormScreen))
        form = app.screen
        await pilot.press(*"1500", "tab", *"Elsewhere", "ctrl+s")
        row = form.query_one(Form).row("number")
        await wait_for(pilot, lambda: row.has_class("-invalid"))
        assert "outside Bluefin Voice GmbH's number blocks" in str(
            row.query_one(".field-error").render()
        )
    assert [e.number for e in numbers.list_extensions(db, ADMIN, bluefin)] == [2100, 2200]


async def test_release_is_refused_while_in_use_then_allowed(tmp_path: Path) -> None:
    url = seed(tmp_path / "n.sqlite")
    _set_plan(url)
    db = open_db(url)
    northwind = _customer_id(url, "Northwind Telecom Ltd")
    numbers.allocate_next_block(db, ADMIN, northwind)
    numbers.create_conference(db, ADMIN, northwind, 1300, name="Weekly")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        pane = await _open_numbers_tab(pilot, "Northwind Telecom Ltd")
        assert app.focused is pane.query_one("#blocks-grid", Grid).view
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: any("in use" in m for m in _notifications(app)))
        refused = next(m for m in _notifications(app) if "in use" in m)
        assert "1300 (Conference Weekly)" in refused
        assert len(numbers.list_blocks(db, ADMIN, northwind)) == 1

        # remove the conference from the extensions grid, then release the block
        pane.query_one("#extensions-grid", Grid).focus()
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: numbers.list_extensions(db, ADMIN, northwind) == [])
        pane.query_one("#blocks-grid", Grid).focus()
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: _block_rows(pane) == [])
        assert numbers.list_blocks(db, ADMIN, northwind) == []


async def test_dial_plan_field(tmp_path: Path) -> None:
    url = seed(tmp_path / "n.sqlite")
    _set_plan(url)
    db = open_db(url)
    northwind = _customer_id(url, "Northwind Telecom Ltd")
    numbers.allocate_next_block(db, ADMIN, northwind)
    numbers.create_conference(db, ADMIN, northwind, 1100, name="Reception bridge")
    numbers.create_alias(db, ADMIN, northwind, 1999, target=1100)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        pane = await _open_numbers_tab(pilot, "Northwind Telecom Ltd")
        result = pane.query_one("#dial-result", Static)
        await pilot.press("t", "1", "0", "0")

        def shown() -> str:
            return str(result.render())

        await wait_for(pilot, lambda: "reaches" in shown() and shown().startswith("100 "))
        assert shown() == (
            "100 \u2192 1100 reaches Conference 1100 \u201cReception bridge\u201d of "
            "Northwind Telecom Ltd"
        )
        await pilot.press("backspace", "backspace", "backspace", *"999")
        await wait_for(pilot, lambda: shown().startswith("999 "))
        assert "is an alias: reaches Conference 1100" in shown()
        await pilot.press("backspace", "backspace", "backspace", *"555")
        await wait_for(pilot, lambda: shown().startswith("555 "))
        assert shown() == "555 \u2192 1555 reaches nothing"


async def test_viewer_sees_the_tab_but_cannot_change_it(tmp_path: Path) -> None:
    url = seed(tmp_path / "n.sqlite")
    _set_plan(url)
    northwind = _customer_id(url, "Northwind Telecom Ltd")
    numbers.allocate_next_block(open_db(url), ADMIN, northwind)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "vic")
        pane = await _open_numbers_tab(pilot, "Northwind Telecom Ltd")
        assert _block_rows(pane) == [0]
        for action in ("allocate", "new", "remove"):
            assert pane.check_action(action, ()) is None
        await pilot.press("plus", "n", "x")
        await settle(pilot)
        assert isinstance(app.screen, CustomerScreen)
        assert len(numbers.list_blocks(open_db(url), ADMIN)) == 1


async def test_palette_assigns_a_block_and_opens_the_forms(tmp_path: Path) -> None:
    from tests.functional.harness import palette_search

    url = seed(tmp_path / "n.sqlite")
    _set_plan(url)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        pane = await _open_numbers_tab(pilot, "Atlas Comms [UK]")
        await pilot.press("left_square_bracket")  # on another tab: the command switches back
        await palette_search(pilot, "assign next block")
        await pilot.press("enter")
        await wait_for(pilot, lambda: _block_rows(pane) == [0])
        assert app.screen.query_one(TabbedContent).active == "numbers"
        await palette_search(pilot, "new conference")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExtensionFormScreen))
        assert app.screen.kind.value == "conference"
