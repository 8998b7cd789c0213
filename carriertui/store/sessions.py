"""The end of a UI session, audited: a contact leaving the portal, an operator leaving the TUI.

Whatever ends it (Esc, the idle timeout, a hangup of the SSH connection, SIGTERM) goes through
these two functions, so the audit log shows every session's end next to its LOGIN and why.
"""

from __future__ import annotations

from carriertui.store import audit
from carriertui.store.contacts.service import TABLE as CONTACT_TABLE
from carriertui.store.contacts.service import PortalIdentity
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.enums import AuditAction, HttpVerb
from carriertui.store.operators import TABLE as OPERATOR_TABLE


def portal_logout(db: Database, identity: PortalIdentity, reason: str = "") -> None:
    """A contact's portal session ended (``reason``: why, when it was not the contact's Esc)."""
    why = f" ({reason})" if reason else ""
    with db.write() as session:
        audit.record(
            session,
            identity.actor,
            action=AuditAction.LOGOUT,
            verb=HttpVerb.POST,
            table=CONTACT_TABLE,
            key=identity.contact_id,
            customer_id=identity.customer_id,
            message=f"Portal logout of {identity.name} <{identity.email}>{why}",
        )


def operator_logout(db: Database, actor: Actor, reason: str = "") -> None:
    """An operator's session in the TUI ended."""
    why = f" ({reason})" if reason else ""
    with db.write() as session:
        audit.record(
            session,
            actor,
            action=AuditAction.LOGOUT,
            verb=HttpVerb.POST,
            table=OPERATOR_TABLE,
            key=actor.operator_id,
            message=f"Logout of {actor.name}{why}",
        )
