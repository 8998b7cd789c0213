"""``carriertui cdr import --format ...`` (switch CDR files) and the spool: ``cdr watch DIR``
and ``cdr ingest DIR``. Registered by :mod:`carriertui.cli.cdr`, which owns the ``cdr`` group.

The options fall back on the config's ``[feeds]`` section (``tz``, ``utc``, ``template``,
``freeswitch_config``, ``direction``, ``ambiguous``, ``format``), so a cron line or a watcher
needs only the directory.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from carriertui.cli.alarms import evaluate_after_import
from carriertui.cli.common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, CommandError, api_actor, opened
from carriertui.cli.common import path_argument as _path
from carriertui.cli.output import ProgressBar, out, print_import_report, refused_import
from carriertui.text import sanitize

FORMAT_CHOICES = (
    "auto",
    "native",
    "connexcs",
    "freeswitch-csv",
    "freeswitch-json",
    "asterisk",
    "acc",
)


def add_format_options(sub: argparse.ArgumentParser) -> None:
    """The options that say how to read a switch's file (import, watch and ingest alike)."""
    sub.add_argument(
        "--format",
        choices=FORMAT_CHOICES,
        default=None,
        help="the file's format (default: [feeds] format, else auto: detected and said)",
    )
    sub.add_argument(
        "--tz",
        metavar="ZONE",
        help="the switch's time zone for local times (IANA, e.g. Europe/Berlin; [feeds] tz)",
    )
    sub.add_argument(
        "--utc",
        action="store_true",
        default=None,
        help="the switch writes UTC (Asterisk usegmtime=yes, acc time_mode 4)",
    )
    sub.add_argument(
        "--ambiguous",
        choices=("reject", "earlier", "later"),
        help="a local time the DST change makes happen twice: reject the row (default), "
        "or take the earlier or later",
    )
    sub.add_argument(
        "--template",
        metavar="NAME|VARS",
        help="FreeSWITCH CSV columns: example (default), default, asterisk18, a template name "
        "in --freeswitch-config, or variables: uuid,accountcode,start_epoch,...",
    )
    sub.add_argument(
        "--freeswitch-config",
        metavar="XML",
        help="the switch's cdr_csv.conf.xml: its default-template (or --template NAME) is used",
    )
    sub.add_argument(
        "--customer",
        metavar="CODE",
        help="every row is this customer's (a ConnexCS portal download has no customer column)",
    )
    sub.add_argument(
        "--direction",
        choices=("inbound", "outbound"),
        help="the calls' direction where the file does not say (default outbound)",
    )


def feed_settings(args: argparse.Namespace) -> tuple[str, Any]:
    """(format, FeedOptions) from the options, then the config's [feeds], then defaults."""
    from carriertui import locations
    from carriertui.feeds.common import FeedError, FeedOptions
    from carriertui.feeds.freeswitch_csv import BUILT_IN, parse_columns, template_from_config

    try:
        config = locations.load_config().get("feeds", {})
    except locations.ConfigError as error:
        raise CommandError(str(error), EXIT_USAGE) from error

    def setting(name: str, key: str | None = None) -> Any:
        value = getattr(args, name, None)
        return value if value is not None else config.get(key or name)

    fmt = setting("format") or "auto"
    if fmt not in FORMAT_CHOICES:
        raise CommandError(f"[feeds] format {fmt!r} is not one of {', '.join(FORMAT_CHOICES)}")
    utc = setting("utc")
    utc = utc is True or str(utc).lower() in ("1", "true", "yes")
    try:
        options = FeedOptions(
            zone=setting("tz"),
            utc=utc,
            ambiguous=setting("ambiguous") or "reject",
            direction=setting("direction") or "outbound",
            customer=getattr(args, "customer", None),
        )
        if options.zone is not None:
            from carriertui.feeds.common import zone_named

            zone_named(options.zone)
        template = setting("template")
        xml = setting("freeswitch_config")
        if xml:
            options.template = template_from_config(
                _path(str(xml)), template if template and template not in BUILT_IN else None
            )
        elif template:
            options.template = parse_columns(str(template))
    except FeedError as error:
        raise CommandError(str(error), EXIT_USAGE) from error
    if options.ambiguous not in ("reject", "earlier", "later"):
        raise CommandError("[feeds] ambiguous must be reject, earlier or later", EXIT_USAGE)
    return fmt, options


