"""``carriertui audit ...``: export the audit log (CSV or JSON) and verify its HMAC chain."""

from __future__ import annotations

import argparse
import sys

from carriertui.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    Commands,
    api_actor,
    opened,
    parse_moment,
)
from carriertui.cli.output import out, warn, write_csv_to_stdout
from carriertui.text import sanitize


def register(commands: Commands) -> None:
    audit_log = commands.group("audit", "export and verify the audit log")
    sub = audit_log.add(
        "export", "export audit entries, oldest first, as CSV or JSON", cmd_audit_export
    )
    sub.add_argument(
        "--customer", metavar="CUSTOMER", help="only this customer's entries: code, name or id"
    )
    sub.add_argument(
        "--since", metavar="T", help="entries at or after T: ISO date or date-time, UTC"
    )
    sub.add_argument(
        "--until", metavar="T", help="entries up to T, inclusive (a date: its whole day), UTC"
    )
    sub.add_argument("--format", choices=("csv", "json"), default="csv", help="output format")
    sub.add_argument(
        "-o", "--output", metavar="PATH", help="write to PATH instead of standard output"
    )
    audit_log.add(
        "verify",
        "check the audit log's HMAC chain and head; exit 1 naming the first entry that fails",
        cmd_audit_verify,
    )


def cmd_audit_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from carriertui.grid.export import ExportError, write_csv
    from carriertui.store import audit, customers

    since = parse_moment(args.since) if args.since else None
    until = parse_moment(args.until, end_of_day=True) if args.until else None
    if since is not None and until is not None and since > until:
        raise CommandError("--since is after --until: nothing could match", EXIT_USAGE)
    with opened(args) as db:
        actor = api_actor()
        customer_id = None
        if args.customer is not None:
            customer_id = customers.find_customer(db, actor, args.customer).id
        batches = audit.export_batches(db, actor, customer_id=customer_id, since=since, until=until)
        to_stdout = args.output in (None, "-")
        try:
            if to_stdout and args.format == "json":
                audit.write_json(sys.stdout, batches)
                sys.stdout.flush()
            elif to_stdout:
                write_csv_to_stdout(audit.EXPORT_COLUMNS, audit.csv_rows(batches))
            else:
                path = Path(args.output).expanduser()
                if args.format == "json":
                    count = audit.export_json(path, batches)
                else:
                    count = write_csv(path, audit.EXPORT_COLUMNS, audit.csv_rows(batches))
                out(f"exported {count} audit entries to {sanitize(path)}")
        except ExportError as error:
            raise CommandError(str(error)) from error
    return EXIT_OK


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from carriertui.store import audit

    with opened(args) as db:
        result = audit.verify(db, api_actor())
    for warning in result.warnings:
        warn(f"warning: {warning}")
    out(sanitize(result.message))
    return EXIT_OK if result.ok else EXIT_ERROR
