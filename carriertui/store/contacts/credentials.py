"""A contact's credentials as stored: the password hash and the login state.

Both the contacts service and the outbox (which stores the hash of a password it has just
emailed) write them; neither imports the other for it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col

from carriertui.store import audit
from carriertui.store.context import Actor
from carriertui.store.db.tables import Contact
from carriertui.store.enums import AuditAction, HttpVerb

TABLE = "contact"


def audit_view(contact: Contact) -> dict[str, Any] | None:
    """The contact as the audit log shows it: the whitelist as a list, the hash redacted."""
    data = audit.snapshot(contact)
    if data is not None:
        data.pop("email_folded", None)
        data["ip_whitelist"] = json.loads(data.pop("ip_whitelist_json", "[]") or "[]")
    return data


def set_credentials(session: Session, contact: Contact, **values: Any) -> None:
    """Change login state (password hash, failures, lockout, last login) without a new
    version: the version guards what operators edit, and a contact logging in, or a password
    reset, must not turn an operator's open form or a scheduled change into a conflict."""
    from sqlalchemy import update

    session.flush()
    session.execute(update(Contact).where(col(Contact.id) == contact.id).values(**values))
    session.refresh(contact)


def set_password_hash(
    session: Session,
    actor: Actor,
    contact: Contact,
    password_hash: str,
    *,
    must_change: bool,
    message: str,
    comment: str | None = None,
) -> None:
    """Store a new password hash (the audit entry shows only that it changed, redacted)."""
    before = audit_view(contact)
    set_credentials(
        session,
        contact,
        password_hash=password_hash,
        must_change_password=must_change,
        failed_logins=0,
        locked_until=None,
    )
    audit.record(
        session,
        actor,
        action=AuditAction.UPDATE,
        verb=HttpVerb.PUT,
        table=TABLE,
        key=contact.id,
        customer_id=contact.customer_id,
        message=message,
        before=before,
        after=audit_view(contact),
        comment=comment,
    )
