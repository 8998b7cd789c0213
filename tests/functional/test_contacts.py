"""Contacts as an operator uses them at 80x24: the tab, the form, the row menu, Delay and Save,
Global Contacts, and the Delay Log."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from textual.command import CommandPalette
from textual.widgets import DataTable, Input, Label, Switch

from carriertui.app import CarrierApp
from carriertui.screens.customer.contact_form import ContactFormScreen
from carriertui.screens.customer.contact_password import ContactPasswordScreen
from carriertui.screens.customer.contacts import ContactsPane, PickCustomerScreen
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.screens.delay import DelayLogScreen, DelayScreen
from carriertui.screens.dialogs import ConflictScreen
from carriertui.screens.global_contacts import GlobalContactsScreen
from carriertui.store import audit, customers, mail, pending
from carriertui.store.contacts import service as contacts
from carriertui.store.context import Actor
from carriertui.store.enums import PendingStatus, Role
from carriertui.widgets.confirm import ConfirmScreen
from carriertui.widgets.form import Form
from carriertui.widgets.grid import Grid
from tests.functional.harness import (
    grid_column,
    log_in,
    open_db,
    palette_search,
    seed,
    settle,
    wait_for,
    wait_grid,
)

SIZE = (80, 24)
ADMIN = Actor("test", Role.ADMIN, "127.0.0.1")
FIRST = "Atlas Comms [UK]"  # the first customer by name in the seed


def _customer(url: str, name: str = FIRST) -> customers.CustomerRecord:
    return customers.find_customer(open_db(url), ADMIN, name)


def _add_contact(url: str, **values: object) -> contacts.ContactRecord:
    record = _customer(url)
    fields = {"name": "Jane Roe", "email": "jane@example.com", **values}
    return contacts.create_contact(open_db(url), ADMIN, record.id, fields)


async def _contacts_tab(pilot, name: str = "alice") -> ContactsPane:
    """Log in, open the first customer, switch to Contacts and focus its grid (Tab)."""
    app: CarrierApp = pilot.app
    await log_in(pilot, name)
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
    )
    await pilot.press("right_square_bracket")
    pane = app.screen.query_one(ContactsPane)
    for _ in range(6):
        if pane.grid.view.has_focus:
            break
        await pilot.press("tab")
    assert pane.grid.view.has_focus
    await wait_grid(pilot, pane.grid)
    return pane


async def _fill(pilot, **fields: str) -> None:
    form = pilot.app.screen.query_one(Form)
    for field, value in fields.items():
        control = form.row(field).control
        control.focus()
        if isinstance(control, Input):
            control.value = ""
        await pilot.press(*value)


def _error(screen, field: str) -> str:
    row = screen.query_one(Form).row(field)
    return str(row.query_one(".field-error", Label).content) if row.has_class("-invalid") else ""


async def test_add_a_contact_with_keys(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        pane = await _contacts_tab(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        await pilot.press(*"Jane Roe", "tab", *"Jane@Example.com", "tab", *"+44 20 7946 0958")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
        await wait_for(pilot, lambda: "Jane Roe" in grid_column(pane.grid))
        assert grid_column(pane.grid, 1) == ["Jane@example.com"]
        assert grid_column(pane.grid, 3) == ["+442079460958"]
    db = open_db(url)
    (record,) = contacts.list_contacts(db, ADMIN)
    assert record.customer_name == FIRST and not record.has_password
    (message,) = mail.list_messages(db, ADMIN)
    assert message.to_address == "Jane@example.com" and message.status.value == "pending"
    entry = audit.list_entries(db, ADMIN, limit=5)
    creates = [e for e in entry if e.table == "contact" and e.action == "CREATE"]
    assert creates and creates[0].actor == "alice" and creates[0].customer_id == record.customer_id


async def test_errors_show_next_to_their_field_and_nothing_is_saved(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        form_screen = app.screen
        await _fill(pilot, name="Jane Roe", email="jane@", phone="12345", mobile="+1 555")
        await pilot.press("ctrl+g")
        # Every bad field at once, each next to its field; the first one has the focus.
        await wait_for(pilot, lambda: bool(_error(form_screen, "email")))
        assert "not a valid email address" in _error(form_screen, "email")
        assert "country code" in _error(form_screen, "phone")
        assert "not a valid number" in _error(form_screen, "mobile")
        assert _error(form_screen, "name") == ""
        assert form_screen.query_one("#field-email", Input).has_focus
        assert form_screen.query_one("#field-email", Input).value == "jane@"  # kept as typed
        await _fill(pilot, email="jane@example.com", mobile="")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: not _error(form_screen, "email"))
        assert "country code" in _error(form_screen, "phone")
        assert _error(form_screen, "mobile") == ""
        assert form_screen.query_one("#field-phone", Input).has_focus
        assert isinstance(app.screen, ContactFormScreen)
    assert contacts.list_contacts(open_db(url), ADMIN) == []


async def test_email_is_unique_across_customers(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    other = customers.find_customer(open_db(url), ADMIN, "Bluefin Voice GmbH")
    contacts.create_contact(open_db(url), ADMIN, other.id, {"name": "X", "email": "jane@ex.com"})
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        form_screen = app.screen
        await _fill(pilot, name="Jane Roe", email="JANE@ex.com")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: bool(_error(form_screen, "email")))
        assert "already the login of another contact" in _error(form_screen, "email")


async def test_notes_that_look_like_a_password_need_confirmation(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        await _fill(pilot, name="Jane Roe", email="jane@example.com", private_notes="pwd=hunter2")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # Edit notes: nothing saved
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        await settle(pilot)
        assert contacts.list_contacts(open_db(url), ADMIN) == []
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
    (record,) = contacts.list_contacts(open_db(url), ADMIN)
    assert record.private_notes == "pwd=hunter2"


async def test_save_and_stay_clears_the_form_for_the_next_contact(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        await _fill(pilot, name="Jane Roe", email="jane@example.com")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(contacts.list_contacts(open_db(url), ADMIN)) == 1)
        await settle(pilot)
        assert isinstance(app.screen, ContactFormScreen)
        assert app.screen.query_one("#field-name", Input).value == ""
        assert app.screen.query_one("#field-name", Input).has_focus
        await _fill(pilot, name="Joe Bloggs", email="joe@example.com")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
    names = [r.name for r in contacts.list_contacts(open_db(url), ADMIN)]
    assert names == ["Jane Roe", "Joe Bloggs"]


async def test_a_typed_password_needs_its_confirmation(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        form_screen = app.screen
        form = form_screen.query_one(Form)
        assert not form.row("password").display  # Auto Password is on by default
        await _fill(pilot, name="Jane Roe", email="jane@example.com")
        form_screen.query_one("#field-auto_password", Switch).focus()
        await pilot.press("space")
        await settle(pilot)
        assert form.row("password").display and form.row("password_confirm").display
        await _fill(pilot, password="tangerine-kayak-47-moon", password_confirm="different")
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert "does not match" in _error(form_screen, "password_confirm")
        await _fill(pilot, password_confirm="tangerine-kayak-47-moon")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen), timeout=20)
    db = open_db(url)
    (record,) = contacts.list_contacts(db, ADMIN)
    assert record.has_password and not record.must_change_password
    assert mail.list_messages(db, ADMIN) == []  # nothing to email: the operator typed it


async def test_change_password_from_the_row_menu_queues_an_email(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    _add_contact(url)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("down", "enter")  # Edit, then Change Password
        await wait_for(pilot, lambda: isinstance(app.screen, ContactPasswordScreen))
        assert app.screen.query_one(Switch).value  # Auto Generate & Email is the default
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
    messages = mail.list_messages(open_db(url), ADMIN)
    assert len(messages) == 2  # the welcome email and the reset
    assert messages[1].subject == "Your new customer portal password"


async def test_delete_asks_first(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    _add_contact(url)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        pane = await _contacts_tab(pilot)
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await settle(pilot)
        assert len(contacts.list_contacts(open_db(url), ADMIN)) == 1
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: grid_column(pane.grid) == [])
    db = open_db(url)
    assert contacts.list_contacts(db, ADMIN) == []
    assert [m.status.value for m in mail.list_messages(db, ADMIN)] == ["cancelled"]


async def test_saving_over_a_newer_version_shows_the_conflict(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    record = _add_contact(url, phone="+44 20 7946 0958")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        form_screen = app.screen
        # Someone else saves the contact meanwhile.
        contacts.update_contact(
            open_db(url), ADMIN, record.id, {"name": "Jane Q. Roe"}, expected_version=1
        )
        await _fill(pilot, mobile="+1 415 555 2671")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictScreen))
        table = app.screen.query_one(DataTable)
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert ["Mobile", "+1 415 555 2671", "(empty)"] in rows
        assert ["Name", "(not changed by you)", "Jane Q. Roe"] in rows
        await pilot.press("r")  # reload theirs
        await wait_for(pilot, lambda: app.screen is form_screen)
        await settle(pilot)
        assert form_screen.query_one("#field-name", Input).value == "Jane Q. Roe"
    current = contacts.get_contact(open_db(url), ADMIN, record.id)
    assert current.name == "Jane Q. Roe" and current.mobile is None  # nothing overwritten


async def test_delay_and_save_then_cancel_in_the_delay_log(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    record = _add_contact(url)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        await _fill(pilot, phone="+44 20 7946 0958")
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, DelayScreen))
        await pilot.press(*"yesterday", "enter")
        await settle(pilot)
        assert "neither a delay" in str(app.screen.query_one("#delay-error", Label).content)
        app.screen.query_one(Input).value = ""
        await pilot.press(*"2h", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
        (change,) = pending.list_changes(open_db(url), ADMIN)
        assert change.status is PendingStatus.PENDING
        assert change.changes == {"phone": "+442079460958"}
        assert timedelta(minutes=119) < change.due_at - change_created(url) < timedelta(hours=2)
        # Nothing applied yet.
        assert contacts.get_contact(open_db(url), ADMIN, record.id).phone is None

        await palette_search(pilot, "delay log")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DelayLogScreen))
        grid = app.screen.query_one(Grid)
        await wait_grid(pilot, grid)
        assert grid_column(grid, 1) == ["pending"]
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: grid_column(grid, 1) == ["cancelled"])
    assert pending.run_due(open_db(url), now=change.due_at + timedelta(seconds=1)).applied == 0


async def test_delay_and_save_over_a_newer_version_shows_the_conflict(tmp_path: Path) -> None:
    """Delay and Save goes through the same edit flow as Save: someone else's save since the
    form opened shows both versions, and nothing is scheduled."""
    url = seed(tmp_path / "c.sqlite")
    record = _add_contact(url)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        form_screen = app.screen
        contacts.update_contact(
            open_db(url), ADMIN, record.id, {"name": "Jane Q. Roe"}, expected_version=1
        )
        await _fill(pilot, phone="+44 20 7946 0958")
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, DelayScreen))
        await pilot.press(*"2h", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictScreen))
        table = app.screen.query_one(DataTable)
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert ["Name", "(not changed by you)", "Jane Q. Roe"] in rows
        assert pending.list_changes(open_db(url), ADMIN) == []
        await pilot.press("escape")  # keep mine, now against their version
        await wait_for(pilot, lambda: app.screen is form_screen)
        assert form_screen.record.version == 2
        assert form_screen.query_one("#field-name", Input).value == "Jane Q. Roe"
        assert form_screen.query_one("#field-phone", Input).value == "+44 20 7946 0958"
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, DelayScreen))
        await pilot.press(*"2h", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
    # "Keep mine" keeps what was typed (the phone) on top of their version: their new name
    # came into the form, so the delayed change does not put the old name back.
    (change,) = pending.list_changes(open_db(url), ADMIN)
    assert change.changes == {"phone": "+442079460958"}


def change_created(url: str):
    (entry,) = [e for e in audit.list_entries(open_db(url), ADMIN) if e.table == pending.TABLE]
    return entry.created_at


async def test_global_contacts_asks_for_the_customer_first(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    _add_contact(url)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await palette_search(pilot, "go: contacts")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, GlobalContactsScreen))
        grid = app.screen.query_one(Grid)
        await wait_grid(pilot, grid)
        assert grid_column(grid, 0) == [FIRST]  # the Customer column comes first
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, PickCustomerScreen))
        await pilot.press(*"bluefin")
        await settle(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        assert app.screen.customer_name == "Bluefin Voice GmbH"
        await _fill(pilot, name="Hans Muster", email="hans@bluefin.example")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, GlobalContactsScreen))
        await wait_for(pilot, lambda: len(grid_column(grid)) == 2)
    hans = contacts.find_contact(open_db(url), ADMIN, "hans@bluefin.example")
    assert hans.customer_name == "Bluefin Voice GmbH"


async def test_a_viewer_reads_but_cannot_change(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    _add_contact(url)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot, "vic")
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, CustomerScreen)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        assert app.screen.query_one("#field-name", Input).disabled
        assert not app.screen.query("#save-continue")
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert isinstance(app.screen, ContactFormScreen)


async def test_every_field_is_reachable_with_tab_at_80x24(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        screen = app.screen
        screen.query_one("#field-auto_password", Switch).value = False
        await settle(pilot)
        seen: list[str] = []
        for _ in range(25):
            focused = app.focused
            if focused is not None and focused.id and focused.id.startswith("field-"):
                seen.append(focused.id.removeprefix("field-"))
                region = focused.region
                assert region.height > 0 and 0 <= region.y < SIZE[1]  # scrolled into view
            await pilot.press("tab")
        expected = {
            "name",
            "email",
            "phone",
            "mobile",
            "contact_type",
            "auto_password",
            "password",
            "password_confirm",
            "public_notes",
            "private_notes",
            "email_verified",
            "mobile_verified",
            "ip_whitelist",
        }
        assert expected <= set(seen)


async def test_the_palette_offers_the_contact_screens(tmp_path: Path) -> None:
    app = CarrierApp(seed(tmp_path / "c.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await palette_search(pilot, "go: outbox")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "OutboxScreen")


async def test_portal_login_from_the_row_menu_shows_the_portal_with_a_banner(
    tmp_path: Path,
) -> None:
    from carriertui.screens.portal import PortalScreen
    from tests.functional.portal_harness import screen_text

    url = seed(tmp_path / "c.sqlite")
    _add_contact(url, private_notes="CANARY-PRIVATE credit watch", public_notes="Hello portal")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot, "olga")
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("down", "down", "enter")  # Edit, Change Password, Portal Login
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, PortalScreen) and app.screen.query("#portal-banner"),
        )
        await settle(pilot)
        banner = str(app.screen.query_one("#portal-banner").render())
        assert "Jane Roe" in banner and "olga" in banner
        shown = screen_text(app)
        assert "Hello portal" in shown and "CANARY-PRIVATE" not in shown
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
    logins = [
        e
        for e in audit.list_entries(open_db(url), ADMIN)
        if e.action == "LOGIN" and e.table == "contact"
    ]
    assert logins and logins[0].actor == "olga" and "Jane Roe" in logins[0].message
