"""The invoices grid's row source."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import String, cast, select

from carriertui.grid.model import Column, ColumnType, Tone, tones
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.rowsource import SqlRowSource
from carriertui.store.db.tables import Customer, Invoice, table_of
from carriertui.store.enums import InvoiceStatus, Role

# -- the grid ------------------------------------------------------------------------------------


def _date_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


GRID_COLUMNS = (
    Column("number", "Number", width=10),
    Column("period_kind", "Period", width=7),
    Column("period_start", "From (UTC)", ColumnType.TIMESTAMP),
    Column("period_end", "To (UTC)", ColumnType.TIMESTAMP),
    # Dates, not timestamps: shown as YYYY-MM-DD; not searched (no SQL cast of a date to text
    # agrees on both backends whatever PostgreSQL's DateStyle).
    Column("issue_date", "Issued", width=10, formatter=_date_text, searchable=False),
    Column("due_date", "Due", width=10, formatter=_date_text, searchable=False),
    Column("subtotal", "Subtotal", ColumnType.MONEY, width=12),
    Column("tax", "Tax", ColumnType.MONEY, width=10),
    Column("total", "Total", ColumnType.MONEY, width=12),
    Column("currency", "Currency", width=8),
    Column(
        "status",
        "Status",
        width=7,
        tone=tones(
            {
                InvoiceStatus.UNPAID: Tone.WARNING,
                InvoiceStatus.PAID: Tone.SUCCESS,
                InvoiceStatus.PENDING: Tone.MUTED,
            }
        ),
    ),
)
CUSTOMER_COLUMN = Column("customer", "Customer", width=18)


def grid_source(db: Database, actor: Actor, *, customer_id: int | None = None) -> SqlRowSource:
    """Invoices for the grid (row key: the invoice id). For one customer: its invoices; for
    the account: every invoice, with a Customer column after Number."""
    actor.require(Role.VIEWER, "read invoices")
    table = table_of(Invoice)
    expressions: dict[str, Any] = {column.key: table.c[column.key] for column in GRID_COLUMNS}
    if customer_id is not None:
        return SqlRowSource(
            db,
            name=f"invoices-customer-{customer_id}",
            columns=GRID_COLUMNS,
            selectable=table,
            expressions=expressions,
            key=table.c.id,
            where=table.c.customer_id == customer_id,
        )
    customers = table_of(Customer)
    expressions["customer"] = cast(
        select(customers.c.name).where(customers.c.id == table.c.customer_id).scalar_subquery(),
        String,
    )
    columns = (GRID_COLUMNS[0], CUSTOMER_COLUMN, *GRID_COLUMNS[1:])
    return SqlRowSource(
        db,
        name="invoices",
        columns=columns,
        selectable=table,
        expressions=expressions,
        key=table.c.id,
    )
