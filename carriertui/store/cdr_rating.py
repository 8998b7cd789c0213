"""Rating CDRs that arrive without money (issue 14): the customer's card prices the charge, the
provider card assigned to the customer the cost.

:func:`load_rater` reads, inside the caller's transaction, which cards each customer is rated
with and every rate of those cards, into a :class:`store.cdrs.pricing.RowRater` (plain numbers:
the CDR import's parser rates with it, in its child process too). The rates are read through
the bare driver: SQLAlchemy's per-value conversion of 300,000 rows would cost seconds.

:class:`CdrRater` rates rows in the importer's stored form (the CDR table's columns in
``fields._INSERT_COLUMNS`` order: start time as SQLite text or an aware datetime, money as a
scaled integer of 4 places) and fills in billed_duration, charge and cost; a row it cannot rate
is a reject reason naming the number, never a silent zero.
"""

from __future__ import annotations

from array import array
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlmodel import Session, select

from carriertui.store.cdrs.pricing import FOREVER, PriceTable, RowRater
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.rate_tables import RateCard, RateCardAssignment
from carriertui.store.db.tables import Customer
from carriertui.store.enums import Role

# Positions in the stored row (fields._INSERT_COLUMNS, the cdr table's CSV order).
CUSTOMER, START, DEST_NUMBER, DURATION, BILLED, CHARGE, COST = 1, 2, 4, 6, 7, 11, 12


def stored_timestamp(stored: Any) -> float:
    """The POSIX time of a stored start_time (SQLite's UTC text, or an aware datetime)."""
    if isinstance(stored, str):
        return datetime.fromisoformat(stored).replace(tzinfo=UTC).timestamp()
    return float(stored.timestamp())


def _card_table(session: Session, name: str, card_id: int) -> PriceTable:
    """The card's rates as a PriceTable's columns, built with C-level calls (map, dict): each
    distinct version (dates, increments, prices) converted once, the rows only numbered."""
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    # Only the driver's placeholder is formatted in; the card id is bound. In id order: of two
    # versions with one start, the later import wins (as in rates.rate_number).
    query = (
        "SELECT prefix, effective_from, effective_to, mcd, pulse, rate, connect_fee "  # noqa: S608
        f"FROM rate WHERE card_id = {mark} ORDER BY id"
    )
    prefixes: list[str] = []
    keys: list[tuple[Any, ...]] = []
    try:
        cursor.execute(query, (card_id,))
        while batch := cursor.fetchmany(20_000):
            prefixes += map(_PREFIX, batch)
            keys += map(_VERSION, batch)
    finally:
        cursor.close()
    numbered = {key: number for number, key in enumerate(dict.fromkeys(keys))}
    moments: dict[Any, float] = {None: FOREVER}  # a deck's rates share a few dates

    def stamp(stored: Any) -> float:
        value = moments.get(stored)
        if value is None:
            value = moments[stored] = stored_timestamp(stored)
        return value

    versions = [
        (stamp(start), stamp(end), mcd, pulse, rate, fee)
        for start, end, mcd, pulse, rate, fee in numbered
    ]
    return PriceTable(name, prefixes, array("I", map(numbered.__getitem__, keys)), versions)


_PREFIX = itemgetter(0)
_VERSION = itemgetter(1, 2, 3, 4, 5, 6)


def load_rater(
    session: Session,
    actor: Actor,
    *,
    tech_prefix: str = "",
    customer_ids: set[int] | None = None,
) -> RowRater:
    """Every customer's card assignments and the rates of those cards (of ``customer_ids``'
    cards only, when given), as read in ``session``'s transaction."""
    actor.require(Role.VIEWER, "read rates")
    cards: dict[tuple[int, str], str] = {}
    card_ids: dict[str, Any] = {}
    query = select(
        RateCardAssignment.customer_id, RateCardAssignment.kind, RateCard.id, RateCard.name
    ).join(RateCard, RateCard.id == RateCardAssignment.card_id)  # type: ignore[arg-type]
    for customer_id, kind, card_id, name in session.exec(query).all():
        if customer_ids is not None and customer_id not in customer_ids:
            continue
        cards[(customer_id, kind)] = name
        card_ids[name] = card_id
    labels: dict[int, str] = {
        customer_id: code or name  # type: ignore[misc] # ids of stored rows
        for customer_id, code, name in session.exec(
            select(Customer.id, Customer.account_code, Customer.name)
        ).all()
    }
    tables = {name: _card_table(session, name, card_id) for name, card_id in card_ids.items()}
    return RowRater(cards, tables, labels, tech_prefix)


class CdrRater:
    """Rates stored CDR rows with every customer's cards, read once (for one import or one
    re-rate)."""

    def __init__(self, db: Database, actor: Actor, *, tech_prefix: str = "") -> None:
        with db.read() as session:
            self.rater = load_rater(session, actor, tech_prefix=tech_prefix)

    @classmethod
    def of(cls, rater: RowRater) -> CdrRater:
        made = cls.__new__(cls)
        made.rater = rater
        return made

    def rate_row(self, row: tuple[Any, ...]) -> tuple[Any, ...] | str:
        """``row`` with billed_duration, charge and cost from the cards, or why it cannot be."""
        priced = self.rater.price_call(
            row[CUSTOMER], stored_timestamp(row[START]), row[DEST_NUMBER], row[DURATION]
        )
        if isinstance(priced, str):
            return priced
        rated = list(row)
        rated[BILLED], rated[CHARGE], rated[COST] = priced
        return tuple(rated)

    def rate_rows(
        self, rows: list[tuple[Any, ...]]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[int, str]]]:
        """The rated rows, and (index in ``rows``, reason) of those that could not be."""
        rated: list[tuple[Any, ...]] = []
        rejects: list[tuple[int, str]] = []
        for index, row in enumerate(rows):
            result = self.rate_row(row)
            if isinstance(result, str):
                rejects.append((index, result))
            else:
                rated.append(result)
        return rated, rejects
