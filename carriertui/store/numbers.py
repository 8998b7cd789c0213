"""Internal number blocks and the extensions that use their numbers.

SIP extensions are unique per account, not per customer (DOMAIN.md section 4). Each customer gets
its own block of numbers: block k covers ``[start + k*size, start + (k+1)*size - 1]`` with Start
and Size from Settings > Options. A customer may hold several blocks.

Rules, all enforced here and by the database:

- Allocation takes the lowest free block index, in one write transaction (``BEGIN IMMEDIATE`` on
  SQLite, an advisory lock on PostgreSQL); ``block_index`` is UNIQUE as the net under both.
- Every number in use (SIP user, conference, alias) has one row in ``extension_number``, whose
  ``number`` is UNIQUE account-wide: a second use is "Duplicate User Detected", whoever races.
- A customer with blocks may use only numbers inside them; a customer without any block may use
  any number not used anywhere on the account.
- A block is released only when none of its numbers is in use.

Every change writes its audit entry (with the customer's id) in the same transaction.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, case, cast, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from carriertui.grid.model import (
    Aggregate,
    Column,
    ColumnType,
    DistinctValue,
    Query,
    Row,
    RowKey,
    aggregate_values,
)
from carriertui.store import audit, passwords, validation
from carriertui.store.context import Actor
from carriertui.store.db import Database
from carriertui.store.enums import AuditAction, ExtensionKind, HttpVerb, Role
from carriertui.store.errors import NotFoundError, StoreError, ValidationError
from carriertui.store.locks import lock_number_plan
from carriertui.store.models import (
    Alias,
    Conference,
    Customer,
    ExtensionNumber,
    NumberBlock,
    Option,
    SipUser,
)
from carriertui.store.rowsource import SqlRowSource

# E.164 numbers have at most 15 digits; BIGINT holds them with room to spare.
MAX_DIGITS = 15
MAX_NUMBER = 10**MAX_DIGITS - 1  # = options.MAX_NUMBER
DUPLICATE = "Duplicate User Detected"
PLAN_UNSET = (
    "Number Range Start and Block Size must both be set before a block can be assigned: "
    "an admin sets them in Settings > Options."
)
_LISTED_EXTENSIONS = 10


class NumberPlanUnsetError(StoreError):
    """Start or Size is unset: no block can be assigned yet."""

    def __init__(self) -> None:
        super().__init__(PLAN_UNSET)


# -- block arithmetic --------------------------------------------------------------------------


def block_range(start: int, size: int, index: int) -> tuple[int, int]:
    """First and last number of block ``index`` (0-based)."""
    if size < 1 or index < 0 or start < 0:
        raise ValueError("start >= 0, size >= 1 and index >= 0 are required")
    first = start + index * size
    return first, first + size - 1


def block_prefix(range_start: int, range_end: int) -> tuple[str, int] | None:
    """(company prefix, extension digits) when the block is aligned to a power of ten:
    2000-2999 gives ("2", 3) (extensions 000-999); None for a block such as 1500-2499."""
    size = range_end - range_start + 1
    digits = len(str(size)) - 1
    if size != 10**digits or digits == 0 or range_start % size:
        return None
    return str(range_start // size), digits


def max_block_index(start: int, size: int) -> int:
    """The last index whose block still ends at or below MAX_NUMBER (-1: not even block 0)."""
    return (MAX_NUMBER - start + 1) // size - 1


# -- records -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockRecord:
    id: int
    customer_id: int
    customer_name: str
    block_index: int
    range_start: int
    range_end: int
    used: int  # the block owner's numbers in the range
    created_at: datetime
    # every number in the range, whoever holds it (another customer may have taken one before
    # the block was assigned): what the picker must skip
    taken: int = 0

    @property
    def size(self) -> int:
        return self.range_end - self.range_start + 1

    @property
    def free(self) -> int:
        return self.size - self.used

    @property
    def prefix(self) -> str | None:
        aligned = block_prefix(self.range_start, self.range_end)
        return aligned[0] if aligned else None

    @property
    def extension_digits(self) -> int | None:
        aligned = block_prefix(self.range_start, self.range_end)
        return aligned[1] if aligned else None

    @property
    def range_text(self) -> str:
        return f"{self.range_start}\u2013{self.range_end}"

    @property
    def extensions_text(self) -> str:
        digits = self.extension_digits
        if digits is None:
            return ""
        return f"{'0' * digits}\u2013{'9' * digits}"

    def contains(self, number: int) -> bool:
        return self.range_start <= number <= self.range_end

    def values(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "customer": self.customer_name,
            "block": self.block_index,
            "range_start": self.range_start,
            "range_end": self.range_end,
            "prefix": self.prefix,
            "extension_digits": self.extension_digits,
            "used": self.used,
            "free": self.free,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class ExtensionRecord:
    """One number in use, as plain values (the portal shows these read-only)."""

    id: int  # the extension_number row
    number: int
    customer_id: int
    kind: ExtensionKind
    name: str  # SIP user display name, conference name, or "alias of N"
    channels: int | None = None  # SIP users
    max_members: int | None = None  # conferences (0 = unlimited)
    has_pin: bool | None = None  # conferences
    target_number: int | None = None  # aliases
    target_kind: ExtensionKind | None = None  # aliases

    def describe(self) -> str:
        if self.kind is ExtensionKind.ALIAS:
            target = self.target_kind.label if self.target_kind else "extension"
            return f"{self.number} (alias of {target} {self.target_number})"
        return f"{self.number} ({self.kind.label} {self.name})"


@dataclass(frozen=True)
class NewSipUser:
    """A SIP user just created and its generated password: shown once, never stored."""

    extension: ExtensionRecord
    password: str

    def __repr__(self) -> str:  # never leak the password into logs or tracebacks
        return f"NewSipUser(extension={self.extension!r}, password='***')"


@dataclass(frozen=True)
class DialResult:
    dialled: str
    number: int | None  # the number it was resolved to (after prefix completion)
    extension: ExtensionRecord | None  # what the number is (an alias, a SIP user, ...)
    reaches: ExtensionRecord | None  # the SIP user or conference a call ends at
    customer_name: str | None
    completed: bool  # a short extension completed with a block's prefix

    @property
    def text(self) -> str:
        if self.number is None:
            return f"{self.dialled} reaches nothing"
        how = f"{self.dialled} \u2192 {self.number}" if self.completed else str(self.number)
        if self.extension is None or self.reaches is None:
            return f"{how} reaches nothing"
        reached = self.reaches
        owner = f" of {self.customer_name}" if self.customer_name else ""
        target = f"{reached.kind.label} {reached.number} \u201c{reached.name}\u201d{owner}"
        if self.extension.kind is ExtensionKind.ALIAS:
            return f"{how} is an alias: reaches {target}"
        return f"{how} reaches {target}"


# -- options in the transaction -----------------------------------------------------------------


def _number_plan(session: Session) -> tuple[int, int] | None:
    """(start, size) as stored, or None while either is unset. Read inside the caller's
    transaction, so an allocation and a change of the options cannot interleave."""
    values = {}
    for key in ("number_range_start", "block_size"):
        row = session.get(Option, key)
        values[key] = json.loads(row.value_json) if row is not None else None
    if values["number_range_start"] is None or values["block_size"] is None:
        return None
    return int(values["number_range_start"]), int(values["block_size"])


def number_plan(db: Database, actor: Actor) -> tuple[int, int] | None:
    """(Number Range Start, Block Size), or None while either is unset."""
    actor.require(Role.VIEWER, "read the number plan")
    with db.read() as session:
        return _number_plan(session)


# -- blocks ------------------------------------------------------------------------------------


def _customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFoundError(f"no customer with id {customer_id}")
    return customer


def _used_in(session: Session, first: int, last: int, customer_id: int | None) -> int:
    """How many numbers lie in [first, last]: the block owner's (another customer's number
    taken there before the block was assigned is theirs, not a use of the block), or with
    ``customer_id`` None everyone's."""
    table = ExtensionNumber.__table__  # type: ignore[attr-defined]
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
    table = NumberBlock.__table__  # type: ignore[attr-defined]
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
    table = NumberBlock.__table__  # type: ignore[attr-defined]
    numbers = ExtensionNumber.__table__  # type: ignore[attr-defined]
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
            select(numbers.c.number, Customer.name)
            .join(Customer, Customer.id == numbers.c.customer_id)  # type: ignore[arg-type]
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
    numbers = ExtensionNumber.__table__  # type: ignore[attr-defined]
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


