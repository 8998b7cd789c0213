"""Internal numbers: the records (blocks, extensions, dial results), the number plan as
stored, block arithmetic, and the reads that build the records (store/numbers.py and
store/number_extensions.py share them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.tables import (
    Alias,
    Conference,
    Customer,
    ExtensionNumber,
    NumberBlock,
    Option,
    SipUser,
    table_of,
)
from carriertui.store.enums import ExtensionKind, Role
from carriertui.store.errors import NotFoundError, StoreError, ValidationError

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


def _blocks(session: Session, customer_id: int | None) -> list[BlockRecord]:
    blocks = table_of(NumberBlock)
    customers = table_of(Customer)
    numbers = table_of(ExtensionNumber)
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


# -- extensions --------------------------------------------------------------------------------


def _extension_statement() -> Any:
    numbers = table_of(ExtensionNumber)
    sip = table_of(SipUser)
    conference = table_of(Conference)
    alias = table_of(Alias)
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


# -- grids and the number picker ----------------------------------------------------------------


def _number_text(value: Any) -> str:
    return str(value)