def cmd_feed_import(args: argparse.Namespace) -> int:
    """``cdr import FILE`` in any format (native goes to the native importer unchanged)."""
    from carriertui.store import feeds as store_feeds

    if args.rejects and not args.skip_bad:
        raise CommandError("--rejects needs --skip-bad", EXIT_USAGE)
    fmt, options = feed_settings(args)
    path = _path(args.file)
    bar = ProgressBar(f"importing {sanitize(path.name)}")

    def said(chosen: str, why: str) -> None:
        if fmt == "auto" and chosen != "native":
            print(f"format: {chosen} ({sanitize(why)})", file=sys.stderr)

    with opened(args) as db:
        with refused_import(bar):
            result = store_feeds.import_feed(
                db,
                api_actor(),
                path,
                fmt,
                options,
                skip_bad=args.skip_bad,
                rejects_path=_path(args.rejects) if args.rejects else None,
                on_progress=bar.update,
                on_format=said,
                tech_prefix=getattr(args, "tech_prefix", "") or "",
            )
        print_import_report(result.report, result.tally.text())  # what came in, then alarms
        evaluate_after_import(db)  # the rules whose window received these CDRs (issue 17)
    return EXIT_OK


# -- the spool ----------------------------------------------------------------------------------


def register_spool(cdr_group: Any) -> None:
    sub = cdr_group.add(
        "watch",
        "import each CDR file that lands in DIR, once, then move it to DIR/done/ "
        "(or DIR/rejected/ with its reject file); runs until stopped",
        cmd_watch,
    )
    sub.add_argument("directory", metavar="DIR", help="the spool directory the switch rotates into")
    sub.add_argument(
        "--interval",
        type=float,
        default=0.5,
        metavar="S",
        help="seconds between looks at DIR (default 0.5)",
    )
    add_format_options(sub)
    sub = cdr_group.add(
        "ingest",
        "one pass of 'cdr watch' (for cron): import the complete files in DIR and move them",
        cmd_ingest,
    )
    sub.add_argument("directory", metavar="DIR", help="the spool directory")
    add_format_options(sub)


def _spool_print(line: str) -> None:
    out(sanitize(line))
    sys.stdout.flush()


def cmd_ingest(args: argparse.Namespace) -> int:
    from carriertui.store import spool

    fmt, options = feed_settings(args)
    with opened(args) as db:
        try:
            outcomes = spool.ingest_once(
                db,
                api_actor(),
                _path(args.directory),
                fmt,
                options,
                report=_spool_print,
                on_imported=lambda: evaluate_after_import(db),
            )
        except spool.SpoolError as error:
            raise CommandError(str(error)) from error
    failed = [o for o in outcomes if o.retry]
    return EXIT_ERROR if failed else EXIT_OK


def cmd_watch(args: argparse.Namespace) -> int:
    from carriertui.store import spool

    if args.interval <= 0:
        raise CommandError("--interval must be more than 0", EXIT_USAGE)
    fmt, options = feed_settings(args)
    stopping = _StopOnSignal()
    with opened(args) as db, stopping:
        try:
            spool.watch(
                db,
                api_actor(),
                _path(args.directory),
                fmt,
                options,
                interval=args.interval,
                report=_spool_print,
                stop=stopping.asked,
                on_imported=lambda: evaluate_after_import(db),
            )
        except spool.SpoolError as error:
            raise CommandError(str(error)) from error
        except KeyboardInterrupt:
            pass
    _spool_print("stopped")
    return EXIT_OK


class _StopOnSignal:
    """SIGINT or SIGTERM ask `cdr watch` to stop once the file (and the alarms' evaluation) in
    hand is done, between two looks: an interrupt never lands in the middle of a transaction.
    A second signal stops at once (KeyboardInterrupt; the import rolls back, as after kill -9)."""

    def __init__(self) -> None:
        self._asked = False
        self._previous: dict[int, Any] = {}

    def asked(self) -> bool:
        return self._asked

    def _handle(self, signum: int, frame: object) -> None:
        if self._asked:
            raise KeyboardInterrupt
        self._asked = True

    def __enter__(self) -> _StopOnSignal:
        import signal

        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        import signal

        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