def _blocks(session: Session, customer_id: int | None) -> list[BlockRecord]:
    blocks = NumberBlock.__table__  # type: ignore[attr-defined]
    customers = Customer.__table__  # type: ignore[attr-defined]
    numbers = ExtensionNumber.__table__  # type: ignore[attr-defined]
    in_range = numbers.c.number.between(blocks.c.range_start, blocks.c.range_end)
    used = (
        select(func.count())
        .where(in_range, numbers.c.customer_id == blocks.c.customer_id)
        .scalar_subquery()
    )
    taken = select(func.count()).where(in_range).scalar_subquery()
    statement = (
        select(
            blocks,
            customers.c.name.label("customer_name"),
            used.label("used"),
            taken.label("taken"),
        )
        .join(customers, customers.c.id == blocks.c.customer_id)
        .order_by(blocks.c.block_index)
    )
    if customer_id is not None:
        statement = statement.where(blocks.c.customer_id == customer_id)
    return [
        BlockRecord(
            id=row.id,
            customer_id=row.customer_id,
            customer_name=row.customer_name,
            block_index=row.block_index,
            range_start=row.range_start,
            range_end=row.range_end,
            used=int(row.used),
            created_at=row.created_at,
            taken=int(row.taken),
        )
        for row in session.connection().execute(statement)
    ]


