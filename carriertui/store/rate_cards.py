"""Rate cards (issue 14): create, list, find, and the card a customer is rated with.

Every change is validated and audited here; store/rates.py (decks, rates, rating) builds on it
and names these functions for its callers. The Rate Cards screen reads a card's rates through
:func:`rates_grid_source` (every version, or those in force at a moment) and a customer's cards
through :func:`assigned_card_names`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from carriertui.grid.model import Column, ColumnType
from carriertui.rating import CardKind
from carriertui.store import audit, validation
from carriertui.store.context import Actor
from carriertui.store.currencies import ISO_4217
from carriertui.store.db.database import Database
from carriertui.store.db.rate_tables import Rate, RateCard, RateCardAssignment
from carriertui.store.db.rowsource import SqlRowSource
from carriertui.store.db.tables import Customer, table_of
from carriertui.store.enums import AuditAction, HttpVerb, Role
from carriertui.store.errors import NotFoundError, ValidationError

CARD_TABLE = "rate_card"
ASSIGNMENT_TABLE = "rate_card_assignment"


@dataclass(frozen=True)
class CardRecord:
    id: int
    name: str
    kind: CardKind
    currency: str
    created_at: datetime
    rates: int  # rate rows, every version
    customers: tuple[str, ...]  # account codes (or names) of the customers assigned to it


def _clean_name(value: Any) -> str:
    name = validation.text("card", value, max_length=64)
    assert name is not None
    if name[0] in "=+-@" or any(char in name for char in "[]<>{}"):
        raise ValidationError("card", "letters, digits, spaces and . _ / ( ) only; no markup")
    return name


def _clean_currency(value: Any) -> str:
    code = str(value or "").strip().upper()
    if code not in ISO_4217:
        raise ValidationError("currency", "must be an ISO 4217 code such as USD, EUR or GBP")
    return code


def _card_view(card: RateCard) -> dict[str, Any]:
    return {"name": card.name, "kind": card.kind, "currency": card.currency}


def _to_card(session: Session, card: RateCard) -> CardRecord:
    assert card.id is not None
    count = session.exec(select(func.count()).where(Rate.card_id == card.id)).one()
    codes = session.exec(
        select(func.coalesce(Customer.account_code, Customer.name))
        .join(RateCardAssignment, col(RateCardAssignment.customer_id) == Customer.id)
        .where(RateCardAssignment.card_id == card.id)
        .order_by(Customer.name_folded)
    ).all()
    return CardRecord(
        card.id, card.name, CardKind(card.kind), card.currency, card.created_at, count, tuple(codes)
    )


def _find_card(session: Session, name: str) -> RateCard | None:
    wanted = name.strip()
    card = session.exec(select(RateCard).where(RateCard.name_folded == wanted.casefold())).first()
    if card is None and wanted.isdigit():
        card = session.get(RateCard, int(wanted))
    return card


def _new_card(session: Session, actor: Actor, name: str, kind: CardKind, currency: str) -> RateCard:
    card = RateCard(name=name, name_folded=name.casefold(), kind=kind.value, currency=currency)
    session.add(card)
    session.flush()
    audit.record(
        session,
        actor,
        action=AuditAction.CREATE,
        verb=HttpVerb.POST,
        table=CARD_TABLE,
        key=card.id,
        message=f"Created {kind.value} rate card {name} ({currency})",
        after=_card_view(card),
    )
    return card


def create_card(
    db: Database, actor: Actor, name: str, kind: CardKind | str, currency: str
) -> CardRecord:
    actor.require(Role.OPERATOR, "create rate cards")
    clean = _clean_name(name)
    card_kind = validation.choice("kind", kind, CardKind)
    code = _clean_currency(currency)
    with db.write() as session:
        if _find_card(session, clean) is not None:
            raise ValidationError("card", f"a rate card named {clean!r} exists already")
        return _to_card(session, _new_card(session, actor, clean, card_kind, code))


def list_cards(db: Database, actor: Actor) -> list[CardRecord]:
    actor.require(Role.VIEWER, "read rate cards")
    with db.read() as session:
        cards = session.exec(select(RateCard).order_by(RateCard.name_folded)).all()
        return [_to_card(session, card) for card in cards]


def find_card(db: Database, actor: Actor, name: str) -> CardRecord:
    """By name (case-insensitive) or numeric id."""
    actor.require(Role.VIEWER, "read rate cards")
    with db.read() as session:
        card = _find_card(session, name)
        if card is None:
            raise NotFoundError(f"no rate card named {name.strip()!r}")
        return _to_card(session, card)


def assign_card(db: Database, actor: Actor, card_name: str, customer_id: int) -> CardRecord:
    """Rate ``customer_id``'s calls with the card (its customer card, or the provider card its
    traffic costs, by the card's kind); the customer's currency must be the card's."""
    actor.require(Role.OPERATOR, "assign rate cards")
    with db.write() as session:
        card = _find_card(session, card_name)
        if card is None:
            raise NotFoundError(f"no rate card named {card_name.strip()!r}")
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFoundError(f"no customer with id {customer_id}")
        label = customer.account_code or customer.name
        if customer.currency != card.currency:
            raise ValidationError(
                "card",
                f"rate card {card.name} is in {card.currency} but customer {label} is billed in "
                f"{customer.currency}: a customer is rated only with a card in its currency",
            )
        assert card.id is not None  # a stored card
        current = session.get(RateCardAssignment, (customer_id, card.kind))
        before = None
        if current is not None:
            old = session.get(RateCard, current.card_id)
            before = {"kind": card.kind, "card": old.name if old else current.card_id}
            if current.card_id == card.id:
                return _to_card(session, card)
            current.card_id = card.id
            current.assigned_at = datetime.now(UTC)
        else:
            session.add(
                RateCardAssignment(customer_id=customer_id, kind=card.kind, card_id=card.id)
            )
        session.flush()
        audit.record(
            session,
            actor,
            action=AuditAction.UPDATE if before else AuditAction.CREATE,
            verb=HttpVerb.PUT if before else HttpVerb.POST,
            table=ASSIGNMENT_TABLE,
            key=f"{customer_id}/{card.kind}",
            message=f"Assigned {card.kind} rate card {card.name} to customer {label}",
            before=before,
            after={"kind": card.kind, "card": card.name},
            customer_id=customer_id,
        )
        return _to_card(session, card)


