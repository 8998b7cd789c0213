"""``carriertui summary``: a customer's call summary, as the Summary tab shows it (table, JSON or
CSV, to standard output or a file)."""

from __future__ import annotations

import argparse
from typing import Any

from carriertui import charset
from carriertui.cli.common import (
    EXIT_OK,
    Commands,
    api_actor,
    customer_id,
    opened,
    parse_day,
    path_argument,
)
from carriertui.cli.output import (
    money,
    out,
    print_json,
    print_table,
    when,
    write_csv_file,
    write_csv_to_stdout,
    write_json_file,
)
from carriertui.text import sanitize

SUMMARY_FIELDS = (
    "period_start",
    "period",
    "partial",
    "attempts",
    "connected",
    "asr",
    "acd",
    "duration",
    "billed_duration",
    "charge",
    "cost",
    "profit",
    "profit_pct",
)
_SUMMARY_RATIOS = ("asr", "acd", "profit_pct")
_TABLE_HEADERS = (
    "Period",
    "Attempts",
    "Connected",
    "ASR %",
    "ACD s",
    "Duration s",
    "Billed s",
    "Charge",
    "Cost",
    "Profit",
    "Profit %",
)


def register(commands: Commands) -> None:
    sub = commands.add(
        "summary", "a customer's call summary (as the Summary tab shows)", cmd_summary
    )
    sub.add_argument("--customer", required=True, help="account code, exact name, or id")
    sub.add_argument("--view", required=True, choices=("24h", "daily", "weekly", "monthly"))
    sub.add_argument("--from", dest="date_from", metavar="DATE", help="first day (UTC)")
    sub.add_argument("--to", dest="date_to", metavar="DATE", help="last day, inclusive (UTC)")
    sub.add_argument("--format", choices=("table", "json", "csv"), default="table")
    sub.add_argument("-o", "--output", metavar="PATH", help="write to PATH, not stdout")


def _summary_json_row(row: Any) -> dict[str, Any]:
    values = row.values()
    for key in _SUMMARY_RATIOS:  # numbers, not strings: they are not money
        if values[key] is not None:
            values[key] = float(values[key])
    return values


def cmd_summary(args: argparse.Namespace) -> int:
    from carriertui.store import summary

    first = parse_day(args.date_from, "--from") if args.date_from else None
    last = parse_day(args.date_to, "--to") if args.date_to else None
    with opened(args) as db:
        actor = api_actor()
        result = summary.customer_summary(
            db, actor, customer_id(db, args.customer), args.view, first=first, last=last
        )
    if args.format == "json":
        return _json(args, result)
    if args.format == "csv":
        return _csv(args, result)
    rolled = when(result.rolled_up_at, "never")
    out(
        f"{sanitize(result.customer_name)} ({sanitize(result.customer_code or '')}), "
        f"{result.view.value}, {result.currency}; rolled up {rolled} UTC; * = partial period"
    )
    dash = charset.glyph("none")

    def shown(value: Any, suffix: str = "") -> str:
        return dash if value is None else f"{value}{suffix}"

    print_table(
        _TABLE_HEADERS,
        [
            (
                row.label + (" *" if row.partial else ""),
                row.attempts,
                row.connected,
                shown(row.asr),
                shown(row.acd),
                row.duration,
                row.billed_duration,
                money(row.charge),
                money(row.cost),
                money(row.profit),
                shown(row.profit_pct),
            )
            for row in result.rows
        ],
        right=tuple(range(1, 11)),
    )
    return EXIT_OK


def _json(args: argparse.Namespace, result: Any) -> int:
    document = {
        "customer": result.customer_code,
        "customer_name": result.customer_name,
        "currency": result.currency,
        "view": result.view.value,
        "rolled_up_at": result.rolled_up_at,
        "generated_at": result.generated_at,
        "rows": [_summary_json_row(row) for row in result.rows],
    }
    if args.output in (None, "-"):
        print_json(document)
        return EXIT_OK
    path = path_argument(args.output)
    write_json_file(path, document)
    out(f"wrote {len(result.rows)} {result.view.value} rows to {sanitize(path)}")
    return EXIT_OK


def _csv(args: argparse.Namespace, result: Any) -> int:
    from carriertui.grid.model import Column, ColumnType

    types = {"period_start": ColumnType.TIMESTAMP, "period": ColumnType.TEXT}
    columns = [Column(key, key, types.get(key, ColumnType.DECIMAL)) for key in SUMMARY_FIELDS]
    batches = [[(row.period_start, tuple(row.values().values())) for row in result.rows]]
    if args.output in (None, "-"):
        write_csv_to_stdout(columns, batches)
        return EXIT_OK
    path = path_argument(args.output)
    count = write_csv_file(path, columns, batches)
    out(f"wrote {count} {result.view.value} rows to {sanitize(path)}")
    return EXIT_OK