def blocks_of(session: Session, customer_id: int) -> list[BlockRecord]:
    """One customer's blocks inside a caller's session (the portal's read-only view)."""
    return _blocks(session, customer_id)


def list_blocks(db: Database, actor: Actor, customer_id: int | None = None) -> list[BlockRecord]:
    """Blocks by index (one customer's, or every customer's) with used and free counts."""
    actor.require(Role.VIEWER, "list number blocks")
    with db.read() as session:
        return _blocks(session, customer_id)


# -- extensions --------------------------------------------------------------------------------


def _extension_statement() -> Any:
    numbers = ExtensionNumber.__table__  # type: ignore[attr-defined]
    sip = SipUser.__table__  # type: ignore[attr-defined]
    conference = Conference.__table__  # type: ignore[attr-defined]
    alias = Alias.__table__  # type: ignore[attr-defined]
    targets = numbers.alias("target")
    return (
        select(
            numbers.c.id,
            numbers.c.number,
            numbers.c.customer_id,
            numbers.c.kind,
            sip.c.display_name,
            sip.c.channels,
            conference.c.name.label("conference_name"),
            conference.c.max_members,
            conference.c.pin,
            targets.c.number.label("target_number"),
            targets.c.kind.label("target_kind"),
        )
        .select_from(
            numbers.outerjoin(sip, sip.c.extension_id == numbers.c.id)
            .outerjoin(conference, conference.c.extension_id == numbers.c.id)
            .outerjoin(alias, alias.c.extension_id == numbers.c.id)
            .outerjoin(targets, targets.c.id == alias.c.target_extension_id)
        )
        .order_by(numbers.c.number)
    )


def _extension_records(session: Session, *conditions: Any) -> list[ExtensionRecord]:
    statement = _extension_statement().where(*conditions)
    records = []
    for row in session.connection().execute(statement):
        kind = ExtensionKind(row.kind)
        if kind is ExtensionKind.SIP_USER:
            record = ExtensionRecord(
                row.id,
                row.number,
                row.customer_id,
                kind,
                row.display_name or "",
                channels=row.channels,
            )
        elif kind is ExtensionKind.CONFERENCE:
            record = ExtensionRecord(
                row.id,
                row.number,
                row.customer_id,
                kind,
                row.conference_name or "",
                max_members=row.max_members,
                has_pin=bool(row.pin),
            )
        else:
            record = ExtensionRecord(
                row.id,
                row.number,
                row.customer_id,
                kind,
                f"alias of {row.target_number}",
                target_number=row.target_number,
                target_kind=ExtensionKind(row.target_kind) if row.target_kind else None,
            )
        records.append(record)
    return records


def list_extensions(db: Database, actor: Actor, customer_id: int) -> list[ExtensionRecord]:
    """A customer's SIP users, conferences and aliases by number, as plain values."""
    actor.require(Role.VIEWER, "list extensions")
    numbers = ExtensionNumber.__table__  # type: ignore[attr-defined]
    with db.read() as session:
        return _extension_records(session, numbers.c.customer_id == customer_id)


def parse_number(value: Any, field: str = "number") -> int:
    """A number as typed: digits only (spaces allowed), no leading zero, at most 15 digits."""
    raw = "".join(str(value if value is not None else "").split())
    if not raw:
        raise ValidationError(field, "is required")
    if not raw.isdigit() or not raw.isascii():
        raise ValidationError(field, "must be digits only")
    if len(raw) > MAX_DIGITS:
        raise ValidationError(field, f"must have at most {MAX_DIGITS} digits")
    if len(raw) > 1 and raw.startswith("0"):
        raise ValidationError(field, "must not start with 0")
    return int(raw)


def _claim_number(session: Session, customer: Customer, number: int, kind: ExtensionKind) -> int:
    """Insert the number's extension_number row after the account-wide and block rules;
    returns its id. Call with the number-plan lock held."""
    assert customer.id is not None
    numbers = ExtensionNumber.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    if connection.execute(select(numbers.c.id).where(numbers.c.number == number)).first():
        raise ValidationError("number", f"{DUPLICATE}: {number} is in use on this account")
    if kind is not ExtensionKind.ALIAS:
        blocks = _blocks(session, customer.id)
        if blocks and not any(block.contains(number) for block in blocks):
            ranges = ", ".join(block.range_text for block in blocks)
            raise ValidationError(
                "number", f"{number} is outside {customer.name}'s number blocks ({ranges})"
            )
    # Another customer's block is theirs, whatever kind of number this is (with or without
    # blocks of one's own): that is what blocks are for.
    foreign = session.scalars(
        select(NumberBlock).where(
            col(NumberBlock.range_start) <= number,
            col(NumberBlock.range_end) >= number,
            col(NumberBlock.customer_id) != customer.id,
        )
    ).first()
    if foreign is not None:
        owner = session.get(Customer, foreign.customer_id)
        raise ValidationError(
            "number",
            f"{number} is in block {foreign.block_index} ({foreign.range_start}\u2013"
            f"{foreign.range_end}) of {owner.name if owner else 'another customer'}",
        )
    row = ExtensionNumber(number=number, customer_id=customer.id, kind=kind.value)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as error:
        # The UNIQUE column is the last word: another writer took the number first.
        raise ValidationError(
            "number", f"{DUPLICATE}: {number} is in use on this account"
        ) from error
    assert row.id is not None
    return row.id


