"""An invoice's status: Unpaid, Paid, Void (audited)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from carriertui.store import audit
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.tables import Invoice
from carriertui.store.enums import AuditAction, HttpVerb, InvoiceStatus, Role
from carriertui.store.errors import NotFoundError, ValidationError
from carriertui.store.invoices.records import (
    TABLE,
    InvoiceRecord,
    records_of,
)

# -- status ----------------------------------------------------------------------------------------


def _wanted_status(status: InvoiceStatus | str) -> InvoiceStatus:
    try:
        return InvoiceStatus(str(status).strip().capitalize())
    except ValueError:
        raise ValidationError("status", f"{status!r} is not Unpaid, Paid or Pending") from None


def _apply_status(
    session: Session, actor: Actor, invoice_id: int, wanted: InvoiceStatus, comment: str | None
) -> Invoice:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFoundError(f"no invoice with id {invoice_id}")
    before = invoice.status
    if before == wanted.value:
        return invoice
    invoice.status = wanted.value
    session.add(invoice)
    session.flush()
    audit.record(
        session,
        actor,
        action=AuditAction.UPDATE,
        verb=HttpVerb.PUT,
        table=TABLE,
        key=invoice.id,
        customer_id=invoice.customer_id,
        message=f"Invoice {invoice.number} marked {wanted.value} (was {before})",
        before={"number": invoice.number, "status": before},
        after={"number": invoice.number, "status": wanted.value},
        comment=comment,
    )
    return invoice


def set_status(
    db: Database,
    actor: Actor,
    invoice_id: int,
    status: InvoiceStatus | str,
    *,
    comment: str | None = None,
) -> InvoiceRecord:
    """Change an invoice's status (Unpaid, Paid, Pending), audited as UPDATE. Setting the
    status it has already writes nothing."""
    return set_status_many(db, actor, [invoice_id], status, comment=comment)[0]


def set_status_many(
    db: Database,
    actor: Actor,
    invoice_ids: Sequence[int],
    status: InvoiceStatus | str,
    *,
    comment: str | None = None,
) -> list[InvoiceRecord]:
    """:func:`set_status` for several invoices (the grid's checked rows) in one transaction:
    all or nothing, one audit entry per invoice that changes."""
    actor.require(Role.OPERATOR, "change invoices")
    wanted = _wanted_status(status)
    with db.write() as session:
        changed = [
            _apply_status(session, actor, invoice_id, wanted, comment) for invoice_id in invoice_ids
        ]
        return records_of(session, changed)
