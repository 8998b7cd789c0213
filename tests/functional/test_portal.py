"""The customer portal at 80x24: a contact's login (lockout, IP whitelist, forced new password),
the account with public notes only, My Profile, and an operator's Portal Login."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from textual.command import CommandList, CommandPalette
from textual.widgets import Button, Input, Label, TabbedContent

from carriertui.app import CarrierApp
from carriertui.screens.customers import CustomersScreen
from carriertui.screens.portal import PortalScreen
from carriertui.screens.portal_login import PortalLoginScreen
from carriertui.screens.portal_password import PortalPasswordScreen
from carriertui.store import audit, passwords
from carriertui.store.contacts import service as contacts
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from carriertui.store.errors import AuthenticationError, PermissionDeniedError
from tests.functional.harness import log_in, open_db, palette_search, settle, wait_for
from tests.functional.portal_harness import (
    ADMIN,
    CONTACT_EMAIL,
    CONTACT_PASSWORD,
    NEW_PASSWORD,
    PRIVATE_CANARY,
    PUBLIC_CANARY,
    mailed_password,
    portal_login,
    screen_text,
    seed_portal,
)

SIZE = (80, 24)


def _entries(url: str) -> list[audit.AuditRecord]:
    return audit.list_entries(open_db(url), ADMIN)


def _status(app: CarrierApp) -> str:
    return str(app.screen.query_one("#login-status", Label).render())


async def _wait_portal(pilot) -> PortalScreen:
    app = pilot.app
    await wait_for(
        pilot, lambda: isinstance(app.screen, PortalScreen) and app.screen.account is not None
    )
    return app.screen


async def test_contact_logs_in_and_sees_the_account(tmp_path: Path) -> None:
    url, contact_id = seed_portal(tmp_path)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, PortalLoginScreen)
        await portal_login(pilot, CONTACT_EMAIL.upper(), CONTACT_PASSWORD, type_keys=True)
        screen = await _wait_portal(pilot)
        assert screen.identity.contact_id == contact_id
        assert app.actor is None  # no operator in the portal
        text = screen_text(app)
        for shown in ("Northwind Telecom Ltd", "NWT-001", "1,520.75 GBP", "500.00 GBP", "60"):
            assert shown in text
        assert "Jane Doe" in str(screen.query_one("#top-bar").render())
    login = _entries(url)[0]
    assert (login.action, login.actor) == ("LOGIN", "Portal")
    assert login.message == f"Portal login of Jane Doe <{CONTACT_EMAIL}>"


async def test_wrong_password_and_unknown_email_read_the_same(tmp_path: Path) -> None:
    url, _ = seed_portal(tmp_path)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        await portal_login(pilot, CONTACT_EMAIL, "not the password at all, sorry")
        wrong = _status(app)
        assert app.screen.query_one("#portal-password", Input).value == ""
        await portal_login(pilot, "nobody@northwind.example", CONTACT_PASSWORD)
        unknown = _status(app)
        assert wrong == unknown == AuthenticationError.MESSAGE
        assert isinstance(app.screen, PortalLoginScreen)
    assert "failed for Jane Doe" in _entries(url)[0].message


@pytest.fixture
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Real argon2id at minimal cost, as tests/unit/conftest.py's fast_argon2, for the lockout
    test's dozen attempts."""
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    passwords.dummy_hash.cache_clear()
    yield
    passwords.dummy_hash.cache_clear()


async def test_ten_failures_lock_the_contact(tmp_path: Path, cheap_argon2: None) -> None:
    url, _ = seed_portal(tmp_path)
    db = open_db(url)
    for _ in range(9):
        with pytest.raises(AuthenticationError):
            contacts.authenticate(db, CONTACT_EMAIL, "a wrong password, again", "127.0.0.1")
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        await portal_login(pilot, CONTACT_EMAIL, "the tenth wrong password")
        assert _status(app) == AuthenticationError.MESSAGE
        assert "locked for 15 minutes after 10 failures" in _entries(url)[0].message
        # The right password no longer opens the portal, and reads the same.
        await portal_login(pilot, CONTACT_EMAIL, CONTACT_PASSWORD)
        assert isinstance(app.screen, PortalLoginScreen)
        assert _status(app) == AuthenticationError.MESSAGE
    assert "refused" in _entries(url)[0].message and "locked" in _entries(url)[0].message


