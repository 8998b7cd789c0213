"""What every command group shares: exit statuses, the one-line error, the parser pieces, and
opening the database as the API actor.

Imports stay light (stdlib, ``locations``, ``text``): every ``carriertui`` process, ``--help``
included, imports this module; the store is imported inside the functions that open it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from carriertui import locations
from carriertui.text import sanitize

if TYPE_CHECKING:
    from carriertui.store.context import Actor
    from carriertui.store.db.database import Database

PROG = "carriertui"
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
# The reader of standard output went away (``carriertui audit export | head``): exit as a
# process killed by SIGPIPE would (128 + 13), the status ``set -o pipefail`` scripts expect
# from ``yes | head``, without a word on standard error.
EXIT_BROKEN_PIPE = 141
BUSY_TIMEOUT_ENV = "CARRIERTUI_BUSY_TIMEOUT"
ROLES = ("admin", "operator", "viewer")
FORMATS = ("table", "json")

Handler = Callable[[argparse.Namespace], int]


class CommandError(Exception):
    """A failure the CLI reports in one line; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


# -- the parser --------------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        if message.endswith("expected one argument"):
            # `--name -x`: argparse takes a value that starts with "-" for an option.
            message += " (write a value that begins with '-' as --option=-value)"
        self.exit(EXIT_USAGE, f"error: {sanitize(message)}\n")


def add_db_options(parser: argparse.ArgumentParser, *, default: Any) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        default=default,
        help="database: sqlite:///PATH, postgresql://..., or a file path "
        "(default: $CARRIERTUI_DB, then [database] url in the config, then the local SQLite file)",
    )
    # For scripts and tests: how long to wait for another process's write lock (seconds).
    parser.add_argument("--busy-timeout", type=str, default=default, help=argparse.SUPPRESS)


def add_display_options(parser: argparse.ArgumentParser, *, default: Any) -> None:
    parser.add_argument(
        "--ascii",
        action="store_true",
        default=default,
        help="draw with ASCII characters only (default: when the locale is not UTF-8, "
        "or [display] charset in the config)",
    )


def format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")


def password_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from one line of standard input instead of prompting twice",
    )


def period_options(parser: argparse.ArgumentParser) -> None:
    """--customer, --period and --date: one customer's day, ISO week or month containing DATE."""
    parser.add_argument("--customer", required=True, help="account code, exact name, or id")
    parser.add_argument("--period", required=True, choices=("daily", "weekly", "monthly"))
    parser.add_argument("--date", required=True, metavar="DATE", help="a day in the period (UTC)")


def _help_formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog, max_help_position=32)


def _missing_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    print(f"error: {parser.prog}: choose a command (see --help)", file=sys.stderr)
    return EXIT_USAGE


class Commands:
    """The sub-commands of one level of the parser: ``carriertui COMMAND`` or, for a group,
    ``carriertui GROUP COMMAND``. A command group module's ``register(commands)`` adds its
    commands through :meth:`add` and :meth:`group`."""

    def __init__(self, parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
        self.parser = parser  # the parser these commands belong to (the root's for top level)
        self._common = common  # --db and --busy-timeout, accepted after any command
        self._subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")

    def add(self, name: str, help_text: str, handler: Handler) -> argparse.ArgumentParser:
        """A command that runs ``handler(args)``; returns its parser for its arguments."""
        sub = self._parser(name, help_text)
        sub.set_defaults(handler=handler)
        return sub

    def group(self, name: str, help_text: str) -> Commands:
        """A command made of sub-commands (``carriertui NAME COMMAND``); alone it says so."""
        sub = self._parser(name, help_text)
        sub.set_defaults(handler=lambda _args, sub=sub: _missing_subcommand(sub))
        return Commands(sub, self._common)

    def _parser(self, name: str, help_text: str) -> argparse.ArgumentParser:
        return self._subparsers.add_parser(
            name,
            help=help_text,
            description=help_text,
            parents=[self._common],
            formatter_class=_help_formatter,
        )


# -- database ----------------------------------------------------------------------------------


def busy_timeout(args: argparse.Namespace) -> float | None:
    raw = args.busy_timeout if args.busy_timeout is not None else os.environ.get(BUSY_TIMEOUT_ENV)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 86400:
        raise CommandError(f"busy timeout must be a number of seconds, not {raw!r}", EXIT_USAGE)
    return seconds


def database_url(args: argparse.Namespace) -> str:
    return locations.database_url(args.db)


@contextmanager
def opened(args: argparse.Namespace, url: str | None = None) -> Iterator[Database]:
    """The database named by ``--db`` (or ``url``); a new one gets its schema, one at an older
    (or newer) schema is refused with exit 2 and nothing written: only ``init`` upgrades.

    A database already at the current version is not written to on open, so read commands keep
    working while another process holds the write lock.
    """
    from carriertui.store.db.database import open_database
    from carriertui.store.errors import SchemaVersionError

    kwargs: dict[str, Any] = {}
    timeout = busy_timeout(args)
    if timeout is not None:
        kwargs["busy_timeout_s"] = timeout
    try:
        db = open_database(url or database_url(args), **kwargs)
    except SchemaVersionError as error:  # an older schema: only init upgrades it (exit 2)
        raise CommandError(str(error), EXIT_USAGE) from None
    try:
        yield db
    finally:
        db.dispose()


def api_actor() -> Actor:
    from carriertui.store.context import Actor

    return Actor.api()


def customer_id(db: Database, text: str) -> int:
    """The id of the customer named by ``text`` (account code, exact name, or id)."""
    from carriertui.store import customers

    return customers.find_customer(db, api_actor(), text).id


# -- arguments ---------------------------------------------------------------------------------


def read_password(args: argparse.Namespace, username: str) -> str:
    """From one line of stdin (``--password-stdin``) or typed twice at a hidden prompt."""
    from carriertui.store.passwords import check_password_policy

    if args.password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise CommandError("no password on standard input", EXIT_USAGE)
        password = line.removesuffix("\n").removesuffix("\r")
        check_password_policy(password, username=username)
        return password

    import getpass

    try:
        password = getpass.getpass(f"New password for {username}: ")
        # Check before asking again: nobody should type a rejected password twice.
        check_password_policy(password, username=username)
        again = getpass.getpass("Repeat the password: ")
    except EOFError:
        raise CommandError("no password given", EXIT_USAGE) from None
    if password != again:
        raise CommandError("the passwords do not match; nothing was changed", EXIT_USAGE)
    return password


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime:
    """An ISO date or date-time as an aware UTC datetime; a naive one is taken as UTC.

    A date alone is its first microsecond, or with ``end_of_day`` its last (so ``--until`` with a
    date includes that whole day).
    """
    value = text.strip()
    try:
        day: date | None = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is not None:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start + timedelta(days=1, microseconds=-1) if end_of_day else start
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"not an ISO date or date-time: {text!r} (e.g. 2026-03-01 or 2026-03-01T14:30:00Z)",
            EXIT_USAGE,
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"{option}: not a date: {text!r} (YYYY-MM-DD)", EXIT_USAGE) from None


def path_argument(text: str) -> Any:
    from pathlib import Path

    return Path(text).expanduser()
