"""Customers: validation with field names, optimistic locking, exact money, UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from carriertui.store import customers
from carriertui.store.enums import CustomerStatus, InvoiceSchedule
from carriertui.store.errors import NotFoundError, StaleEditError, ValidationError


@pytest.fixture
def acme(db, admin):
    return customers.create_customer(
        db, admin, {"name": "Acme Telecom", "account_code": "ACME-1", "currency": "EUR"}
    )


# -- creation --------------------------------------------------------------------------------


def test_create_with_defaults(db, admin) -> None:
    record = customers.create_customer(db, admin, {"name": "  Acme Telecom  "})
    assert record.name == "Acme Telecom"
    assert record.account_code is None
    assert record.status is CustomerStatus.ACTIVE
    assert record.currency == "USD"
    assert (record.tax_percent, record.balance, record.debit_limit) == (0, 0, 0)
    assert (record.channels, record.invoice_due_days) == (0, 0)
    assert record.invoice_schedule is InvoiceSchedule.NONE
    assert record.version == 1
    assert customers.get_customer(db, admin, record.id) == record


def test_create_with_every_field(db, admin) -> None:
    record = customers.create_customer(
        db,
        admin,
        {
            "name": "Northwind Telecom Ltd",
            "account_code": "NWT-001",
            "status": "pending approval",
            "currency": "gbp",
            "tax_percent": "20",
            "balance": "-1250.50",
            "debit_limit": 5000,
            "channels": "240",
            "invoice_schedule": "Monthly",
            "invoice_due_days": 30,
        },
    )
    stored = customers.get_customer(db, admin, record.id)
    assert stored.status is CustomerStatus.PENDING_APPROVAL
    assert stored.currency == "GBP"
    assert stored.tax_percent == Decimal("20")
    assert stored.balance == Decimal("-1250.50")
    assert stored.debit_limit == Decimal("5000")
    assert stored.channels == 240
    assert stored.invoice_schedule is InvoiceSchedule.MONTHLY
    assert stored.invoice_due_days == 30


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"name": ""}, "name", "is required"),
        ({"name": "   "}, "name", "is required"),
        ({"account_code": "X1"}, "name", "is required"),
        ({"name": "x" * 101}, "name", "at most 100"),
        ({"name": "Evil\x1b]2;PWNED\x07"}, "name", "control characters"),
        ({"name": "Evil\u009b31m"}, "name", "control characters"),
        ({"name": "Two\nlines"}, "name", "control characters"),
        ({"name": "A", "account_code": "-bad"}, "account_code", "letters, digits"),
        ({"name": "A", "account_code": "has space"}, "account_code", "letters, digits"),
        ({"name": "A", "currency": "XXX"}, "currency", "ISO 4217"),
        ({"name": "A", "currency": "dollars"}, "currency", "ISO 4217"),
        ({"name": "A", "debit_limit": "-0.01"}, "debit_limit", "at least 0"),
        ({"name": "A", "tax_percent": "100.01"}, "tax_percent", "at most 100"),
        ({"name": "A", "tax_percent": "-1"}, "tax_percent", "at least 0"),
        ({"name": "A", "balance": "1.23456"}, "balance", "at most 4 decimal places"),
        ({"name": "A", "balance": "NaN"}, "balance", "finite"),
        ({"name": "A", "balance": "lots"}, "balance", "must be a number"),
        ({"name": "A", "channels": "2.5"}, "channels", "whole number"),
        ({"name": "A", "channels": -1}, "channels", "at least 0"),
        ({"name": "A", "status": "Deleted"}, "status", "must be one of"),
        ({"name": "A", "invoice_schedule": "hourly"}, "invoice_schedule", "must be one of"),
        ({"name": "A", "invoice_due_days": 366}, "invoice_due_days", "at most 365"),
        ({"name": "A", "notes": "hi"}, "notes", "not a customer field"),
    ],
)
def test_create_rejects_bad_input(db, admin, tables, audit_log, values, field, message) -> None:
    with pytest.raises(ValidationError) as error:
        customers.create_customer(db, admin, values)
    assert error.value.field == field
    assert message in error.value.message
    assert str(error.value) == f"{field}: {error.value.message}"
    assert tables.customers() == 0
    assert audit_log.count() == 0


def test_every_bad_field_is_reported_at_once(db, admin, tables, audit_log) -> None:
    before = audit_log.count()
    with pytest.raises(ValidationError) as caught:
        customers.create_customer(
            db, admin, {"name": "Ok Name", "channels": "-1", "tax_percent": "101", "status": "?"}
        )
    assert sorted(field for field, _message in caught.value.errors) == [
        "channels",
        "status",
        "tax_percent",
    ]
    assert audit_log.count() == before


def test_edge_values_are_accepted(db, admin) -> None:
    record = customers.create_customer(
        db,
        admin,
        {"name": "x" * 100, "tax_percent": "100", "debit_limit": "0", "balance": "0.0001"},
    )
    assert record.tax_percent == Decimal(100)
    assert record.balance == Decimal("0.0001")


@pytest.mark.parametrize("name", ["Acme Telecom", "ACME TELECOM", "acme telecom", " Acme telecom "])
def test_duplicate_name_is_rejected_case_insensitively(
    db, admin, acme, tables, audit_log, name
) -> None:
    count = audit_log.count()
    with pytest.raises(ValidationError) as error:
        customers.create_customer(db, admin, {"name": name})
    assert error.value.field == "name"
    assert "exists already" in error.value.message
    assert tables.customers() == 1
    assert audit_log.count() == count


def test_duplicate_account_code_is_rejected(db, admin, acme, tables, audit_log) -> None:
    count = audit_log.count()
    with pytest.raises(ValidationError) as error:
        customers.create_customer(db, admin, {"name": "Other", "account_code": "ACME-1"})
    assert error.value.field == "account_code"
    assert tables.customers() == 1
    assert audit_log.count() == count


def test_several_customers_without_account_code(db, admin) -> None:
    customers.create_customer(db, admin, {"name": "One"})
    customers.create_customer(db, admin, {"name": "Two", "account_code": ""})
    assert [c.account_code for c in customers.list_customers(db, admin)] == [None, None]


def test_rename_onto_another_customer_is_rejected(db, admin, acme, audit_log) -> None:
    other = customers.create_customer(db, admin, {"name": "Other", "account_code": "OTH"})
    count = audit_log.count()
    with pytest.raises(ValidationError) as error:
        customers.update_customer(db, admin, other.id, {"name": "ACME telecom"}, expected_version=1)
    assert error.value.field == "name"
    with pytest.raises(ValidationError) as error:
        customers.update_customer(
            db, admin, other.id, {"account_code": "ACME-1"}, expected_version=1
        )
    assert error.value.field == "account_code"
    assert customers.get_customer(db, admin, other.id) == other
    assert audit_log.count() == count


def test_renaming_a_customer_to_a_new_case_of_its_own_name_works(db, admin, acme) -> None:
    updated = customers.update_customer(
        db, admin, acme.id, {"name": "ACME Telecom"}, expected_version=acme.version
    )
    assert updated.name == "ACME Telecom"
    assert customers.find_customer(db, admin, "acme telecom").id == acme.id


def test_currency_cannot_be_changed(db, admin, acme, audit_log) -> None:
    count = audit_log.count()
    with pytest.raises(ValidationError) as error:
        customers.update_customer(db, admin, acme.id, {"currency": "USD"}, expected_version=1)
    assert error.value.field == "currency"
    assert "fixed" in error.value.message
    assert customers.get_customer(db, admin, acme.id).currency == "EUR"
    assert audit_log.count() == count


def test_bad_update_saves_nothing(db, admin, acme, audit_log) -> None:
    count = audit_log.count()
    with pytest.raises(ValidationError) as error:
        customers.update_customer(
            db, admin, acme.id, {"channels": 5, "tax_percent": "101"}, expected_version=1
        )
    assert error.value.field == "tax_percent"
    assert customers.get_customer(db, admin, acme.id) == acme
    assert audit_log.count() == count


def test_update_unknown_customer(db, admin) -> None:
    with pytest.raises(NotFoundError):
        customers.update_customer(db, admin, 9999, {"channels": 1}, expected_version=1)


# -- optimistic locking ----------------------------------------------------------------------


def test_update_bumps_the_version(db, admin, acme) -> None:
    first = customers.update_customer(db, admin, acme.id, {"channels": 5}, expected_version=1)
    second = customers.update_customer(db, admin, acme.id, {"channels": 6}, expected_version=2)
    assert (first.version, second.version) == (2, 3)
    assert customers.get_customer(db, admin, acme.id).version == 3


def test_stale_update_raises_with_the_current_record(
    db, admin, operator_actor, acme, audit_log
) -> None:
    # Two operators opened version 1; the first one saves.
    saved = customers.update_customer(
        db, admin, acme.id, {"name": "Acme Global"}, expected_version=1
    )
    count = audit_log.count()
    with pytest.raises(StaleEditError) as error:
        customers.update_customer(db, operator_actor, acme.id, {"channels": 99}, expected_version=1)
    assert error.value.current == saved
    assert error.value.current.name == "Acme Global"
    assert error.value.current.version == 2
    assert error.value.attempted == {"channels": 99}
    assert "nothing was saved" in str(error.value)
    assert customers.get_customer(db, admin, acme.id) == saved
    assert audit_log.count() == count


def test_update_without_a_real_change_writes_nothing(db, admin, acme, audit_log) -> None:
    count = audit_log.count()
    same = customers.update_customer(
        db,
        admin,
        acme.id,
        {"name": "Acme Telecom", "channels": "0", "status": "active", "balance": "0.00"},
        expected_version=1,
    )
    assert same == acme
    assert same.version == 1
    assert customers.get_customer(db, admin, acme.id).version == 1
    assert audit_log.count() == count


def test_database_refuses_a_stale_write_behind_the_service(db, admin, acme) -> None:
    """The version column is SQLAlchemy's version_id_col: a write from an old copy fails."""
    from sqlalchemy.orm.exc import StaleDataError

    from carriertui.store.db.tables import Customer

    with db.read() as session:
        old_copy = session.get(Customer, acme.id)
        session.expunge(old_copy)
    customers.update_customer(db, admin, acme.id, {"channels": 5}, expected_version=1)
    with pytest.raises(StaleDataError), db.write() as session:
        stale = session.merge(old_copy, load=False)
        stale.channels = 7
        session.flush()
    assert customers.get_customer(db, admin, acme.id).channels == 5


