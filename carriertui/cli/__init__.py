"""Command line: ``carriertui`` opens the TUI; subcommands script the same services.

One module per command group, each with a ``register(commands)`` that adds its sub-commands
(see :class:`carriertui.cli.common.Commands`) and the handlers they run; :mod:`.output` prints
tables, JSON and CSV and writes files; :mod:`.common` holds the exit statuses, the one-line
error and opening the database. A new command group is one new module here and one entry in
``GROUPS`` below.

Start-up matters (``carriertui --help`` and the TUI's first frame), so nothing heavy is imported
at module level by any of these modules: the store (SQLModel, about 0.6 s), Textual, Rich and
argon2 are imported inside the handlers that need them (a test checks it after ``--help``).

Every write goes through a service with ``Actor.api()``, so CLI changes are audited like any other.
Every data string printed passes through :func:`carriertui.text.sanitize`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from carriertui import charset, locations
from carriertui.cli import (
    alarms,
    audit,
    cdr,
    config,
    contacts,
    customers,
    feeds,
    invoices,
    mail,
    numbers,
    operators,
    options,
    pending,
    rates,
    serve,
    summary,
    ui,
    upgrade,
)
from carriertui.cli.common import (
    BUSY_TIMEOUT_ENV,
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CommandError,
    Commands,
    Parser,
    add_db_options,
    add_display_options,
    database_url,
    opened,
    parse_moment,
)
from carriertui.cli.output import print_json, print_table
from carriertui.text import sanitize

__all__ = [
    "BUSY_TIMEOUT_ENV",
    "EXIT_BROKEN_PIPE",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_USAGE",
    "GROUPS",
    "CommandError",
    "build_parser",
    "main",
    "opened",
    "parse_moment",
    "print_json",
    "print_table",
    "version",
]

# The command groups, in the order ``carriertui --help`` lists them: each module's
# ``register(commands)`` adds its commands. A new group: a module beside these, and a line here.
GROUPS = (
    upgrade,  # init, upgrade
    operators,  # operator ...
    customers,  # customers ...
    options,  # options ...
    numbers,  # numbers ...
    audit,  # audit ...
    contacts,  # contacts ...
    mail,  # mail ...
    pending,  # pending ...
    cdr,  # cdr ..., rollup (cdr import --format, watch, ingest: cli/feeds.py)
    feeds,  # feeds status
    summary,  # summary
    invoices,  # invoices ...
    rates,  # rates ...
    alarms,  # alarms ..., metrics
    config,  # config ...
    ui,  # no command (the TUI), portal, demo
    serve,  # serve (the TUI or the portal in a browser)
)


def version() -> str:
    """The installed distribution's version, else the package's own ``__version__``."""
    from importlib import metadata

    try:
        return metadata.version(PROG)
    except metadata.PackageNotFoundError:
        from carriertui import __version__

        return __version__


class _VersionAction(argparse.Action):
    """``--version``: ``carriertui X.Y.Z`` on standard output, exit 0 (looked up only when
    asked, not on every start)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(
            option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, help=help
        )

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any, **_kwargs: Any) -> None:
        print(f"{PROG} {version()}")
        parser.exit(EXIT_OK)


def build_parser() -> argparse.ArgumentParser:
    # Subcommands accept --db too (carriertui customers list --db X); SUPPRESS keeps a global --db.
    common = argparse.ArgumentParser(add_help=False)
    add_db_options(common, default=argparse.SUPPRESS)
    add_display_options(common, default=argparse.SUPPRESS)

    parser = Parser(
        prog=PROG,
        description="A keyboard-first terminal tool for a VoIP carrier's NOC. "
        "Without a command it opens the TUI.",
        epilog="Run 'carriertui COMMAND --help' for a command's options. A value that "
        "begins with '-' is written with '=': --name=-Dash Telecom.",
    )
    add_db_options(parser, default=None)
    add_display_options(parser, default=False)
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    commands = Commands(parser, common)
    for group in GROUPS:
        group.register(commands)
    return parser