def assigned_card(
    db: Database, actor: Actor, customer_id: int, kind: CardKind | str
) -> CardRecord | None:
    actor.require(Role.VIEWER, "read rate cards")
    with db.read() as session:
        assignment = session.get(RateCardAssignment, (customer_id, CardKind(kind).value))
        if assignment is None:
            return None
        card = session.get(RateCard, assignment.card_id)
        return None if card is None else _to_card(session, card)


def assigned_card_names(db: Database, actor: Actor, customer_id: int) -> dict[CardKind, str | None]:
    """The names of the customer's customer card and provider card (None: not assigned), in
    one read and without counting their rates (Customer Main shows them on one line)."""
    actor.require(Role.VIEWER, "read rate cards")
    names: dict[CardKind, str | None] = dict.fromkeys(CardKind)
    with db.read() as session:
        rows = session.exec(
            select(RateCardAssignment.kind, RateCard.name)
            .join(RateCard, col(RateCard.id) == RateCardAssignment.card_id)
            .where(RateCardAssignment.customer_id == customer_id)
        ).all()
    for kind, name in rows:
        names[CardKind(kind)] = name
    return names


def _day_or_minute(moment: datetime) -> str:
    """A deck's dates are mostly midnights: those as the date alone, others to the minute."""
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0):
        return f"{moment:%Y-%m-%d}"
    return f"{moment:%Y-%m-%d %H:%M}"


# The rates of one card as the Rate Cards screen's grid shows them: 78 cells, for 80 columns
# (times in UTC; a rate is per minute).
RATE_GRID_COLUMNS = (
    Column("prefix", "Prefix", width=8, grow=False),
    Column("destination", "Destination", width=15),
    Column("rate", "Rate", ColumnType.DECIMAL, width=8),  # per minute
    Column("connect_fee", "Conn.", ColumnType.DECIMAL, width=7),  # the connect fee
    Column("mcd", "MCD", ColumnType.INTEGER, width=4),
    Column("pulse", "Pulse", ColumnType.INTEGER, width=5),
    Column("effective_from", "From", ColumnType.TIMESTAMP, width=10, formatter=_day_or_minute),
    Column(
        "effective_to", "To", ColumnType.TIMESTAMP, width=10, formatter=_day_or_minute, empty="open"
    ),
)


def rates_grid_source(
    db: Database, actor: Actor, card_id: int, *, at: datetime | None = None
) -> SqlRowSource:
    """The card's rates for the grid: every version, or with ``at`` only those in force then
    (``effective_from <= at < effective_to``, an open end never ends). Its search looks in the
    prefix and the destination."""
    actor.require(Role.VIEWER, "read rates")
    table = table_of(Rate)
    where = table.c.card_id == card_id
    if at is not None:
        if at.tzinfo is None:
            raise ValidationError("at", "a time with a zone (UTC)")
        where = where & (table.c.effective_from <= at)
        where = where & (table.c.effective_to.is_(None) | (table.c.effective_to > at))
    return SqlRowSource(
        db,
        name="rates",
        columns=RATE_GRID_COLUMNS,
        selectable=table,
        expressions={column.key: table.c[column.key] for column in RATE_GRID_COLUMNS},
        key=table.c.id,
        where=where,
        key_columns=("prefix",),
    )