@pytest.mark.parametrize(
    ("client", "allowed"),
    [("203.0.113.77", True), ("198.51.100.7", False), ("2001:db8::1", False)],
)
async def test_ip_whitelist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: str, allowed: bool
) -> None:
    url, _ = seed_portal(tmp_path, whitelist="203.0.113.0/24, 192.0.2.9")
    monkeypatch.setenv("SSH_CONNECTION", f"{client} 52114 10.0.0.1 22")
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        await portal_login(pilot, CONTACT_EMAIL, CONTACT_PASSWORD)
        if allowed:
            await _wait_portal(pilot)
        else:
            assert isinstance(app.screen, PortalLoginScreen)
            assert _status(app) == AuthenticationError.MESSAGE
    entry = _entries(url)[0]
    assert entry.ip == client
    if allowed:
        assert entry.message.startswith("Portal login of")
    else:
        assert f"address {client} not in the IP whitelist" in entry.message


async def test_generated_password_must_be_changed_before_the_portal(tmp_path: Path) -> None:
    url, contact_id = seed_portal(tmp_path, password=None)
    generated = mailed_password(url, tmp_path / "maildir")
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        await portal_login(pilot, CONTACT_EMAIL, generated)
        await wait_for(pilot, lambda: isinstance(app.screen, PortalPasswordScreen))
        # Esc cannot skip it: it logs out.
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PortalLoginScreen))
        await portal_login(pilot, CONTACT_EMAIL, generated)
        await wait_for(pilot, lambda: isinstance(app.screen, PortalPasswordScreen))
        screen = app.screen
        assert not screen.query(PortalScreen)
        await pilot.press(*generated, "enter", *"too short", "enter", *"too short", "enter")
        await wait_for(pilot, lambda: "-invalid" in screen.query_one("#row-password").classes)
        assert "at least 15 characters" in screen_text(app)
        screen.query_one("#new-password", Input).value = NEW_PASSWORD
        screen.query_one("#confirm-password", Input).value = NEW_PASSWORD + "x"
        await pilot.click("#set-password")
        await settle(pilot)
        assert "-invalid" in screen.query_one("#row-confirm").classes
        screen.query_one("#confirm-password", Input).value = NEW_PASSWORD
        await pilot.click("#set-password")
        portal = await _wait_portal(pilot)
        assert not portal.identity.must_change_password
    db = open_db(url)
    assert contacts.portal_contact(db, _identity(contact_id)).must_change_password is False
    changed = _entries(url)[0]
    assert (changed.actor, changed.message) == (
        "Portal",
        "Contact Jane Doe changed their password in the portal",
    )
    assert contacts.authenticate(db, CONTACT_EMAIL, NEW_PASSWORD, "127.0.0.1").contact_id == (
        contact_id
    )
    with pytest.raises(AuthenticationError):
        contacts.authenticate(db, CONTACT_EMAIL, generated, "127.0.0.1")


def _identity(contact_id: int) -> contacts.PortalIdentity:
    return contacts.PortalIdentity(contact_id, 0, "", "", "127.0.0.1", False)


async def _every_portal_view(pilot, screen: PortalScreen) -> list[str]:
    """The text of each tab of the portal, and of F1 help on it."""
    app = pilot.app
    views = []
    tabs = screen.query_one(TabbedContent)
    for pane in ("account", "profile"):
        tabs.active = pane
        await settle(pilot)
        views.append(screen_text(app))
    await pilot.press("f1")
    await settle(pilot)
    views.append(screen_text(app))
    await pilot.press("escape")
    await settle(pilot)
    return views


