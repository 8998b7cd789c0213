"""Customers: the account's companies. Every change is validated and audited here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from carriertui.grid.model import Column, ColumnType, Tone, tones
from carriertui.store import audit, edits, validation
from carriertui.store.context import Actor
from carriertui.store.currencies import ISO_4217
from carriertui.store.db.database import Database
from carriertui.store.db.rowsource import SqlRowSource, check_search, sqlite_like, table_source
from carriertui.store.db.tables import Customer, table_of
from carriertui.store.enums import AuditAction, CustomerStatus, InvoiceSchedule, Role
from carriertui.store.errors import NotFoundError, StaleEditError, ValidationError

TABLE = "customer"
_ACCOUNT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
# Fields an operator may change after creation. Currency is fixed once the customer exists.
EDITABLE_FIELDS = (
    "name",
    "account_code",
    "status",
    "tax_percent",
    "balance",
    "debit_limit",
    "channels",
    "invoice_schedule",
    "invoice_due_days",
)
CREATE_FIELDS = (*EDITABLE_FIELDS, "currency")
DEFAULTS: dict[str, Any] = {
    "account_code": None,
    "status": CustomerStatus.ACTIVE,
    "currency": "USD",
    "tax_percent": Decimal(0),
    "balance": Decimal(0),
    "debit_limit": Decimal(0),
    "channels": 0,
    "invoice_schedule": InvoiceSchedule.NONE,
    "invoice_due_days": 0,
}


@dataclass(frozen=True)
class CustomerRecord:
    id: int
    name: str
    account_code: str | None
    status: CustomerStatus
    currency: str
    tax_percent: Decimal
    balance: Decimal
    debit_limit: Decimal
    channels: int
    invoice_schedule: InvoiceSchedule
    invoice_due_days: int
    created_at: datetime
    version: int

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def record_of(customer: Customer) -> CustomerRecord:
    """The customer as the service returns it."""
    return _to_record(customer)


def _to_record(customer: Customer) -> CustomerRecord:
    assert customer.id is not None
    return CustomerRecord(
        id=customer.id,
        name=customer.name,
        account_code=customer.account_code,
        status=CustomerStatus(customer.status),
        currency=customer.currency,
        tax_percent=customer.tax_percent,
        balance=customer.balance,
        debit_limit=customer.debit_limit,
        channels=customer.channels,
        invoice_schedule=InvoiceSchedule(customer.invoice_schedule),
        invoice_due_days=customer.invoice_due_days,
        created_at=customer.created_at,
        version=customer.version,
    )


def _audit_view(customer: Customer) -> dict[str, Any] | None:
    data = audit.snapshot(customer)
    if data is not None:
        data.pop("name_folded", None)
    return data


AUDITED = edits.Audited(TABLE, view=_audit_view, customer_id=lambda customer: customer.id)


def clean_value(field: str, value: Any) -> Any:
    """Parse one customer field from form or CLI input, or raise ValidationError."""
    if field == "name":
        return validation.text("name", value, max_length=100)
    if field == "account_code":
        code = validation.text("account_code", value, max_length=32, required=False)
        if code is not None and not _ACCOUNT_CODE.match(code):
            raise ValidationError(
                "account_code", "letters, digits and . _ - only, starting with a letter or digit"
            )
        return code
    if field == "status":
        return validation.choice("status", value, CustomerStatus)
    if field == "currency":
        code = str(value or "").strip().upper()
        if code not in ISO_4217:
            raise ValidationError("currency", "must be an ISO 4217 code such as USD, EUR or GBP")
        return code
    if field == "tax_percent":
        return validation.decimal("tax_percent", value, minimum=Decimal(0), maximum=Decimal(100))
    if field == "balance":
        return validation.decimal(
            "balance", value, minimum=Decimal(-(10**12)), maximum=Decimal(10**12)
        )
    if field == "debit_limit":
        return validation.decimal("debit_limit", value, minimum=Decimal(0), maximum=Decimal(10**12))
    if field == "channels":
        return validation.integer("channels", value, minimum=0, maximum=1_000_000)
    if field == "invoice_schedule":
        return validation.choice("invoice_schedule", value, InvoiceSchedule)
    if field == "invoice_due_days":
        return validation.integer("invoice_due_days", value, minimum=0, maximum=365)
    raise ValidationError(field, "is not a customer field")


def _clean(values: Mapping[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    """Every field parsed; every bad one reported in one ValidationError."""
    cleaned: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for field, value in values.items():
        if field not in allowed:
            if field == "currency":
                errors.append(("currency", "is fixed after the customer is created"))
            else:
                errors.append((field, "is not a customer field"))
            continue
        try:
            cleaned[field] = clean_value(field, value)
        except ValidationError as error:
            errors.extend(error.errors)
    ValidationError.raise_all(errors)
    return cleaned


def _check_unique(session: Session, values: Mapping[str, Any], exclude_id: int | None) -> None:
    if "name" in values:
        query = select(Customer.id).where(Customer.name_folded == values["name"].casefold())
        if exclude_id is not None:
            query = query.where(Customer.id != exclude_id)
        if session.exec(query).first() is not None:
            raise ValidationError("name", f"a customer named {values['name']!r} exists already")
    if values.get("account_code"):
        query = select(Customer.id).where(Customer.account_code == values["account_code"])
        if exclude_id is not None:
            query = query.where(Customer.id != exclude_id)
        if session.exec(query).first() is not None:
            raise ValidationError(
                "account_code", f"account code {values['account_code']!r} is in use already"
            )


def like_escape(text: str) -> str:
    """Make ``%`` and ``_`` in operator input match themselves in a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_customers(db: Database, actor: Actor, search: str | None = None) -> list[CustomerRecord]:
    """All customers by name; ``search`` matches name, account code or status (case-insensitive)."""
    actor.require(Role.VIEWER, "list customers")
    # Checked before search_term strips it: str.strip() takes TAB, LF and \x1c-\x1f for
    # whitespace, and a search of only those would otherwise list every customer.
    search = validation.search_term("search", check_search(search or ""))
    with db.read() as session:
        query = select(Customer).order_by(col(Customer.name_folded))
        if search:
            folded = search.casefold()
            pattern = f"%{like_escape(folded)}%"
            by_name: ColumnElement[bool] = col(Customer.name_folded).like(pattern, escape="\\")
            if db.backend == "sqlite":
                by_name = sqlite_like(col(Customer.name_folded), folded, pattern)
            query = query.where(
                or_(
                    by_name,
                    col(Customer.account_code).ilike(pattern, escape="\\"),
                    col(Customer.status).ilike(pattern, escape="\\"),
                )
            )
        return [_to_record(customer) for customer in session.exec(query)]


