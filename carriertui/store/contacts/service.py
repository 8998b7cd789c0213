"""Contacts: the people at a customer, each a separate portal login (the email).

Every change is validated and audited here, for the operator UI, the CLI, the portal and
scheduled (Delay and Save) changes alike. Passwords are hashed before any transaction starts
and never reach the audit log (``password_hash`` is redacted by ``audit.snapshot``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from carriertui.store import audit, edits, mail, passwords
from carriertui.store.contacts.credentials import TABLE, audit_view, set_password_hash
from carriertui.store.contacts.credentials import set_credentials as _set_credentials
from carriertui.store.contacts.fields import (  # noqa: F401 (contacts.X for the callers)
    DEFAULTS,
    EDITABLE_FIELDS,
    NOTES_MAX,
    PORTAL_FIELDS,
    NotesLookLikePasswordError,
    _stored,
    _yes_no,
    address_allowed,
    clean,
    clean_value,
    notes_password_warning,
    parse_whitelist,
    whitelist_text,
)
from carriertui.store.contacts.grid import (  # noqa: F401 (contacts.X for the callers)
    CUSTOMER_COLUMN,
    GRID_COLUMNS,
    grid_source,
)
from carriertui.store.context import PORTAL_ACTOR, Actor
from carriertui.store.db.database import Database
from carriertui.store.db.tables import Contact, Customer, PendingChange
from carriertui.store.db.types import utcnow
from carriertui.store.enums import AuditAction, ContactType, HttpVerb, PendingStatus, Role
from carriertui.store.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    StaleEditError,
    ValidationError,
)

AUDITED = edits.Audited(TABLE, view=audit_view, customer_id=lambda contact: contact.customer_id)
MAX_FAILED_LOGINS = 10
LOCKOUT = timedelta(minutes=15)


@dataclass(frozen=True)
class ContactRecord:
    id: int
    customer_id: int
    customer_name: str
    name: str
    email: str
    phone: str | None
    mobile: str | None
    contact_type: ContactType
    public_notes: str | None
    private_notes: str | None
    email_verified: bool
    mobile_verified: bool
    ip_whitelist: tuple[str, ...]
    has_password: bool
    must_change_password: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    version: int

    def values(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in EDITABLE_FIELDS}


@dataclass(frozen=True)
class PortalIdentity:
    """Who is using the portal: the contact, and the operator when it is a Portal Login."""

    contact_id: int
    customer_id: int
    name: str
    email: str
    ip: str
    must_change_password: bool
    operator: str | None = None  # set for an operator's Portal Login

    @property
    def actor(self) -> Actor:
        """Portal actions are audited with User ``Portal`` (the message names the contact)."""
        return Actor(name=PORTAL_ACTOR, role=Role.VIEWER, ip=self.ip)


def _whitelist(contact: Contact) -> tuple[str, ...]:
    return tuple(json.loads(contact.ip_whitelist_json or "[]"))


def _to_record(contact: Contact, customer_name: str) -> ContactRecord:
    assert contact.id is not None
    return ContactRecord(
        id=contact.id,
        customer_id=contact.customer_id,
        customer_name=customer_name,
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        mobile=contact.mobile,
        contact_type=ContactType(contact.contact_type),
        public_notes=contact.public_notes,
        private_notes=contact.private_notes,
        email_verified=contact.email_verified,
        mobile_verified=contact.mobile_verified,
        ip_whitelist=_whitelist(contact),
        has_password=contact.password_hash is not None,
        must_change_password=contact.must_change_password,
        locked_until=contact.locked_until,
        last_login_at=contact.last_login_at,
        created_at=contact.created_at,
        version=contact.version,
    )


def record_of(session: Session, contact: Contact) -> ContactRecord:
    """The contact as the service returns it (with its customer's name)."""
    return _record(session, contact)


def _record(session: Session, contact: Contact) -> ContactRecord:
    customer = session.get(Customer, contact.customer_id)
    return _to_record(contact, customer.name if customer else "")


def _check_email_unique(session: Session, email: str, exclude_id: int | None) -> None:
    query = select(Contact.id).where(Contact.email_folded == email.casefold())
    if exclude_id is not None:
        query = query.where(Contact.id != exclude_id)
    if session.exec(query).first() is not None:
        raise ValidationError("email", f"{email} is already the login of another contact")


def _flush_unique_email(session: Session, email: str) -> None:
    """Flush; the UNIQUE index has the last word when another writer took the email between our
    check and our write (PostgreSQL runs them concurrently). Its error would carry the row's
    values, so it becomes the same field message as the check's."""
    from sqlalchemy.exc import IntegrityError

    try:
        session.flush()
    except IntegrityError:
        raise ValidationError("email", f"{email} is already the login of another contact") from None


def _customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFoundError(f"no customer with id {customer_id}")
    return customer


def _contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFoundError(f"no contact with id {contact_id}")
    return contact


def _current(
    session: Session, contact_id: int, expected_version: int | None, cleaned: Mapping[str, Any]
) -> Contact:
    """The contact if it is still at ``expected_version``: else StaleEditError with the current
    record (and the edit that was refused)."""
    return edits.load_current(
        session,
        Contact,
        contact_id,
        row=_contact(session, contact_id),
        expected_version=expected_version,
        stale=lambda row: StaleEditError(TABLE, contact_id, _record(session, row), dict(cleaned)),
    )


# -- reading -------------------------------------------------------------------------------------


def list_contacts(
    db: Database, actor: Actor, *, customer_id: int | None = None
) -> list[ContactRecord]:
    actor.require(Role.VIEWER, "read contacts")
    with db.read() as session:
        query = (
            select(Contact, Customer.name)
            .join(Customer, col(Customer.id) == col(Contact.customer_id))
            .order_by(col(Contact.name), col(Contact.id))
        )
        if customer_id is not None:
            query = query.where(Contact.customer_id == customer_id)
        return [_to_record(contact, name) for contact, name in session.exec(query)]


def get_contact(db: Database, actor: Actor, contact_id: int) -> ContactRecord:
    actor.require(Role.VIEWER, "read contacts")
    with db.read() as session:
        return _record(session, _contact(session, contact_id))


def find_contact(db: Database, actor: Actor, email: str) -> ContactRecord:
    actor.require(Role.VIEWER, "read contacts")
    with db.read() as session:
        contact = session.exec(
            select(Contact).where(Contact.email_folded == email.strip().casefold())
        ).first()
        if contact is None:
            raise NotFoundError(f"no contact with the email {email.strip()!r}")
        return _record(session, contact)


# -- changing ------------------------------------------------------------------------------------


def create_contact(
    db: Database,
    actor: Actor,
    customer_id: int,
    values: Mapping[str, Any],
    *,
    password: str | None = None,
    confirm_notes: bool = False,
    comment: str | None = None,
) -> ContactRecord:
    """Add a contact. Without ``password`` one is generated and emailed (through the outbox,
    generated when the message is sent); with one, it is checked against the policy and set."""
    actor.require(Role.OPERATOR, "add contacts")
    cleaned = {**DEFAULTS, **clean(values, required=("name", "email"))}
    password_hash = None
    if password is not None:
        passwords.check_password_policy(password, username=cleaned["email"])
    if not confirm_notes and (warning := notes_password_warning(cleaned, password)):
        raise warning
    if password is not None:
        password_hash = passwords.hash_password(password)  # slow: outside the transaction
    with db.write() as session:
        customer = _customer(session, customer_id)
        _check_email_unique(session, cleaned["email"], exclude_id=None)
        contact = Contact(customer_id=customer_id, password_hash=password_hash, **_stored(cleaned))
        edits.record_create(
            session,
            actor,
            contact,
            AUDITED,
            message=lambda row: f"Contact {row.name} <{row.email}> created",
            comment=comment,
            flush=lambda: _flush_unique_email(session, cleaned["email"]),
        )
        if password is None:
            mail.queue_password(session, actor, contact, welcome=True)
        return _to_record(contact, customer.name)


def apply_changes(
    session: Session,
    actor: Actor,
    contact: Contact,
    cleaned: Mapping[str, Any],
    *,
    action: AuditAction = AuditAction.UPDATE,
    message: str | None = None,
    comment: str | None = None,
) -> bool:
    """Apply already-cleaned changes to ``contact`` in ``session`` and audit them. Returns
    False (writing nothing) when nothing actually changes. Used by updates, the portal and
    Delay and Save."""
    real = edits.changed(contact, _stored(cleaned))
    if not real:
        return False
    if "email_folded" in real:
        _check_email_unique(session, real.get("email", contact.email), exclude_id=contact.id)
    shown = sorted(
        "ip_whitelist" if field == "ip_whitelist_json" else field
        for field in real
        if field != "email_folded"
    )
    edits.apply_audited(
        session,
        actor,
        contact,
        real,
        AUDITED,
        action=action,
        message=lambda row: message or f"Contact {row.name} updated: {', '.join(shown)}",
        comment=comment,
        flush=lambda: _flush_unique_email(session, contact.email),
    )
    return True


def update_contact(
    db: Database,
    actor: Actor,
    contact_id: int,
    changes: Mapping[str, Any],
    *,
    expected_version: int,
    confirm_notes: bool = False,
    comment: str | None = None,
) -> ContactRecord:
    """Apply ``changes`` if the contact is still at ``expected_version``; a stale version
    raises StaleEditError with the current record (nothing is overwritten silently)."""
    actor.require(Role.OPERATOR, "change contacts")
    cleaned = clean(changes)
    if not confirm_notes and (warning := notes_password_warning(cleaned)):
        raise warning
    with db.write() as session:
        contact = _current(session, contact_id, expected_version, cleaned)
        apply_changes(session, actor, contact, cleaned, comment=comment)
        return _record(session, contact)


def delete_contact(
    db: Database,
    actor: Actor,
    contact_id: int,
    *,
    expected_version: int | None = None,
    comment: str | None = None,
) -> None:
    """Delete a contact; its unsent mail and pending delayed changes are cancelled with it."""
    actor.require(Role.OPERATOR, "delete contacts")
    with db.write() as session:
        contact = _current(session, contact_id, expected_version, {})
        before = audit_view(contact)
        mail.cancel_for_contact(session, contact_id)
        for change in session.exec(
            select(PendingChange).where(
                PendingChange.target_table == TABLE,
                PendingChange.target_id == contact_id,
                PendingChange.status == PendingStatus.PENDING.value,
            )
        ):
            change.status = PendingStatus.CANCELLED.value
            change.result = "the contact was deleted"
            session.add(change)
        edits.record_delete(
            session,
            actor,
            contact,
            AUDITED,
            message=f"Contact {contact.name} <{contact.email}> deleted",
            before=before,
            comment=comment,
        )


def change_password(
    db: Database,
    actor: Actor,
    contact_id: int,
    *,
    password: str | None = None,
    comment: str | None = None,
) -> ContactRecord:
    """Change Password. ``None``: Auto Generate & Email (the outbox generates the password when
    it sends, and the contact must change it at first login). Otherwise the typed password is
    checked against the policy and set at once."""
    actor.require(Role.OPERATOR, "change contact passwords")
    if password is None:
        with db.write() as session:
            contact = _contact(session, contact_id)
            mail.queue_password(session, actor, contact, welcome=False, comment=comment)
            return _record(session, contact)
    with db.read() as session:
        email = _contact(session, contact_id).email
    passwords.check_password_policy(password, username=email)
    password_hash = passwords.hash_password(password)
    with db.write() as session:
        contact = _contact(session, contact_id)
        set_password_hash(
            session,
            actor,
            contact,
            password_hash,
            must_change=False,
            message=f"Password of contact {contact.name} set by hand",
            comment=comment,
        )
        return _record(session, contact)


# -- the portal ----------------------------------------------------------------------------------


def _audit_login(
    session: Session, actor: Actor, contact: Contact, message: str, **extra: Any
) -> None:
    audit.record(
        session,
        actor,
        action=AuditAction.LOGIN,
        verb=HttpVerb.POST,
        table=TABLE,
        key=contact.id,
        customer_id=contact.customer_id,
        message=message,
        **extra,
    )


def authenticate(db: Database, email: str, password: str, ip: str) -> PortalIdentity:
    """A contact's portal login. Unknown email, wrong password, locked contact and an address
    outside the IP whitelist give the same error (the audit log records which it was). Ten
    consecutive failures lock the contact for 15 minutes."""
    folded = email.strip().casefold()
    with db.read() as session:
        contact = session.exec(select(Contact).where(Contact.email_folded == folded)).first()
        stored_hash = contact.password_hash if contact else None
    password_ok = passwords.verify_password(stored_hash or passwords.dummy_hash(), password)
    if contact is None:
        raise AuthenticationError()
    password_ok = password_ok and stored_hash is not None
    rehash = (
        passwords.hash_password(password)
        if password_ok and stored_hash and passwords.needs_rehash(stored_hash)
        else None
    )
    portal = Actor(name=PORTAL_ACTOR, role=Role.VIEWER, ip=ip)
    with db.write() as session:
        current = session.exec(select(Contact).where(Contact.email_folded == folded)).first()
        if current is None:
            raise AuthenticationError()
        who = f"{current.name} <{current.email}>"
        now = utcnow()
        if current.locked_until is not None and current.locked_until > now:
            _audit_login(session, portal, current, f"Portal login refused for {who}: locked")
            return _raise_after_commit(session)
        if not address_allowed(_whitelist(current), ip):
            _audit_login(
                session,
                portal,
                current,
                f"Portal login refused for {who}: address {ip} not in the IP whitelist",
            )
            return _raise_after_commit(session)
        if password_ok and current.password_hash == stored_hash:
            _set_credentials(
                session,
                current,
                failed_logins=0,
                locked_until=None,
                last_login_at=now,
                password_hash=rehash or current.password_hash,
            )
            _audit_login(session, portal, current, f"Portal login of {who}")
            assert current.id is not None
            return PortalIdentity(
                contact_id=current.id,
                customer_id=current.customer_id,
                name=current.name,
                email=current.email,
                ip=ip,
                must_change_password=current.must_change_password,
            )
        failures = current.failed_logins + 1
        message = f"Portal login failed for {who} ({failures} in a row)"
        if failures >= MAX_FAILED_LOGINS:
            _set_credentials(session, current, failed_logins=0, locked_until=now + LOCKOUT)
            message = f"Portal login of {who} locked for 15 minutes after 10 failures"
        else:
            _set_credentials(session, current, failed_logins=failures)
        _audit_login(session, portal, current, message)
    raise AuthenticationError()


def _raise_after_commit(session: Session) -> PortalIdentity:
    """Commit the refusal's audit entry, then fail the login."""
    session.commit()
    raise AuthenticationError()


def portal_login_as(db: Database, actor: Actor, contact_id: int) -> PortalIdentity:
    """Portal Login from the Contacts row menu: an operator sees the portal as the contact.
    Audited as a LOGIN naming both; viewers may not."""
    actor.require(Role.OPERATOR, "use Portal Login")
    with db.write() as session:
        contact = _contact(session, contact_id)
        _audit_login(
            session,
            actor,
            contact,
            f"Portal Login by operator {actor.name} as contact {contact.name} <{contact.email}>",
        )
        assert contact.id is not None
        return PortalIdentity(
            contact_id=contact.id,
            customer_id=contact.customer_id,
            name=contact.name,
            email=contact.email,
            ip=actor.ip,
            must_change_password=False,
            operator=actor.name,
        )


def portal_contact(db: Database, identity: PortalIdentity) -> ContactRecord:
    with db.read() as session:
        return _record(session, _contact(session, identity.contact_id))


def portal_update_profile(
    db: Database, identity: PortalIdentity, changes: Mapping[str, Any], *, expected_version: int
) -> ContactRecord:
    """My Profile: a contact edits their own name, phone and mobile."""
    cleaned = clean(changes, PORTAL_FIELDS)
    with db.write() as session:
        contact = _current(session, identity.contact_id, expected_version, cleaned)
        apply_changes(
            session,
            _portal_actor(identity),
            contact,
            cleaned,
            message=f"Contact {contact.name} updated their profile in the portal",
        )
        return _record(session, contact)


def portal_change_password(
    db: Database, identity: PortalIdentity, current_password: str | None, new_password: str
) -> None:
    """The contact sets a new password (forced after a generated one). The current password is
    checked, except for an operator's Portal Login, which may not change it at all."""
    if identity.operator is not None:
        raise PermissionDeniedError(
            "Portal Login shows the portal as the contact sees it; use Change Password instead"
        )
    with db.read() as session:
        contact = _contact(session, identity.contact_id)
        stored_hash = contact.password_hash
    if not stored_hash or not passwords.verify_password(stored_hash, current_password or ""):
        raise ValidationError("current_password", "is not your current password")
    if new_password == current_password:
        raise ValidationError("password", "must differ from the current password")
    passwords.check_password_policy(new_password, username=identity.email)
    new_hash = passwords.hash_password(new_password)
    with db.write() as session:
        contact = _contact(session, identity.contact_id)
        set_password_hash(
            session,
            _portal_actor(identity),
            contact,
            new_hash,
            must_change=False,
            message=f"Contact {contact.name} changed their password in the portal",
        )


def _portal_actor(identity: PortalIdentity) -> Actor:
    if identity.operator is not None:
        raise PermissionDeniedError("Portal Login is read only: change the contact from Contacts")
    return identity.actor
