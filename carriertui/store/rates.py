"""Rate cards and rate decks (issue 14): cards, their assignment to customers, deck import and
export, and what a number costs (``rates test``). Every change is validated and audited here.

A deck import is one transaction: the card's rates still in force at the deck's date are
superseded (their ``effective_to`` set to that date; history is never deleted: a rate that had
not started yet gets an empty period and stays listed), the deck's rates are inserted in bulk
(the driver's ``executemany`` on SQLite, ``COPY`` on PostgreSQL: issue 14's budget is 300,000
rows in 3 s) and one audit entry describes it, or nothing happens.

Viewers read; operators and admins create cards, import decks and assign cards (the cards
themselves: store/rate_cards.py).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from itertools import repeat
from operator import attrgetter
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, or_, text
from sqlmodel import Session, col, select

from carriertui import rating
from carriertui.grid.export import write_csv
from carriertui.grid.model import Column, ColumnType
from carriertui.rating import CardKind, RatedCall, RateMatcher
from carriertui.store import audit, validation
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.rate_tables import RATE_SCALE, Rate
from carriertui.store.enums import AuditAction, HttpVerb, Role
from carriertui.store.errors import NotFoundError, ValidationError
from carriertui.store.rate_cards import (
    ASSIGNMENT_TABLE,
    CARD_TABLE,
    CardRecord,
    _clean_currency,
    _clean_name,
    _find_card,
    _new_card,
    assign_card,
    assigned_card,
    create_card,
    find_card,
    list_cards,
)
from carriertui.store.rate_deck import COLUMNS, Deck, read_deck

# The cards live in store/rate_cards.py; they are named here too, so that a caller of rate
# decks needs one module.
__all__ = [
    "ASSIGNMENT_TABLE",
    "CARD_TABLE",
    "RATE_TABLE",
    "CardRecord",
    "DeckImportReport",
    "RateRecord",
    "RateTest",
    "assign_card",
    "assigned_card",
    "count_in_force",
    "create_card",
    "export_rates",
    "find_card",
    "import_deck",
    "list_cards",
    "list_rates",
    "load_matcher",
    "rate_number",
]

RATE_TABLE = "rate"
_INSERT_COLUMNS = (
    "card_id",
    "prefix",
    "destination",
    "rate",
    "connect_fee",
    "mcd",
    "pulse",
    "effective_from",
    "effective_to",
)
_FACTOR = 10**RATE_SCALE


@dataclass(frozen=True)
class RateRecord:
    id: int
    prefix: str
    destination: str
    rate: Decimal
    connect_fee: Decimal
    mcd: int
    pulse: int
    effective_from: datetime
    effective_to: datetime | None

    def as_rate(self) -> rating.Rate:
        return rating.Rate(
            self.prefix,
            self.destination,
            self.rate,
            self.connect_fee,
            self.mcd,
            self.pulse,
            self.effective_from,
            self.effective_to,
        )


@dataclass(frozen=True)
class DeckImportReport:
    card: str
    file_name: str
    rows: int
    effective: datetime
    superseded: int  # the card's rates given an end by this deck
    card_created: bool
    elapsed_s: float

    def __str__(self) -> str:
        created = " (new card)" if self.card_created else ""
        return (
            f"{self.rows:,} rates imported into {self.card}{created} from {self.file_name}, "
            f"effective {self.effective:%Y-%m-%d %H:%M}Z; {self.superseded:,} earlier rates "
            f"superseded ({self.elapsed_s:.2f} s)"
        )


@dataclass(frozen=True)
class RateTest:
    card: str
    currency: str
    at: datetime
    seconds: int
    call: RatedCall


# -- rates ----------------------------------------------------------------------------------------


def _to_rate(row: Rate) -> RateRecord:
    assert row.id is not None
    return RateRecord(
        row.id,
        row.prefix,
        row.destination,
        row.rate,
        row.connect_fee,
        row.mcd,
        row.pulse,
        row.effective_from,
        row.effective_to,
    )


def _in_force(at: datetime) -> Any:
    return (col(Rate.effective_from) <= at) & (
        col(Rate.effective_to).is_(None) | (col(Rate.effective_to) > at)
    )


def list_rates(
    db: Database,
    actor: Actor,
    card_name: str,
    *,
    search: str | None = None,
    at: datetime | None = None,
    limit: int | None = None,
) -> list[RateRecord]:
    """A card's rates by prefix, then start. ``search``: a prefix the rate's prefix starts with
    (digits) or text in its destination; ``at``: only the rates in force then."""
    actor.require(Role.VIEWER, "read rates")
    term = validation.search_term("search", search)
    with db.read() as session:
        card = _find_card(session, card_name)
        if card is None:
            raise NotFoundError(f"no rate card named {card_name.strip()!r}")
        query = select(Rate).where(Rate.card_id == card.id)
        if term:
            pattern = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            matches: ColumnElement[bool] = func.lower(Rate.destination).like(
                f"%{pattern.lower()}%", escape="\\"
            )
            digits = term.removeprefix("+")
            if digits.isascii() and digits.isdigit():
                matches = or_(matches, col(Rate.prefix).like(f"{digits}%"))
            query = query.where(matches)
        if at is not None:
            query = query.where(_in_force(at))
        query = query.order_by(col(Rate.prefix), col(Rate.effective_from), col(Rate.id))
        if limit is not None:
            query = query.limit(limit)
        return [_to_rate(row) for row in session.exec(query)]


def count_in_force(db: Database, actor: Actor, card_name: str, at: datetime) -> int:
    """How many of the card's rates are in force at ``at``."""
    actor.require(Role.VIEWER, "read rates")
    with db.read() as session:
        card = _find_card(session, card_name)
        if card is None:
            raise NotFoundError(f"no rate card named {card_name.strip()!r}")
        query = select(func.count()).where(Rate.card_id == card.id, _in_force(at))
        return session.exec(query).one()