async def test_private_notes_appear_on_no_portal_screen(tmp_path: Path) -> None:
    url, contact_id = seed_portal(tmp_path)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        views = [screen_text(app)]  # the login
        await portal_login(pilot, CONTACT_EMAIL, CONTACT_PASSWORD)
        screen = await _wait_portal(pilot)
        views += await _every_portal_view(pilot, screen)
        await pilot.click("#change-password")
        await wait_for(pilot, lambda: isinstance(app.screen, PortalPasswordScreen))
        views.append(screen_text(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        # The public notes are there, literally (markup-looking text is not markup) ...
        assert PUBLIC_CANARY in views[1] and "[b]not markup[/b]" in views[1]
        # ... the private ones nowhere, not even in what the screen holds.
        assert all(PRIVATE_CANARY not in view for view in views)
        assert PRIVATE_CANARY not in repr(screen.account)
    # The operator's Portal Login shows the same portal: no private notes there either.
    operator_app = CarrierApp(url)
    async with operator_app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "olga")
        identity = contacts.portal_login_as(operator_app.db, operator_app.actor, contact_id)
        operator_app.push_screen(PortalScreen(identity))
        screen = await _wait_portal(pilot)
        views = await _every_portal_view(pilot, screen)
        assert PUBLIC_CANARY in views[0]
        assert all(PRIVATE_CANARY not in view for view in views)


async def test_profile_edit_is_saved_and_audited_as_portal(tmp_path: Path) -> None:
    url, contact_id = seed_portal(tmp_path)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        await portal_login(pilot, CONTACT_EMAIL, CONTACT_PASSWORD)
        screen = await _wait_portal(pilot)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert screen.query_one(TabbedContent).active == "profile"
        await pilot.click("#profile-mobile")
        await pilot.press(*"not a number", "ctrl+s")
        row = screen.query_one("#row-mobile")
        await wait_for(pilot, lambda: "-invalid" in row.classes)
        assert "is not a phone number" in str(row.query_one(".field-error", Label).render())
        screen.query_one("#profile-mobile", Input).value = ""
        await pilot.click("#profile-mobile")
        await pilot.press(*"+44 7911 123456")
        screen.query_one("#profile-name", Input).value = "Jane [b]Doe[/"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await wait_for(pilot, lambda: screen.profile is not None and screen.profile.version == 2)
        assert screen.query_one("#profile-mobile", Input).value == "+447911123456"
        assert "Jane [b]Doe[/" in screen_text(app)
    record = contacts.portal_contact(open_db(url), _identity(contact_id))
    assert (record.name, record.mobile) == ("Jane [b]Doe[/", "+447911123456")
    entry = _entries(url)[0]
    assert (entry.action, entry.actor, entry.table) == ("UPDATE", "Portal", "contact")
    assert "updated their profile in the portal" in entry.message
    assert entry.after is not None and entry.after["mobile"] == "+447911123456"


async def test_operator_portal_login_has_a_banner_and_is_audited(tmp_path: Path) -> None:
    url, contact_id = seed_portal(tmp_path)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "olga")
        operator_screen = app.screen
        identity = contacts.portal_login_as(app.db, app.actor, contact_id)
        app.push_screen(PortalScreen(identity))
        screen = await _wait_portal(pilot)
        banner = str(screen.query_one("#portal-banner").render())
        assert banner == (
            f"Portal Login: viewing as Jane Doe <{CONTACT_EMAIL}> \u2014 operator olga"
        )
        # Read only: no saving, no password change; the fields are disabled.
        assert not screen.query("#change-password") and not screen.query("#profile-save")
        assert screen.query_one("#profile-name", Input).disabled
        tabs = screen.query_one(TabbedContent)
        tabs.active = "profile"
        await settle(pilot)
        assert "Portal Login: viewing as Jane Doe" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is operator_screen)
        assert isinstance(app.screen, CustomersScreen) and app.actor is not None
    login = _entries(url)[0]
    assert (login.action, login.actor, login.customer_id) == ("LOGIN", "olga", identity.customer_id)
    assert login.message == f"Portal Login by operator olga as contact Jane Doe <{CONTACT_EMAIL}>"


async def test_viewer_may_not_use_portal_login(tmp_path: Path) -> None:
    url, contact_id = seed_portal(tmp_path)
    db = open_db(url)
    before = len(_entries(url))
    with pytest.raises(PermissionDeniedError):
        contacts.portal_login_as(db, Actor("vic", Role.VIEWER, "10.0.0.9"), contact_id)
    assert len(_entries(url)) == before
    assert contacts.portal_login_as(db, Actor("olga", Role.OPERATOR, "10.0.0.8"), contact_id)


async def test_portal_palette_offers_no_operator_commands(tmp_path: Path) -> None:
    url, _ = seed_portal(tmp_path)
    app = CarrierApp(url, portal=True)

    async def hits(text: str) -> list[str]:
        await palette_search(pilot, text)
        assert isinstance(app.screen, CommandPalette)
        found = app.screen.query_one(CommandList)
        labels = [str(found.get_option_at_index(i).prompt) for i in range(found.option_count)]
        await pilot.press("escape")
        await settle(pilot)
        return labels

    async with app.run_test(size=SIZE) as pilot:
        await portal_login(pilot, CONTACT_EMAIL, CONTACT_PASSWORD)
        await _wait_portal(pilot)
        assert any("log out" in label for label in await hits("log out"))
        for search in ("go", "customer", "northwind", "bluefin", "audit", "options"):
            labels = await hits(search)
            assert not [x for x in labels if x.startswith(("go:", "customer:"))]
            assert not [x for x in labels if "Bluefin" in x or "Northwind" in x]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PortalLoginScreen))
        assert not app.screen.query(Button).first().disabled


def _controls(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]


