"""Internal numbers: extensions (SIP users, conferences, aliases) claimed from a customer's
blocks, the dial plan that resolves a dialled number, and the extensions grid."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, case, cast, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from carriertui.grid.model import (
    Column,
    ColumnType,
)
from carriertui.store import audit, passwords, validation
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.locks import lock_number_plan
from carriertui.store.db.rowsource import SqlRowSource
from carriertui.store.db.tables import (
    Alias,
    Conference,
    Customer,
    ExtensionNumber,
    NumberBlock,
    SipUser,
    table_of,
)
from carriertui.store.enums import AuditAction, ExtensionKind, HttpVerb, Role
from carriertui.store.errors import NotFoundError, StoreError, ValidationError
from carriertui.store.numbers.records import (
    DUPLICATE,
    MAX_DIGITS,
    MAX_NUMBER,
    DialResult,
    ExtensionRecord,
    NewSipUser,
    _blocks,
    _customer,
    _extension_records,
    _number_text,
    block_prefix,
    parse_number,
)


def list_extensions(db: Database, actor: Actor, customer_id: int) -> list[ExtensionRecord]:
    """A customer's SIP users, conferences and aliases by number, as plain values."""
    actor.require(Role.VIEWER, "list extensions")
    numbers = table_of(ExtensionNumber)
    with db.read() as session:
        return _extension_records(session, numbers.c.customer_id == customer_id)


def _claim_number(session: Session, customer: Customer, number: int, kind: ExtensionKind) -> int:
    """Insert the number's extension_number row after the account-wide and block rules;
    returns its id. Call with the number-plan lock held."""
    assert customer.id is not None
    numbers = table_of(ExtensionNumber)
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
    numbers = table_of(ExtensionNumber)
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
    numbers = table_of(ExtensionNumber)
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
    numbers = table_of(ExtensionNumber)
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
    numbers = table_of(ExtensionNumber)
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
            reaches: ExtensionRecord | None = extension
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
    if first_tried is None:
        return DialResult(raw, None, None, None, None, False)
    number, completed = first_tried
    return DialResult(raw, number, None, None, None, completed)


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
    numbers = table_of(ExtensionNumber)
    sip = table_of(SipUser)
    conference = table_of(Conference)
    alias = table_of(Alias)
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
