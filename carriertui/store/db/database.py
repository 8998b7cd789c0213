"""The database as the services open it: the engine (store/engine.py) with its schema.

Reads use a plain session. Writes go through :meth:`Database.write`, which on SQLite starts with
``BEGIN IMMEDIATE``: a deferred read-then-write between two processes either overlaps (two operators
get the same number) or fails at once with "database is locked", ignoring the busy timeout.
"""

from __future__ import annotations

from typing import Any

from carriertui.store.db import migrations
from carriertui.store.db.engine import BaseDatabase, normalize_url, redacted_url
from carriertui.store.db.migrations import SCHEMA_VERSION
from carriertui.store.errors import DatabaseURLError, SchemaVersionError


class Database(BaseDatabase):
    """One database: its engine, read sessions and IMMEDIATE write transactions, and its schema."""

    def ensure_schema(self, *, upgrade: bool = False) -> int:
        """Make sure the schema is the one this carriertui needs, and return its version.

        A database carriertui never initialised (version 0: a new SQLite file, an empty
        PostgreSQL schema) gets the schema created, so any first command works with no set-up.
        A database at an older version is upgraded only when ``upgrade`` is set (``carriertui
        init``, after its backup); otherwise :class:`SchemaVersionError` says to run init, and
        nothing is written. A database newer than this carriertui is always refused.
        """
        version = self.schema_version()
        if version == SCHEMA_VERSION:
            return version
        if version > SCHEMA_VERSION or (version and not upgrade):
            raise SchemaVersionError(version, SCHEMA_VERSION, self.init_command())
        return self.create_schema()

    def init_command(self) -> str:
        """The command that upgrades this database: ``carriertui init``, with ``--db`` unless it
        is the database that command opens by default."""
        from carriertui import locations

        try:
            default = normalize_url(locations.database_url())
        except (locations.ConfigError, DatabaseURLError):
            default = ""
        if default == self.url:
            return "carriertui init"
        return f"carriertui init --db {redacted_url(self.url)}"

    def create_schema(self) -> int:
        """Create missing tables and bring the schema to SCHEMA_VERSION. Returns the version
        (:func:`carriertui.store.db.migrations.create_schema`)."""
        return migrations.create_schema(self)


def open_database(
    url: str, *, create: bool = True, upgrade: bool = False, **kwargs: Any
) -> Database:
    """Open the database at ``url``; by default create the schema of a new one.

    An existing database at an older schema is upgraded only with ``upgrade`` (``carriertui
    init``); otherwise SchemaVersionError, as for a database newer than this carriertui.
    """
    database = Database(url, **kwargs)
    if create:
        try:
            database.ensure_schema(upgrade=upgrade)
        except BaseException:
            database.dispose()
            raise
    return database