def get_customer(db: Database, actor: Actor, customer_id: int) -> CustomerRecord:
    actor.require(Role.VIEWER, "read customers")
    with db.read() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFoundError(f"no customer with id {customer_id}")
        return _to_record(customer)


def find_customer(db: Database, actor: Actor, name_or_code: str) -> CustomerRecord:
    """By account code, exact name (both case-insensitive, an exact code first) or numeric id."""
    actor.require(Role.VIEWER, "read customers")
    wanted = name_or_code.strip()
    with db.read() as session:
        candidates = (
            Customer.account_code == wanted,
            Customer.name_folded == wanted.casefold(),
            func.lower(Customer.account_code) == wanted.lower(),
        )
        for condition in candidates:
            customer = session.exec(select(Customer).where(condition)).first()
            if customer is not None:
                return _to_record(customer)
        if wanted.isdigit() and (customer := session.get(Customer, int(wanted))) is not None:
            return _to_record(customer)
    raise NotFoundError(f"no customer named or coded {wanted!r}")


def create_customer(
    db: Database, actor: Actor, values: Mapping[str, Any], *, comment: str | None = None
) -> CustomerRecord:
    actor.require(Role.OPERATOR, "create customers")
    cleaned = {**DEFAULTS, **_clean(values, CREATE_FIELDS)}
    if "name" not in cleaned:
        raise ValidationError("name", "is required")
    with db.write() as session:
        _check_unique(session, cleaned, exclude_id=None)
        customer = Customer(name_folded=cleaned["name"].casefold(), **cleaned)
        edits.record_create(
            session,
            actor,
            customer,
            AUDITED,
            message=lambda row: f"Customer {row.name} created",
            comment=comment,
        )
        return _to_record(customer)