EXPORT_COLUMNS = tuple(
    Column(name, name, kind)
    for name, kind in zip(
        COLUMNS,
        (
            ColumnType.TEXT,
            ColumnType.TEXT,
            ColumnType.DECIMAL,
            ColumnType.DECIMAL,
            ColumnType.INTEGER,
            ColumnType.INTEGER,
            ColumnType.TIMESTAMP,
            ColumnType.TIMESTAMP,
        ),
        strict=True,
    )
)


def export_rates(db: Database, actor: Actor, card_name: str, path: Path) -> int:
    """Every version of the card's rates ever in force, as a deck the import reads back (the
    same header); a file written under a temporary name and renamed. Returns the row count."""
    records = [
        record
        for record in list_rates(db, actor, card_name)
        if record.effective_to is None or record.effective_to > record.effective_from
    ]
    rows = [
        (
            record.id,
            (
                record.prefix,
                record.destination,
                record.rate,
                record.connect_fee,
                record.mcd,
                record.pulse,
                record.effective_from,
                record.effective_to,
            ),
        )
        for record in records
    ]
    return write_csv(path, EXPORT_COLUMNS, [rows])


# -- deck import ----------------------------------------------------------------------------------


def _sqlite_time(moment: datetime) -> str:
    # How SQLAlchemy's SQLite DateTime (and so UTCDateTime) stores a UTC moment: sortable text.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _stored_rows(card_id: int, deck: Deck, sqlite: bool) -> list[tuple[Any, ...]]:
    """The deck's rows as the rate table stores them. A deck repeats a few prices and dates:
    each distinct one is converted once, and the rows are zipped from their columns (map over
    the slots' getters), not built one at a time in Python."""
    rows = deck.rows
    rates_, fees = list(map(_RATE_OF, rows)), list(map(_FEE_OF, rows))
    starts, ends = list(map(_FROM_OF, rows)), list(map(_TO_OF, rows))
    scaled = {value: int(value * _FACTOR) for value in {*rates_, *fees}}
    if sqlite:
        stamps = {
            moment: None if moment is None else _sqlite_time(moment) for moment in {*starts, *ends}
        }
        starts, ends = list(map(stamps.__getitem__, starts)), list(map(stamps.__getitem__, ends))
    return list(
        zip(
            repeat(card_id),
            map(_PREFIX_OF, rows),
            map(_DESTINATION_OF, rows),
            map(scaled.__getitem__, rates_),
            map(scaled.__getitem__, fees),
            map(_MCD_OF, rows),
            map(_PULSE_OF, rows),
            starts,
            ends,
        )
    )