def _one_extension(session: Session, extension_id: int) -> ExtensionRecord:
    numbers = ExtensionNumber.__table__  # type: ignore[attr-defined]
    return _extension_records(session, numbers.c.id == extension_id)[0]


def _pin(field: str, value: Any) -> str | None:
    raw = "".join(str(value if value is not None else "").split())
    if not raw:
        return None
    if not raw.isdigit() or not raw.isascii() or len(raw) > 16:
        raise ValidationError(field, "must be up to 16 digits")
    return raw


def _record_new_extension(
    session: Session,
    actor: Actor,
    row: SipUser | Conference | Alias,
    *,
    message: str,
    after: dict[str, Any],
    comment: str | None,
) -> None:
    """Add a SIP user, conference or alias row and audit its creation (CREATE), in the
    caller's transaction; ``after`` adds the number (and target) to the row's audit view."""
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        action=AuditAction.CREATE,
        verb=HttpVerb.POST,
        table=row.__tablename__,
        key=row.id,
        customer_id=row.customer_id,
        message=message,
        after={**(audit.snapshot(row) or {}), **after},
        comment=comment,
    )


def create_sip_user(
    db: Database,
    actor: Actor,
    customer_id: int,
    number: Any,
    *,
    display_name: Any,
    channels: Any = 2,
    comment: str | None = None,
) -> NewSipUser:
    """A SIP user whose username is ``number``, with a generated password returned once.

    The argon2 hash (about 130 ms) is computed before the write transaction opens, so the
    write lock is not held while it runs.
    """
    actor.require(Role.OPERATOR, "create SIP users")
    parsed = parse_number(number)
    name = validation.text("display_name", display_name, max_length=100)
    assert name is not None
    channel_count = validation.integer("channels", channels, minimum=0, maximum=100_000)
    password = passwords.generate_password()
    password_hash = passwords.hash_password(password)
    with db.write() as session:
        lock_number_plan(session)
        customer = _customer(session, customer_id)
        extension_id = _claim_number(session, customer, parsed, ExtensionKind.SIP_USER)
        user = SipUser(
            extension_id=extension_id,
            customer_id=customer_id,
            username=str(parsed),
            display_name=name,
            channels=channel_count,
            password_hash=password_hash,
        )
        _record_new_extension(
            session,
            actor,
            user,
            message=f"SIP user {parsed} ({name}) created for {customer.name}",
            after={"number": parsed},
            comment=comment,
        )
        return NewSipUser(_one_extension(session, extension_id), password)


def create_conference(
    db: Database,
    actor: Actor,
    customer_id: int,
    number: Any,
    *,
    name: Any,
    pin: Any = None,
    moderator_pin: Any = None,
    max_members: Any = 0,
    comment: str | None = None,
) -> ExtensionRecord:
    """A conference on extension ``number``; ``max_members`` 0 means unlimited."""
    actor.require(Role.OPERATOR, "create conferences")
    parsed = parse_number(number)
    title = validation.text("name", name, max_length=100)
    assert title is not None
    members = validation.integer("max_members", max_members, minimum=0, maximum=100_000)
    member_pin = _pin("pin", pin)
    chair_pin = _pin("moderator_pin", moderator_pin)
    with db.write() as session:
        lock_number_plan(session)
        customer = _customer(session, customer_id)
        extension_id = _claim_number(session, customer, parsed, ExtensionKind.CONFERENCE)
        conference = Conference(
            extension_id=extension_id,
            customer_id=customer_id,
            name=title,
            pin=member_pin,
            moderator_pin=chair_pin,
            max_members=members,
        )
        _record_new_extension(
            session,
            actor,
            conference,
            message=f"Conference {parsed} ({title}) created for {customer.name}",
            after={"number": parsed},
            comment=comment,
        )
        return _one_extension(session, extension_id)


