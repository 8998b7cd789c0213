"""One path for an audited edit of a versioned row: load it, check its version, apply the
change, write the audit entry, all in the caller's write transaction.

Customers, contacts, operators and delayed changes each used to spell this block out; they now
differ only in what is theirs (which fields, which uniqueness checks, what the message says).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from carriertui.store import audit
from carriertui.store.context import Actor
from carriertui.store.enums import AuditAction, HttpVerb
from carriertui.store.errors import NotFoundError, StaleEditError


@dataclass(frozen=True)
class Audited:
    """How one table's rows appear in the audit log."""

    table: str
    view: Callable[[Any], dict[str, Any] | None] = audit.snapshot
    customer_id: Callable[[Any], int | None] = lambda row: None


def load_current(
    session: Session,
    model: type[Any],
    key: int,
    *,
    expected_version: int | None,
    stale: Callable[[Any], StaleEditError],
    missing: str | None = None,
    row: Any = None,
) -> Any:
    """The row ``model[key]`` (or ``row``, already loaded) if it is still at
    ``expected_version`` (None: any version). A missing row raises NotFoundError(``missing``); a
    newer one raises ``stale(row)``: nothing is overwritten silently."""
    if row is None:
        row = session.get(model, key)
        if row is None:
            raise NotFoundError(missing or f"no {model.__name__} with id {key}")
    if expected_version is not None and row.version != expected_version:
        raise stale(row)
    return row


def changed(
    row: Any,
    cleaned: Mapping[str, Any],
    current: Callable[[Any, str], Any] = getattr,
) -> dict[str, Any]:
    """The cleaned values that differ from the row's."""
    return {key: value for key, value in cleaned.items() if current(row, key) != value}


def record_create(
    session: Session,
    actor: Actor,
    row: Any,
    kind: Audited,
    *,
    message: Callable[[Any], str],
    comment: str | None = None,
    flush: Callable[[], None] | None = None,
) -> None:
    """Insert ``row`` and audit it (CREATE, the row as it is after)."""
    session.add(row)
    (flush or session.flush)()
    audit.record(
        session,
        actor,
        action=AuditAction.CREATE,
        verb=HttpVerb.POST,
        table=kind.table,
        key=row.id,
        customer_id=kind.customer_id(row),
        message=message(row),
        after=kind.view(row),
        comment=comment,
    )


def apply_audited(
    session: Session,
    actor: Actor,
    row: Any,
    values: Mapping[str, Any],
    kind: Audited,
    *,
    message: Callable[[Any], str],
    action: AuditAction = AuditAction.UPDATE,
    comment: str | None = None,
    flush: Callable[[], None] | None = None,
    before: dict[str, Any] | None = None,
    after_set: Callable[[Any], None] | None = None,
) -> None:
    """Set ``values`` on ``row``, save it and audit the change (before and after). ``before``:
    the audit view taken earlier, when the caller changed the row itself first."""
    if before is None:
        before = kind.view(row)
    for field, value in values.items():
        setattr(row, field, value)
    if after_set is not None:
        after_set(row)
    session.add(row)
    (flush or session.flush)()
    audit.record(
        session,
        actor,
        action=action,
        verb=HttpVerb.PUT,
        table=kind.table,
        key=row.id,
        customer_id=kind.customer_id(row),
        message=message(row),
        before=before,
        after=kind.view(row),
        comment=comment,
    )


def record_delete(
    session: Session,
    actor: Actor,
    row: Any,
    kind: Audited,
    *,
    message: str,
    before: dict[str, Any] | None,
    comment: str | None = None,
) -> None:
    """Delete ``row`` and audit it (DELETE, the row as it was: ``before``, taken by the caller
    before anything that goes with the row was cancelled)."""
    key, customer_id = row.id, kind.customer_id(row)
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor,
        action=AuditAction.DELETE,
        verb=HttpVerb.DELETE,
        table=kind.table,
        key=key,
        customer_id=customer_id,
        message=message,
        before=before,
        comment=comment,
    )
