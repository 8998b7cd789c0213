"""Invoices: one per customer and closed daily, weekly (ISO) or monthly UTC period (records.py:
numbers, tax, reading; generation.py; status.py; grid.py: the grid's row source).

Periods are :mod:`carriertui.store.periods`' (the Summary's), so an invoice covers exactly the
Summary row it was generated from. Amounts come from the hourly roll-ups (``cdr_hourly``), as the
Summary's do, so an invoice's subtotal equals its Summary row's Customer Charge to the last of its
four decimal places.

Rules (issue 7, DOMAIN.md 6 and 8.3):

- Only closed periods: the period's end (exclusive) is at or before now. The current period is
  still growing, and the 24-hour view is a rolling window, not a billing period.
- Before reading the roll-ups, generation rolls up the hours marked by imports since the last
  roll-up, **in its own transaction** (not refusing until cron has run): an invoice then always
  reflects every CDR committed before it, and a generator never has to wait for the hourly cron.
  The incremental roll-up of one hour costs milliseconds.
- Lines: one per UTC day of the period (a day without calls is a zero line): attempts, connected,
  billed minutes (billed seconds / 60, half-up to 4 places; the exact seconds are kept too) and
  charge.
- Subtotal = the sum of the lines' charges (4 places, as stored). Tax = subtotal x the customer's
  tax percent / 100, rounded **half-up to 2 decimals** (cents; every currency is treated as having
  2 minor units). Total = subtotal + tax. Issue date = the UTC day of generation; due date = issue
  date + the customer's Invoice Due Days. Status starts Unpaid.
- Numbers (``INV-000001``) are sequential and gap-free across the account: the next is MAX + 1,
  read under :func:`carriertui.store.db.locks.lock_invoice_numbers` (PostgreSQL; SQLite's
  ``BEGIN IMMEDIATE`` already serialises writers), with UNIQUE indexes as the net. Nothing is
  reserved ahead, so a generation that rolls back burns no number.
- A period is invoiced at most once per customer: a period overlapping any invoice of the
  customer (of any kind: a monthly invoice over weekly ones would bill the same calls twice) is
  refused, naming the invoice. UNIQUE (customer, kind, start) is the database's net.

Lock order on PostgreSQL: the invoice lock, then ``cdr_dirty_hour`` (the roll-up), then the audit
chain's lock (last, taken by ``audit.record``).
"""

from __future__ import annotations

from carriertui.store.invoices.generation import (  # noqa: F401 (invoices.X for the callers)
    auto_generate,
    generate_invoices,
)
from carriertui.store.invoices.grid import (  # noqa: F401 (invoices.X for the callers)
    CUSTOMER_COLUMN,
    GRID_COLUMNS,
    grid_source,
)
from carriertui.store.invoices.records import (  # noqa: F401 (invoices.X for the callers)
    INVOICE_KINDS,
    NUMBER_DIGITS,
    NUMBER_PREFIX,
    TABLE,
    DuplicateInvoiceError,
    InvoiceLine,
    InvoiceRecord,
    PeriodOpenError,
    billed_minutes,
    format_number,
    get_invoice,
    invoice_kind,
    invoice_numbers,
    list_invoices,
    tax_amount,
)
from carriertui.store.invoices.status import (  # noqa: F401 (invoices.X for the callers)
    set_status,
    set_status_many,
)