def create_alias(
    db: Database,
    actor: Actor,
    customer_id: int,
    number: Any,
    *,
    target: Any,
    comment: str | None = None,
) -> ExtensionRecord:
    """An alternative number that reaches the customer's SIP user or conference ``target``.

    The alias number obeys the account-wide uniqueness like every extension; it need not lie in
    a block (a short code such as 100 may point at 2100).
    """
    actor.require(Role.OPERATOR, "create aliases")
    parsed = parse_number(number)
    target_number = parse_number(target, "target")
    numbers = ExtensionNumber.__table__  # type: ignore[attr-defined]
    with db.write() as session:
        lock_number_plan(session)
        customer = _customer(session, customer_id)
        found = (
            session.connection()
            .execute(
                select(numbers.c.id, numbers.c.kind).where(
                    numbers.c.number == target_number, numbers.c.customer_id == customer_id
                )
            )
            .first()
        )
        if found is None:
            raise ValidationError(
                "target", f"{target_number} is not an extension of {customer.name}"
            )
        if found.kind == ExtensionKind.ALIAS.value:
            raise ValidationError(
                "target", f"{target_number} is an alias itself: point to a SIP user or conference"
            )
        extension_id = _claim_number(session, customer, parsed, ExtensionKind.ALIAS)
        alias = Alias(
            extension_id=extension_id, customer_id=customer_id, target_extension_id=found.id
        )
        _record_new_extension(
            session,
            actor,
            alias,
            message=f"Alias {parsed} \u2192 {target_number} created for {customer.name}",
            after={"number": parsed, "target": target_number},
            comment=comment,
        )
        return _one_extension(session, extension_id)


def delete_extension(
    db: Database, actor: Actor, customer_id: int, number: Any, *, comment: str | None = None
) -> ExtensionRecord:
    """Remove a SIP user, conference or alias of the customer; its number becomes free.
    Refused for a SIP user or conference that aliases still point to."""
    actor.require(Role.OPERATOR, "remove extensions")
    parsed = parse_number(number)
    numbers = ExtensionNumber.__table__  # type: ignore[attr-defined]
    with db.write() as session:
        lock_number_plan(session)
        customer = _customer(session, customer_id)
        found = _extension_records(
            session, numbers.c.number == parsed, numbers.c.customer_id == customer_id
        )
        if not found:
            raise NotFoundError(f"{parsed} is not an extension of {customer.name}")
        record = found[0]
        pointing = session.scalars(select(Alias).where(col(Alias.target_extension_id) == record.id))
        alias_ids = [alias.extension_id for alias in pointing]
        if alias_ids:
            aliases = _extension_records(session, numbers.c.id.in_(alias_ids))
            raise StoreError(
                f"{record.describe()} cannot be removed: aliases point to it: "
                f"{', '.join(str(a.number) for a in aliases)}. Remove them first."
            )
        model: Any = {
            ExtensionKind.SIP_USER: SipUser,
            ExtensionKind.CONFERENCE: Conference,
            ExtensionKind.ALIAS: Alias,
        }[record.kind]
        row = session.scalars(select(model).where(model.extension_id == record.id)).one()
        before = {**(audit.snapshot(row) or {}), "number": parsed}
        if record.kind is ExtensionKind.ALIAS:
            before["target"] = record.target_number
        key = row.id
        session.delete(row)
        session.flush()
        extension = session.get(ExtensionNumber, record.id)
        session.delete(extension)
        session.flush()
        audit.record(
            session,
            actor,
            action=AuditAction.DELETE,
            verb=HttpVerb.DELETE,
            table=model.__tablename__,
            key=key,
            customer_id=customer_id,
            message=f"{record.kind.label} {parsed} removed from {customer.name}",
            before=before,
            comment=comment,
        )
        return record


# -- dial plan ---------------------------------------------------------------------------------


def resolve_dial(db: Database, actor: Actor, customer_id: int, dialled: Any) -> DialResult:
    """What a phone of this customer reaches by dialling ``dialled``.

    A short extension (as many digits as an aligned block's extensions) is completed with the
    block's prefix first, lowest block first (dialling 100 in 2000-2999 reaches 2100); otherwise,
    or when no completion reaches anything, the number as dialled. An alias reaches its target.
    """
    actor.require(Role.VIEWER, "resolve dialled numbers")
    raw = "".join(str(dialled if dialled is not None else "").split())
    if not raw:
        raise ValidationError("dialled", "type the digits a phone would dial")
    if not raw.isdigit() or not raw.isascii() or len(raw) > MAX_DIGITS:
        raise ValidationError("dialled", f"must be 1 to {MAX_DIGITS} digits")
    numbers = ExtensionNumber.__table__  # type: ignore[attr-defined]
    with db.read() as session:
        candidates: list[tuple[int, bool]] = []
        for block in _blocks(session, customer_id):
            aligned = block_prefix(block.range_start, block.range_end)
            if aligned is not None and len(raw) == aligned[1]:
                candidates.append((int(aligned[0] + raw), True))
        if len(raw) == 1 or not raw.startswith("0"):
            candidates.append((int(raw), False))
        first_tried: tuple[int, bool] | None = None
        for number, completed in candidates:
            if number > MAX_NUMBER:
                continue
            first_tried = first_tried or (number, completed)
            found = _extension_records(session, numbers.c.number == number)
            if not found:
                continue
            extension = found[0]
            reaches = extension
            if extension.kind is ExtensionKind.ALIAS and extension.target_number is not None:
                targets = _extension_records(session, numbers.c.number == extension.target_number)
                reaches = targets[0] if targets else None
            owner = session.get(Customer, extension.customer_id)
            return DialResult(
                dialled=raw,
                number=number,
                extension=extension,
                reaches=reaches,
                customer_name=owner.name if owner is not None else None,
                completed=completed,
            )
    number, completed = first_tried if first_tried else (None, False)
    return DialResult(raw, number, None, None, None, completed)


