"""The customer portal's reads: what a logged-in contact may see of their account.

The portal screens read only the dataclasses of this module. They are built field by field from
the tables and carry the contact's **public** notes only: private notes (operators only) never
leave the store on a portal path, so no screen can show them by mistake. Logins, My Profile and
password changes are the contact services (``contacts.authenticate``,
``contacts.portal_update_profile``, ``contacts.portal_change_password``), audited as ``Portal``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from carriertui.store import invoices, summary
from carriertui.store.contacts import service as contacts
from carriertui.store.contacts.service import PortalIdentity
from carriertui.store.db.database import Database
from carriertui.store.db.rowsource import SqlRowSource
from carriertui.store.db.tables import Contact, Customer
from carriertui.store.errors import NotFoundError, StaleEditError
from carriertui.store.numbers import service as numbers
from carriertui.store.summary import BilledSummary, SummaryView


@dataclass(frozen=True)
class PortalProfile:
    """The contact as they see themselves in "My Profile"."""

    contact_id: int
    name: str
    email: str
    phone: str | None
    mobile: str | None
    contact_type: str
    public_notes: str | None
    last_login_at: datetime | None
    version: int


@dataclass(frozen=True)
class PortalAccount:
    """The customer's account as its contact sees it, with the contact's profile."""

    customer_name: str
    account_code: str | None
    status: str
    currency: str
    balance: Decimal
    debit_limit: Decimal
    channels: int
    profile: PortalProfile


def _profile(contact: Contact) -> PortalProfile:
    assert contact.id is not None
    return PortalProfile(
        contact_id=contact.id,
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        mobile=contact.mobile,
        contact_type=contact.contact_type,
        public_notes=contact.public_notes,
        last_login_at=contact.last_login_at,
        version=contact.version,
    )


def _profile_of(record: contacts.ContactRecord) -> PortalProfile:
    return PortalProfile(
        contact_id=record.id,
        name=record.name,
        email=record.email,
        phone=record.phone,
        mobile=record.mobile,
        contact_type=record.contact_type.value,
        public_notes=record.public_notes,
        last_login_at=record.last_login_at,
        version=record.version,
    )


def portal_account(db: Database, identity: PortalIdentity) -> PortalAccount:
    """The identity's customer and contact. A contact deleted since login reads as not found."""
    with db.read() as session:
        contact = session.get(Contact, identity.contact_id)
        if contact is None or contact.customer_id != identity.customer_id:
            raise NotFoundError("this login no longer exists; log in again")
        customer = session.get(Customer, contact.customer_id)
        if customer is None:
            raise NotFoundError("this account no longer exists")
        return PortalAccount(
            customer_name=customer.name,
            account_code=customer.account_code,
            status=customer.status,
            currency=customer.currency,
            balance=customer.balance,
            debit_limit=customer.debit_limit,
            channels=customer.channels,
            profile=_profile(contact),
        )


class PortalStaleEditError(StaleEditError):
    """My Profile was saved over a newer version; ``current`` is the PortalProfile saved now."""


def update_profile(
    db: Database, identity: PortalIdentity, changes: Mapping[str, Any], *, expected_version: int
) -> PortalProfile:
    """My Profile: name, phone and mobile, audited as ``Portal``. A stale version raises
    PortalStaleEditError carrying the saved profile (never the contact's private notes)."""
    try:
        record = contacts.portal_update_profile(
            db, identity, changes, expected_version=expected_version
        )
    except StaleEditError as error:
        raise PortalStaleEditError(
            error.table, error.key, _profile_of(error.current), error.attempted
        ) from None
    return _profile_of(record)


@dataclass(frozen=True)
class PortalBlock:
    """A number block as its customer sees it: no row ids, no dates, and not how many of its
    numbers other customers hold (what the operator's picker needs)."""

    block_index: int
    range_start: int
    range_end: int
    range_text: str
    prefix: str | None
    extensions_text: str
    used: int
    free: int


def portal_blocks(db: Database, identity: PortalIdentity) -> list[PortalBlock]:
    """The contact's own customer's number blocks, read only."""
    with db.read() as session:
        records = numbers.blocks_of(session, identity.customer_id)
    return [
        PortalBlock(
            block_index=record.block_index,
            range_start=record.range_start,
            range_end=record.range_end,
            range_text=record.range_text,
            prefix=record.prefix,
            extensions_text=record.extensions_text,
            used=record.used,
            free=record.free,
        )
        for record in records
    ]


def portal_summary(
    db: Database, identity: PortalIdentity, view: SummaryView | str
) -> tuple[BilledSummary, dict[datetime, str]]:
    """The customer's Summary for ``view`` as billed (periods, calls, usage, charge: never the
    carrier's cost or margin), and the invoice number of each invoiced period."""
    result = summary.customer_summary(db, identity.actor, identity.customer_id, view)
    numbers_by_period: dict[datetime, str] = {}
    if result.view is not SummaryView.HOURS_24:
        numbers_by_period = invoices.invoice_numbers(
            db, identity.actor, identity.customer_id, result.view.value
        )
    return result.billed(), numbers_by_period


def portal_invoices_source(db: Database, identity: PortalIdentity) -> SqlRowSource:
    """The customer's own invoices for a read-only grid: number, period, dates, amounts and
    status (who generated an invoice is not shown)."""
    return invoices.grid_source(db, identity.actor, customer_id=identity.customer_id)


def portal_extensions_source(db: Database, identity: PortalIdentity) -> SqlRowSource:
    """The contact's own customer's SIP users, conferences and aliases for a read-only grid
    (no PIN or password: the grid shows numbers, names, channels and targets)."""
    return numbers.extensions_grid_source(db, identity.actor, identity.customer_id)
