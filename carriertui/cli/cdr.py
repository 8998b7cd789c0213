"""``carriertui cdr ...`` (import CDRs from CSV, export a CDR report, re-rate a period) and
``carriertui rollup`` (the hourly roll-ups the summaries read)."""

from __future__ import annotations

import argparse
import sys

from carriertui.cli import feeds
from carriertui.cli.alarms import evaluate_after_import
from carriertui.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    Commands,
    api_actor,
    customer_id,
    opened,
    parse_day,
    path_argument,
    period_options,
)
from carriertui.cli.output import (
    ProgressBar,
    iso_utc,
    out,
    print_import_report,
    print_table,
    refused_import,
    write_csv_to_stdout,
)
from carriertui.text import sanitize


def register(commands: Commands) -> None:
    cdr_group = commands.group("cdr", "import CDRs from CSV; export a CDR report; re-rate")
    sub = cdr_group.add(
        "import",
        "import CDRs from a CSV file (all or nothing unless --skip-bad; rows without charge and "
        "cost are rated with the customer's rate cards); see README for columns",
        cmd_cdr_import,
    )
    sub.add_argument(
        "file",
        metavar="FILE",
        help="carriertui's CSV (a header row of CDR columns) or a switch's CDR file (--format)",
    )
    feeds.add_format_options(sub)
    sub.add_argument(
        "--skip-bad",
        action="store_true",
        help="import the good rows; write the bad ones to a reject file",
    )
    sub.add_argument(
        "--rejects",
        metavar="PATH",
        help="the reject file (with --skip-bad; default FILE.rejects.csv next to FILE)",
    )
    sub.add_argument(
        "--tech-prefix",
        metavar="DIGITS",
        default="",
        help="taken off dialled numbers that start with it before rating rows without money",
    )
    feeds.register_spool(cdr_group)
    sub = cdr_group.add(
        "export",
        "one customer's CDRs of the day, ISO week or month containing DATE, as CSV (UTC)",
        cmd_cdr_export,
    )
    period_options(sub)
    sub.add_argument(
        "-o", "--output", metavar="PATH", help="write to PATH (a file or a folder), not stdout"
    )
    sub = cdr_group.add(
        "rerate",
        "re-rate one customer's CDRs of the UTC days FROM to TO (inclusive) with the current "
        "rate cards; refused if any of it is invoiced",
        cmd_cdr_rerate,
    )
    sub.add_argument("--customer", required=True, help="account code, exact name, or id")
    sub.add_argument("--from", dest="first", required=True, metavar="DATE", help="first day (UTC)")
    sub.add_argument("--to", dest="last", required=True, metavar="DATE", help="last day (UTC)")
    sub.add_argument(
        "--tech-prefix",
        metavar="DIGITS",
        default="",
        help="taken off dialled numbers that start with it before rating",
    )
    sub = commands.add(
        "rollup",
        "update the hourly roll-ups from CDRs imported since the last run (for cron, hourly)",
        cmd_rollup,
    )
    sub.add_argument("--rebuild", action="store_true", help="recompute every hour from all CDRs")
    _register_prune(cdr_group)


def cmd_cdr_import(args: argparse.Namespace) -> int:
    from carriertui.store.cdrs import importer as cdrs

    if args.format != "native":
        return feeds.cmd_feed_import(args)  # switch formats, auto detection

    if args.rejects and not args.skip_bad:
        raise CommandError("--rejects needs --skip-bad", EXIT_USAGE)
    path = path_argument(args.file)
    bar = ProgressBar(f"importing {sanitize(path.name)}")
    with opened(args) as db:
        with refused_import(bar):
            report = cdrs.import_cdr_file(
                db,
                api_actor(),
                path,
                skip_bad=args.skip_bad,
                rejects_path=path_argument(args.rejects) if args.rejects else None,
                on_progress=bar.update,
                tech_prefix=args.tech_prefix,
            )
        print_import_report(report)  # what came in, then what it raised
        evaluate_after_import(db)  # the rules whose window received these CDRs (issue 17)
    return EXIT_OK


