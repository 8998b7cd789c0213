"""Engine and transactions.

Reads use a plain session. Writes go through :meth:`Database.write`, which on SQLite starts with
``BEGIN IMMEDIATE``: a deferred read-then-write between two processes either overlaps (two operators
get the same number) or fails at once with "database is locked", ignoring the busy timeout.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import Session, SQLModel

import carriertui.store.rate_tables  # noqa: F401 (its tables join the metadata)
from carriertui.store import models
from carriertui.store.errors import DatabaseBusyError, DatabaseURLError, SchemaVersionError

SCHEMA_VERSION = 12
DEFAULT_BUSY_TIMEOUT_S = 10.0
_WRITE_OPTION = "carriertui_write"


def normalize_url(url: str) -> str:
    """Accept a SQLAlchemy URL, a postgres:// URL, or a plain file path (SQLite)."""
    url = url.strip()
    if not url:
        raise DatabaseURLError("empty database URL")
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    scheme, _, rest = url.partition("://")
    if scheme in ("postgres", "postgresql", "postgresql+psycopg2"):
        url = f"postgresql+psycopg://{rest}"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as error:
        # ValueError: SQLAlchemy's answer to a non-numeric port.
        raise DatabaseURLError(f"bad database URL {redacted_url(url)!r}: {error}") from error
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseURLError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite:///PATH or postgresql://..."
        )
    return url


_CREDENTIALS = re.compile(r"(://[^/@:]*):[^/@]*@")


def redacted_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _CREDENTIALS.sub(r"\1:***@", url)


def _is_locked_error(error: OperationalError) -> bool:
    text = str(error.orig).lower() if error.orig is not None else str(error).lower()
    return "database is locked" in text or "database table is locked" in text


class Database:
    """One database: its engine, read sessions and IMMEDIATE write transactions."""

    def __init__(
        self,
        url: str,
        *,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        connect_args: dict[str, Any] | None = None,
    ) -> None:
        self.url = normalize_url(url)
        self.busy_timeout_s = busy_timeout_s
        parsed = make_url(self.url)
        self.backend = parsed.get_backend_name()
        if self.backend == "sqlite":
            self.engine = self._sqlite_engine(parsed.database, connect_args or {})
        else:
            args = {"connect_timeout": 10, **(connect_args or {})}
            self.engine = create_engine(
                self.url, pool_pre_ping=True, connect_args=args, hide_parameters=True
            )
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        # What this process learnt of the schema that only a migration changes (which optional
        # indexes exist), looked up once: open_database migrates before anyone asks.
        self.schema_facts: dict[str, Any] = {}

    def _sqlite_engine(self, database: str | None, connect_args: dict[str, Any]) -> Engine:
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # hide_parameters: an error's text never carries the bound values (a password hash, a
        # contact's notes) into a log line or a notification.
        engine = create_engine(
            self.url,
            hide_parameters=True,
            connect_args={
                "timeout": self.busy_timeout_s,
                "check_same_thread": False,
                **connect_args,
            },
        )
        busy_ms = int(self.busy_timeout_s * 1000)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:
            # Take BEGIN out of the driver's hands so that the "begin" hook below decides it.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection) -> None:
            write = connection.get_execution_options().get(_WRITE_OPTION, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    # -- sessions ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; whatever it did is rolled back at the end."""
        with self._translate_errors(), Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed when the block ends, rolled back on any exception."""
        with (
            self._translate_errors(),
            Session(self._write_engine, expire_on_commit=False) as session,
        ):
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextlib.contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as error:
            if _is_locked_error(error):
                raise DatabaseBusyError(
                    f"the database is locked: another process held it for more than "
                    f"{self.busy_timeout_s:g} s; try again"
                ) from error
            raise

    # -- schema -----------------------------------------------------------------------------

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
        """Create missing tables and bring the schema to SCHEMA_VERSION. Returns the version.

        This is the upgrade itself: commands call :meth:`ensure_schema`, which lets only a new
        database or ``carriertui init`` get here. A database already at SCHEMA_VERSION is only
        read, never written: opening it does not wait for (or take) the write lock another
        process may hold.
        """
        if self.schema_version() == SCHEMA_VERSION:
            return SCHEMA_VERSION
        SQLModel.metadata.create_all(self.engine)
        with self.write() as session:
            row = session.get(models.Meta, "schema_version")
            current = int(row.value) if row else 0
            if current > SCHEMA_VERSION:
                raise SchemaVersionError(current, SCHEMA_VERSION)
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for step in _MIGRATIONS.get(version, ()):
                    step(session)
            if row is None:
                session.add(models.Meta(key="schema_version", value=str(SCHEMA_VERSION)))
            else:
                row.value = str(SCHEMA_VERSION)
        return SCHEMA_VERSION

    def schema_version(self) -> int:
        """0 for a database carriertui has never initialised."""
        with self._translate_errors():
            if not inspect(self.engine).has_table(models.Meta.__tablename__):
                return 0
            with self.read() as session:
                row = session.get(models.Meta, "schema_version")
                return int(row.value) if row else 0

    def dispose(self) -> None:
        self.engine.dispose()


def _audit_chain(session: Session) -> None:
    """Version 2: the audit log's HMAC chain (seq, mac, the MACs of the entries already there)
    and the triggers that make the audit table append-only."""
    from carriertui.store import chain

    chain.upgrade_schema(session)


# Columns the audit log is filtered and sorted by (GUIDE section 3: OFFSET on an unindexed sort
# costs 0.2-3 s at 1M rows). created_at, customer_id and seq have theirs already.
AUDIT_GRID_INDEXES = ("actor", "ip", "action", "table_name")


def _audit_grid_indexes(session: Session) -> None:
    """Version 3: indexes for the audit log grid's sorts and filters."""
    for column in AUDIT_GRID_INDEXES:
        session.connection().exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS ix_audit_entry_{column} ON audit_entry ({column})"
        )


