"""Schema migrations: the steps that bring a database from one schema version to the next.

This module sits on top of the storage modules (the audit chain, the search index, the tables):
it imports them, and none of them imports it.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import inspect
from sqlmodel import Session, SQLModel

from carriertui.store.db import (
    alarm_tables,  # noqa: F401 (its tables join the metadata)
    match_tables,  # noqa: F401 (its table joins the metadata)
    rate_tables,  # noqa: F401 (its tables join the metadata)
)
from carriertui.store.db import tables as models
from carriertui.store.db.engine import BaseDatabase
from carriertui.store.errors import SchemaVersionError

SCHEMA_VERSION = 16


def _audit_chain(session: Session) -> None:
    """Version 2: the audit log's HMAC chain (seq, mac, the MACs of the entries already there)
    and the triggers that make the audit table append-only."""
    from carriertui.store.db import chain  # (loaded only to migrate, as the search index below)

    chain.upgrade_schema(session)


# Columns the audit log is filtered and sorted by (GUIDE section 3: OFFSET on an unindexed sort
# costs 0.2-3 s at 1M rows). created_at, customer_id and seq have theirs already.
AUDIT_GRID_INDEXES = ("actor", "ip", "action", "table_name")


def _audit_grid_indexes(session: Session) -> None:
    """Version 3: indexes for the audit log grid's sorts and filters."""
    for column in AUDIT_GRID_INDEXES:
        session.connection().exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS ix_audit_entry_{column} ON audit_entry ({column})"
        )


def _audit_search(session: Session) -> None:
    """Version 4: the audit log's search index (FTS5 trigram on SQLite, pg_trgm on PostgreSQL)
    and the triggers that keep it (carriertui/store/audit_search.py)."""
    from carriertui.store.db import search as audit_search

    audit_search.install(session.connection())


NUMBER_TABLES = ("number_block", "extension_number", "sip_user", "conference", "extension_alias")


def _number_blocks(session: Session) -> None:
    """Version 6: internal number blocks and the extensions that use their numbers (new tables
    only; versions 4 and 5 belong to another line of work and may be absent here)."""
    connection = session.connection()
    for name in NUMBER_TABLES:
        SQLModel.metadata.tables[name].create(connection, checkfirst=True)


def _audit_search_if_missing(session: Session) -> None:
    """Version 9: the search index of version 4 for databases that reached versions 5 to 8
    before it existed (the two were built side by side); a no-op where it is installed."""
    from carriertui.store.db import search as audit_search

    connection = session.connection()
    if audit_search.index_for(connection) is None:
        audit_search.install(connection)


def _operator_disabled_at(session: Session) -> None:
    """Version 10: operator.disabled_at (an admin disables the account of someone who left)."""
    connection = session.connection()
    if "disabled_at" in {c["name"] for c in inspect(connection).get_columns("operator")}:
        return  # a new database: create_all() made the table in its current shape
    column = models.Operator.__table__.c.disabled_at  # type: ignore[attr-defined]
    quote = connection.dialect.identifier_preparer.quote
    connection.exec_driver_sql(
        f"ALTER TABLE {quote('operator')} ADD COLUMN disabled_at "
        f"{column.type.compile(dialect=connection.dialect)}"
    )


def _audit_no_replace(session: Session) -> None:
    """Version 11: SQLite's INSERT OR REPLACE may no longer rewrite an audit entry (the
    append-only guard gains a BEFORE INSERT trigger; PostgreSQL's guard is re-installed as is:
    ON CONFLICT DO UPDATE already fires its UPDATE trigger)."""
    from carriertui.store.db import chain

    chain.install_append_only_guard(session)


RATE_TABLES = ("rate_card", "rate", "rate_card_assignment")


def _rate_decks(session: Session) -> None:
    """Version 12: rate cards, their rates and the card each customer is rated with (new
    tables only, store/db/rate_tables.py)."""
    connection = session.connection()
    for name in RATE_TABLES:
        SQLModel.metadata.tables[name].create(connection, checkfirst=True)


ALARM_TABLES = ("alarm_rule", "alarm", "alarm_event", "alarm_watermark")