_PREFIX_OF = attrgetter("prefix")
_DESTINATION_OF = attrgetter("destination")
_RATE_OF = attrgetter("rate")
_FEE_OF = attrgetter("connect_fee")
_MCD_OF = attrgetter("mcd")
_PULSE_OF = attrgetter("pulse")
_FROM_OF = attrgetter("effective_from")
_TO_OF = attrgetter("effective_to")


def _insert_rates(session: Session, backend: str, rows: list[tuple[Any, ...]]) -> None:
    driver: Any = session.connection().connection.driver_connection
    names = ", ".join(_INSERT_COLUMNS)
    if backend == "sqlite":
        marks = ", ".join("?" * len(_INSERT_COLUMNS))
        cursor = driver.cursor()
        try:
            cursor.executemany(f"INSERT INTO rate ({names}) VALUES ({marks})", rows)  # noqa: S608
        finally:
            cursor.close()
        return
    with driver.cursor() as cursor, cursor.copy(f"COPY rate ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _supersede(session: Session, card_id: int, effective: datetime) -> int:
    """End every rate of the card still in force at ``effective`` (or later) there; a rate
    that starts later gets an empty period (its end = its start): never in force, still kept."""
    result = session.connection().execute(
        text(
            "UPDATE rate SET effective_to = CASE WHEN effective_from < :at THEN :at "
            "ELSE effective_from END "
            "WHERE card_id = :card AND (effective_to IS NULL OR effective_to > :at)"
        ),
        # The moment as UTCDateTime stores it on this backend (text SQL binds it as it is).
        {"card": card_id, "at": _bound_moment(session, effective)},
    )
    return max(result.rowcount, 0)


def _bound_moment(session: Session, moment: datetime) -> Any:
    if session.connection().dialect.name == "sqlite":
        return _sqlite_time(moment)
    return moment


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a bulk insert (the deck's rows are all alive: a
    collection walks them all and frees nothing)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def import_deck(
    db: Database,
    actor: Actor,
    path: Path,
    card_name: str,
    *,
    effective: datetime | None = None,
    currency: str | None = None,
    kind: CardKind | str | None = None,
    on_progress: Callable[[int, bool], None] | None = None,
) -> DeckImportReport:
    """Import the deck at ``path`` into the card (created when it does not exist: then
    ``currency`` is needed and ``kind`` defaults to customer). All or nothing; one audit entry
    (and one for a new card). DeckError lists every bad line; nothing is written then.
    ``on_progress(records, done)``: read_deck's progress; after ``done`` the rates are written
    (an exception it raises while reading cancels the import: nothing is written)."""
    actor.require(Role.OPERATOR, "import rate decks")
    started = time.perf_counter()
    name = _clean_name(card_name)
    code = _clean_currency(currency) if currency is not None else None
    card_kind = validation.choice("kind", kind, CardKind) if kind is not None else None
    deck = read_deck(path, effective=effective, on_progress=on_progress)
    sqlite = db.backend == "sqlite"
    with _collector_paused(), db.write() as session:
        card = _find_card(session, name)
        created = card is None
        if card is None:
            if code is None:
                raise ValidationError(
                    "currency", f"rate card {name} does not exist: give --currency to create it"
                )
            card = _new_card(session, actor, name, card_kind or CardKind.CUSTOMER, code)
        else:
            if code is not None and code != card.currency:
                raise ValidationError(
                    "currency", f"rate card {card.name} is in {card.currency}, not {code}"
                )
            if card_kind is not None and card_kind.value != card.kind:
                raise ValidationError("kind", f"rate card {card.name} is a {card.kind} card")
        assert card.id is not None
        superseded = _supersede(session, card.id, deck.effective)
        _insert_rates(session, db.backend, _stored_rows(card.id, deck, sqlite))
        elapsed = time.perf_counter() - started
        report = DeckImportReport(
            card.name, path.name, len(deck.rows), deck.effective, superseded, created, elapsed
        )
        audit.record(
            session,
            actor,
            action=AuditAction.CREATE,
            verb=HttpVerb.POST,
            table=RATE_TABLE,
            key=card.id,
            message=(
                f"Imported {report.rows} rates into rate card {card.name} from {path.name}, "
                f"effective {deck.effective:%Y-%m-%d %H:%M}Z ({superseded} earlier rates "
                "superseded)"
            ),
            after={
                "card": card.name,
                "file": path.name,
                "rows": report.rows,
                "effective": deck.effective,
                "superseded": superseded,
            },
        )
    return report


# -- rating ---------------------------------------------------------------------------------------


def rate_number(
    db: Database,
    actor: Actor,
    card_name: str,
    number: str,
    at: datetime,
    seconds: int,
    *,
    tech_prefix: str = "",
) -> RateTest:
    """Which of the card's rates a call to ``number`` starting at ``at`` gets, and what
    ``seconds`` of it cost (``rates test``). A connected call with no rate: NoRateError."""
    actor.require(Role.VIEWER, "read rates")
    if at.tzinfo is None:
        raise ValidationError("at", "a time with a zone (UTC)")
    validation.integer("seconds", seconds, minimum=0, maximum=10**7)
    digits = rating.dialled_digits(number, tech_prefix)
    prefixes = [digits[:length] for length in range(1, min(len(digits), 20) + 1)]
    with db.read() as session:
        card = _find_card(session, card_name)
        if card is None:
            raise NotFoundError(f"no rate card named {card_name.strip()!r}")
        query = (
            select(Rate)
            .where(Rate.card_id == card.id, col(Rate.prefix).in_(prefixes), _in_force(at))
            .order_by(
                func.length(Rate.prefix).desc(),
                col(Rate.effective_from).desc(),
                col(Rate.id).desc(),
            )
            .limit(1)
        )
        found = session.exec(query).first()
        rate = None if found is None else _to_rate(found).as_rate()
        card_name, currency = card.name, card.currency
    if seconds > 0 and rate is None:
        raise rating.NoRateError(digits, at)
    return RateTest(card_name, currency, at, seconds, rating.rate_call(rate, digits, seconds))


def load_matcher(db: Database, actor: Actor, card_name: str) -> RateMatcher:
    """Every rate of the card in memory, for rating many calls (rows in id order, so that of
    two versions with one start the later import wins, as in rate_number)."""
    actor.require(Role.VIEWER, "read rates")
    with db.read() as session:
        card = _find_card(session, card_name)
        if card is None:
            raise NotFoundError(f"no rate card named {card_name.strip()!r}")
        assert card.id is not None
        return RateMatcher(_stored_rates(session, card.id))


def _stored_rates(session: Session, card_id: int) -> Iterator[rating.Rate]:
    """The card's rates through the bare driver: SQLAlchemy's per-value conversion of 300,000
    rows costs seconds, and a deck repeats a few prices and dates (each converted once)."""
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    driver: Any = connection.connection.driver_connection
    cursor = driver.cursor()
    # Only the driver's placeholder is formatted in; the card id is bound.
    query = (
        "SELECT prefix, destination, rate, connect_fee, mcd, pulse, effective_from, "  # noqa: S608
        f"effective_to FROM rate WHERE card_id = {mark} ORDER BY id"
    )
    cursor.execute(query, (card_id,))
    prices: dict[int, Decimal] = {}
    moments: dict[Any, datetime] = {}

    def price(scaled: int) -> Decimal:
        value = prices.get(scaled)
        if value is None:
            value = prices[scaled] = Decimal(scaled).scaleb(-RATE_SCALE)
        return value

    def moment(stored: Any) -> datetime:
        if stored in moments:
            return moments[stored]
        if isinstance(stored, str):
            value = datetime.fromisoformat(stored).replace(tzinfo=UTC)
        else:
            value = stored.astimezone(UTC)
        moments[stored] = value
        return value

    try:
        while batch := cursor.fetchmany(10_000):
            for prefix, destination, rate, fee, mcd, pulse, start, end in batch:
                yield rating.Rate(
                    prefix,
                    destination,
                    price(rate),
                    price(fee),
                    mcd,
                    pulse,
                    moment(start),
                    None if end is None else moment(end),
                )
    finally:
        cursor.close()