def _audit_search(session: Session) -> None:
    """Version 4: the audit log's search index (FTS5 trigram on SQLite, pg_trgm on PostgreSQL)
    and the triggers that keep it (carriertui/store/audit_search.py)."""
    from carriertui.store import audit_search

    audit_search.install(session.connection())


NUMBER_TABLES = ("number_block", "extension_number", "sip_user", "conference", "extension_alias")


def _number_blocks(session: Session) -> None:
    """Version 6: internal number blocks and the extensions that use their numbers (new tables
    only; versions 4 and 5 belong to another line of work and may be absent here)."""
    connection = session.connection()
    for name in NUMBER_TABLES:
        SQLModel.metadata.tables[name].create(connection, checkfirst=True)


def _audit_search_if_missing(session: Session) -> None:
    """Version 9: the search index of version 4 for databases that reached versions 5 to 8
    before it existed (the two were built side by side); a no-op where it is installed."""
    from carriertui.store import audit_search

    connection = session.connection()
    if audit_search.index_for(connection) is None:
        audit_search.install(connection)


def _operator_disabled_at(session: Session) -> None:
    """Version 10: operator.disabled_at (an admin disables the account of someone who left)."""
    connection = session.connection()
    if "disabled_at" in {c["name"] for c in inspect(connection).get_columns("operator")}:
        return  # a new database: create_all() made the table in its current shape
    column = models.Operator.__table__.c.disabled_at  # type: ignore[attr-defined]
    quote = connection.dialect.identifier_preparer.quote
    connection.exec_driver_sql(
        f"ALTER TABLE {quote('operator')} ADD COLUMN disabled_at "
        f"{column.type.compile(dialect=connection.dialect)}"
    )


def _audit_no_replace(session: Session) -> None:
    """Version 11: SQLite's INSERT OR REPLACE may no longer rewrite an audit entry (the
    append-only guard gains a BEFORE INSERT trigger; PostgreSQL's guard is re-installed as is:
    ON CONFLICT DO UPDATE already fires its UPDATE trigger)."""
    from carriertui.store import chain

    chain.install_append_only_guard(session)


RATE_TABLES = ("rate_card", "rate", "rate_card_assignment")


def _rate_decks(session: Session) -> None:
    """Version 12: rate cards, their rates and the card each customer is rated with (new
    tables only, store/rate_tables.py)."""
    connection = session.connection()
    for name in RATE_TABLES:
        SQLModel.metadata.tables[name].create(connection, checkfirst=True)


# version -> steps that bring a database from version-1 to version. create_all() adds new tables;
# steps here alter existing ones (add a column, backfill) and run inside one write transaction.
# A new database runs every step from 1, so each step also copes with a table create_all() has
# just made in its current shape (step 2 then only installs the append-only triggers).
# Version 5 only adds tables (contacts, outbox, pending changes), which create_all() makes;
# so does version 7 (CDRs, their hourly roll-ups, the roll-up bookkeeping), and version 8
# (invoices and their lines).
_MIGRATIONS: dict[int, tuple[Any, ...]] = {
    2: (_audit_chain,),
    3: (_audit_grid_indexes,),
    4: (_audit_search,),
    6: (_number_blocks,),
    9: (_audit_search_if_missing,),
    10: (_operator_disabled_at,),
    11: (_audit_no_replace,),
    12: (_rate_decks,),
}


def upgrade_steps(current: int, target: int | None = None) -> list[tuple[int, str]]:
    """What upgrading from ``current`` to ``target`` (default SCHEMA_VERSION) does, one line per
    version: the first sentence of each migration step's docstring, or "new tables" for a
    version that only adds tables (create_all makes them)."""
    target = SCHEMA_VERSION if target is None else target
    steps: list[tuple[int, str]] = []
    for version in range(current + 1, target + 1):
        texts = []
        for step in _MIGRATIONS.get(version, ()):
            doc = " ".join((step.__doc__ or step.__name__).split())
            doc = re.sub(r"^Version \d+:\s*", "", doc)
            texts.append(doc.split(". ")[0].rstrip("."))
        steps.append((version, "; ".join(texts) or "new tables only"))
    return steps


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
