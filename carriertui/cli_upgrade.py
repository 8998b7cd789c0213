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
from pathlib import Path
from typing import Any

from carriertui.text import sanitize


def _say(line: str = "") -> None:
    print(sanitize(line))


def _confirmed(args: argparse.Namespace, question: str, error: Any) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise error("not upgraded: no terminal to ask on; run it again with --yes to upgrade", 2)
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise error("not upgraded: nothing was changed", 2)


def run_init(args: argparse.Namespace, open_database: Any, error: Any) -> int:
    """``open_database(create=False)`` opens without touching the schema; ``error(text, code)``
    builds the CLI's one-line failure."""
    from carriertui.store import backup
    from carriertui.store.db.engine import redacted_url
    from carriertui.store.db.migrations import SCHEMA_VERSION, upgrade_steps
    from carriertui.store.errors import SchemaVersionError

    db = open_database()
    try:
        where = redacted_url(db.url)
        current = db.schema_version()
        if current > SCHEMA_VERSION:
            raise error(str(SchemaVersionError(current, SCHEMA_VERSION)), 2)
        if current in (0, SCHEMA_VERSION):
            if args.backup_to is not None and current == SCHEMA_VERSION:
                _say(f"nothing to upgrade: no backup taken (schema version {current})")
            db.ensure_schema()
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
        _confirmed(
            args,
            "Have you taken that backup, and upgrade now?" if dump else "Upgrade now?",
            error,
        )
        if path is not None:
            backup.backup_sqlite(path, target)
            _say(f"backup: {target}")
        elif dump is None:
            backup.run_pg_dump(db.url, target)
            _say(f"backup: {target}")
        db.ensure_schema(upgrade=True)
        _say(f"database upgraded: {where} from schema version {current} to {db.schema_version()}")
        if dump is None:
            _say(
                f"to roll back: stop carriertui everywhere, restore {target}, and use the "
                "older carriertui again (README: Deploying on a shared host)"
            )
        return 0
    finally:
        db.dispose()