async def test_hostile_contact_text_is_shown_literally(tmp_path: Path) -> None:
    """A name and notes written straight into the table (the services refuse control
    characters, a foreign writer might not) neither act, crash nor reach the terminal."""
    from sqlalchemy import update

    from carriertui.store.db.tables import Contact

    url, contact_id = seed_portal(tmp_path)
    db = open_db(url)
    with db.write() as session:
        session.execute(
            update(Contact)
            .where(Contact.id == contact_id)
            .values(
                name="[@click=app.quit]Jane[/] \x1b]2;PWNED\x07",
                public_notes="[/ \x1b]52;c;aGk=\x07 [bold red]plain[/bold red]",
            )
        )
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "olga")
        identity = contacts.portal_login_as(app.db, app.actor, contact_id)
        app.push_screen(PortalScreen(identity))
        screen = await _wait_portal(pilot)
        views = await _every_portal_view(pilot, screen)
        assert "[bold red]plain[/bold red]" in views[0]
        assert "[@click=app.quit]Jane[/]" in str(screen.query_one("#portal-banner").render())
        assert "[@click=app.quit]Jane[/]" in screen.query_one("#profile-name", Input).value
        assert all(not _controls(view) for view in views)
        await pilot.click("#portal-banner")
        await settle(pilot)
        assert app.is_running and app.screen is screen


async def test_the_portal_shows_the_customers_blocks_and_extensions_read_only(
    tmp_path: Path,
) -> None:
    from carriertui.store import customers, options
    from carriertui.store.numbers import service as numbers
    from tests.functional.harness import grid_column

    url, _contact_id = seed_portal(tmp_path)
    db = open_db(url)
    options.set_options(db, ADMIN, {"number_range_start": 2000, "block_size": 1000})
    northwind = customers.find_customer(db, ADMIN, "NWT-001")
    other = customers.find_customer(db, ADMIN, "BFV-002")
    numbers.allocate_next_block(db, ADMIN, northwind.id)
    numbers.allocate_next_block(db, ADMIN, other.id)
    numbers.create_sip_user(db, ADMIN, northwind.id, 2100, display_name="Reception")
    numbers.create_sip_user(db, ADMIN, other.id, 3100, display_name="Not yours")
    db.dispose()
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        await portal_login(pilot, CONTACT_EMAIL, CONTACT_PASSWORD)
        screen = await _wait_portal(pilot)
        screen.query_one(TabbedContent).active = "numbers"
        blocks, extensions = (
            screen.query_one("#portal-blocks"),
            screen.query_one("#portal-extensions"),
        )
        await wait_for(pilot, lambda: bool(grid_column(blocks)))
        await wait_for(pilot, lambda: bool(grid_column(extensions)))
        assert len(grid_column(blocks)) == 1  # Northwind's block only
        assert grid_column(extensions) == [2100]
        assert grid_column(extensions, 2) == ["Reception"]
        # Read only: the operator's keys for blocks and extensions do nothing here.
        blocks.focus()
        await pilot.press("plus", "x")
        await settle(pilot)
        assert isinstance(app.screen, PortalScreen)
    assert [b.range_start for b in numbers.list_blocks(open_db(url), ADMIN, northwind.id)] == [2000]


async def test_the_portal_shows_the_customers_summary_read_only(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from carriertui.screens.customer.summary import SummaryPane
    from carriertui.store import customers, invoices, rollups
    from carriertui.store.cdrs import importer as cdrs
    from tests.functional.harness import grid_column

    url, _contact_id = seed_portal(tmp_path)
    db = open_db(url)
    northwind = customers.find_customer(db, ADMIN, "NWT-001")
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = [
        cdrs.CdrValues(
            call_id=f"p-{n}",
            customer_id=northwind.id,
            start_time=day - timedelta(days=2, hours=n),
            source_cli="441632960000",
            dest_number="442079460000",
            dest_name="UK London",
            duration=60 * n,
            billed_duration=60 * n,
            sip_code=200,
            release_reason="Normal",
            pdd_ms=900,
            charge=Decimal("0.0125") * n,
            cost=Decimal("0.0080") * n,
            direction="outbound",
            source_ip="192.0.2.10",
        )
        for n in range(1, 4)
    ]
    cdrs.insert_cdrs(db, ADMIN, [rows], source="portal test")
    rollups.rollup_incremental(db)
    db.dispose()
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        await portal_login(pilot, CONTACT_EMAIL, CONTACT_PASSWORD)
        screen = await _wait_portal(pilot)
        screen.query_one(TabbedContent).active = "summary"
        pane = screen.query_one(SummaryPane)
        await wait_for(pilot, lambda: pane.summary is not None and pane.grid.view.loaded)
        attempts = grid_column(pane.grid, 1)
        assert sum(attempts) == 3 and pane.summary.customer_id == northwind.id
        await pilot.press("down", "down", "space", "i", "I", "c")  # nothing that changes or writes
        await settle(pilot)
        assert isinstance(app.screen, PortalScreen)
    assert invoices.list_invoices(open_db(url), ADMIN) == []
