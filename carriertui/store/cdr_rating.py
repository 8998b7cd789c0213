"""Rating CDRs that arrive without money (issue 14): the customer's card prices the charge, the
provider card assigned to the customer the cost.

:class:`CdrRater` works on rows in the importer's stored form (the CDR table's columns in
``cdr_parse._INSERT_COLUMNS`` order: start time as SQLite text or an aware datetime, money as a
scaled integer of 4 places) and fills in billed_duration, charge and cost; a row it cannot rate
is a reject reason naming the number, never a silent zero. The rates are read once per card
(:func:`store.rates.load_matcher`), so rating costs a dict probe or two and some integer
arithmetic per row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from carriertui.rating import BadNumberError, CardKind, RateMatcher, dialled_digits
from carriertui.store import rates
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.rate_tables import RateCard, RateCardAssignment
from carriertui.store.db.tables import Customer
from carriertui.store.enums import Role

# Positions in the stored row (cdr_parse._INSERT_COLUMNS, the cdr table's CSV order).
CUSTOMER, START, DEST_NUMBER, DURATION, BILLED, CHARGE, COST = 1, 2, 4, 6, 7, 11, 12


class CdrRater:
    """The rate cards of every customer, read when first needed, for one import."""

    def __init__(self, db: Database, actor: Actor) -> None:
        actor.require(Role.VIEWER, "read rates")
        self.db = db
        self.actor = actor
        self._cards: dict[tuple[int, str], str | None] = {}  # (customer, kind) -> card name
        self._labels: dict[int, str] = {}
        self._matchers: dict[str, RateMatcher] = {}
        self._moments: dict[Any, float] = {}
        with db.read() as session:
            rows = session.exec(
                select(RateCardAssignment.customer_id, RateCardAssignment.kind, RateCard.name).join(
                    RateCard, RateCard.id == RateCardAssignment.card_id
                )
            ).all()
            for customer_id, kind, name in rows:
                self._cards[(customer_id, kind)] = name
            for customer_id, code, name in session.exec(
                select(Customer.id, Customer.account_code, Customer.name)
            ).all():
                self._labels[customer_id] = code or name

    def _matcher(self, customer_id: int, kind: CardKind) -> RateMatcher | str:
        name = self._cards.get((customer_id, kind.value))
        if name is None:
            label = self._labels.get(customer_id, str(customer_id))
            return (
                f"customer {label} has no {kind.value} rate card "
                f"to rate a call without {_MONEY[kind]}"
            )
        matcher = self._matchers.get(name)
        if matcher is None:
            matcher = self._matchers[name] = rates.load_matcher(self.db, self.actor, name)
        return matcher

    def _timestamp(self, stored: Any) -> float:
        value = self._moments.get(stored)
        if value is None:
            moment = (
                datetime.fromisoformat(stored).replace(tzinfo=UTC)
                if isinstance(stored, str)
                else stored
            )
            value = moment.timestamp()
            if len(self._moments) < 100_000:
                self._moments[stored] = value
        return value

    def rate_row(self, row: tuple[Any, ...]) -> tuple[Any, ...] | str:
        """``row`` with billed_duration, charge and cost from the cards, or why it cannot be."""
        customer_id, duration = row[CUSTOMER], row[DURATION]
        number = row[DEST_NUMBER]
        if duration <= 0:
            billed = charge = cost = 0
        else:
            try:
                digits = dialled_digits(number)
            except BadNumberError as error:
                return str(error)
            at = self._timestamp(row[START])
            priced = []
            for kind in (CardKind.CUSTOMER, CardKind.PROVIDER):
                matcher = self._matcher(customer_id, kind)
                if isinstance(matcher, str):
                    return matcher
                call = matcher.rate_digits(digits, at, duration)
                if call is None:
                    moment = datetime.fromtimestamp(at, UTC)
                    return f"no {kind.value} rate for {digits} at {moment:%Y-%m-%d %H:%M:%S}Z"
                priced.append(call)
            billed = priced[0].billed_seconds
            charge = int(priced[0].charge.scaleb(4))
            cost = int(priced[1].charge.scaleb(4))
        rated = list(row)
        rated[BILLED], rated[CHARGE], rated[COST] = billed, charge, cost
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


_MONEY = {CardKind.CUSTOMER: "a charge", CardKind.PROVIDER: "a cost"}
