"""The table of customers' match rules (issue 15): how a switch's CDR names its customer beyond
the account code (another code, a source IP or network, a tech prefix, a SIP user). Written only
by store/match_rules.py; read by the feed import (feeds/matching.py decides)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from carriertui.store.db.types import UTCDateTime, utcnow

__all__ = ["CustomerMatchRule"]


class CustomerMatchRule(SQLModel, table=True):
    """One rule: a record with this kind of value names this customer. A value belongs to one
    customer at most (two customers with one source IP could not be told apart)."""

    __tablename__ = "customer_match_rule"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_customer_match_rule_value"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("customer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str = Field(sa_column=Column(String(16), nullable=False))  # feeds.matching.KINDS
    value: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