def update_customer(
    db: Database,
    actor: Actor,
    customer_id: int,
    changes: Mapping[str, Any],
    *,
    expected_version: int,
    comment: str | None = None,
) -> CustomerRecord:
    """Apply ``changes`` if the customer is still at ``expected_version``.

    A stale version raises StaleEditError carrying the current record, so the UI can show both;
    nothing is overwritten silently. Unchanged fields are dropped; no change writes nothing.
    """
    actor.require(Role.OPERATOR, "change customers")
    cleaned = _clean(changes, EDITABLE_FIELDS)
    with db.write() as session:
        customer = edits.load_current(
            session,
            Customer,
            customer_id,
            expected_version=expected_version,
            missing=f"no customer with id {customer_id}",
            stale=lambda row: StaleEditError(TABLE, customer_id, _to_record(row), dict(cleaned)),
        )
        apply_changes(session, actor, customer, cleaned, comment=comment)
        return _to_record(customer)


def apply_changes(
    session: Session,
    actor: Actor,
    customer: Customer,
    cleaned: Mapping[str, Any],
    *,
    action: AuditAction = AuditAction.UPDATE,
    message: str | None = None,
    comment: str | None = None,
) -> bool:
    """Apply already-cleaned changes in ``session`` and audit them; False when nothing changes.
    Shared by updates and Delay and Save (carriertui/store/pending.py)."""
    real = edits.changed(customer, cleaned)
    if not real:
        return False
    _check_unique(session, real, exclude_id=customer.id)

    def fold_name(row: Customer) -> None:
        if "name" in real:
            row.name_folded = real["name"].casefold()

    edits.apply_audited(
        session,
        actor,
        customer,
        real,
        AUDITED,
        action=action,
        message=lambda row: message or f"Customer {row.name} updated: {', '.join(sorted(real))}",
        comment=comment,
        after_set=fold_name,
    )
    return True


def clean(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Editable fields parsed (for Delay and Save, which validates when scheduling)."""
    return _clean(changes, EDITABLE_FIELDS)


# A status's tone, the one map for the grid's Status column and every header that shows a status.
STATUS_TONES: dict[CustomerStatus, Tone] = {
    CustomerStatus.INACTIVE: Tone.MUTED,
    CustomerStatus.PENALTY: Tone.ERROR,
    CustomerStatus.PENDING_APPROVAL: Tone.WARNING,
}


def status_tone(status: CustomerStatus | str) -> Tone | None:
    """The tone of a customer status (a stored value or its text); None for a plain one."""
    try:
        return STATUS_TONES.get(CustomerStatus(status))
    except ValueError:
        return None


GRID_COLUMNS = (
    Column("name", "Name", width=24),
    Column("account_code", "Code", width=10),
    Column(
        "status",
        "Status",
        width=16,
        tone=tones(STATUS_TONES),
    ),
    Column("currency", "Cur", width=3, searchable=True),
    Column("balance", "Balance", ColumnType.MONEY, width=12),
    Column("channels", "Ch.", ColumnType.INTEGER, width=5),
    Column("debit_limit", "Debit limit", ColumnType.MONEY, width=12),
    Column("invoice_schedule", "Invoices", width=8),
    Column("created_at", "Created (UTC)", ColumnType.TIMESTAMP),
)


def grid_source(db: Database, actor: Actor) -> SqlRowSource:
    """Every customer, for the customers grid (sorted, filtered and searched in SQL)."""
    actor.require(Role.VIEWER, "list customers")
    table = table_of(Customer)
    return table_source(db, name="customers", table=table, columns=GRID_COLUMNS)
