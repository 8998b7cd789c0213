"""Transaction-level locks that serialise one kind of change across processes.

On SQLite every write transaction starts with ``BEGIN IMMEDIATE``, which already serialises all
writers, so these are no-ops there. On PostgreSQL they take an advisory lock held until the
transaction commits or rolls back.

Lock order: a service takes these first, before anything else it locks. The audit chain's lock
(:mod:`carriertui.store.chain`) is always taken last, by ``audit.record``; taking these after it
could deadlock with a service that holds one of these and waits for the chain.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

_PG_LOCK_CLASS = 0x6E756D62  # "numb": the first key; the number_block table's OID is the second


def lock_number_plan(session: Session) -> None:
    """Serialise everything that assigns, releases or consumes numbers: block allocation and
    release, extension creation and deletion, and changes to Number Range Start / Block Size.

    Keyed by the table's OID, so databases in different schemas (tests) do not wait for each
    other.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    connection.execute(
        text(
            "SELECT pg_advisory_xact_lock(:lock_class, "
            "(('number_block'::regclass)::oid::bigint - 2147483648)::integer)"
        ),
        {"lock_class": _PG_LOCK_CLASS},
    )


_PG_INVOICE_LOCK_CLASS = 0x696E7663  # "invc": the first key; the invoice table's OID the second


def lock_invoice_numbers(session: Session) -> None:
    """Serialise invoice generation: the next number is read (MAX + 1) and the period checked
    for an invoice under this lock, so two generators can neither share a number, skip one, nor
    invoice one period twice. Held until the transaction ends: a rolled-back generation leaves
    no invoice behind, so it burns no number.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    connection.execute(
        text(
            "SELECT pg_advisory_xact_lock(:lock_class, "
            "(('invoice'::regclass)::oid::bigint - 2147483648)::integer)"
        ),
        {"lock_class": _PG_INVOICE_LOCK_CLASS},
    )
