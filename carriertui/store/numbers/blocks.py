"""Internal numbers: the blocks a customer is given from the number plan (allocate the next
free block, release one that no extension uses) and the listings of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from carriertui.store import audit
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.locks import lock_number_plan
from carriertui.store.db.tables import Customer, ExtensionNumber, NumberBlock, table_of
from carriertui.store.enums import AuditAction, HttpVerb, Role
from carriertui.store.errors import NotFoundError, StoreError
from carriertui.store.numbers.records import (
    _LISTED_EXTENSIONS,
    MAX_DIGITS,
    MAX_NUMBER,
    BlockRecord,
    ExtensionRecord,
    NumberPlanUnsetError,
    _blocks,
    _customer,
    _extension_records,
    _number_plan,
    block_range,
    max_block_index,
)


def _used_in(session: Session, first: int, last: int, customer_id: int | None) -> int:
    """How many numbers lie in [first, last]: the block owner's (another customer's number
    taken there before the block was assigned is theirs, not a use of the block), or with
    ``customer_id`` None everyone's."""
    table = table_of(ExtensionNumber)
    statement = select(func.count()).where(table.c.number.between(first, last))
    if customer_id is not None:
        statement = statement.where(table.c.customer_id == customer_id)
    return int(session.connection().execute(statement).scalar_one())


def _block_record(session: Session, block: NumberBlock, customer_name: str) -> BlockRecord:
    assert block.id is not None
    return BlockRecord(
        id=block.id,
        customer_id=block.customer_id,
        customer_name=customer_name,
        block_index=block.block_index,
        range_start=block.range_start,
        range_end=block.range_end,
        used=_used_in(session, block.range_start, block.range_end, block.customer_id),
        created_at=block.created_at,
        taken=_used_in(session, block.range_start, block.range_end, None),
    )


def _lowest_free_index(session: Session) -> int:
    table = table_of(NumberBlock)
    connection = session.connection()
    taken = connection.execute(select(table.c.id).where(table.c.block_index == 0)).first()
    if taken is None:
        return 0
    following = table.alias("following")
    gap = select(func.min(table.c.block_index + 1)).where(
        ~select(following.c.id).where(following.c.block_index == table.c.block_index + 1).exists()
    )
    return int(connection.execute(gap).scalar_one())


def _lowest_clear_index(
    session: Session, customer_id: int, start: int, size: int
) -> tuple[int, str]:
    """The lowest free block index whose range holds no other customer's number (one taken
    before any block covered it), and a note of the blocks passed over for that reason.

    Such a block given to this customer would hold an extension that is not theirs: the
    clash blocks exist to prevent. It stays free, for whoever holds the number there."""
    table = table_of(NumberBlock)
    numbers = table_of(ExtensionNumber)
    connection = session.connection()
    index = _lowest_free_index(session)
    passed: list[str] = []
    while True:
        if index > max_block_index(start, size):
            raise StoreError(
                f"no block left: block {index} would end past {MAX_NUMBER} "
                f"({MAX_DIGITS} digits, the longest E.164 number)"
                + (f"; passed over {', '.join(passed)}" if passed else "")
            )
        first, last = block_range(start, size, index)
        held = connection.execute(
            select(numbers.c.number, col(Customer.name))
            .join(Customer, col(Customer.id) == numbers.c.customer_id)
            .where(numbers.c.number.between(first, last), numbers.c.customer_id != customer_id)
            .order_by(numbers.c.number)
            .limit(1)
        ).first()
        if held is None:
            return index, "; ".join(passed)
        passed.append(f"block {index} holds {held.number} of {held.name}")
        index += 1
        while connection.execute(select(table.c.id).where(table.c.block_index == index)).first():
            index += 1


def _block_audit(block: NumberBlock) -> dict[str, Any] | None:
    return audit.snapshot(block)


