"""store.portal: what the customer portal reads, with public notes only, and My Profile saves."""

from __future__ import annotations

import dataclasses

import pytest

from carriertui.store import contacts, customers, portal
from carriertui.store.contacts import PortalIdentity
from carriertui.store.errors import NotFoundError, PermissionDeniedError, ValidationError

PRIVATE = "CANARY-PRIVATE-5150 owes us a favour"
PUBLIC = "Welcome! [b]Support[/b] +44 20 7946 0000"


@pytest.fixture
def contact(db, admin) -> contacts.ContactRecord:
    customer = customers.create_customer(
        db,
        admin,
        {"name": "Northwind", "account_code": "NWT", "currency": "EUR", "balance": "12.5"},
    )
    return contacts.create_contact(
        db,
        admin,
        customer.id,
        {
            "name": "Jane Doe",
            "email": "jane@northwind.example",
            "public_notes": PUBLIC,
            "private_notes": PRIVATE,
        },
        password="violet otter juggles lanterns",
    )


def _identity(record: contacts.ContactRecord, operator: str | None = None) -> PortalIdentity:
    return PortalIdentity(
        contact_id=record.id,
        customer_id=record.customer_id,
        name=record.name,
        email=record.email,
        ip="203.0.113.5",
        must_change_password=False,
        operator=operator,
    )


def test_account_has_the_customer_and_public_notes_only(db, contact) -> None:
    account = portal.portal_account(db, _identity(contact))
    assert (account.customer_name, account.account_code, account.currency) == (
        "Northwind",
        "NWT",
        "EUR",
    )
    assert str(account.balance) in ("12.5", "12.5000")
    assert account.profile.public_notes == PUBLIC
    names = {field.name for field in dataclasses.fields(portal.PortalProfile)}
    assert not {name for name in names if "private" in name}
    assert "CANARY-PRIVATE" not in repr(account)


def test_an_identity_for_another_customer_reads_nothing(db, contact) -> None:
    wrong = dataclasses.replace(_identity(contact), customer_id=contact.customer_id + 1)
    with pytest.raises(NotFoundError):
        portal.portal_account(db, wrong)


def test_profile_update_returns_the_profile_and_a_stale_save_the_saved_one(
    db, contact, admin
) -> None:
    identity = _identity(contact)
    saved = portal.update_profile(
        db, identity, {"phone": "+44 20 7946 0958"}, expected_version=contact.version
    )
    assert (saved.phone, saved.version) == ("+442079460958", contact.version + 1)
    with pytest.raises(ValidationError) as invalid:
        portal.update_profile(db, identity, {"private_notes": "x"}, expected_version=2)
    assert invalid.value.field == "private_notes"
    with pytest.raises(portal.PortalStaleEditError) as stale:
        portal.update_profile(db, identity, {"name": "Jane D."}, expected_version=contact.version)
    current = stale.value.current
    assert isinstance(current, portal.PortalProfile) and current.phone == "+442079460958"
    assert "CANARY-PRIVATE" not in repr(current)
    assert portal.portal_account(db, identity).profile.name == "Jane Doe"


def test_portal_login_may_read_but_not_change_the_profile(db, contact) -> None:
    identity = _identity(contact, operator="olga")
    assert portal.portal_account(db, identity).profile.email == "jane@northwind.example"
    with pytest.raises(PermissionDeniedError):
        portal.update_profile(db, identity, {"name": "Olga"}, expected_version=contact.version)
