"""Exceptions services raise. Their text is shown to the operator as is (UI and CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class StoreError(Exception):
    """Base of every error a service raises on purpose."""


class ValidationError(StoreError):
    """Bad input. ``field`` names the form field the message belongs next to; ``errors`` holds
    every bad field of the input, this one first, so that a form shows them all at once."""

    def __init__(self, field: str, message: str, *, more: Sequence[tuple[str, str]] = ()) -> None:
        self.errors: tuple[tuple[str, str], ...] = ((field, message), *more)
        super().__init__("; ".join(f"{name}: {text}" for name, text in self.errors))
        self.field = field
        self.message = message

    @classmethod
    def raise_all(cls, errors: Sequence[tuple[str, str]]) -> None:
        """Raise one ValidationError for ``errors`` (field, message), if there are any."""
        if errors:
            (field, message), *more = errors
            raise cls(field, message, more=more)


class NotFoundError(StoreError):
    pass


class PermissionDeniedError(StoreError):
    pass


class AuthenticationError(StoreError):
    """A failed login. One message for unknown user, wrong password and locked account."""

    MESSAGE = "Login failed: wrong username or password, or the account is locked."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class StaleEditError(StoreError):
    """Someone else saved the record since it was loaded. Carries both versions."""

    def __init__(self, table: str, key: Any, current: Any, attempted: dict[str, Any]) -> None:
        super().__init__(
            f"{table} {key} was changed by someone else since you opened it; nothing was saved."
        )
        self.table = table
        self.key = key
        self.current = current
        self.attempted = attempted


class DatabaseBusyError(StoreError):
    """The database stayed locked longer than the busy timeout."""


class DatabaseURLError(StoreError):
    pass


class SchemaVersionError(DatabaseURLError):
    """The database's schema is not the one this carriertui is built for: older (only
    ``carriertui init`` upgrades it, after a backup) or newer (this carriertui is too old).
    Nothing was written."""

    def __init__(self, current: int, required: int, init_command: str = "carriertui init") -> None:
        self.current = current
        self.required = required
        self.newer = current > required
        if self.newer:
            text = (
                f"the database is at schema {current}, newer than this carriertui "
                f"(schema {required}): upgrade carriertui"
            )
        else:
            text = (
                f"the database is at schema {current}, this carriertui needs {required}: "
                f"run {init_command}"
            )
        super().__init__(text)


# -- what went wrong with the database, in one line ---------------------------------------------

CONNECTION = "connection"  # the server or file could not be reached or opened
BUSY = "busy"  # locked by another process, a deadlock or a timeout: trying again can work
LIMIT = "limit"  # the input hit one of the database's limits: trying again cannot work
INTERNAL = "internal"  # anything else: a defect or a broken database; details in the log

# SQLite's own limits, as its messages name them, and what an operator can do about each.
_SQLITE_LIMITS = (
    ("like or glob pattern too complex", "a search pattern over 50,000 bytes"),
    ("string or blob too big", "a value over 1,000,000,000 bytes"),
    ("too many sql variables", "too many values in one statement"),
    ("expression tree is too large", "an expression deeper than 1,000 terms"),
    ("parser stack overflow", "a statement nested too deeply"),
    ("too many terms in compound select", "too many SELECTs in one statement"),
)


def database_failure(error: BaseException) -> tuple[str, str] | None:
    """``(kind, first line of the cause)`` for a database driver error, or None when ``error``
    is not one. Never imports SQLAlchemy itself: an error can only come from it once loaded."""
    import sys

    exc = sys.modules.get("sqlalchemy.exc")
    if isinstance(error, DatabaseBusyError):
        return BUSY, str(error)
    if exc is None or not isinstance(error, exc.SQLAlchemyError):
        return None
    cause = getattr(error, "orig", None) or error
    first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    text = first.lower()
    sqlstate = str(getattr(cause, "sqlstate", "") or "")
    sqlite_name = str(getattr(cause, "sqlite_errorname", "") or "")
    if sqlite_name in ("SQLITE_BUSY", "SQLITE_LOCKED") or "database is locked" in text:
        return BUSY, first
    if sqlstate in ("55P03", "40P01", "40001", "57014"):  # lock, deadlock, serialization, timeout
        return BUSY, first
    for needle, limit in _SQLITE_LIMITS:
        if needle in text:
            return LIMIT, f"{limit} ({first})"
    if sqlite_name == "SQLITE_TOOBIG":
        return LIMIT, f"a value too big for the database ({first})"
    if sqlstate[:2] in ("53", "54"):  # insufficient resources, program limit exceeded
        return LIMIT, first
    if sqlstate[:2] in ("08", "28") or sqlite_name in ("SQLITE_CANTOPEN", "SQLITE_NOTADB"):
        return CONNECTION, first
    if isinstance(error, exc.OperationalError) and not sqlstate and not sqlite_name:
        # psycopg's failure to connect carries no SQLSTATE; neither does a missing SQLite file.
        return CONNECTION, first
    if isinstance(error, exc.InterfaceError | exc.DisconnectionError):
        return CONNECTION, first
    return INTERNAL, first


def describe_database_failure(kind: str, detail: str, where: str, log_hint: str = "") -> str:
    """The one line an operator reads, the same in the CLI and the TUI."""
    if kind == CONNECTION:
        return f"cannot connect to {where}: {detail}"
    if kind == BUSY:
        return f"the database is busy (locked by another process): {detail}; try again in a moment"
    if kind == LIMIT:
        return f"the input is too large for the database: {detail}; nothing was changed"
    hint = f" (details in {log_hint})" if log_hint else ""
    return f"internal database error on {where}: {detail}{hint}"
