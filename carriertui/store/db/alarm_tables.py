"""Tables of NOC alarms (issue 17): the rules, the alarms they raise, each alarm's history, and
how far evaluation has read the CDR table. Only store/alarms.py writes them.

One active (raised or acknowledged) alarm per rule and customer: a partial UNIQUE index is the
database's net under the service's check, so two processes evaluating at once cannot both raise
the same condition.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel

from carriertui.store.db.types import UTCDateTime, utcnow

__all__ = ["Alarm", "AlarmEvent", "AlarmRule", "AlarmWatermark"]


class AlarmRule(SQLModel, table=True):
    """What to watch (metric over a window, for a customer or every customer, optionally one
    destination prefix), when to raise and reset, and what to do on raising."""

    __tablename__ = "alarm_rule"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    metric: str = Field(sa_column=Column(String(16), nullable=False))  # alarms.Metric
    # None: every customer (one alarm per customer).
    customer_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("customer.id"), nullable=True)
    )
    dest_prefix: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    window_kind: str = Field(sa_column=Column(String(8), nullable=False))  # alarms.WindowKind
    window_size: int = Field(nullable=False)  # minutes or calls
    min_attempts: int = Field(nullable=False)
    trigger: float = Field(sa_column=Column(Float, nullable=False))
    reset: float = Field(sa_column=Column(Float, nullable=False))
    short_seconds: int = Field(nullable=False)
    severity: str = Field(sa_column=Column(String(10), nullable=False))  # alarms.Severity
    # Comma-separated contact types mailed on raising ("NOC,Technical"); empty: none.
    notify_contact_types: str = Field(default="", sa_column=Column(String(100), nullable=False))
    notify_email: str | None = Field(default=None, sa_column=Column(String(254), nullable=True))
    penalty_minutes: int = Field(default=0, nullable=False)  # 0: no Penalty status
    enabled: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    created_by: str = Field(sa_column=Column(String(255), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # A removed rule with alarms in its history stays (disabled, renamed) for that history.
    removed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class Alarm(SQLModel, table=True):
    """One raising of one rule for one customer, until it clears (then it is history)."""

    __tablename__ = "alarm"
    __table_args__ = (
        Index(
            "ux_alarm_active",
            "rule_id",
            "customer_id",
            unique=True,
            sqlite_where=sql_text("state != 'cleared'"),
            postgresql_where=sql_text("state != 'cleared'"),
        ),
        Index("ix_alarm_state", "state", "id"),
        Index("ix_alarm_penalty", "penalty_until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(sa_column=Column(Integer, ForeignKey("alarm_rule.id"), nullable=False))
    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id"), nullable=False))
    state: str = Field(sa_column=Column(String(12), nullable=False))  # alarms.AlarmState
    # Copied from the rule when raised: the alarm keeps its meaning if the rule is removed.
    rule_name: str = Field(sa_column=Column(String(64), nullable=False))
    metric: str = Field(sa_column=Column(String(16), nullable=False))
    severity: str = Field(sa_column=Column(String(10), nullable=False))
    threshold: float = Field(sa_column=Column(Float, nullable=False))
    value: float = Field(sa_column=Column(Float, nullable=False))  # when raised
    last_value: float = Field(sa_column=Column(Float, nullable=False))
    attempts: int = Field(nullable=False)
    raised_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    acknowledged_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    acknowledged_by: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    ack_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    cleared_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # The Penalty action: until when, and the status to set back (None: no penalty pending).
    penalty_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    penalty_previous_status: str | None = Field(
        default=None, sa_column=Column(String(20), nullable=True)
    )


class AlarmEvent(SQLModel, table=True):
    """An alarm's history: raised, acknowledged, cleared, penalty set and lifted."""

    __tablename__ = "alarm_event"
    __table_args__ = (Index("ix_alarm_event_alarm", "alarm_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    alarm_id: int = Field(sa_column=Column(Integer, ForeignKey("alarm.id"), nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    event: str = Field(sa_column=Column(String(16), nullable=False))
    actor: str = Field(sa_column=Column(String(255), nullable=False))
    value: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class AlarmWatermark(SQLModel, table=True):
    """One row (id 1): the highest CDR id evaluation has seen. CDRs above it are new: only the
    rules of the customers they belong to are evaluated again."""

    __tablename__ = "alarm_watermark"

    id: int = Field(primary_key=True)
    last_cdr_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    evaluated_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
