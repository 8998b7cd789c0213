"""SQLModel tables. Services (one module per domain) are the only code that writes them.

Enum-valued columns are typed ``str`` here (the enums are StrEnums): rows read back hold plain
strings, and the services turn them into enums in the records they return.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from carriertui.store.db.types import FixedDecimal, UTCDateTime, utcnow

# version_id_col needs the Column object itself: the string form is accepted when the class is
# defined and fails at the first insert (GUIDE section 5).
_operator_version = Column("version", Integer, nullable=False, default=1)
_customer_version = Column("version", Integer, nullable=False, default=1)


class Operator(SQLModel, table=True):
    __tablename__ = "operator"
    __mapper_args__ = {"version_id_col": _operator_version}

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    failed_logins: int = Field(default=0, nullable=False)
    locked_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    last_login_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    version: int = Field(default=1, sa_column=_operator_version)
    # Set when an admin disables the account (someone who left): no login, and delayed changes
    # they scheduled are not applied. The row stays, so the audit log keeps its names.
    disabled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class Customer(SQLModel, table=True):
    __tablename__ = "customer"
    __mapper_args__ = {"version_id_col": _customer_version}
    __table_args__ = (
        UniqueConstraint("name_folded", name="uq_customer_name_folded"),
        UniqueConstraint("account_code", name="uq_customer_account_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(100), nullable=False))
    # Case-folded copy of name: "ACME" and "acme" are the same customer, on every backend.
    name_folded: str = Field(sa_column=Column(String(100), nullable=False))
    account_code: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    tax_percent: Decimal = Field(sa_column=Column(FixedDecimal, nullable=False, default=0))
    balance: Decimal = Field(sa_column=Column(FixedDecimal, nullable=False, default=0))
    debit_limit: Decimal = Field(sa_column=Column(FixedDecimal, nullable=False, default=0))
    channels: int = Field(default=0, nullable=False)
    invoice_schedule: str = Field(sa_column=Column(String(10), nullable=False))
    invoice_due_days: int = Field(default=0, nullable=False)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    version: int = Field(default=1, sa_column=_customer_version)


class Option(SQLModel, table=True):
    """Account-wide settings (Settings > Options), one row per key, value as JSON text."""

    __tablename__ = "option"

    key: str = Field(sa_column=Column(String(64), primary_key=True))
    value_json: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_created_at", "created_at"),
        Index("ix_audit_entry_customer_id", "customer_id", "created_at"),
        Index("ix_audit_entry_table_key", "table_name", "primary_key"),
        # One entry per chain position: two writers chaining onto the same entry cannot both
        # commit (carriertui/store/chain.py).
        Index("ux_audit_entry_seq", "seq", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    actor: str = Field(sa_column=Column(String(255), nullable=False))
    ip: str = Field(sa_column=Column(String(64), nullable=False))
    action: str = Field(sa_column=Column(String(16), nullable=False))
    verb: str = Field(sa_column=Column(String(8), nullable=False))
    table_name: str = Field(sa_column=Column(String(64), nullable=False))
    primary_key: str = Field(sa_column=Column(String(64), nullable=False))
    # The customer the change belongs to, for the customer's Audit Log tab. Not a foreign key:
    # the log outlives the records it describes.
    customer_id: int | None = Field(default=None, nullable=True)
    message: str = Field(sa_column=Column(Text, nullable=False))
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    before_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    after_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Tamper evidence (carriertui/store/chain.py): the entry's 1-based position in the log and its
    # HMAC-SHA256 (hex) over the previous entry's MAC and this entry's other fields. Nullable only
    # because a migrated table gains them; audit.record always sets both, and an entry without
    # them fails `carriertui audit verify`.
    seq: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    mac: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))


class Meta(SQLModel, table=True):
    """Schema bookkeeping (schema version); not account data, not audited."""

    __tablename__ = "carriertui_meta"

    key: str = Field(sa_column=Column(String(64), primary_key=True))
    value: str = Field(sa_column=Column(Text, nullable=False))


_contact_version = Column("version", Integer, nullable=False, default=1)


class Contact(SQLModel, table=True):
    """A person at a customer, with their own portal login (the email)."""

    __tablename__ = "contact"
    __mapper_args__ = {"version_id_col": _contact_version}
    __table_args__ = (
        # The email is the login: unique across every customer's contacts, case-insensitively.
        UniqueConstraint("email_folded", name="uq_contact_email_folded"),
        Index("ix_contact_customer_id", "customer_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", nullable=False)
    name: str = Field(sa_column=Column(String(100), nullable=False))
    email: str = Field(sa_column=Column(String(254), nullable=False))
    email_folded: str = Field(sa_column=Column(String(254), nullable=False))
    phone: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    mobile: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    contact_type: str = Field(sa_column=Column(String(16), nullable=False))
    public_notes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    private_notes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    email_verified: bool = Field(default=False, nullable=False)
    mobile_verified: bool = Field(default=False, nullable=False)
    # JSON list of normalised networks ("10.1.2.0/24", "2001:db8::/32"); empty: any address.
    ip_whitelist_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    # None until the first password is set (a generated one is set when its email is sent).
    password_hash: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    must_change_password: bool = Field(default=False, nullable=False)
    failed_logins: int = Field(default=0, nullable=False)
    locked_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    last_login_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    version: int = Field(default=1, sa_column=_contact_version)


class OutboxMessage(SQLModel, table=True):
    """Outgoing mail, written in the same transaction as the change that sends it."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    to_address: str = Field(sa_column=Column(String(254), nullable=False))
    subject: str = Field(sa_column=Column(String(200), nullable=False))
    # Never a secret: a PASSWORD message's password is generated when it is sent.
    body: str = Field(sa_column=Column(Text, nullable=False))
    contact_id: int | None = Field(default=None, nullable=True)
    customer_id: int | None = Field(default=None, nullable=True)
    requested_by: str = Field(sa_column=Column(String(255), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # A sender that claimed the message and died: another may take it over after this time.
    claimed_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class PendingChange(SQLModel, table=True):
    """A Delay and Save: a validated change applied once its due time has come."""

    __tablename__ = "pending_change"
    __table_args__ = (Index("ix_pending_change_status_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    target_table: str = Field(sa_column=Column(String(32), nullable=False))
    target_id: int = Field(nullable=False)
    customer_id: int | None = Field(default=None, nullable=True)
    # What the Delay Log shows: "Contact Jane Roe: phone, mobile".
    description: str = Field(sa_column=Column(Text, nullable=False))
    # The cleaned field values as JSON (never a password: delayed changes refuse them).
    changes_json: str = Field(sa_column=Column(Text, nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    operator: str = Field(sa_column=Column(String(255), nullable=False))
    operator_role: str = Field(sa_column=Column(String(16), nullable=False))
    operator_ip: str = Field(sa_column=Column(String(64), nullable=False))
    base_version: int = Field(nullable=False)
    status: str = Field(sa_column=Column(String(16), nullable=False))
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    result: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    applied_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class NumberBlock(SQLModel, table=True):
    """One customer's internal number block: block k covers
    ``[start + k*size, start + (k+1)*size - 1]`` (the range is stored as it was when assigned;
    Start and Size cannot change while any block exists). ``block_index`` is UNIQUE, so two
    processes can never both hold block k."""

    __tablename__ = "number_block"
    __table_args__ = (
        UniqueConstraint("block_index", name="uq_number_block_index"),
        Index("ix_number_block_customer", "customer_id", "block_index"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", nullable=False)
    block_index: int = Field(sa_column=Column(BigInteger, nullable=False))
    range_start: int = Field(sa_column=Column(BigInteger, nullable=False))
    range_end: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class ExtensionNumber(SQLModel, table=True):
    """Every number in use on the account, whatever uses it (SIP user, conference or alias).

    One UNIQUE column for all three kinds: "Duplicate User Detected" is the database's answer,
    so two operators (or processes) cannot both take a number, whichever kinds they create.
    """

    __tablename__ = "extension_number"
    __table_args__ = (
        UniqueConstraint("number", name="uq_extension_number"),
        Index("ix_extension_number_customer", "customer_id", "number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(sa_column=Column(BigInteger, nullable=False))
    customer_id: int = Field(foreign_key="customer.id", nullable=False)
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


_sip_user_version = Column("version", Integer, nullable=False, default=1)
_conference_version = Column("version", Integer, nullable=False, default=1)


class SipUser(SQLModel, table=True):
    """A SIP user: its username is its extension number. The password exists only as an
    argon2id hash; the plaintext is shown once when generated."""

    __tablename__ = "sip_user"
    __mapper_args__ = {"version_id_col": _sip_user_version}
    __table_args__ = (UniqueConstraint("extension_id", name="uq_sip_user_extension"),)

    id: int | None = Field(default=None, primary_key=True)
    extension_id: int = Field(foreign_key="extension_number.id", nullable=False)
    customer_id: int = Field(foreign_key="customer.id", nullable=False, index=True)
    username: str = Field(sa_column=Column(String(20), nullable=False))
    display_name: str = Field(sa_column=Column(String(100), nullable=False))
    channels: int = Field(default=1, nullable=False)
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    version: int = Field(default=1, sa_column=_sip_user_version)


class Conference(SQLModel, table=True):
    """A Class5 conference on an extension. PINs are kept (the bridge checks them) but never
    written into the audit log."""

    __tablename__ = "conference"
    __mapper_args__ = {"version_id_col": _conference_version}
    __table_args__ = (UniqueConstraint("extension_id", name="uq_conference_extension"),)

    id: int | None = Field(default=None, primary_key=True)
    extension_id: int = Field(foreign_key="extension_number.id", nullable=False)
    customer_id: int = Field(foreign_key="customer.id", nullable=False, index=True)
    name: str = Field(sa_column=Column(String(100), nullable=False))
    pin: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    moderator_pin: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    max_members: int = Field(default=0, nullable=False)  # 0 = unlimited
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    version: int = Field(default=1, sa_column=_conference_version)


class Alias(SQLModel, table=True):
    """An alternative number (its own extension_number row) that reaches a SIP user or a
    conference of the same customer."""

    __tablename__ = "extension_alias"
    __table_args__ = (
        UniqueConstraint("extension_id", name="uq_alias_extension"),
        Index("ix_alias_target", "target_extension_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    extension_id: int = Field(foreign_key="extension_number.id", nullable=False)
    customer_id: int = Field(foreign_key="customer.id", nullable=False, index=True)
    target_extension_id: int = Field(foreign_key="extension_number.id", nullable=False)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Cdr(SQLModel, table=True):
    """One call detail record. Written only in bulk (store/cdrs.py), never as ORM objects.

    Times are UTC; money is exact (FixedDecimal: 4 places as a scaled BIGINT) in the customer's
    currency. Indexes: the summary, the roll-ups and the CDR report all read one customer's CDRs
    by start time, in start time order (``id`` last, the grid's tie-breaker).
    """

    __tablename__ = "cdr"
    __table_args__ = (
        UniqueConstraint("call_id", name="uq_cdr_call_id"),
        Index("ix_cdr_customer_start", "customer_id", "start_time", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(sa_column=Column(String(128), nullable=False))
    customer_id: int = Field(foreign_key="customer.id", nullable=False)
    start_time: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    source_cli: str = Field(sa_column=Column(String(64), nullable=False))
    dest_number: str = Field(sa_column=Column(String(64), nullable=False))
    dest_name: str = Field(sa_column=Column(String(100), nullable=False))
    duration: int = Field(nullable=False)  # talk seconds; > 0 means connected
    billed_duration: int = Field(nullable=False)  # seconds after MCD/pulse rounding
    sip_code: int = Field(nullable=False)
    release_reason: str = Field(sa_column=Column(String(64), nullable=False))
    pdd_ms: int = Field(nullable=False)
    charge: Decimal = Field(sa_column=Column(FixedDecimal, nullable=False))
    cost: Decimal = Field(sa_column=Column(FixedDecimal, nullable=False))
    direction: str = Field(sa_column=Column(String(8), nullable=False))
    source_ip: str = Field(sa_column=Column(String(45), nullable=False))


class CdrHourly(SQLModel, table=True):
    """Hourly roll-up of one customer's CDRs (store/rollups.py), the Summary's only source.

    Derived data, rebuilt at will (``carriertui rollup --rebuild``); not audited.
    """

    __tablename__ = "cdr_hourly"

    customer_id: int = Field(primary_key=True)
    hour_start: datetime = Field(sa_column=Column(UTCDateTime, primary_key=True))
    attempts: int = Field(nullable=False)
    connected: int = Field(nullable=False)
    duration: int = Field(nullable=False)
    billed_duration: int = Field(nullable=False)
    charge: Decimal = Field(sa_column=Column(FixedDecimal, nullable=False))
    cost: Decimal = Field(sa_column=Column(FixedDecimal, nullable=False))
    pdd_sum_ms: int = Field(nullable=False)


class CdrDirtyHour(SQLModel, table=True):
    """Hours that received CDRs since the last roll-up: written by the importer in the import's
    own transaction, consumed (and emptied) by the incremental roll-up."""

    __tablename__ = "cdr_dirty_hour"

    customer_id: int = Field(primary_key=True)
    hour_start: datetime = Field(sa_column=Column(UTCDateTime, primary_key=True))
    # hour_start + 1 hour, stored so that the roll-up's range join is the same SQL everywhere.
    hour_end: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class RollupState(SQLModel, table=True):
    """One row (id 1): when the roll-up last ran, for the Summary's "rolled up at" line."""

    __tablename__ = "cdr_rollup_state"

    id: int = Field(primary_key=True)
    rolled_up_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    rebuilt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class Invoice(SQLModel, table=True):
    """One invoice: one customer, one closed daily, weekly (ISO) or monthly UTC period
    [period_start, period_end), amounts from the hourly roll-ups (store/invoices.py).

    ``sequence`` is the account-wide, gap-free invoice number (``number`` is its text,
    ``INV-000001``); both UNIQUE. A period is invoiced at most once per customer and kind: the
    UNIQUE (customer_id, period_kind, period_start) is the database's net under the service's
    check. Money is exact (FixedDecimal, 4 places) in the customer's currency at generation;
    ``tax_percent`` is the customer's rate at generation, kept so the invoice never changes.
    """

    __tablename__ = "invoice"
    __table_args__ = (
        UniqueConstraint("sequence", name="uq_invoice_sequence"),
        UniqueConstraint("number", name="uq_invoice_number"),
        UniqueConstraint(
            "customer_id", "period_kind", "period_start", name="uq_invoice_customer_period"
        ),
        Index("ix_invoice_customer_start", "customer_id", "period_start"),
        Index("ix_invoice_issue_date", "issue_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sequence: int = Field(sa_column=Column(BigInteger, nullable=False))
    number: str = Field(sa_column=Column(String(20), nullable=False))
    customer_id: int = Field(foreign_key="customer.id", nullable=False)
    period_kind: str = Field(sa_column=Column(String(10), nullable=False))
    period_start: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    period_end: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    subtotal: Decimal = Field(sa_column=Column(FixedDecimal, nullable=False))
    tax_percent: Decimal = Field(sa_column=Column(FixedDecimal, nullable=False))
    tax: Decimal = Field(sa_column=Column(FixedDecimal, nullable=False))
    total: Decimal = Field(sa_column=Column(FixedDecimal, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    issue_date: date = Field(sa_column=Column(Date, nullable=False))
    due_date: date = Field(sa_column=Column(Date, nullable=False))
    status: str = Field(sa_column=Column(String(10), nullable=False))
    created_by: str = Field(sa_column=Column(String(255), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class InvoiceLine(SQLModel, table=True):
    """One UTC day of an invoice's period (a day without calls has a zero line)."""

    __tablename__ = "invoice_line"
    __table_args__ = (UniqueConstraint("invoice_id", "day", name="uq_invoice_line_day"),)

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", nullable=False)
    day: date = Field(sa_column=Column(Date, nullable=False))
    attempts: int = Field(sa_column=Column(BigInteger, nullable=False))
    connected: int = Field(sa_column=Column(BigInteger, nullable=False))
    billed_duration: int = Field(sa_column=Column(BigInteger, nullable=False))  # seconds
    charge: Decimal = Field(sa_column=Column(FixedDecimal, nullable=False))


def table_of(model: type[SQLModel]) -> Table:
    """The model's Core table: SQLModel sets ``__table__`` at run time, where the type checker
    cannot see it."""
    return model.__table__  # type: ignore[attr-defined]
