"""SQLModel tables. Services (one module per domain) are the only code that writes them.

Enum-valued columns are typed ``str`` here (the enums are StrEnums): rows read back hold plain
strings, and the services turn them into enums in the records they return.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from carriertui.store.types import FixedDecimal, UTCDateTime, utcnow


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "operator": 1, "admin": 2}[self.value]


class CustomerStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"
    PENALTY = "Penalty"
    PENDING_APPROVAL = "Pending Approval"


class InvoiceSchedule(StrEnum):
    NONE = "none"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class AuditAction(StrEnum):
    CREATE = "CREATE"
    DELETE = "DELETE"
    GENERATE = "GENERATE"
    LOGIN = "LOGIN"
    POST = "POST"
    PUBLISH = "PUBLISH"
    PUT = "PUT"
    SEND = "SEND"
    UPDATE = "UPDATE"


class HttpVerb(StrEnum):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    DELETE = "DELETE"


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


class ExtensionKind(StrEnum):
    SIP_USER = "sip_user"
    CONFERENCE = "conference"
    ALIAS = "alias"

    @property
    def label(self) -> str:
        return {"sip_user": "SIP user", "conference": "Conference", "alias": "Alias"}[self.value]


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
