"""Backups taken before a schema upgrade (``carriertui init``), and the command that restores one.

SQLite: ``VACUUM INTO`` a dated copy beside the database file (a consistent snapshot, WAL
included, while other processes keep reading). PostgreSQL: ``pg_dump --format=custom``; the
password is handed over in ``PGPASSWORD``, never on the command line (the process list shows it).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from carriertui.store.errors import StoreError


class BackupError(StoreError):
    """The backup could not be taken: the upgrade does not start."""


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def dated_backup_path(database: Path, version: int, now: datetime | None = None) -> Path:
    """``carriertui.sqlite`` -> ``carriertui.schema9-20261202T203100Z.sqlite`` in the same
    folder (a counter is added should that name be taken)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    suffix = database.suffix or ".sqlite"
    base = f"{database.stem}.schema{version}-{stamp}"
    candidate = database.with_name(base + suffix)
    counter = 1
    while candidate.exists():
        counter += 1
        candidate = database.with_name(f"{base}-{counter}{suffix}")
    return candidate


def backup_sqlite(database: Path, target: Path) -> Path:
    """``VACUUM INTO target``: a consistent copy that opens on its own. It gets the database
    file's permission bits and group, since it holds the same password hashes."""
    try:
        status = database.stat()
        connection = sqlite3.connect(database, isolation_level=None)
        try:
            connection.execute("VACUUM INTO ?", (str(target),))
        finally:
            connection.close()
        os.chmod(target, status.st_mode & 0o777)
        with contextlib.suppress(OSError):
            os.chown(target, -1, status.st_gid)
    except (OSError, sqlite3.Error) as error:
        with contextlib.suppress(OSError):
            target.unlink()
        raise BackupError(f"cannot back up {database} to {target}: {error}") from None
    return target


@dataclass(frozen=True)
class PgDump:
    """A pg_dump invocation: ``argv`` (no password in it) and its environment additions."""

    argv: tuple[str, ...]
    env: dict[str, str]

    def shell(self) -> str:
        """The command for an operator to run (PGPASSWORD not shown: ~/.pgpass or a prompt)."""
        return shlex.join(self.argv)


def pg_dump_command(url: str, target: str | Path) -> PgDump:
    parsed = make_url(url)
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    plain = parsed.set(drivername="postgresql", password=None)
    dsn = plain.render_as_string(hide_password=False)
    argv = ("pg_dump", "--format=custom", f"--file={target}", f"--dbname={dsn}")
    return PgDump(argv, {k: str(v) for k, v in env.items()})


def run_pg_dump(url: str, target: Path, *, timeout_s: float = 3600) -> Path:
    """Run pg_dump into ``target`` (which must not exist yet)."""
    if shutil.which("pg_dump") is None:
        raise BackupError(
            "pg_dump is not installed here (install the PostgreSQL client, e.g. "
            "apt install postgresql-client), or take the backup yourself and run init again"
        )
    if target.exists():
        raise BackupError(f"{target} exists already: choose another --backup-to")
    command = pg_dump_command(url, target)
    try:
        result = subprocess.run(  # noqa: S603 (argv from the URL, no shell)
            command.argv,
            env={**os.environ, **command.env},
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BackupError(f"pg_dump failed: {error}") from None
    if result.returncode != 0 or not target.exists():
        detail = (result.stderr or "").strip().splitlines()
        with contextlib.suppress(OSError):
            target.unlink()
        raise BackupError(f"pg_dump failed: {detail[-1] if detail else result.returncode}")
    with contextlib.suppress(OSError):
        os.chmod(target, 0o600)
    return target
