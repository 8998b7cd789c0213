"""Transaction-level locks that serialise one kind of change across processes.

On SQLite every write transaction starts with ``BEGIN IMMEDIATE``, which already serialises all
writers, so these are no-ops there. On PostgreSQL they take an advisory lock held until the
transaction commits or rolls back.

Lock order: a service takes these first, before anything else it locks. The audit chain's lock
(:mod:`carriertui.store.db.chain`) is always taken last, by ``audit.record``; taking these after it
could deadlock with a service that holds one of these and waits for the chain.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

_PG_LOCK_CLASS = 0x6E756D62  # "numb": the first key; the number_block table's OID is the second
_PG_INVOICE_LOCK_CLASS = 0x696E7663  # "invc": the first key; the invoice table's OID the second
_PG_OPERATOR_LOCK_CLASS = 0x6F707273  # "oprs": the first key; the operator table's OID the second
_PG_ALARM_LOCK_CLASS = 0x616C726D  # "alrm": the first key; the alarm table's OID the second
_PG_CDR_LOCK_CLASS = 0x63647273  # "cdrs": the first key; the cdr table's OID the second
_PG_KEY = (
    "SELECT {function}(:lock_class, "
    "((CAST(:table AS regclass))::oid::bigint - 2147483648)::integer)"
)


def xact_lock_sql(lock_class: int, table: str) -> str:
    """The ``pg_advisory_xact_lock`` statement of ``lock_class`` and ``table``'s OID as plain
    SQL (nothing bound), for a driver cursor: the key every lock here uses, per schema."""
    if not table.isidentifier():
        raise ValueError(f"not a table name: {table!r}")
    return (
        _PG_KEY.format(function="pg_advisory_xact_lock")
        .replace(":lock_class", str(int(lock_class)))
        .replace(":table", f"'{table}'")
    )


def _advisory_xact_lock(session: Session, lock_class: int, table: str) -> None:
    """PostgreSQL: an advisory lock held until the transaction ends, keyed by ``lock_class``
    and the table's OID, so databases in different schemas (tests) do not wait for each
    other. SQLite: nothing (BEGIN IMMEDIATE serialises every writer already)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    connection.execute(
        text(_PG_KEY.format(function="pg_advisory_xact_lock")),
        {"lock_class": lock_class, "table": table},
    )


def lock_number_plan(session: Session) -> None:
    """Serialise everything that assigns, releases or consumes numbers: block allocation and
    release, extension creation and deletion, and changes to Number Range Start / Block Size.
    """
    _advisory_xact_lock(session, _PG_LOCK_CLASS, "number_block")


def lock_invoice_numbers(session: Session) -> None:
    """Serialise invoice generation: the next number is read (MAX + 1) and the period checked
    for an invoice under this lock, so two generators can neither share a number, skip one, nor
    invoice one period twice. Held until the transaction ends: a rolled-back generation leaves
    no invoice behind, so it burns no number.
    """
    _advisory_xact_lock(session, _PG_INVOICE_LOCK_CLASS, "invoice")


def lock_operator_accounts(session: Session) -> None:
    """Serialise role changes and disabling: the "last enabled admin" check counts the admins
    under this lock, so two admins demoting each other at once cannot leave none."""
    _advisory_xact_lock(session, _PG_OPERATOR_LOCK_CLASS, "operator")


def lock_alarms(session: Session) -> None:
    """Serialise alarm evaluation and acknowledgement: two processes evaluating the same new
    CDRs raise each condition once, not twice (the active-alarm UNIQUE index is the net)."""
    _advisory_xact_lock(session, _PG_ALARM_LOCK_CLASS, "alarm")


def share_cdr_ids(session: Session) -> None:
    """A CDR import, before its first row takes an id: held (shared: imports do not wait for
    each other) until it commits. On PostgreSQL two imports at once can commit out of the
    order of their ids; an alarm evaluation that saw the higher ids first would never see the
    lower ones (its watermark is the highest id seen). See :func:`cdr_ids_settled`."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    connection.execute(
        text(_PG_KEY.format(function="pg_advisory_xact_lock_shared")),
        {"lock_class": _PG_CDR_LOCK_CLASS, "table": "cdr"},
    )


def cdr_ids_settled(session: Session) -> bool:
    """Whether no CDR import is in flight, so every CDR id up to the highest is committed (and
    none can commit below it until this transaction ends: the lock is held until then). False
    at once, without waiting, while an import runs. Always True on SQLite (one writer)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return True
    return bool(
        connection.execute(
            text(_PG_KEY.format(function="pg_try_advisory_xact_lock")),
            {"lock_class": _PG_CDR_LOCK_CLASS, "table": "cdr"},
        ).scalar_one()
    )
