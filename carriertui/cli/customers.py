"""``carriertui customers ...``: list, show and create customers."""

from __future__ import annotations

import argparse

from carriertui.cli.common import EXIT_OK, Commands, api_actor, format_option, opened
from carriertui.cli.output import field_text, money, out, print_json, print_table
from carriertui.text import sanitize

CUSTOMER_COLUMNS = (
    "Name",
    "Code",
    "Status",
    "Currency",
    "Balance",
    "Debit limit",
    "Channels",
    "Schedule",
)

# CLI option dest -> customer field
CUSTOMER_OPTIONS = {
    "name": "name",
    "code": "account_code",
    "currency": "currency",
    "status": "status",
    "tax": "tax_percent",
    "balance": "balance",
    "debit_limit": "debit_limit",
    "channels": "channels",
    "invoice_schedule": "invoice_schedule",
    "invoice_due_days": "invoice_due_days",
}


def register(commands: Commands) -> None:
    customers = commands.group("customers", "list, show and create customers")
    sub = customers.add("list", "list customers by name", cmd_customers_list)
    sub.add_argument("--search", metavar="TEXT", help="match name, account code or status")
    format_option(sub)
    sub = customers.add("show", "show one customer's details", cmd_customers_show)
    sub.add_argument("customer", help="account code, exact name, or id")
    format_option(sub)
    sub = customers.add("add", "create a customer", cmd_customers_add)
    sub.add_argument("--name", required=True, help="company name (unique)")
    sub.add_argument("--code", help="account code (unique): letters, digits and . _ -")
    sub.add_argument("--currency", help="ISO 4217 code, fixed once created (default USD)")
    sub.add_argument("--status", help="Active (default), Inactive, Penalty or 'Pending Approval'")
    sub.add_argument("--tax", metavar="PERCENT", help="tax percent, 0-100")
    sub.add_argument("--balance", metavar="AMOUNT", help="opening balance (may be negative)")
    sub.add_argument("--debit-limit", metavar="AMOUNT", help="how far below zero it may go")
    sub.add_argument("--channels", metavar="N", help="concurrent call limit")
    sub.add_argument("--invoice-schedule", help="none (default), daily, weekly or monthly")
    sub.add_argument("--invoice-due-days", metavar="DAYS", help="days until an invoice is due")


def cmd_customers_list(args: argparse.Namespace) -> int:
    from carriertui.store import customers

    with opened(args) as db:
        records = customers.list_customers(db, api_actor(), args.search)
    if args.format == "json":
        print_json([record.values() for record in records])
        return EXIT_OK
    print_table(
        CUSTOMER_COLUMNS,
        [
            (
                r.name,
                r.account_code or "",
                r.status.value,
                r.currency,
                money(r.balance),
                money(r.debit_limit),
                r.channels,
                r.invoice_schedule.value,
            )
            for r in records
        ],
        right=(4, 5, 6),
    )
    return EXIT_OK


def cmd_customers_show(args: argparse.Namespace) -> int:
    from carriertui.store import customers

    with opened(args) as db:
        record = customers.find_customer(db, api_actor(), args.customer)
    values = record.values()
    if args.format == "json":
        print_json(values)
        return EXIT_OK
    print_table(("Field", "Value"), [(field, field_text(value)) for field, value in values.items()])
    return EXIT_OK


def cmd_customers_add(args: argparse.Namespace) -> int:
    from carriertui.store import customers

    values = {
        field: getattr(args, dest)
        for dest, field in CUSTOMER_OPTIONS.items()
        if getattr(args, dest) is not None
    }
    with opened(args) as db:
        record = customers.create_customer(db, api_actor(), values)
    out(f"created customer {record.id}: {sanitize(record.name)}")
    return EXIT_OK
