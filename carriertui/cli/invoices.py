"""``carriertui invoices ...``: generate (one period, or every closed one), list, show and mark
invoices paid."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from carriertui.cli.common import (
    EXIT_OK,
    Commands,
    api_actor,
    customer_id,
    format_option,
    opened,
    parse_day,
    period_options,
)
from carriertui.cli.output import iso_utc, money, out, print_json, print_table, write_csv_to_stdout
from carriertui.text import sanitize

INVOICE_CSV_FIELDS = (
    "number",
    "customer",
    "customer_name",
    "period_kind",
    "period",
    "period_start",
    "period_end",
    "issue_date",
    "due_date",
    "currency",
    "subtotal",
    "tax_percent",
    "tax",
    "total",
    "status",
    "created_by",
    "created_at",
)


def register(commands: Commands) -> None:
    invoice_group = commands.group("invoices", "generate, list, show and mark invoices paid")
    sub = invoice_group.add(
        "auto",
        "create the missing invoices of every closed period for customers with an invoice "
        "schedule (for cron)",
        cmd_invoices_auto,
    )
    sub.add_argument("--customer", help="only this customer: account code, exact name, or id")
    sub = invoice_group.add(
        "generate",
        "invoice one closed period: the day, ISO week or month containing DATE (UTC)",
        cmd_invoices_generate,
    )
    period_options(sub)
    sub.add_argument("--comment", help="a reason, written into the audit log")
    sub = invoice_group.add("list", "list invoices, oldest number first", cmd_invoices_list)
    sub.add_argument("--customer", help="only this customer's: account code, exact name, or id")
    sub.add_argument("--since", metavar="DATE", help="only invoices issued on or after DATE")
    sub.add_argument("--format", choices=("table", "json", "csv"), default="table")
    sub = invoice_group.add("show", "one invoice with its daily lines", cmd_invoices_show)
    sub.add_argument("number", help="the invoice number, e.g. INV-000001")
    format_option(sub)
    sub = invoice_group.add("mark-paid", "mark an invoice Paid", cmd_invoices_mark_paid)
    sub.add_argument("number", help="the invoice number, e.g. INV-000001")
    sub.add_argument("--comment", help="a reason, written into the audit log")


def _invoice_json(record: Any, *, lines: bool = True) -> dict[str, Any]:
    """An invoice for a billing system: money as decimal strings, times in UTC."""
    data: dict[str, Any] = {
        "number": record.number,
        "customer": record.customer_code,
        "customer_name": record.customer_name,
        "customer_id": record.customer_id,
        "period_kind": record.period_kind,
        "period": record.period_label,
        "period_start": record.period_start,
        "period_end": record.period_end,
        "issue_date": record.issue_date,
        "due_date": record.due_date,
        "currency": record.currency,
        "subtotal": record.subtotal,
        "tax_percent": record.tax_percent,
        "tax": record.tax,
        "total": record.total,
        "status": record.status,
        "created_by": record.created_by,
        "created_at": record.created_at,
    }
    if lines:
        data["lines"] = [
            {
                "day": line.day,
                "attempts": line.attempts,
                "connected": line.connected,
                "billed_minutes": line.billed_minutes,
                "billed_duration": line.billed_duration,
                "charge": line.charge,
            }
            for line in record.lines
        ]
    return data


def _print_invoice_table(records: Sequence[Any]) -> None:
    print_table(
        ("Number", "Customer", "Period", "Kind", "Issued", "Due", "Total", "Cur", "Status"),
        [
            (
                record.number,
                record.customer_code or record.customer_name,
                record.period_label,
                record.period_kind,
                record.issue_date.isoformat(),
                record.due_date.isoformat(),
                money(record.total),
                record.currency,
                record.status.value,
            )
            for record in records
        ],
        right=(6,),
    )


def cmd_invoices_auto(args: argparse.Namespace) -> int:
    from carriertui.store import invoices

    with opened(args) as db:
        customer = customer_id(db, args.customer) if args.customer else None
        created = invoices.auto_generate(db, api_actor(), customer_id=customer)
    if not created:
        out("no invoices generated: every closed period is invoiced")
        return EXIT_OK
    out(f"generated {len(created)} invoice{'s' if len(created) != 1 else ''}")
    _print_invoice_table(created)
    return EXIT_OK


def cmd_invoices_generate(args: argparse.Namespace) -> int:
    from carriertui.store import invoices
    from carriertui.store.periods import period_start

    day = parse_day(args.date, "--date")
    kind = invoices.invoice_kind(args.period)
    with opened(args) as db:
        customer = customer_id(db, args.customer)
        created = invoices.generate_invoices(
            db, api_actor(), customer, kind, [period_start(kind, day)], comment=args.comment
        )
    out(f"generated {created[0].number}")
    _print_invoice_table(created)
    return EXIT_OK


def cmd_invoices_list(args: argparse.Namespace) -> int:
    from carriertui.grid.model import Column, ColumnType
    from carriertui.store import invoices

    since = parse_day(args.since, "--since") if args.since else None
    with opened(args) as db:
        customer = customer_id(db, args.customer) if args.customer else None
        records = invoices.list_invoices(db, api_actor(), customer_id=customer, since=since)
    if args.format == "json":
        print_json([_invoice_json(record) for record in records])
    elif args.format == "csv":
        types = {
            "period_start": ColumnType.TIMESTAMP,
            "period_end": ColumnType.TIMESTAMP,
            "created_at": ColumnType.TIMESTAMP,
        }
        columns = [Column(key, key, types.get(key, ColumnType.TEXT)) for key in INVOICE_CSV_FIELDS]
        rows = []
        for record in records:
            data = _invoice_json(record, lines=False)
            data["status"] = record.status.value
            rows.append((record.id, tuple(data[key] for key in INVOICE_CSV_FIELDS)))
        write_csv_to_stdout(columns, [rows])
    else:
        _print_invoice_table(records)
    return EXIT_OK


def cmd_invoices_show(args: argparse.Namespace) -> int:
    from carriertui.store import invoices

    with opened(args) as db:
        record = invoices.get_invoice(db, api_actor(), args.number)
    if args.format == "json":
        print_json(_invoice_json(record))
        return EXIT_OK
    customer = record.customer_name + (f" ({record.customer_code})" if record.customer_code else "")
    details = (
        ("Invoice", record.number),
        ("Customer", customer),
        ("Period", f"{record.period_kind} {record.period_label}"),
        ("From (UTC)", iso_utc(record.period_start)),
        ("To (UTC)", iso_utc(record.period_end)),
        ("Issued", record.issue_date.isoformat()),
        ("Due", record.due_date.isoformat()),
        ("Status", record.status.value),
        ("Created by", record.created_by),
    )
    for label, value in details:
        out(f"{label + ':':<12} {sanitize(value)}")
    out()
    print_table(
        ("Day", "Attempts", "Connected", "Billed min", "Charge"),
        [
            (
                line.day.isoformat(),
                line.attempts,
                line.connected,
                f"{line.billed_minutes:f}",
                money(line.charge),
            )
            for line in record.lines
        ],
        right=(1, 2, 3, 4),
    )
    out()
    out(f"{'Subtotal:':<12} {money(record.subtotal)} {record.currency}")
    out(f"{'Tax:':<12} {money(record.tax)} {record.currency} ({money(record.tax_percent)} %)")
    out(f"{'Total:':<12} {money(record.total)} {record.currency}")
    return EXIT_OK


def cmd_invoices_mark_paid(args: argparse.Namespace) -> int:
    from carriertui.store import invoices
    from carriertui.store.enums import InvoiceStatus

    with opened(args) as db:
        actor = api_actor()
        record = invoices.get_invoice(db, actor, args.number)
        if record.status is InvoiceStatus.PAID:
            out(f"{record.number} is paid already")
            return EXIT_OK
        invoices.set_status(db, actor, record.id, InvoiceStatus.PAID, comment=args.comment)
    out(f"{record.number} marked Paid")
    return EXIT_OK