# -- grids and the number picker ----------------------------------------------------------------


def _number_text(value: Any) -> str:
    return str(value)


EXTENSION_COLUMNS = (
    Column(
        "number", "Number", ColumnType.INTEGER, width=15, formatter=_number_text, searchable=True
    ),
    Column("kind", "Kind", width=10),
    # 19, not wider: with the scrollbar the whole Target (a number of up to 15 digits) still
    # fits at 80 columns.
    Column("name", "Name", width=19),
    Column("channels", "Ch.", ColumnType.INTEGER, width=4),
    Column("max_members", "Max", ColumnType.INTEGER, width=4),
    Column("target", "Target", ColumnType.INTEGER, width=15, formatter=_number_text),
)


def extensions_grid_source(db: Database, actor: Actor, customer_id: int) -> SqlRowSource:
    """The customer's extensions for the grid, paged in SQL (a block may hold 100,000)."""
    actor.require(Role.VIEWER, "list extensions")
    numbers = ExtensionNumber.__table__  # type: ignore[attr-defined]
    sip = SipUser.__table__  # type: ignore[attr-defined]
    conference = Conference.__table__  # type: ignore[attr-defined]
    alias = Alias.__table__  # type: ignore[attr-defined]
    targets = numbers.alias("target")
    selectable = (
        numbers.outerjoin(sip, sip.c.extension_id == numbers.c.id)
        .outerjoin(conference, conference.c.extension_id == numbers.c.id)
        .outerjoin(alias, alias.c.extension_id == numbers.c.id)
        .outerjoin(targets, targets.c.id == alias.c.target_extension_id)
    )
    kind = case(
        *((numbers.c.kind == member.value, literal(member.label)) for member in ExtensionKind),
        else_=numbers.c.kind,
    )
    name = func.coalesce(
        sip.c.display_name,
        conference.c.name,
        literal("alias of ") + cast(targets.c.number, String),
    )
    return SqlRowSource(
        db,
        name="extensions",
        columns=EXTENSION_COLUMNS,
        selectable=selectable,
        expressions={
            "number": numbers.c.number,
            "kind": cast(kind, String),
            "name": cast(name, String),
            "channels": sip.c.channels,
            "max_members": conference.c.max_members,
            "target": targets.c.number,
        },
        key=numbers.c.id,
        where=numbers.c.customer_id == customer_id,
    )


PICKER_COLUMNS = (
    Column(
        "number",
        "Unused number",
        ColumnType.INTEGER,
        width=16,
        formatter=_number_text,
        sortable=False,
        filterable=False,
        searchable=False,
    ),
    Column("extension", "Ext.", width=8, sortable=False, filterable=False, searchable=False),
    Column("block", "Block", width=28, sortable=False, filterable=False, searchable=False),
)


@dataclass(frozen=True)
class _Span:
    """The part of one block a search keeps: numbers first..last, ``used`` of them in use, and
    ``before`` unused numbers in the spans ahead of it."""

    first: int
    last: int
    used: int
    before: int
    block: BlockRecord

    @property
    def unused(self) -> int:
        return self.last - self.first + 1 - self.used


def prefix_ranges(prefix: str, first: int, last: int) -> list[tuple[int, int]]:
    """The numbers in ``first..last`` whose decimal digits start with ``prefix``, as sorted,
    disjoint ranges (one per length: prefix 2 in 1..300 gives 2, 20-29, 200-299)."""
    if not prefix:
        return [(first, last)]
    base = int(prefix)
    ranges = []
    for extra in range(len(str(last)) - len(prefix) + 1):
        low, high = base * 10**extra, (base + 1) * 10**extra - 1
        low, high = max(low, first), min(high, last)
        if low <= high:
            ranges.append((low, high))
    return ranges


_CHUNK = 4096
_FIRST_CHUNK = 256
PRIMED_ROWS = 256  # callers pass the grid's page size (widgets.grid.view.PAGE_SIZE)
# Up to this many unused numbers into a span, a page is found by walking the used numbers from
# the span's start in chunks; further in (End, a long scroll), the span's used numbers are read
# once and the k-th unused number is found by binary search.
_WALK_LIMIT = 20_000