# -- carriertui feeds ... -----------------------------------------------------------------------


def register(commands: Any) -> None:
    """``carriertui feeds status DIR`` (``cdr import --format``, ``cdr watch`` and ``cdr ingest``
    are registered by cli/cdr.py, in the ``cdr`` group)."""
    group = commands.group("feeds", "switch CDR feeds: the spool's status, customers' match rules")
    sub = group.add(
        "status",
        "what the spool in DIR has done: files ingested, rows, rejects, the last error",
        cmd_feeds_status,
    )
    sub.add_argument("directory", metavar="DIR", help="the spool directory")
    sub.add_argument("--format", choices=("table", "json"), default="table")
    match = group.group("match", "customers' match rules: how a switch's CDR names its customer")
    sub = match.add(
        "add",
        "a rule naming the customer: another account code, a source IP or CIDR, a tech "
        "prefix (taken off the number), a SIP user",
        cmd_match_add,
    )
    sub.add_argument("--customer", required=True, help="account code, exact name, or id")
    sub.add_argument(
        "--kind", required=True, choices=("account_code", "source_ip", "tech_prefix", "sip_user")
    )
    sub.add_argument("value", metavar="VALUE", help="e.g. 203.0.113.0/24, 4477#, alice")
    sub = match.add("list", "the match rules (of one customer with --customer)", cmd_match_list)
    sub.add_argument("--customer", help="account code, exact name, or id")
    sub.add_argument("--format", choices=("table", "json"), default="table")
    sub = match.add("remove", "remove match rule ID (see 'feeds match list')", cmd_match_remove)
    sub.add_argument("rule", type=int, metavar="ID")


def _store_error(error: Exception) -> CommandError:
    return CommandError(str(error), EXIT_USAGE)


def cmd_match_add(args: argparse.Namespace) -> int:
    from carriertui.cli.common import customer_id
    from carriertui.store import match_rules
    from carriertui.store.errors import NotFoundError, ValidationError

    with opened(args) as db:
        try:
            rule = match_rules.add_rule(
                db, api_actor(), customer_id(db, args.customer), args.kind, args.value
            )
        except (ValidationError, NotFoundError) as error:
            raise _store_error(error) from error
    out(sanitize(f"added {rule}"))
    return EXIT_OK


def cmd_match_list(args: argparse.Namespace) -> int:
    from carriertui.cli.common import customer_id
    from carriertui.cli.output import print_json, print_table
    from carriertui.store import match_rules

    with opened(args) as db:
        customer = customer_id(db, args.customer) if args.customer else None
        rules = match_rules.list_rules(db, api_actor(), customer)
    if args.format == "json":
        print_json(
            [{"id": r.id, "customer": r.customer, "kind": r.kind, "value": r.value} for r in rules]
        )
        return EXIT_OK
    print_table(
        ["id", "customer", "kind", "value"],
        [[r.id, r.customer, r.kind, r.value] for r in rules],
        right=(0,),
    )
    return EXIT_OK


def cmd_match_remove(args: argparse.Namespace) -> int:
    from carriertui.store import match_rules
    from carriertui.store.errors import NotFoundError

    with opened(args) as db:
        try:
            rule = match_rules.remove_rule(db, api_actor(), args.rule)
        except NotFoundError as error:
            raise _store_error(error) from error
    out(sanitize(f"removed {rule}"))
    return EXIT_OK


def cmd_feeds_status(args: argparse.Namespace) -> int:
    from carriertui.cli.output import print_json, print_table
    from carriertui.store import spool

    directory = _path(args.directory)
    if not directory.is_dir():
        raise CommandError(f"{directory} is not a directory")
    status = spool.status(directory)
    waiting = spool.waiting(directory)
    status["waiting"] = waiting
    if args.format == "json":
        print_json(status)
        return EXIT_OK
    print_table(
        ["files", "rows", "imported", "rejects", "waiting", "last file", "last error", "updated"],
        [
            [
                status["files"],
                status["rows"],
                status["imported"],
                status["rejects"],
                waiting,
                status["last_file"],
                status["last_error"],
                status["updated_at"],
            ]
        ],
        right=(0, 1, 2, 3, 4),
    )
    return EXIT_OK
