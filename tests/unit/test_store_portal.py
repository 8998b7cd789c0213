"""store.portal: what the customer portal reads, with public notes only, and My Profile saves."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from cdr_helpers import insert, values

from carriertui.grid.export import write_csv_cells
from carriertui.grid.model import Query
from carriertui.store import customers, options, portal, rollups, summary
from carriertui.store.contacts import service as contacts
from carriertui.store.contacts.service import PortalIdentity
from carriertui.store.errors import NotFoundError, PermissionDeniedError, ValidationError
from carriertui.store.numbers import service as numbers

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


# -- what the customer is billed: never the carrier's cost or margin (issue 12.1) -------------

BILLED = (
    "period_start",
    "attempts",
    "connected",
    "asr",
    "acd",
    "duration",
    "billed_duration",
    "charge",
)
OPERATOR_ONLY = {"cost", "profit", "profit_pct", "pdd_sum_ms", "pdd_avg_ms"}


def _calls(db, admin, customer_id: int) -> None:
    day = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=3)
    insert(
        db,
        admin,
        [
            values(
                f"bill-{n}",
                customer_id,
                day + timedelta(minutes=n),
                duration=120,
                charge="12.3400",
                cost="9.8765",
            )
            for n in range(3)
        ],
    )
    rollups.rollup_incremental(db)


@pytest.mark.parametrize("view", ["24h", "daily", "weekly", "monthly"])
def test_portal_summary_returns_the_billed_columns_and_values_only(
    db, admin, contact, view, tmp_path
) -> None:
    _calls(db, admin, contact.customer_id)
    billed, invoice_numbers = portal.portal_summary(db, _identity(contact), view)
    assert [column.key for column in billed.columns] == list(BILLED)
    assert not {"Cost", "Profit", "Profit %"} & {column.title for column in billed.columns}
    for row in billed.rows:
        names = {field.name for field in dataclasses.fields(row)} | set(row.values())
        assert not names & OPERATOR_ONLY, names & OPERATOR_ONLY
        assert not hasattr(row, "cost") and not hasattr(row, "profit")
    assert invoice_numbers == {}
    if view != "24h":  # the three calls are three days old: outside the last 24 hours
        assert sum(row.charge for row in billed.rows) == Decimal("37.0200")
    # Whatever the portal makes of it (grid, copy, export) comes from these rows: the CSV has
    # the charge and neither the cost (29.6295) nor the margin (7.3905).
    source = summary.summary_row_source(billed)
    path = tmp_path / "summary.csv"
    write_csv_cells(path, source.columns, source.iter_csv_cells(Query()))
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0].split(",") == [column.title for column in billed.columns]
    for leaked in ("Cost", "Profit", "29.6", "9.87", "7.39", "2.46"):
        assert leaked not in text
    if view != "24h":
        assert "37.02" in text


def test_the_operators_summary_keeps_cost_and_profit(db, admin, contact) -> None:
    _calls(db, admin, contact.customer_id)
    full = summary.customer_summary(db, admin, contact.customer_id, "daily")
    keys = [column.key for column in full.columns]
    assert keys == [*BILLED, "cost", "profit", "profit_pct"]


def test_portal_blocks_carry_no_ids_dates_or_other_customers_numbers(db, admin, contact) -> None:
    options.set_options(db, admin, {"number_range_start": 2000, "block_size": 1000})
    numbers.allocate_next_block(db, admin, contact.customer_id)
    (block,) = portal.portal_blocks(db, _identity(contact))
    names = {field.name for field in dataclasses.fields(block)}
    assert not names & {"id", "customer_id", "customer_name", "created_at", "taken"}
    assert (block.range_start, block.range_end, block.used, block.free) == (2000, 2999, 0, 1000)


def test_portal_invoices_show_no_author(db, admin, contact) -> None:
    source = portal.portal_invoices_source(db, _identity(contact))
    keys = {column.key for column in source.columns}
    assert not keys & {"created_by", "customer_id", "id", "customer", "tax_percent"}
