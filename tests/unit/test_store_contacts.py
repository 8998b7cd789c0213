"""Contacts: the validation matrix, email uniqueness, optimistic locking, roles, audit entries
without secrets, and portal authentication (lockout, whitelist, must-change, rehash)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlmodel import select

from carriertui.store import customers, passwords
from carriertui.store.contacts import service as contacts
from carriertui.store.contacts.service import NotesLookLikePasswordError
from carriertui.store.db.tables import Contact, OutboxMessage
from carriertui.store.enums import ContactType
from carriertui.store.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    StaleEditError,
    ValidationError,
)

PASSWORD = "violet rivers hum under granite"
OTHER_PASSWORD = "copper lanterns drift past midnight"
IP = "198.51.100.20"


@pytest.fixture
def acme(db, admin):
    return customers.create_customer(db, admin, {"name": "Acme Telecom", "account_code": "ACME"})


@pytest.fixture
def globex(db, admin):
    return customers.create_customer(db, admin, {"name": "Globex", "account_code": "GLX"})


def new_contact(db, actor, customer, **values):
    values = {"name": "Jane Doe", "email": "jane@acme.example", **values}
    password = values.pop("password", None)
    return contacts.create_contact(db, actor, customer.id, values, password=password)


def stored(db, contact_id: int) -> Contact:
    with db.read() as session:
        row = session.get(Contact, contact_id)
        session.expunge_all()
        return row


def audit_texts(audit_log) -> list[str]:
    return [f"{e.before_json or ''}\n{e.after_json or ''}" for e in audit_log.rows()]


# -- the validation matrix -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("name", "  Jane Doe  ", "Jane Doe"),
        ("name", "[@click=app.quit]x[/]", "[@click=app.quit]x[/]"),
        ("name", '=HYPERLINK("x")', '=HYPERLINK("x")'),
        ("email", "Jane.Doe@Example.COM", "Jane.Doe@example.com"),
        ("email", "  ops@acme.example ", "ops@acme.example"),
        ("phone", "+44 20 7946 0958", "+442079460958"),
        ("phone", "+1 (202) 555-0143", "+12025550143"),
        ("mobile", "+49 30 901820", "+4930901820"),
        ("phone", "", None),
        ("mobile", "   ", None),
        ("contact_type", "noc", ContactType.NOC),
        ("contact_type", "Billing", ContactType.BILLING),
        ("contact_type", "TECHNICAL", ContactType.TECHNICAL),
        ("public_notes", "line one\nline two\twith a tab", "line one\nline two\twith a tab"),
        ("private_notes", "[@click=app.quit]x[/]", "[@click=app.quit]x[/]"),
        ("private_notes", '=HYPERLINK("x")', '=HYPERLINK("x")'),
        ("public_notes", "[/", "[/"),
        ("public_notes", "", None),
        ("email_verified", "yes", True),
        ("mobile_verified", False, False),
        ("ip_whitelist", "", ()),
        ("ip_whitelist", "192.0.2.7", ("192.0.2.7/32",)),
        ("ip_whitelist", "2001:db8::1", ("2001:db8::1/128",)),
        ("ip_whitelist", "10.1.2", ("10.1.2.0/24",)),
        ("ip_whitelist", "10.1", ("10.1.0.0/16",)),
        ("ip_whitelist", "10", ("10.0.0.0/8",)),
        ("ip_whitelist", "10.1.2.3/24", ("10.1.2.0/24",)),
        ("ip_whitelist", "2001:db8::/32", ("2001:db8::/32",)),
        (
            "ip_whitelist",
            "1.1.1.0/31, 2001:db8::/32\n10.1.2;10.1.2.0/24",
            ("1.1.1.0/31", "2001:db8::/32", "10.1.2.0/24"),
        ),
        ("ip_whitelist", ["192.0.2.1", "192.0.2.1"], ("192.0.2.1/32",)),
    ],
)
def test_clean_value_accepts_and_normalises(field, value, expected) -> None:
    assert contacts.clean_value(field, value) == expected


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "is required"),
        ("name", "   ", "is required"),
        ("name", "x" * 101, "at most 100"),
        ("name", "Evil\x1b]2;PWNED\x07", "control characters"),
        ("name", "Two\nlines", "control characters"),
        ("name", "C1\u009b31m", "control characters"),
        ("email", "", "is required"),
        ("email", "no-at-sign", "not a valid email address"),
        ("email", "a@@b.example", "not a valid email address"),
        ("email", "jane@localhost", "not a valid email address"),
        ("email", "x@exa mple.com", "not a valid email address"),
        ("email", "jane@acme.example\x1b[31m", "control characters"),
        ("phone", "020 7946 0958", "needs the country code"),
        ("phone", "+1 555", "is not a valid number for +1"),
        ("mobile", "+44 20 7946 09581234", "is not a valid number"),
        ("phone", "garbage!!", "is not a phone number"),
        ("mobile", "+44 1", "is too short"),
        ("phone", "+44\x1b2079460958", "is not a phone number"),
        ("phone", "+" + "4" * 45, "is not a phone number"),
        ("contact_type", "Boss", "must be one of: Billing, Technical, NOC, Sales, Other"),
        ("public_notes", "\x1b]52;c;aGVsbG8=\x07", "control characters"),
        ("private_notes", "bell\x07", "control characters"),
        ("public_notes", "x" * (contacts.NOTES_MAX + 1), "at most 4000"),
        ("email_verified", "maybe", "must be on or off"),
        ("ip_whitelist", "10.1.300", "each number must be 0-255"),
        ("ip_whitelist", "10.1.2.300", "is not an IP address, a prefix"),
        ("ip_whitelist", "abc", "is not an IP address, a prefix"),
        ("ip_whitelist", "10.0.0.0/33", "is not an IP address, a prefix"),
        ("ip_whitelist", "2001:db8::/129", "is not an IP address, a prefix"),
        ("ip_whitelist", "192.0.2.1, bogus", "'bogus' is not an IP address"),
        ("password", "whatever", "is changed with Change Password"),
        ("failed_logins", 0, "is not a contact field"),
    ],
)
def test_clean_refuses_with_a_message_naming_the_field(field, value, message) -> None:
    with pytest.raises(ValidationError) as caught:
        contacts.clean({field: value})
    assert caught.value.field == field
    assert message in caught.value.message


def test_an_unknown_country_code_is_not_reported_as_a_missing_one() -> None:
    with pytest.raises(ValidationError) as caught:
        contacts.clean_value("phone", "+999 123456")
    assert "start with +" not in caught.value.message
    assert caught.value.message == "has an unknown country code"


@pytest.mark.parametrize(
    "notes",
    [
        "password: hunter2hunter2",
        "Password is Sup3rS3cret",
        "pwd=abc123",
        "pass x7Ydd",
        "PW - letmein",
        "VPN\npasswd: 12345",
    ],
)
def test_notes_that_look_like_passwords_need_confirmation(db, operator_actor, acme, notes) -> None:
    for field in ("public_notes", "private_notes"):
        with pytest.raises(NotesLookLikePasswordError) as caught:
            new_contact(db, operator_actor, acme, **{field: notes})
        assert caught.value.field == field
        assert contacts.list_contacts(db, operator_actor) == []
    record = contacts.create_contact(
        db,
        operator_actor,
        acme.id,
        {"name": "Jane", "email": "jane@acme.example", "private_notes": notes},
        confirm_notes=True,
    )
    assert record.private_notes == notes


@pytest.mark.parametrize(
    "notes", ["Prefers calls after 10:00 UTC", "passport number on file", "Reset password"]
)
def test_ordinary_notes_need_no_confirmation(db, operator_actor, acme, notes) -> None:
    assert new_contact(db, operator_actor, acme, public_notes=notes).public_notes == notes


def test_notes_holding_the_typed_password_need_confirmation(
    db, operator_actor, acme, fast_argon2, tables
) -> None:
    with pytest.raises(NotesLookLikePasswordError, match="contains the contact's password"):
        new_contact(
            db, operator_actor, acme, password=PASSWORD, private_notes=f"remember {PASSWORD}"
        )
    assert tables.count(Contact) == 0


def test_notes_warning_on_update_too(db, operator_actor, acme) -> None:
    record = new_contact(db, operator_actor, acme)
    with pytest.raises(NotesLookLikePasswordError):
        contacts.update_contact(
            db, operator_actor, record.id, {"public_notes": "pwd=1234"}, expected_version=1
        )
    assert contacts.get_contact(db, operator_actor, record.id).public_notes is None
    updated = contacts.update_contact(
        db,
        operator_actor,
        record.id,
        {"public_notes": "pwd=1234"},
        expected_version=1,
        confirm_notes=True,
    )
    assert updated.public_notes == "pwd=1234"


def test_hostile_strings_are_stored_literally(db, operator_actor, acme) -> None:
    hostile = {
        "name": "[@click=app.quit]x[/]",
        "public_notes": '=HYPERLINK("http://evil.example","x")\n[bold]not bold[/bold]',
        "private_notes": "[/\n+cmd|' /C calc'!A0\n@SUM(1)",
    }
    record = new_contact(db, operator_actor, acme, **hostile)
    again = contacts.get_contact(db, operator_actor, record.id)
    for field, value in hostile.items():
        assert getattr(again, field) == value


def test_create_with_every_field(db, operator_actor, acme, fast_argon2) -> None:
    record = contacts.create_contact(
        db,
        operator_actor,
        acme.id,
        {
            "name": "Jane Doe",
            "email": "Jane.Doe@ACME.example",
            "phone": "+44 20 7946 0958",
            "mobile": "+1 202 555 0143",
            "contact_type": "technical",
            "public_notes": "Shown in the portal",
            "private_notes": "Operators only",
            "email_verified": True,
            "mobile_verified": "yes",
            "ip_whitelist": "10.1.2, 2001:db8::/48",
        },
        password=PASSWORD,
    )
    assert contacts.get_contact(db, operator_actor, record.id) == record
    assert record.email == "Jane.Doe@acme.example"
    assert (record.phone, record.mobile) == ("+442079460958", "+12025550143")
    assert record.contact_type is ContactType.TECHNICAL
    assert record.ip_whitelist == ("10.1.2.0/24", "2001:db8::/48")
    assert record.email_verified and record.mobile_verified
    assert record.has_password and not record.must_change_password
    assert record.customer_name == "Acme Telecom"
    assert record.version == 1
    row = stored(db, record.id)
    assert row.password_hash.startswith("$argon2id$")
    assert passwords.verify_password(row.password_hash, PASSWORD)


@pytest.mark.parametrize(
    ("values", "password", "field"),
    [
        ({"email": "jane@acme.example"}, None, "name"),
        ({"name": "Jane"}, None, "email"),
        ({"name": "Jane", "email": "jane@acme.example", "phone": "12345"}, None, "phone"),
        ({"name": "Jane", "email": "jane@acme.example"}, "short", "password"),
        ({"name": "Jane", "email": "jane@acme.example"}, "jane@acme.example-is-me!", "password"),
        ({"name": "Jane", "email": "jane@acme.example"}, "password" * 2, "password"),
    ],
)
def test_nothing_is_saved_when_invalid(
    db, operator_actor, acme, audit_log, tables, values, password, field
) -> None:
    before = audit_log.count()
    with pytest.raises(ValidationError) as caught:
        contacts.create_contact(db, operator_actor, acme.id, values, password=password)
    assert caught.value.field == field
    assert tables.count(Contact) == 0
    assert tables.count(OutboxMessage) == 0
    assert audit_log.count() == before


def test_every_bad_field_is_reported_at_once(db, operator_actor, acme, tables) -> None:
    """One save shows the operator everything to fix, each next to its field."""
    values = {"phone": "12345", "mobile": "+1 555", "public_notes": "ok"}
    with pytest.raises(ValidationError) as caught:
        contacts.create_contact(db, operator_actor, acme.id, values)
    fields = [field for field, _message in caught.value.errors]
    assert sorted(fields) == ["email", "mobile", "name", "phone"]
    assert dict(caught.value.errors)["name"] == "is required"
    assert (caught.value.field, caught.value.message) == caught.value.errors[0]
    assert "phone:" in str(caught.value) and "mobile:" in str(caught.value)  # the CLI's line
    assert tables.count(Contact) == 0


def test_create_for_a_missing_customer(db, operator_actor, tables) -> None:
    with pytest.raises(NotFoundError):
        contacts.create_contact(db, operator_actor, 999, {"name": "X", "email": "x@a.example"})
    assert tables.count(Contact) == 0


# -- email uniqueness -------------------------------------------------------------------------


def test_email_is_unique_across_customers_case_insensitively(
    db, operator_actor, acme, globex, tables
) -> None:
    new_contact(db, operator_actor, acme, email="Jane@Acme.example")
    with pytest.raises(ValidationError) as caught:
        new_contact(db, operator_actor, globex, name="Other Jane", email="JANE@acme.EXAMPLE")
    assert caught.value.field == "email"
    assert "already the login of another contact" in caught.value.message
    assert tables.count(Contact) == 1


def test_email_uniqueness_on_update(db, operator_actor, acme, globex) -> None:
    jane = new_contact(db, operator_actor, acme, email="jane@acme.example")
    john = new_contact(db, operator_actor, globex, name="John", email="john@globex.example")
    with pytest.raises(ValidationError) as caught:
        contacts.update_contact(
            db, operator_actor, john.id, {"email": "JANE@ACME.example"}, expected_version=1
        )
    assert caught.value.field == "email"
    assert contacts.get_contact(db, operator_actor, john.id) == john
    # A contact may change the case of its own email.
    updated = contacts.update_contact(
        db, operator_actor, jane.id, {"email": "Jane@acme.example"}, expected_version=1
    )
    assert updated.email == "Jane@acme.example"
    assert contacts.find_contact(db, operator_actor, "JANE@ACME.EXAMPLE").id == jane.id


# -- optimistic locking ------------------------------------------------------------------------


def test_a_stale_update_raises_and_changes_nothing(db, operator_actor, acme, audit_log) -> None:
    record = new_contact(db, operator_actor, acme)
    first = contacts.update_contact(
        db, operator_actor, record.id, {"name": "Jane Smith"}, expected_version=1
    )
    assert first.version == 2
    before = audit_log.count()
    with pytest.raises(StaleEditError) as caught:
        contacts.update_contact(
            db, operator_actor, record.id, {"name": "Jane Jones"}, expected_version=1
        )
    assert caught.value.current == first
    assert caught.value.attempted == {"name": "Jane Jones"}
    assert contacts.get_contact(db, operator_actor, record.id) == first
    assert audit_log.count() == before
    with pytest.raises(StaleEditError):
        contacts.delete_contact(db, operator_actor, record.id, expected_version=1)
    assert contacts.get_contact(db, operator_actor, record.id) == first


def test_an_update_that_changes_nothing_keeps_the_version(db, operator_actor, acme) -> None:
    record = new_contact(db, operator_actor, acme, phone="+442079460958")
    same = contacts.update_contact(
        db, operator_actor, record.id, {"phone": "+44 20 7946 0958"}, expected_version=1
    )
    assert same.version == 1


def test_logins_and_password_changes_do_not_bump_the_version(
    db, operator_actor, acme, fast_argon2
) -> None:
    record = new_contact(db, operator_actor, acme, password=PASSWORD)
    contacts.authenticate(db, record.email, PASSWORD, IP)
    with pytest.raises(AuthenticationError):
        contacts.authenticate(db, record.email, "wrong wrong wrong wrong", IP)
    contacts.change_password(db, operator_actor, record.id, password=OTHER_PASSWORD)
    contacts.change_password(db, operator_actor, record.id)  # queued: no change yet
    identity = contacts.authenticate(db, record.email, OTHER_PASSWORD, IP)
    contacts.portal_change_password(db, identity, OTHER_PASSWORD, PASSWORD)
    after = contacts.get_contact(db, operator_actor, record.id)
    assert after.version == 1
    assert after.last_login_at is not None
    # ... so the operator's form, opened at version 1, still saves.
    saved = contacts.update_contact(
        db, operator_actor, record.id, {"name": "Jane Q"}, expected_version=1
    )
    assert saved.version == 2


# -- roles -------------------------------------------------------------------------------------


def test_viewer_may_read_but_not_change(db, operator_actor, viewer, acme, audit_log) -> None:
    record = new_contact(db, operator_actor, acme)
    assert [r.id for r in contacts.list_contacts(db, viewer)] == [record.id]
    assert contacts.get_contact(db, viewer, record.id) == record
    before = audit_log.count()
    attempts = [
        lambda: contacts.create_contact(db, viewer, acme.id, {"name": "V", "email": "v@a.example"}),
        lambda: contacts.update_contact(db, viewer, record.id, {"name": "V"}, expected_version=1),
        lambda: contacts.delete_contact(db, viewer, record.id),
        lambda: contacts.change_password(db, viewer, record.id),
        lambda: contacts.change_password(db, viewer, record.id, password=PASSWORD),
        lambda: contacts.portal_login_as(db, viewer, record.id),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDeniedError):
            attempt()
    assert contacts.get_contact(db, operator_actor, record.id) == record
    assert audit_log.count() == before


def test_operator_may_do_everything(db, operator_actor, acme, fast_argon2, tables) -> None:
    record = new_contact(db, operator_actor, acme)
    record = contacts.update_contact(
        db, operator_actor, record.id, {"mobile": "+12025550143"}, expected_version=1
    )
    contacts.change_password(db, operator_actor, record.id, password=PASSWORD)
    contacts.change_password(db, operator_actor, record.id)
    identity = contacts.portal_login_as(db, operator_actor, record.id)
    assert identity.operator == "oscar"
    assert identity.contact_id == record.id
    contacts.delete_contact(db, operator_actor, record.id, expected_version=record.version)
    assert tables.count(Contact) == 0


def test_portal_login_as_is_read_only(db, operator_actor, acme, fast_argon2) -> None:
    record = new_contact(db, operator_actor, acme, password=PASSWORD)
    identity = contacts.portal_login_as(db, operator_actor, record.id)
    with pytest.raises(PermissionDeniedError):
        contacts.portal_change_password(db, identity, PASSWORD, OTHER_PASSWORD)
    with pytest.raises(PermissionDeniedError):
        contacts.portal_update_profile(db, identity, {"name": "Hacked"}, expected_version=1)
    assert contacts.get_contact(db, operator_actor, record.id).name == "Jane Doe"


# -- the audit log -----------------------------------------------------------------------------


def test_every_change_is_audited_with_the_customer_and_without_secrets(
    db, operator_actor, acme, audit_log, fast_argon2
) -> None:
    start = audit_log.count()
    record = new_contact(db, operator_actor, acme, password=PASSWORD)
    create = audit_log.only_new(start)
    assert (create.action, create.table_name, create.primary_key) == (
        "CREATE",
        "contact",
        str(record.id),
    )

    mark = audit_log.count()
    record = contacts.update_contact(
        db, operator_actor, record.id, {"phone": "+44 20 7946 0958"}, expected_version=1
    )
    edit = audit_log.only_new(mark)
    assert edit.action == "UPDATE"
    assert audit_log.before(edit)["phone"] is None
    assert audit_log.after(edit)["phone"] == "+442079460958"

    mark = audit_log.count()
    record = contacts.update_contact(
        db, operator_actor, record.id, {"email_verified": True}, expected_version=2
    )
    verified = audit_log.only_new(mark)
    assert "email_verified" in verified.message
    assert audit_log.before(verified)["email_verified"] is False
    assert audit_log.after(verified)["email_verified"] is True

    mark = audit_log.count()
    contacts.change_password(db, operator_actor, record.id, password=OTHER_PASSWORD)
    changed = audit_log.only_new(mark)
    assert changed.action == "UPDATE"
    assert "Password" in changed.message

    mark = audit_log.count()
    identity = contacts.authenticate(db, record.email, OTHER_PASSWORD, IP)
    contacts.portal_change_password(db, identity, OTHER_PASSWORD, PASSWORD)
    login, portal_change = audit_log.since(mark)
    assert (login.action, login.actor, login.ip) == ("LOGIN", "Portal", IP)
    assert (portal_change.action, portal_change.actor) == ("UPDATE", "Portal")

    mark = audit_log.count()
    contacts.delete_contact(db, operator_actor, record.id)
    deleted = audit_log.only_new(mark)
    assert deleted.action == "DELETE"
    assert audit_log.before(deleted)["email"] == "jane@acme.example"

    entries = audit_log.since(start)
    assert all(entry.customer_id == acme.id for entry in entries)
    assert all(entry.actor in ("oscar", "Portal") for entry in entries)
    hashes = {stored_hash for stored_hash in _hashes_seen(db)}
    for text in audit_texts(audit_log):
        assert "$argon2" not in text
        for secret in (PASSWORD, OTHER_PASSWORD, *hashes):
            assert secret not in text
    for entry in entries:
        for snapshot in (audit_log.before(entry), audit_log.after(entry)):
            if snapshot is not None and "password_hash" in snapshot:
                assert snapshot["password_hash"] == "***"


def _hashes_seen(db) -> list[str]:
    with db.read() as session:
        return [c.password_hash for c in session.exec(select(Contact)) if c.password_hash]


def test_delete_cancels_unsent_mail(db, operator_actor, acme, tables) -> None:
    record = new_contact(db, operator_actor, acme)
    contacts.delete_contact(db, operator_actor, record.id)
    with db.read() as session:
        statuses = [m.status for m in session.exec(select(OutboxMessage))]
    assert statuses == ["cancelled"]


# -- portal authentication ---------------------------------------------------------------------


@pytest.fixture
def jane(db, operator_actor, acme, fast_argon2):
    return new_contact(db, operator_actor, acme, password=PASSWORD)


WRONG = "wrong horse battery staple"


def fail(db, email: str, count: int, password: str = WRONG) -> None:
    for _ in range(count):
        with pytest.raises(AuthenticationError):
            contacts.authenticate(db, email, password, IP)


def test_login_success(db, operator_actor, jane, audit_log) -> None:
    mark = audit_log.count()
    identity = contacts.authenticate(db, "  JANE@acme.example ", PASSWORD, IP)
    assert (identity.contact_id, identity.customer_id, identity.ip) == (
        jane.id,
        jane.customer_id,
        IP,
    )
    assert identity.operator is None
    assert identity.must_change_password is False
    login = audit_log.only_new(mark)
    assert (login.action, login.actor, login.customer_id) == ("LOGIN", "Portal", jane.customer_id)
    assert contacts.get_contact(db, operator_actor, jane.id).last_login_at is not None


def test_every_refusal_has_the_same_text(db, operator_actor, jane) -> None:
    errors = []
    for email, password, ip in [
        ("nobody@acme.example", PASSWORD, IP),
        (jane.email, "wrong horse battery staple", IP),
    ]:
        with pytest.raises(AuthenticationError) as caught:
            contacts.authenticate(db, email, password, ip)
        errors.append(str(caught.value))
    contacts.update_contact(
        db, operator_actor, jane.id, {"ip_whitelist": "10.1.2"}, expected_version=1
    )
    with pytest.raises(AuthenticationError) as caught:
        contacts.authenticate(db, jane.email, PASSWORD, "10.1.3.1")
    errors.append(str(caught.value))
    contacts.update_contact(db, operator_actor, jane.id, {"ip_whitelist": ""}, expected_version=2)
    fail(db, jane.email, 10)
    with pytest.raises(AuthenticationError) as caught:
        contacts.authenticate(db, jane.email, PASSWORD, IP)
    errors.append(str(caught.value))
    assert errors == [AuthenticationError.MESSAGE] * 4
    assert all("jane" not in error.lower() for error in errors)


def test_lockout_after_ten_failures(db, operator_actor, jane, audit_log, monkeypatch) -> None:
    fail(db, jane.email, 9)
    assert stored(db, jane.id).failed_logins == 9
    assert contacts.get_contact(db, operator_actor, jane.id).locked_until is None
    mark = audit_log.count()
    fail(db, jane.email, 1)
    lock_entry = audit_log.only_new(mark)
    assert "locked for 15 minutes" in lock_entry.message
    locked = contacts.get_contact(db, operator_actor, jane.id)
    assert locked.locked_until is not None
    # The right password does not help while locked, and the refusal is audited.
    mark = audit_log.count()
    fail(db, jane.email, 1, password=PASSWORD)
    assert "locked" in audit_log.only_new(mark).message
    # 15 minutes later it works again.
    later = locked.locked_until + timedelta(seconds=1)
    monkeypatch.setattr(contacts, "utcnow", lambda: later)
    assert contacts.authenticate(db, jane.email, PASSWORD, IP).contact_id == jane.id
    assert stored(db, jane.id).failed_logins == 0


def test_a_success_resets_the_failure_count(db, jane) -> None:
    fail(db, jane.email, 9)
    contacts.authenticate(db, jane.email, PASSWORD, IP)
    fail(db, jane.email, 9)
    assert contacts.authenticate(db, jane.email, PASSWORD, IP).contact_id == jane.id


@pytest.mark.parametrize(
    ("whitelist", "address", "allowed"),
    [
        ("", "203.0.113.9", True),
        ("10.1.2", "10.1.2.200", True),
        ("10.1.2", "10.1.3.1", False),
        ("192.0.2.7", "192.0.2.7", True),
        ("192.0.2.7", "192.0.2.8", False),
        ("2001:db8::/32", "2001:db8:ffff::1", True),
        ("2001:db8::/32", "2001:db9::1", False),
        ("2001:db8::1", "2001:db8::1", True),
        ("10.0.0.0/8, 2001:db8::/32", "2001:db8::5", True),
        ("10.0.0.0/8", "not-an-address", False),
    ],
)
def test_address_allowed(whitelist, address, allowed) -> None:
    assert contacts.address_allowed(contacts.parse_whitelist(whitelist), address) is allowed


def test_whitelist_checked_at_login(db, operator_actor, jane, audit_log) -> None:
    contacts.update_contact(
        db, operator_actor, jane.id, {"ip_whitelist": "10.1.2, 2001:db8::/32"}, expected_version=1
    )
    assert contacts.authenticate(db, jane.email, PASSWORD, "10.1.2.3").ip == "10.1.2.3"
    assert contacts.authenticate(db, jane.email, PASSWORD, "2001:db8::9").contact_id == jane.id
    mark = audit_log.count()
    with pytest.raises(AuthenticationError):
        contacts.authenticate(db, jane.email, PASSWORD, "10.9.9.9")
    assert "not in the IP whitelist" in audit_log.only_new(mark).message


def test_must_change_after_a_generated_password(db, operator_actor, jane, tmp_path) -> None:
    from carriertui.store import mail

    contacts.change_password(db, operator_actor, jane.id)
    transport = mail.MaildirTransport(tmp_path / "Maildir")
    assert mail.flush_outbox(db, transport).sent == 1
    (message,) = list(__import__("mailbox").Maildir(tmp_path / "Maildir", create=False))
    generated = _password_in(message.get_payload())
    assert len(generated) >= 16
    fail(db, jane.email, 1, password=PASSWORD)  # the old password no longer works
    identity = contacts.authenticate(db, jane.email, generated, IP)
    assert identity.must_change_password
    with pytest.raises(ValidationError, match="not your current password"):
        contacts.portal_change_password(db, identity, "not it at all, sorry", OTHER_PASSWORD)
    with pytest.raises(ValidationError, match="must differ"):
        contacts.portal_change_password(db, identity, generated, generated)
    with pytest.raises(ValidationError, match="at least 15"):
        contacts.portal_change_password(db, identity, generated, "short")
    contacts.portal_change_password(db, identity, generated, OTHER_PASSWORD)
    again = contacts.authenticate(db, jane.email, OTHER_PASSWORD, IP)
    assert not again.must_change_password


def _password_in(body: str) -> str:
    for line in body.splitlines():
        if line.startswith("Your password: "):
            return line.removeprefix("Your password: ").strip()
    raise AssertionError(f"no password in {body!r}")


def test_an_outdated_hash_is_rehashed_at_login(db, operator_actor, acme, fast_argon2) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1)
    record = new_contact(db, operator_actor, acme)
    with db.write() as session:
        row = session.get(Contact, record.id)
        row.password_hash = weak.hash(PASSWORD)
        session.add(row)
    old = stored(db, record.id)
    old_hash = old.password_hash
    assert passwords.needs_rehash(old_hash)
    contacts.authenticate(db, record.email, PASSWORD, IP)
    new_hash = stored(db, record.id).password_hash
    assert new_hash != old_hash
    assert not passwords.needs_rehash(new_hash)
    assert passwords.verify_password(new_hash, PASSWORD)
    assert contacts.get_contact(db, operator_actor, record.id).version == old.version


def test_a_contact_without_a_password_cannot_log_in(db, operator_actor, acme) -> None:
    record = new_contact(db, operator_actor, acme)  # its password email is not sent yet
    with pytest.raises(AuthenticationError):
        contacts.authenticate(db, record.email, "", IP)
    with pytest.raises(AuthenticationError):
        contacts.authenticate(db, record.email, PASSWORD, IP)


def test_portal_profile_edits_only_its_fields(db, operator_actor, jane, audit_log) -> None:
    identity = contacts.authenticate(db, jane.email, PASSWORD, IP)
    with pytest.raises(ValidationError):
        contacts.portal_update_profile(
            db, identity, {"private_notes": "mine now"}, expected_version=1
        )
    with pytest.raises(ValidationError):
        contacts.portal_update_profile(db, identity, {"email": "x@y.example"}, expected_version=1)
    mark = audit_log.count()
    updated = contacts.portal_update_profile(
        db, identity, {"mobile": "+1 202 555 0143"}, expected_version=1
    )
    assert updated.mobile == "+12025550143"
    entry = audit_log.only_new(mark)
    assert (entry.actor, entry.customer_id) == ("Portal", jane.customer_id)
    with pytest.raises(StaleEditError):
        contacts.portal_update_profile(db, identity, {"name": "Old form"}, expected_version=1)


def test_the_whitelist_is_audited_as_a_list(db, operator_actor, acme, audit_log) -> None:
    record = new_contact(db, operator_actor, acme)
    mark = audit_log.count()
    contacts.update_contact(
        db, operator_actor, record.id, {"ip_whitelist": "10.1.2"}, expected_version=1
    )
    entry = audit_log.only_new(mark)
    assert audit_log.after(entry)["ip_whitelist"] == ["10.1.2.0/24"]
    assert "ip_whitelist_json" not in json.loads(entry.after_json)


def test_notes_pasted_with_windows_line_ends_keep_their_lines() -> None:
    assert contacts.clean_value("public_notes", "line one\r\nline two") == "line one\nline two"
    with pytest.raises(ValidationError):
        contacts.clean_value("public_notes", "a lone \r carriage return")


def test_an_email_taken_between_the_check_and_the_write_is_a_field_error_without_the_hash(
    db, operator_actor, acme, fast_argon2, monkeypatch
) -> None:
    """On PostgreSQL two operators can pass the uniqueness check at once; the UNIQUE index
    decides. Its error must not carry the row's values (a password hash) to the screen or log."""
    contacts.create_contact(
        db, operator_actor, acme.id, {"name": "A", "email": "same@x.example"}, password=PASSWORD
    )
    monkeypatch.setattr(contacts, "_check_email_unique", lambda *args, **kwargs: None)
    with pytest.raises(ValidationError) as caught:
        contacts.create_contact(
            db,
            operator_actor,
            acme.id,
            {"name": "B", "email": "SAME@x.example"},
            password=PASSWORD + "!",
        )
    assert caught.value.field == "email"
    text = "".join(
        str(e) for e in (caught.value, caught.value.__cause__, caught.value.__context__) if e
    )
    assert "argon2" not in text and PASSWORD not in text


def test_database_errors_do_not_show_bound_values(db) -> None:
    """The engines hide parameters: an error's text names the statement, never the values."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError) as caught, db.write() as session:
        session.execute(
            text("INSERT INTO carriertui_meta (key, value) VALUES (:k, :v)"),
            [{"k": "dup", "v": "CANARY-VALUE-1"}, {"k": "dup", "v": "CANARY-VALUE-2"}],
        )
    assert "CANARY-VALUE" not in str(caught.value)