def allocate_next_block(
    db: Database, actor: Actor, customer_id: int, *, comment: str | None = None
) -> BlockRecord:
    """Assign the lowest free block to the customer, atomically, and return it."""
    actor.require(Role.OPERATOR, "assign number blocks")
    with db.write() as session:
        lock_number_plan(session)
        customer = _customer(session, customer_id)
        plan = _number_plan(session)
        if plan is None:
            raise NumberPlanUnsetError()
        start, size = plan
        index, skipped = _lowest_clear_index(session, customer_id, start, size)
        first, last = block_range(start, size, index)
        block = NumberBlock(
            customer_id=customer_id, block_index=index, range_start=first, range_end=last
        )
        session.add(block)
        session.flush()
        audit.record(
            session,
            actor,
            action=AuditAction.CREATE,
            verb=HttpVerb.POST,
            table=NumberBlock.__tablename__,
            key=block.id,
            customer_id=customer_id,
            message=f"Number block {index} ({first}\u2013{last}) assigned to {customer.name}"
            + (f" ({skipped})" if skipped else ""),
            after=_block_audit(block),
            comment=comment,
        )
        return _block_record(session, block, customer.name)


def _extensions_in(
    session: Session, first: int, last: int, customer_id: int
) -> list[ExtensionRecord]:
    numbers = table_of(ExtensionNumber)
    return _extension_records(
        session, numbers.c.number.between(first, last), numbers.c.customer_id == customer_id
    )


def _list_numbers(records: Sequence[ExtensionRecord]) -> str:
    shown = ", ".join(record.describe() for record in records[:_LISTED_EXTENSIONS])
    more = len(records) - _LISTED_EXTENSIONS
    return shown + (f" and {more} more" if more > 0 else "")


def release_block(
    db: Database,
    actor: Actor,
    customer_id: int,
    block_index: int,
    *,
    comment: str | None = None,
) -> BlockRecord:
    """Give block ``block_index`` back; refused while any of its numbers is in use."""
    actor.require(Role.OPERATOR, "release number blocks")
    with db.write() as session:
        lock_number_plan(session)
        customer = _customer(session, customer_id)
        block = session.scalars(
            select(NumberBlock).where(
                col(NumberBlock.block_index) == block_index,
                col(NumberBlock.customer_id) == customer_id,
            )
        ).first()
        if block is None:
            held = sorted(
                session.scalars(
                    select(col(NumberBlock.block_index)).where(
                        col(NumberBlock.customer_id) == customer_id
                    )
                )
            )
            raise NotFoundError(
                f"{customer.name} holds no block {block_index}"
                + (f" (it holds: {', '.join(map(str, held))})" if held else " (it holds none)")
            )
        in_use = _extensions_in(session, block.range_start, block.range_end, customer_id)
        if in_use:
            raise StoreError(
                f"Block {block_index} ({block.range_start}\u2013{block.range_end}) is in use "
                f"and cannot be released: {_list_numbers(in_use)}. Remove these first."
            )
        record = _block_record(session, block, customer.name)
        before = _block_audit(block)
        session.delete(block)
        session.flush()
        audit.record(
            session,
            actor,
            action=AuditAction.DELETE,
            verb=HttpVerb.DELETE,
            table=NumberBlock.__tablename__,
            key=record.id,
            customer_id=customer_id,
            message=(
                f"Number block {block_index} ({record.range_text}) released by {customer.name}"
            ),
            before=before,
            comment=comment,
        )
        return record


def blocks_of(session: Session, customer_id: int) -> list[BlockRecord]:
    """One customer's blocks inside a caller's session (the portal's read-only view)."""
    return _blocks(session, customer_id)


def list_blocks(db: Database, actor: Actor, customer_id: int | None = None) -> list[BlockRecord]:
    """Blocks by index (one customer's, or every customer's) with used and free counts."""
    actor.require(Role.VIEWER, "list number blocks")
    with db.read() as session:
        return _blocks(session, customer_id)