# -- values round-trip exactly ---------------------------------------------------------------


def test_money_round_trips_exactly(db, admin) -> None:
    record = customers.create_customer(
        db,
        admin,
        {
            "name": "Exact",
            "balance": Decimal("12.3456"),
            "debit_limit": "999999999999.9999",
            "tax_percent": "17.5",
        },
    )
    stored = customers.get_customer(db, admin, record.id)
    assert stored.balance == Decimal("12.3456")
    assert str(stored.balance) == "12.3456"
    assert stored.debit_limit == Decimal("999999999999.9999")
    assert stored.tax_percent == Decimal("17.5")
    updated = customers.update_customer(
        db, admin, record.id, {"balance": "-0.0001"}, expected_version=1
    )
    assert customers.get_customer(db, admin, record.id).balance == Decimal("-0.0001")
    assert updated.balance == Decimal("-0.0001")


def test_float_input_is_not_binary_noise(db, admin) -> None:
    record = customers.create_customer(db, admin, {"name": "Floaty", "balance": 0.1})
    assert customers.get_customer(db, admin, record.id).balance == Decimal("0.1")


def test_timestamps_are_timezone_aware_utc(db, admin, audit_log) -> None:
    before = datetime.now(UTC)
    record = customers.create_customer(db, admin, {"name": "Timely"})
    after = datetime.now(UTC)
    stored = customers.get_customer(db, admin, record.id)
    assert stored.created_at.tzinfo is not None
    assert stored.created_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= stored.created_at <= after + timedelta(seconds=1)
    assert stored.created_at == record.created_at
    entry = audit_log.rows()[-1]
    assert entry.created_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= entry.created_at <= after + timedelta(seconds=1)


