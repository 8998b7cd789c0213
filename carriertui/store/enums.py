"""The store's enumerations: roles, statuses, kinds, audit actions.

Plain ``StrEnum`` values, with no table behind them: screens and the CLI use them without
importing the tables (store/models.py stores them as text).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "operator": 1, "admin": 2}[self.value]


class CustomerStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"
    PENALTY = "Penalty"
    PENDING_APPROVAL = "Pending Approval"


class InvoiceSchedule(StrEnum):
    NONE = "none"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class InvoiceStatus(StrEnum):
    """The portal's invoice statuses (DOMAIN.md 6.2): Unpaid when generated."""

    UNPAID = "Unpaid"
    PAID = "Paid"
    PENDING = "Pending"


class AuditAction(StrEnum):
    CREATE = "CREATE"
    DELETE = "DELETE"
    GENERATE = "GENERATE"
    LOGIN = "LOGIN"
    LOGOUT = "LOGOUT"
    POST = "POST"
    PUBLISH = "PUBLISH"
    PUT = "PUT"
    SEND = "SEND"
    UPDATE = "UPDATE"


class HttpVerb(StrEnum):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    DELETE = "DELETE"


class ContactType(StrEnum):
    BILLING = "Billing"
    TECHNICAL = "Technical"
    NOC = "NOC"
    SALES = "Sales"
    OTHER = "Other"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class MailKind(StrEnum):
    # The message carries a password generated at the moment it is sent (never before, so no
    # plaintext password waits in the outbox while SMTP is down).
    PASSWORD = "password"  # noqa: S105 (the kind of message, not a password)
    NOTICE = "notice"


class PendingStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    CONFLICT = "conflict"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ExtensionKind(StrEnum):
    SIP_USER = "sip_user"
    CONFERENCE = "conference"
    ALIAS = "alias"

    @property
    def label(self) -> str:
        return {"sip_user": "SIP user", "conference": "Conference", "alias": "Alias"}[self.value]


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
