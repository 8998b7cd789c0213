"""Contacts in the grid: one customer's contacts (the Contacts tab) or everyone's (Global
Contacts), sorted, filtered and searched in SQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carriertui.grid.model import Column, ColumnType
from carriertui.store.contacts.fields import _yes_no, whitelist_text
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.rowsource import SqlRowSource
from carriertui.store.db.tables import Contact, Customer, table_of
from carriertui.store.enums import Role

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

GRID_COLUMNS = (
    Column("name", "Name", width=20),
    Column("email", "Email", width=26),
    # Shown near the left: a contact outside their whitelist only sees "Login failed".
    Column("ip_whitelist", "IP Whitelist", width=16, formatter=whitelist_text),
    Column("phone", "Phone", width=14),
    Column("mobile", "Mobile", width=14),
    Column("contact_type", "Type", width=9),
    Column("email_verified", "Email ✓", ColumnType.BOOLEAN, width=7, formatter=_yes_no),
    Column("mobile_verified", "Mobile ✓", ColumnType.BOOLEAN, width=8, formatter=_yes_no),
    Column("last_login_at", "Last Login (UTC)", ColumnType.TIMESTAMP),
)
CUSTOMER_COLUMN = Column("customer", "Customer", width=18)


def grid_source(db: Database, actor: Actor, *, customer_id: int | None = None) -> SqlRowSource:
    """Contacts for the grid: one customer's, or every customer's with a Customer column."""
    from sqlalchemy import String, cast
    from sqlalchemy import select as core_select

    actor.require(Role.VIEWER, "read contacts")
    contact = table_of(Contact)
    customer = table_of(Customer)
    expressions: dict[str, ColumnElement[Any]] = {
        column.key: contact.c["ip_whitelist_json" if column.key == "ip_whitelist" else column.key]
        for column in GRID_COLUMNS
    }
    columns: tuple[Column, ...] = GRID_COLUMNS
    if customer_id is None:
        expressions["customer"] = cast(
            core_select(customer.c.name)
            .where(customer.c.id == contact.c.customer_id)
            .scalar_subquery(),
            String,
        )
        columns = (CUSTOMER_COLUMN, *GRID_COLUMNS)
    return SqlRowSource(
        db,
        name="contacts" if customer_id is None else "customer-contacts",
        columns=columns,
        selectable=contact,
        expressions=expressions,
        key=contact.c.id,
        where=None if customer_id is None else contact.c.customer_id == customer_id,
    )