def cmd_cdr_export(args: argparse.Namespace) -> int:
    from carriertui.grid.export import ExportError
    from carriertui.store.cdrs import importer as cdrs

    day = parse_day(args.date, "--date")
    with opened(args) as db:
        actor = api_actor()
        customer = customer_id(db, args.customer)
        try:
            if args.output in (None, "-"):
                _report, batches = cdrs.report_batches(db, actor, customer, args.period, day)
                write_csv_to_stdout(cdrs.REPORT_COLUMNS, batches)
                return EXIT_OK
            bar = ProgressBar("exporting CDRs")
            try:
                report = cdrs.export_cdr_report(
                    db,
                    actor,
                    customer,
                    args.period,
                    day,
                    path_argument(args.output),
                    on_progress=lambda rows: bar.update(rows, 0, 0),
                )
            finally:
                bar.close()
        except ExportError as error:
            raise CommandError(str(error)) from error
    out(
        f"exported {report.rows} CDRs of {sanitize(report.customer_code)} "
        f"({report.kind.value}, {iso_utc(report.start)} to {iso_utc(report.end)}) "
        f"to {sanitize(report.path)}"
    )
    return EXIT_OK


def cmd_cdr_rerate(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, time, timedelta

    from carriertui.store.cdrs import rerate

    first = parse_day(args.first, "--from")
    last = parse_day(args.last, "--to")
    if last < first:
        raise CommandError(f"--to {last} is before --from {first}", EXIT_USAGE)
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    with opened(args) as db:
        try:
            report = rerate.rerate_period(
                db,
                api_actor(),
                customer_id(db, args.customer),
                start,
                end,
                tech_prefix=args.tech_prefix,
            )
        except rerate.RerateError as error:
            for call_id, reason in error.problems:
                print(f"call {sanitize(call_id)}: {sanitize(reason)}", file=sys.stderr)
            raise CommandError(str(error)) from error
    out(
        f"re-rated {report.before.calls:,} CDRs of {sanitize(report.customer_code)} from "
        f"{first} to {last} (UTC) with the current rate cards: {report.changed:,} changed"
    )
    print_table(
        ("", "calls", "billed s", f"charge {report.currency}", f"cost {report.currency}"),
        [
            (name, f"{totals.calls:,}", f"{totals.billed_seconds:,}", totals.charge, totals.cost)
            for name, totals in (("before", report.before), ("after", report.after))
        ],
        right=(1, 2, 3, 4),
    )
    out(f"roll-ups: {report.hours} customer-hours recomputed in {report.elapsed_s:.2f} s")
    return EXIT_OK


def cmd_rollup(args: argparse.Namespace) -> int:
    from carriertui.store import rollups

    with opened(args) as db:
        run = rollups.rollup_rebuild if args.rebuild else rollups.rollup_incremental
        report = run(db)
    out(f"roll-up {report}")
    return EXIT_OK


# -- cdr prune ----------------------------------------------------------------------------------


def _register_prune(cdr_group: Commands) -> None:
    sub = cdr_group.add(
        "prune",
        "remove raw CDRs older than DATE (default: [cdr] keep_months); roll-ups, invoices and "
        "the audit log stay",
        cmd_cdr_prune,
    )
    sub.add_argument(
        "--before",
        metavar="DATE",
        help="remove CDRs that started before DATE 00:00 UTC (YYYY-MM-DD); default: the first "
        "of the month [cdr] keep_months months back",
    )
    sub.add_argument(
        "--force",
        action="store_true",
        help="prune even where a customer with an invoice schedule is not invoiced yet",
    )


def cmd_cdr_prune(args: argparse.Namespace) -> int:
    from carriertui import locations
    from carriertui.store.cdrs import prune

    if args.before:
        before = parse_day(args.before, "--before")
    else:
        before = prune.default_before(locations.cdr_keep_months())
    with opened(args) as db:
        try:
            report = prune.prune_cdrs(db, api_actor(), before, force=args.force)
        except prune.UninvoicedError as error:
            raise CommandError(error.message, EXIT_USAGE) from error
    if report.forced:
        for name, day in report.uninvoiced:
            print(f"forced: {sanitize(name)} not invoiced from {day.isoformat()}", file=sys.stderr)
    out(sanitize(str(report)))
    return EXIT_OK
