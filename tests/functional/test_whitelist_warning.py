"""A contact with an IP whitelist (issue 12.11): the operator who sets their password sees
the whitelist in Change Password and on the contact's row; a login from elsewhere still gets
the bare "Login failed", and its audit entry says the address was not in the whitelist."""

from __future__ import annotations

from pathlib import Path

import pytest

from carriertui.app import CarrierApp
from carriertui.screens.customer.contact_password import ContactPasswordScreen
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.screens.portal_login import PortalLoginScreen
from carriertui.store import audit
from carriertui.store.contacts import service as contacts
from carriertui.store.errors import AuthenticationError
from tests.functional.harness import open_db, seed, settle, wait_for
from tests.functional.portal_harness import portal_login
from tests.functional.rendered import rendered_text
from tests.functional.test_contacts import ADMIN, SIZE, _add_contact, _contacts_tab

TYPED = "seven quiet herons cross the river"


async def test_the_operator_sees_the_whitelist_and_the_refusal_is_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = seed(tmp_path / "c.sqlite")
    record = _add_contact(url, ip_whitelist="203.0.113.0/24, 10.20")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        # The row shows the whitelist at 80x24.
        grid_text = rendered_text(app)
        assert "IP Whitelist" in grid_text and "203.0.113.0/24" in grid_text
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactPasswordScreen))
        await settle(pilot)
        dialog_text = rendered_text(app)
        assert "IP whitelist: 203.0.113.0/24, 10.20.0.0/16" in dialog_text
        assert "only from these addresses" in dialog_text
        # The operator types the password by hand.
        await pilot.press("space")
        await settle(pilot)
        dialog = app.screen
        dialog.query_one("#password").value = TYPED
        dialog.query_one("#confirm").value = TYPED
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
    # The contact logs in from outside the whitelist: the same bare message as ever ...
    monkeypatch.setenv("SSH_CONNECTION", "198.51.100.7 52114 10.0.0.1 22")
    portal = CarrierApp(url, portal=True)
    async with portal.run_test(size=SIZE) as pilot:
        await portal_login(pilot, record.email, TYPED)
        assert isinstance(portal.screen, PortalLoginScreen)
        status = str(portal.screen.query_one("#login-status").render())
        assert status == AuthenticationError.MESSAGE
        assert "whitelist" not in rendered_text(portal).lower()
    # ... and the audit log says why.
    entry = audit.list_entries(open_db(url), ADMIN, limit=1)[0]
    assert entry.action == "LOGIN" and entry.ip == "198.51.100.7"
    assert "address 198.51.100.7 not in the IP whitelist" in entry.message


def test_the_whitelist_reads_any_when_empty() -> None:
    assert contacts.whitelist_text("[]") == "any"
    assert contacts.whitelist_text('["10.20.0.0/16", "192.0.2.9/32"]') == (
        "10.20.0.0/16, 192.0.2.9/32"
    )