# -- main --------------------------------------------------------------------------------------


def _error(message: str) -> None:
    text = str(message).strip().splitlines()
    line = f"error: {sanitize(text[0] if text else 'failed')}"
    print(charset.for_terminal(line) if sys.stderr.isatty() else line, file=sys.stderr)


def _database_error(error: Exception, args: argparse.Namespace) -> int | None:
    """A database error as one line naming its class (connection, busy, a limit of the input,
    internal), or None when ``error`` is not one."""
    from carriertui.store.errors import INTERNAL, database_failure, describe_database_failure

    failure = database_failure(error)
    if failure is None:
        return None
    kind, detail = failure
    try:
        from carriertui.store.db.engine import redacted_url

        where = redacted_url(database_url(args))
    except Exception:
        where = "the database"
    log_hint = ""
    if kind == INTERNAL:
        from carriertui.logfile import log_unexpected

        log_hint = log_unexpected("database error", error)
    _error(describe_database_failure(kind, detail, where, log_hint))
    return EXIT_ERROR


def _stdout_to_devnull() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush of what is
    still buffered does not fail on the closed pipe again ("Exception ignored ... BrokenPipe")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (an in-process caller's capture)
        pass
    finally:
        os.close(devnull)


def _undecodable_argument(argv: Sequence[str], args: argparse.Namespace) -> str | None:
    """How the operator wrote the first text argument that was not valid UTF-8 (Python decodes
    such bytes to lone surrogates, which no database driver or terminal accepts). File paths are
    exempt: parsed to ``Path``, they are not text here, and Python opens such names as they are."""

    def undecodable(value: object) -> bool:
        if isinstance(value, str):
            return any("\ud800" <= char <= "\udfff" for char in value)
        if isinstance(value, list | tuple):
            return any(undecodable(item) for item in value)
        return False

    for dest, value in vars(args).items():
        if not undecodable(value):
            continue
        for index, token in enumerate(argv):
            if token.startswith("--") and "=" in token and undecodable(token):
                return token.split("=", 1)[0]
            if undecodable(token):
                before = argv[index - 1] if index else ""
                return before if before.startswith("-") else f"the argument {dest.upper()}"
        return dest
    return None


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status (EXIT_BROKEN_PIPE when the reader left early)."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # now, while a closed pipe can still be answered quietly
    except BrokenPipeError:
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE
    return code


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error already printed
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    bad = _undecodable_argument(sys.argv[1:] if argv is None else argv, args)
    if bad is not None:
        _error(f"{bad}: not valid UTF-8 text; nothing was changed")
        return EXIT_USAGE
    if args.handler not in ui.UI_COMMANDS:
        from carriertui import logfile

        # Warnings and errors of every command reach the log; the UIs open it once they know
        # they have a terminal (refused, they leave no file behind).
        logfile.configure()

    from carriertui.store.errors import StoreError, ValidationError

    try:
        charset.use_ascii(charset.ascii_wanted(args.ascii, locations.display_charset()))
        return args.handler(args)
    except BrokenPipeError:
        raise  # not an error of the command's: main() exits quietly
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_ERROR
    except CommandError as error:
        _error(str(error))
        return error.code
    except ValidationError as error:
        _error(f"{error.field}: {error.message}")
        return EXIT_USAGE
    except (StoreError, locations.ConfigError) as error:
        _error(str(error))
        return EXIT_ERROR
    except OSError as error:
        _error(str(error))
        return EXIT_ERROR
    except Exception as error:
        code = _database_error(error, args)
        if code is None:
            # A defect: one line for the operator, the traceback in the log.
            from carriertui.logfile import log_unexpected

            where = log_unexpected("unexpected error", error)
            _error(f"internal error: {type(error).__name__}: {error} (details in {where})")
            return EXIT_ERROR
        return code
