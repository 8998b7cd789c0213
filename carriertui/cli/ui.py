"""The terminal UIs: ``carriertui`` alone (the operators' TUI), ``carriertui portal`` (the
customers' portal) and ``carriertui demo`` (the TUI on a demo database, built on first use).

Each refuses before Textual, the store or the database is imported when there is no terminal
(:mod:`carriertui.terminal`), and opens the log file itself once it knows it has one.
"""

from __future__ import annotations

import argparse
import sys

from carriertui import locations
from carriertui.cli.common import EXIT_OK, EXIT_USAGE, CommandError, Commands, database_url
from carriertui.cli.output import out
from carriertui.text import sanitize


def register(commands: Commands) -> None:
    """The bare ``carriertui`` (options on ``commands.parser``), ``portal`` and ``demo``; an
    option all three take is added to each of those three parsers here."""
    commands.parser.set_defaults(handler=cmd_tui)  # no command: the TUI
    commands.add(
        "portal",
        "open the customer portal: contacts log in with their email and password",
        cmd_portal,
    )
    sub = commands.add("demo", "open the TUI on a demo database (built on first use)", cmd_demo)
    sub.add_argument("--reset", action="store_true", help="rebuild the demo database from scratch")
    sub.add_argument("--build-only", action="store_true", help="build it, do not open the TUI")
    sub.add_argument("--print-db", action="store_true", help="print the demo database URL")


def cmd_tui(args: argparse.Namespace) -> int:
    from carriertui.terminal import refuse_without_terminal

    refused = refuse_without_terminal()  # before Textual, the store or the database
    if refused is not None:
        return refused
    from carriertui.app import run

    return run(database_url(args))


def cmd_portal(args: argparse.Namespace) -> int:
    from carriertui.terminal import refuse_without_terminal

    refused = refuse_without_terminal()
    if refused is not None:
        return refused
    from carriertui.app import run

    return run(database_url(args), portal=True)


def demo_url() -> str:
    return f"sqlite:///{locations.demo_db_path()}"


def cmd_demo(args: argparse.Namespace) -> int:
    url = demo_url()
    if args.print_db:
        out(sanitize(url))
        return EXIT_OK
    if not args.build_only:
        from carriertui.terminal import refuse_without_terminal

        refused = refuse_without_terminal()  # before a 10-20 s build nobody can use
        if refused is not None:
            return refused
    from carriertui.demo.builder import DEMO_OPERATOR

    if args.reset or not locations.demo_db_path().exists():
        from carriertui.demo.builder import build_demo

        # The first build takes a while (about 300,000 CDRs, roll-ups, invoices): say so.
        print(
            "building the demo database (customers, contacts, numbers, 90 days of CDRs, "
            "invoices); this takes 10-20 seconds once",
            file=sys.stderr,
            flush=True,
        )
        build_demo(url, reset=args.reset).dispose()
        if args.build_only:
            out(f"demo database built: {sanitize(url)}")
            return EXIT_OK
    elif args.build_only:
        out(f"demo database exists: {sanitize(url)} (use --reset to rebuild it)")
        return EXIT_OK
    else:
        _refuse_old_demo(url)
    from carriertui.app import run

    return run(url, demo=True, auto_login=DEMO_OPERATOR)


def _refuse_old_demo(url: str) -> None:
    """A demo database left by an older carriertui: say how to rebuild it (it holds nothing
    but the demo) or keep it, instead of opening a login screen that refuses it."""
    from carriertui.store.db.database import Database
    from carriertui.store.db.migrations import SCHEMA_VERSION

    database = Database(url)
    try:
        version = database.schema_version()
    finally:
        database.dispose()
    if version != SCHEMA_VERSION:
        raise CommandError(
            f"the demo database is at schema {version}, this carriertui needs {SCHEMA_VERSION}: "
            f"'carriertui demo --reset' rebuilds it, or 'carriertui init --db {url}' upgrades it",
            EXIT_USAGE,
        )


# The log file is opened by these themselves, once they know they have a terminal.
UI_COMMANDS = (cmd_tui, cmd_portal, cmd_demo)
