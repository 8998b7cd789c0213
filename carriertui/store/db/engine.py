"""Engine and transactions: the database as storage, knowing SQL and no schema history.

Reads use a plain session. Writes go through :meth:`BaseDatabase.write`, which on SQLite starts with
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
from sqlmodel import Session

from carriertui.store.db import tables as models
from carriertui.store.errors import DatabaseBusyError, DatabaseURLError

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


def _postgresql_session(dbapi_connection: Any, _record: Any) -> None:
    """No JIT: carriertui's queries run for milliseconds, and on a partitioned CDR table of a
    year their estimated cost passes jit_above_cost, so PostgreSQL spent about a second
    compiling each (the roll-up of one hour: 1.1 s of JIT for 1.4 ms of execution)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SET jit = off")
    cursor.close()
    dbapi_connection.commit()


class BaseDatabase:
    """One database: its engine, read sessions and IMMEDIATE write transactions.

    The schema (creating it, upgrading it) is :class:`carriertui.store.db.database.Database`'s: the
    modules that build the schema (the audit chain, the search index) use this one.
    """

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
            event.listen(self.engine, "connect", _postgresql_session)
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
