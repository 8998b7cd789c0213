"""SQLModel tables. Services (one module per domain) are the only code that writes them.

Enum-valued columns are typed ``str`` here (the enums are StrEnums): rows read back hold plain
strings, and the services turn them into enums in the records they return.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, Index, Integer, String, Text, UniqueConstraint
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