class UnusedNumberSource:
    """The unused numbers of a customer's blocks, as a grid row source, never materialised.

    Counts are COUNT queries per block (one indexed range each). The first pages walk the used
    numbers from the block's start in chunks, so the picker shows a 100,000-number block's first
    unused numbers after reading a few thousand rows at most; a page far into a block reads the
    block's used numbers once and finds the k-th unused number by binary search. The grid's
    search is the picker's type-ahead: digits that the number starts with (this source's search
    is a prefix match, not the grid's usual "contains"; its columns are neither sortable nor
    filterable).

    The numbers in use are read when asked: a number taken meanwhile may still be offered, and
    the service refuses it with "Duplicate User Detected".
    """

    columns = PICKER_COLUMNS
    name = "unused-numbers"

    def __init__(
        self,
        blocks: Sequence[BlockRecord],
        *,
        count_used: Callable[[int, int], int],
        used_from: Callable[[int, int, int], list[int]],
    ) -> None:
        self.blocks = tuple(sorted(blocks, key=lambda block: block.range_start))
        self._count_used = count_used
        self._used_from = used_from
        self._lock = threading.Lock()
        self._spans: dict[str, tuple[_Span, ...]] = {}
        self._loaded: dict[tuple[int, int], list[int]] = {}
        self._primed: tuple[str, list[Row]] | None = None
        self._primed_pending: set[str] = set()
        self._block_counts_fresh = True  # BlockRecord.used as read with the blocks
        self._primed_rows = PRIMED_ROWS

    # -- the first answers, read in the service's worker ---------------------------------------

    def prime(self, search: str = "", rows: int = PRIMED_ROWS) -> None:
        """Read the count and the first ``rows`` rows for ``search`` now (call it in a worker).

        Until the grid has taken these answers (its first count and first page), the source says
        it is ``synchronous``: the grid asks for them on the UI thread and shows them in the
        first frame, without two thread hops. Every later answer needs SQL and comes through
        the grid's workers again.
        """
        search = search.strip()
        self._primed_rows = rows
        first_rows = self.page(Query(search=search), 0, rows)
        self.spans(search)
        self.spans("")  # total() is the count with no search
        with self._lock:
            self._primed = (search, first_rows)
            self._primed_pending = {"page", "count", "total"}

    @property
    def synchronous(self) -> bool:
        with self._lock:
            return bool(self._primed_pending)

    def _take_primed(self, what: str) -> None:
        with self._lock:
            self._primed_pending.discard(what)

    def _primed_page(self, query: Query, offset: int, limit: int) -> list[Row] | None:
        with self._lock:
            primed = self._primed
        if primed is None or offset != 0 or query.search.strip() != primed[0]:
            return None
        rows = primed[1]
        if limit <= len(rows) or len(rows) < self._primed_rows:
            self._take_primed("page")
            return rows[:limit]
        return None

    # -- arithmetic ---------------------------------------------------------------------------

    def spans(self, search: str) -> tuple[_Span, ...]:
        search = search.strip()
        with self._lock:
            cached = self._spans.get(search)
        if cached is not None:
            return cached
        spans: list[_Span] = []
        if not search or (search.isdigit() and search.isascii()):
            before = 0
            for block in self.blocks:
                for first, last in prefix_ranges(search, block.range_start, block.range_end):
                    whole = self._block_counts_fresh and (first, last) == (
                        block.range_start,
                        block.range_end,
                    )
                    # the block's count was read with the block: no second COUNT
                    used = block.taken if whole else self._count_used(first, last)
                    span = _Span(first, last, used, before, block)
                    before += span.unused
                    spans.append(span)
        result = tuple(span for span in spans if span.unused)
        with self._lock:
            if len(self._spans) > 64:
                self._spans.clear()
            self._spans[search] = result
        return result

    def _all_used(self, span: _Span) -> list[int]:
        key = (span.first, span.last)
        with self._lock:
            cached = self._loaded.get(key)
        if cached is None:
            cached = self._used_from(span.first, span.last, span.used + _CHUNK)
            with self._lock:
                self._loaded[key] = cached
        return cached

    def _nth_in(self, span: _Span, used: list[int], k: int) -> int:
        """The k-th (0-based) unused number of ``span``, whose used numbers are ``used``."""
        # the count c of used numbers u with (unused numbers before u) <= k; answer first + k + c
        low, high = 0, len(used)
        while low < high:
            middle = (low + high) // 2
            if used[middle] - span.first - middle <= k:
                low = middle + 1
            else:
                high = middle
        return span.first + k + low

    def _row(self, number: int, block: BlockRecord) -> Row:
        digits = block.extension_digits
        extension = str(number)[-digits:] if digits else ""
        label = f"{block.block_index}: {block.range_text}"
        return number, (number, extension, label)

    def _walk(self, span: _Span, skip: int) -> Iterator[Row]:
        """Unused numbers of ``span`` after the first ``skip``, reading used numbers in chunks."""
        cursor = span.first
        size = _FIRST_CHUNK  # a first page usually needs a few used numbers, not thousands
        while cursor <= span.last:
            chunk = self._used_from(cursor, span.last, size)
            complete = len(chunk) < size
            size = min(size * 4, _CHUNK)
            for stop in [*chunk, span.last + 1] if complete else chunk:
                if cursor < stop:
                    gap = stop - cursor
                    if skip >= gap:
                        skip -= gap
                    else:
                        for number in range(cursor + skip, stop):
                            yield self._row(number, span.block)
                        skip = 0
                cursor = stop + 1
            if complete:
                return

    def _jump(self, span: _Span, skip: int) -> Iterator[Row]:
        used = self._all_used(span)
        number = self._nth_in(span, used, skip)
        pointer = bisect.bisect_right(used, number)
        while number <= span.last:
            if pointer < len(used) and used[pointer] == number:
                pointer += 1
            else:
                yield self._row(number, span.block)
            number += 1

    def _iter_from(self, search: str, offset: int) -> Iterator[Row]:
        spans = self.spans(search)
        index = bisect.bisect_right([span.before for span in spans], offset) - 1
        if index < 0:
            return
        for span in spans[index:]:
            skip = max(offset - span.before, 0)
            if skip >= span.unused:
                continue
            if skip <= _WALK_LIMIT and (span.first, span.last) not in self._loaded:
                yield from self._walk(span, skip)
            else:
                yield from self._jump(span, skip)

    # -- the row source protocol ---------------------------------------------------------------

    def count(self, query: Query) -> int:
        counted = sum(span.unused for span in self.spans(query.search))
        if self._primed is not None and query.search.strip() == self._primed[0]:
            self._take_primed("count")
        return counted

    def total(self) -> int:
        counted = sum(span.unused for span in self.spans(""))
        self._take_primed("total")
        return counted

    def page(self, query: Query, offset: int, limit: int) -> list[Row]:
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must not be negative")
        primed = self._primed_page(query, offset, limit)
        if primed is not None:
            return primed
        rows: list[Row] = []
        if limit == 0:
            return rows
        for row in self._iter_from(query.search, offset):
            rows.append(row)
            if len(rows) >= limit:
                break
        return rows

    def distinct(
        self, query: Query, key: str, *, search: str = "", limit: int = 1000
    ) -> list[DistinctValue]:
        return []  # not filterable: a value list of 100,000 numbers helps nobody

    def aggregate(self, query: Query, keys: Sequence[str], offset: int, limit: int) -> Aggregate:
        if "number" not in keys:
            return Aggregate()
        return aggregate_values(row[1][0] for row in self.page(query, offset, limit))

    def index_of(self, query: Query, key: RowKey) -> int | None:
        if not isinstance(key, int) or isinstance(key, bool):
            return None
        for span in self.spans(query.search):
            if span.first <= key <= span.last:
                if self._count_used(key, key):
                    return None
                used_before = self._count_used(span.first, key - 1) if key > span.first else 0
                return span.before + (key - span.first) - used_before
        return None

    def iter_rows(
        self, query: Query, offset: int = 0, limit: int | None = None, batch: int = 5000
    ) -> Iterator[list[Row]]:
        chunk: list[Row] = []
        for produced, row in enumerate(self._iter_from(query.search, offset)):
            if limit is not None and produced >= limit:
                break
            chunk.append(row)
            if len(chunk) >= batch:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def refresh(self) -> None:
        """Forget counts and loaded numbers: the next call reads the numbers in use again.
        A source whose first answers were just read (:meth:`prime`) keeps them for the
        grid's first load, which starts with a refresh."""
        with self._lock:
            if self._primed_pending:
                return
            self._primed = None
            self._block_counts_fresh = False
            self._spans.clear()
            self._loaded.clear()

    def first(self, search: str = "") -> int | None:
        rows = self.page(Query(search=search), 0, 1)
        return rows[0][0] if rows else None

    def is_unused(self, number: int) -> bool:
        return self.index_of(Query(), number) is not None


