"""``carriertui init`` / ``carriertui upgrade``: the only commands that change a schema.

A new database gets its schema at once (any command does that). An older one is upgraded only
after this command has said what it will do (from version X to Y, which steps), has been told
to go on (``--yes``, or "y" typed on a terminal; without a terminal it refuses), and has taken a
backup: SQLite ``VACUUM INTO`` a dated copy beside the file; PostgreSQL ``pg_dump`` into
``--backup-to PATH``, or the pg_dump command printed for the operator to run first.
"""

from __future__ import annotations

import argparse
import sys

from carriertui.cli.common import EXIT_USAGE, CommandError, Commands, busy_timeout, database_url
from carriertui.text import sanitize


def register(commands: Commands) -> None:
    for name in ("init", "upgrade"):
        sub = commands.add(
            name,
            "create the database schema, or upgrade an older one (says what it will do, "
            "asks, and takes a backup first)",
            cmd_init,
        )
        sub.add_argument("--yes", action="store_true", help="upgrade without asking (for scripts)")
        sub.add_argument(
            "--backup-to",
            metavar="PATH",
            help="PostgreSQL: run pg_dump into PATH before upgrading "
            "(SQLite is always backed up beside its file)",
        )


def _say(line: str = "") -> None:
    print(sanitize(line))


def _confirmed(args: argparse.Namespace, question: str) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise CommandError(
            "not upgraded: no terminal to ask on; run it again with --yes to upgrade", EXIT_USAGE
        )
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise CommandError("not upgraded: nothing was changed", EXIT_USAGE)


def _partitions_ahead(db: object) -> None:
    """PostgreSQL: the CDR partitions of this month and the next two (init from cron keeps
    them ahead; the importer creates them too)."""
    from carriertui.store.db import partitions

    created = partitions.ensure_ahead(db)
    if created:
        _say(f"CDR partitions created ahead: {', '.join(created)}")


def cmd_init(args: argparse.Namespace) -> int:
    """Create the schema of a new database, or upgrade an older one after a backup."""
    from pathlib import Path

    from carriertui.store import backup
    from carriertui.store.db.database import open_database
    from carriertui.store.db.engine import redacted_url
    from carriertui.store.db.migrations import SCHEMA_VERSION, upgrade_steps
    from carriertui.store.errors import SchemaVersionError

    timeout = busy_timeout(args)
    # create=False: opened without touching the schema; what follows decides.
    if timeout is None:
        db = open_database(database_url(args), create=False)
    else:
        db = open_database(database_url(args), create=False, busy_timeout_s=timeout)
    try:
        where = redacted_url(db.url)
        current = db.schema_version()
        if current > SCHEMA_VERSION:
            raise CommandError(str(SchemaVersionError(current, SCHEMA_VERSION)), EXIT_USAGE)
        if current in (0, SCHEMA_VERSION):
            if args.backup_to is not None and current == SCHEMA_VERSION:
                _say(f"nothing to upgrade: no backup taken (schema version {current})")
            db.ensure_schema()
            _partitions_ahead(db)
            _say(f"database ready: {where} (schema version {db.schema_version()})")
            return 0
        _say(f"{where} is at schema version {current}; this carriertui needs {SCHEMA_VERSION}.")
        _say("The upgrade will:")
        for version, text in upgrade_steps(current):
            _say(f"  {version}: {text}")
        path = backup.sqlite_path(db.url)
        dump = None
        if path is not None:
            target = backup.dated_backup_path(path, current)
            _say(f"First it backs the database up to {target} (VACUUM INTO).")
        elif args.backup_to is not None:
            target = Path(args.backup_to).expanduser()
            _say(f"First it backs the database up with pg_dump to {target}.")
        else:
            dump = backup.pg_dump_command(db.url, f"carriertui-schema{current}.dump")
            _say("No backup is taken of a PostgreSQL database without --backup-to PATH; take one")
            _say(f"first: {dump.shell()}")
        _say("Other hosts still running the older carriertui are refused once it is done.")
        _confirmed(args, "Have you taken that backup, and upgrade now?" if dump else "Upgrade now?")
        if path is not None:
            backup.backup_sqlite(path, target)
            _say(f"backup: {target}")
        elif dump is None:
            backup.run_pg_dump(db.url, target)
            _say(f"backup: {target}")
        db.ensure_schema(upgrade=True)
        _partitions_ahead(db)
        _say(f"database upgraded: {where} from schema version {current} to {db.schema_version()}")
        if dump is None:
            _say(
                f"to roll back: stop carriertui everywhere, restore {target}, and use the "
                "older carriertui again (README: Deploying on a shared host)"
            )
        return 0
    finally:
        db.dispose()
