"""Nothing an operator needs is cut off at 80x24 (issue 12.13): the footer shows whole keys,
the Change Password explanation, the extensions' Target header and the Portal Login title
are complete, and the audit grids show Message (which UPDATE changed the debit limit)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import TabbedContent

from carriertui.app import CarrierApp
from carriertui.screens.audit import AuditLogScreen
from carriertui.screens.customer.contact_password import ContactPasswordScreen
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.store import customers, options
from carriertui.store.numbers import service as numbers
from tests.functional.harness import log_in, open_db, seed, settle, wait_for
from tests.functional.rendered import rendered_lines, rendered_text
from tests.functional.test_contacts import ADMIN, SIZE, _add_contact, _contacts_tab


async def _open_customer(pilot, customer_id: int, tab: str = "main") -> CustomerScreen:
    app = pilot.app
    app.open_customer(customer_id)
    await wait_for(
        pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
    )
    app.screen.query_one(TabbedContent).active = tab
    await settle(pilot)
    await pilot.pause(0.3)
    await settle(pilot)
    return app.screen


def _footer(app) -> str:
    return rendered_lines(app)[-1]


async def test_the_footer_shows_whole_keys(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    db = open_db(url)
    options.set_options(db, ADMIN, {"number_range_start": "1000", "block_size": "100"})
    atlas = customers.find_customer(db, ADMIN, "ATL-003")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        footer = _footer(app)
        for key in ("s Sort", "n New", "o Options", "f1 Help", "^p palette"):
            assert key in footer, footer
        await _open_customer(pilot, atlas.id, "numbers")
        footer = _footer(app)
        for key in ("+ +Block", "n SIP user", "c Conference", "a Alias", "f1 Help"):
            assert key in footer, footer


async def test_change_password_explains_in_full(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    _add_contact(url)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactPasswordScreen))
        await settle(pilot)
        text = " ".join(line.strip(" │") for line in rendered_lines(app))
        assert (
            "A new password (20 characters, from secrets) is generated when the email to "
            "jane@example.com is sent; the contact must change it at first login." in text
        )


async def test_the_extensions_show_the_whole_target_column(tmp_path: Path) -> None:
    url = seed(tmp_path / "c.sqlite")
    db = open_db(url)
    options.set_options(db, ADMIN, {"number_range_start": "1000", "block_size": "100"})
    atlas = customers.find_customer(db, ADMIN, "ATL-003")
    numbers.allocate_next_block(db, ADMIN, atlas.id)
    for index in range(8):  # enough for the grid's scrollbar
        numbers.create_sip_user(db, ADMIN, atlas.id, 1000 + index, display_name=f"User {index}")
    numbers.create_alias(db, ADMIN, atlas.id, 100, target=1007)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await _open_customer(pilot, atlas.id, "numbers")
        lines = rendered_lines(app)
        (header,) = [line for line in lines if "Number" in line and "Kind" in line]
        assert "Target" in header
        (alias,) = [line for line in lines if "alias of 1007" in line]
        assert alias.split("alias of 1007", 1)[1].split() == ["1007"]


async def test_the_portal_login_title_fits_on_the_demo_database(tmp_path: Path) -> None:
    from carriertui.screens.portal import PortalScreen

    url = seed(tmp_path / "c.sqlite")
    _add_contact(url)
    app = CarrierApp(url, demo=True)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, PortalScreen))
        await settle(pilot)
        top = rendered_lines(app)[0].rstrip()
        assert top == " carriertui  Customer portal · Jane Roe  alice (admin)  DEMO DATABASE"


async def test_the_audit_grids_show_which_update_changed_the_debit_limit(
    tmp_path: Path,
) -> None:
    url = seed(tmp_path / "c.sqlite")
    db = open_db(url)
    bluefin = customers.find_customer(db, ADMIN, "BFV-002")
    bluefin = customers.update_customer(
        db, ADMIN, bluefin.id, {"debit_limit": "300"}, expected_version=bluefin.version
    )
    customers.update_customer(db, ADMIN, bluefin.id, {"channels": 31}, expected_version=2)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        app.go_audit_log()
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, AuditLogScreen)
                and app.screen.query("#audit-log-grid")
                and app.screen.query_one("#audit-log-grid").view.loaded
            ),
        )
        await settle(pilot)
        text = rendered_text(app)
        assert "Customer Bluefin Voice GmbH updated: debit_limit" in text
        assert "Customer Bluefin Voice GmbH updated: channels" in text
        app.pop_screen()
        await settle(pilot)
        await _open_customer(pilot, bluefin.id, "audit")
        text = rendered_text(app)
        assert "Customer Bluefin Voice GmbH updated: debit_limit" in text
        assert "Customer Bluefin Voice GmbH updated: channels" in text