def _noc_alarms(session: Session) -> None:
    """Version 13: NOC alarm rules, alarms with their history, and the evaluation watermark (new
    tables only, store/db/alarm_tables.py)."""
    connection = session.connection()
    for name in ALARM_TABLES:
        SQLModel.metadata.tables[name].create(connection, checkfirst=True)


def _customer_match_rules(session: Session) -> None:
    """Version 14: customers' match rules for switch CDRs (source IP, tech prefix, SIP user,
    another account code; a new table only, store/db/match_tables.py)."""
    SQLModel.metadata.tables["customer_match_rule"].create(session.connection(), checkfirst=True)


def _cdr_partitions(session: Session) -> None:
    """Version 15: on PostgreSQL the CDR table becomes monthly range partitions on the call's
    start (every row kept; store/db/partitions.py); SQLite is unchanged."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    from carriertui.store.db import partitions

    partitions.partition_cdr_table(connection)


def _cdr_call_ids(session: Session) -> None:
    """Version 16: on PostgreSQL a table of every call id stored (cdr_call_id, the call id its
    primary key), filled from the CDRs, which keeps a call id unique across monthly partitions
    (store/db/partitions.py); SQLite is unchanged."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    from carriertui.store.db import partitions

    partitions.create_call_ids(connection)


# version -> steps that bring a database from version-1 to version. create_all() adds new tables;
# steps here alter existing ones (add a column, backfill) and run inside one write transaction.
# A new database runs every step from 1, so each step also copes with a table create_all() has
# just made in its current shape (step 2 then only installs the append-only triggers).
# Version 5 only adds tables (contacts, outbox, pending changes), which create_all() makes;
# so does version 7 (CDRs, their hourly roll-ups, the roll-up bookkeeping), and version 8
# (invoices and their lines).
_MIGRATIONS: dict[int, tuple[Any, ...]] = {
    2: (_audit_chain,),
    3: (_audit_grid_indexes,),
    4: (_audit_search,),
    6: (_number_blocks,),
    9: (_audit_search_if_missing,),
    10: (_operator_disabled_at,),
    11: (_audit_no_replace,),
    12: (_rate_decks,),
    13: (_noc_alarms,),
    14: (_customer_match_rules,),
    15: (_cdr_partitions,),
    16: (_cdr_call_ids,),
}


def upgrade_steps(current: int, target: int | None = None) -> list[tuple[int, str]]:
    """What upgrading from ``current`` to ``target`` (default SCHEMA_VERSION) does, one line per
    version: the first sentence of each migration step's docstring, or "new tables" for a
    version that only adds tables (create_all makes them)."""
    target = SCHEMA_VERSION if target is None else target
    steps: list[tuple[int, str]] = []
    for version in range(current + 1, target + 1):
        texts = []
        for step in _MIGRATIONS.get(version, ()):
            doc = " ".join((step.__doc__ or step.__name__).split())
            doc = re.sub(r"^Version \d+:\s*", "", doc)
            texts.append(doc.split(". ")[0].rstrip("."))
        steps.append((version, "; ".join(texts) or "new tables only"))
    return steps


def create_schema(database: BaseDatabase) -> int:
    """Create missing tables and bring the schema to SCHEMA_VERSION. Returns the version.

    This is the upgrade itself: commands call :meth:`Database.ensure_schema`, which lets only a new
    database or ``carriertui init`` get here. A database already at SCHEMA_VERSION is only
    read, never written: opening it does not wait for (or take) the write lock another
    process may hold.
    """
    if database.schema_version() == SCHEMA_VERSION:
        return SCHEMA_VERSION
    SQLModel.metadata.create_all(database.engine)
    with database.write() as session:
        row = session.get(models.Meta, "schema_version")
        current = int(row.value) if row else 0
        if current > SCHEMA_VERSION:
            raise SchemaVersionError(current, SCHEMA_VERSION)
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for step in _MIGRATIONS.get(version, ()):
                step(session)
        if row is None:
            session.add(models.Meta(key="schema_version", value=str(SCHEMA_VERSION)))
        else:
            row.value = str(SCHEMA_VERSION)
    return SCHEMA_VERSION
