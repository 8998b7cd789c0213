"""Keys typed ahead and forms closed by mistake (issue 12.5): keys pressed while a form loads
edit nothing, a form with unsaved changes asks before it is dropped, two quick `]` both act,
and Enter in the palette before the matches appear takes the first match."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual import events
from textual.command import CommandPalette
from textual.widgets import Input, Switch, TabbedContent

from carriertui.app import CarrierApp
from carriertui.screens.customer.contact_form import ContactFormScreen
from carriertui.screens.customer.contact_password import ContactPasswordScreen
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.screens.operators import AccountFormScreen, OperatorsScreen
from carriertui.screens.options import OptionsScreen
from carriertui.store import customers
from carriertui.store.contacts import service as contacts
from carriertui.widgets.confirm import ConfirmScreen
from tests.functional.harness import log_in, open_db, seed, settle, wait_for
from tests.functional.test_contacts import ADMIN, SIZE, _add_contact, _contacts_tab


def _send_keys(app: CarrierApp, *keys: tuple[str, str | None]) -> None:
    """Keys as the terminal delivers them: queued at once, whatever the app is doing."""
    for key, character in keys:
        event = events.Key(key, character)
        event.set_sender(app)
        app._driver.send_message(event)


def _blocked(monkeypatch: pytest.MonkeyPatch, module, name: str) -> threading.Event:
    """Make ``module.name`` (a service a worker calls) wait until the returned event is set."""
    release = threading.Event()
    real = getattr(module, name)

    def slow(*args, **kwargs):
        assert release.wait(20)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)
    return release


async def test_keys_pressed_while_the_contact_form_loads_edit_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = seed(tmp_path / "c.sqlite")
    _add_contact(url)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        release = _blocked(monkeypatch, contacts, "get_contact")
        await pilot.press("enter")
        await pilot.pause(0.2)
        # The form is there at once (the operator sees the key worked) ...
        assert isinstance(app.screen, ContactFormScreen)
        form = app.screen
        # ... and what is typed before the contact is read goes nowhere.
        await pilot.press("right_square_bracket", "x", "y", "backspace")
        release.set()
        await wait_for(pilot, lambda: form.query("#field-name"))
        await settle(pilot)
        name = form.query_one("#field-name", Input)
        assert name.value == "Jane Roe" and name.has_focus
        assert app.screen is form
        await pilot.press("escape")  # nothing changed: closes without asking
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
        assert app.screen.query_one(TabbedContent).active == "contacts"


async def test_a_changed_contact_form_asks_before_esc_drops_it(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    _add_contact(url)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ContactFormScreen) and app.screen.query("#field-name"),
        )
        await settle(pilot)
        form = app.screen
        await pilot.press("end", *" Jr")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # keep editing
        await wait_for(pilot, lambda: app.screen is form)
        assert form.query_one("#field-name", Input).value == "Jane Roe Jr"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")  # discard
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
    (record,) = contacts.list_contacts(open_db(url), ADMIN)
    assert record.name == "Jane Roe"


async def test_a_new_contact_and_a_typed_password_ask_too(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    _add_contact(url)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        await settle(pilot)
        await pilot.press(*"Half typed")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        assert app.screen.query_one("#field-name", Input).value == "Half typed"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
        await settle(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactPasswordScreen))
        dialog = app.screen
        await pilot.press("space")  # Auto & Email off
        await settle(pilot)
        assert not dialog.query_one(Switch).value
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is dialog)
        assert not dialog.query_one(Switch).value


async def test_options_and_operator_forms_ask_before_dropping_changes(tmp_path: Path) -> None:
    app = CarrierApp(seed(tmp_path / "c.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        app.go_options()
        await wait_for(pilot, lambda: isinstance(app.screen, OptionsScreen))
        await wait_for(pilot, lambda: app.screen.options is not None)
        await settle(pilot)
        options_screen = app.screen
        await pilot.press(*"7000")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is options_screen)
        assert options_screen.query_one("#option-number_range_start", Input).value == "7000"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is not options_screen)

        app.go_operators()
        await wait_for(pilot, lambda: isinstance(app.screen, OperatorsScreen))
        await settle(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountFormScreen))
        await pilot.press(*"nina")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountFormScreen))
        assert app.screen.query_one("#account-name", Input).value == "nina"


async def test_options_typed_before_they_are_read_do_not_stick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from carriertui.store import options

    app = CarrierApp(seed(tmp_path / "c.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        release = _blocked(monkeypatch, options, "get_options")
        app.go_options()
        await wait_for(pilot, lambda: isinstance(app.screen, OptionsScreen))
        await pilot.press(*"99")
        release.set()
        await wait_for(pilot, lambda: app.screen.options is not None)
        await settle(pilot)
        field = app.screen.query_one("#option-number_range_start", Input)
        assert field.value == ""  # unset in the seed: what was read, not what was typed
        assert field.has_focus
        await pilot.press("escape")  # unchanged: back without a question
        await wait_for(pilot, lambda: not isinstance(app.screen, OptionsScreen))


async def test_two_quick_tab_keys_both_act(tmp_path: Path) -> None:
    app = CarrierApp(seed(tmp_path / "c.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
        )
        await settle(pilot)
        tabs = app.screen.query_one(TabbedContent)
        assert tabs.active == "main"
        _send_keys(app, ("right_square_bracket", "]"), ("right_square_bracket", "]"))
        await settle(pilot)
        await pilot.pause(0.3)
        await settle(pilot)
        assert tabs.active == "numbers"


async def test_enter_in_the_palette_before_the_matches_opens_the_first_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = CarrierApp(seed(tmp_path / "c.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        release = _blocked(monkeypatch, customers, "list_customers")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"nwt-001", "enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, CommandPalette)  # still searching
        release.set()
        await wait_for(
            pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
        )
        assert app.screen.record.name == "Northwind Telecom Ltd"
