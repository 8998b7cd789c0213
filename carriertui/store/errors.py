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