# -- reading ---------------------------------------------------------------------------------


def test_list_is_sorted_by_name_and_searchable(db, admin) -> None:
    for name, code, status in [
        ("zeta Networks", "Z-1", "Active"),
        ("Alpha 100% VoIP", "A_1", "Penalty"),
        ("beta Telecom", "B-1", "Inactive"),
    ]:
        customers.create_customer(db, admin, {"name": name, "account_code": code, "status": status})
    names = [c.name for c in customers.list_customers(db, admin)]
    assert names == ["Alpha 100% VoIP", "beta Telecom", "zeta Networks"]
    assert [c.name for c in customers.list_customers(db, admin, search="TELECOM")] == [
        "beta Telecom"
    ]
    assert [c.name for c in customers.list_customers(db, admin, search="penal")] == [
        "Alpha 100% VoIP"
    ]
    # LIKE wildcards in the search text match themselves.
    assert [c.name for c in customers.list_customers(db, admin, search="100%")] == [
        "Alpha 100% VoIP"
    ]
    assert [c.name for c in customers.list_customers(db, admin, search="a_1")] == [
        "Alpha 100% VoIP"
    ]
    assert customers.list_customers(db, admin, search="%") == [
        c for c in customers.list_customers(db, admin) if "%" in c.name
    ]


def test_find_customer_by_code_name_or_id(db, admin, acme) -> None:
    assert customers.find_customer(db, admin, "ACME-1") == acme
    assert customers.find_customer(db, admin, "ACME telecom") == acme
    assert customers.find_customer(db, admin, str(acme.id)) == acme
    with pytest.raises(NotFoundError):
        customers.find_customer(db, admin, "nobody")