def unused_numbers(
    db: Database,
    actor: Actor,
    customer_id: int,
    *,
    prime: str | None = None,
    prime_rows: int = PRIMED_ROWS,
) -> UnusedNumberSource:
    """The number picker's source over the customer's blocks (read now) and the numbers used in
    them by anyone on the account (read as the picker pages). Empty when it holds no block.
    With ``prime`` (the digits typed so far), the count and first rows for it are read now too
    (see :meth:`UnusedNumberSource.prime`)."""
    actor.require(Role.VIEWER, "list unused numbers")
    numbers = ExtensionNumber.__table__  # type: ignore[attr-defined]

    def count_used(first: int, last: int) -> int:
        statement = select(func.count()).where(numbers.c.number.between(first, last))
        with db.read() as session:
            return int(session.connection().execute(statement).scalar_one())

    def used_from(first: int, last: int, limit: int) -> list[int]:
        statement = (
            select(numbers.c.number)
            .where(numbers.c.number.between(first, last))
            .order_by(numbers.c.number)
            .limit(limit)
        )
        with db.read() as session:
            return list(session.connection().execute(statement).scalars())

    with db.read() as session:
        blocks = _blocks(session, customer_id)
    source = UnusedNumberSource(blocks, count_used=count_used, used_from=used_from)
    if prime is not None:
        source.prime(prime, prime_rows)
    return source


def customer_has_blocks(db: Database, actor: Actor, customer_id: int) -> bool:
    actor.require(Role.VIEWER, "list number blocks")
    with db.read() as session:
        query = select(col(NumberBlock.id)).where(col(NumberBlock.customer_id) == customer_id)
        return session.scalars(query).first() is not None
