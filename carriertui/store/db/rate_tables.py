"""Tables of rate decks (issue 14): rate cards, their rates, and which card a customer is rated
with. Services (store/rates.py) are the only code that writes them; rates only in bulk.

A rate's money (rate per minute, connect fee) has up to 6 decimal places (wholesale decks price
fractions of a cent per minute), stored as a BIGINT scaled by 10^6: exact on SQLite and
PostgreSQL alike. The charges computed from them are 4 places (the CDR's FixedDecimal).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from carriertui.rating import CardKind
from carriertui.store.db.types import UTCDateTime, utcnow

__all__ = ["RATE_SCALE", "CardKind", "Rate", "RateCard", "RateCardAssignment", "RateDecimal"]

RATE_SCALE = 6
_RATE_QUANT = Decimal(1).scaleb(-RATE_SCALE)
_RATE_FACTOR = 10**RATE_SCALE


class RateDecimal(TypeDecorator[Decimal]):
    """A Decimal with up to 6 places stored as a scaled BIGINT (the import refuses more)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect) -> int | None:
        if value is None:
            return None
        return int(Decimal(value).quantize(_RATE_QUANT) * _RATE_FACTOR)

    def process_result_value(self, value: int | None, dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value).scaleb(-RATE_SCALE)


class RateCard(SQLModel, table=True):
    """A named rate deck: a customer card prices charges, a provider card costs."""

    __tablename__ = "rate_card"
    __table_args__ = (UniqueConstraint("name_folded", name="uq_rate_card_name_folded"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(64), nullable=False))
    # Case-folded copy of name: "Retail" and "retail" are the same card, on every backend.
    name_folded: str = Field(sa_column=Column(String(64), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))  # CardKind
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Rate(SQLModel, table=True):
    """One version of one prefix's price: in force over [effective_from, effective_to), an open
    end (NULL) until a later deck supersedes it. History is kept: a superseded rate gets an
    end, it is never deleted."""

    __tablename__ = "rate"
    __table_args__ = (
        # rates test, the list by prefix and the deck's supersede step (one card's rates). One
        # index only: each more costs a 300,000-row import about a third of its insert time.
        Index("ix_rate_card_prefix_from", "card_id", "prefix", "effective_from"),
    )

    id: int | None = Field(default=None, primary_key=True)
    card_id: int = Field(sa_column=Column(Integer, ForeignKey("rate_card.id"), nullable=False))
    prefix: str = Field(sa_column=Column(String(20), nullable=False))  # digits only
    destination: str = Field(sa_column=Column(String(100), nullable=False))
    rate: Decimal = Field(sa_column=Column(RateDecimal, nullable=False))  # per minute
    connect_fee: Decimal = Field(sa_column=Column(RateDecimal, nullable=False))
    mcd: int = Field(nullable=False)  # minimum charged duration, seconds
    pulse: int = Field(nullable=False)  # increment after the MCD, seconds
    effective_from: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    effective_to: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )


class RateCardAssignment(SQLModel, table=True):
    """The card a customer's calls are rated with, one per kind: its customer card (charge)
    and the provider card its traffic costs (cost). A table of its own, so that the customer
    table keeps its shape."""

    __tablename__ = "rate_card_assignment"
    __table_args__ = (Index("ix_rate_card_assignment_card", "card_id"),)

    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id"), primary_key=True))
    kind: str = Field(sa_column=Column(String(16), primary_key=True))  # CardKind
    card_id: int = Field(sa_column=Column(Integer, ForeignKey("rate_card.id"), nullable=False))
    assigned_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
