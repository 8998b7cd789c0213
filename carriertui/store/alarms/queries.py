"""Reading alarms (lists, history, counts, KPIs for monitoring) and acknowledging them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy import select as core_select
from sqlmodel import col, select

from carriertui.alarms import (
    SPEND_WINDOW_MINUTES,
    AlarmState,
    Metric,
    Severity,
    WindowKind,
    WindowTotals,
    metric_value,
    window_seconds,
)
from carriertui.store import audit, validation
from carriertui.store.alarms.evaluation import ALARM_TABLE, time_window_totals
from carriertui.store.alarms.records import AlarmEventRecord, AlarmRecord, alarm_record
from carriertui.store.context import Actor
from carriertui.store.db import locks
from carriertui.store.db.alarm_tables import Alarm, AlarmEvent, AlarmRule
from carriertui.store.db.database import Database
from carriertui.store.db.tables import Customer, table_of
from carriertui.store.db.types import utcnow
from carriertui.store.enums import AuditAction, HttpVerb, Role
from carriertui.store.errors import NotFoundError, ValidationError

MAX_LIST = 10_000


def list_alarms(
    db: Database,
    actor: Actor,
    *,
    states: Sequence[AlarmState] = (),
    customer_id: int | None = None,
    after_id: int | None = None,
    limit: int = MAX_LIST,
) -> list[AlarmRecord]:
    """Alarms, newest first; ``states`` (none: all), one customer's, or those above an id."""
    actor.require(Role.VIEWER, "list alarms")
    with db.read() as session:
        query = select(Alarm, Customer.name, Customer.account_code).join(
            Customer, col(Alarm.customer_id) == col(Customer.id)
        )
        if states:
            query = query.where(col(Alarm.state).in_([s.value for s in states]))
        if customer_id is not None:
            query = query.where(Alarm.customer_id == customer_id)
        if after_id is not None:
            query = query.where(col(Alarm.id) > after_id)
        query = query.order_by(col(Alarm.id).desc()).limit(limit)
        return [alarm_record(a, name, code) for a, name, code in session.exec(query).all()]


def get_alarm(db: Database, actor: Actor, alarm_id: int) -> AlarmRecord:
    actor.require(Role.VIEWER, "read alarms")
    with db.read() as session:
        row = session.exec(
            select(Alarm, Customer.name, Customer.account_code)
            .join(Customer, col(Alarm.customer_id) == col(Customer.id))
            .where(Alarm.id == alarm_id)
        ).first()
        if row is None:
            raise NotFoundError(f"no alarm number {alarm_id}")
        return alarm_record(*row)


def alarm_history(db: Database, actor: Actor, alarm_id: int) -> list[AlarmEventRecord]:
    actor.require(Role.VIEWER, "read alarms")
    with db.read() as session:
        events = session.exec(
            select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id).order_by(col(AlarmEvent.id))
        ).all()
        return [AlarmEventRecord(e.at, e.event, e.actor, e.value, e.comment) for e in events]


@dataclass(frozen=True)
class AlarmCounts:
    raised: int = 0
    acknowledged: int = 0
    raised_critical: int = 0
    raised_warning: int = 0
    latest_id: int = 0  # the highest alarm id: the app toasts alarms above what it has seen
    rules: int = 0


def alarm_counts(db: Database, actor: Actor) -> AlarmCounts:
    """What the top bar, the app's watch and `alarms check` need, in two small queries."""
    actor.require(Role.VIEWER, "read alarms")
    with db.read() as session:
        connection = session.connection()
        table = table_of(Alarm)
        counts = {
            (state, severity): int(n)
            for state, severity, n in connection.execute(
                core_select(table.c.state, table.c.severity, func.count())
                .where(table.c.state != AlarmState.CLEARED.value)
                .group_by(table.c.state, table.c.severity)
            )
        }
        latest = connection.execute(core_select(func.max(table.c.id))).scalar() or 0
        rules = session.exec(
            select(func.count()).select_from(AlarmRule).where(col(AlarmRule.removed_at).is_(None))
        ).one()
    raised = {sev: counts.get((AlarmState.RAISED.value, sev.value), 0) for sev in Severity}
    return AlarmCounts(
        raised=sum(raised.values()),
        acknowledged=sum(n for (state, _), n in counts.items() if state == "acknowledged"),
        raised_critical=raised[Severity.CRITICAL],
        raised_warning=raised[Severity.WARNING],
        latest_id=int(latest),
        rules=int(rules),
    )


def acknowledge(db: Database, actor: Actor, alarm_id: int, comment: str) -> AlarmRecord:
    """A raised alarm becomes acknowledged, by ``actor``, with a comment (required), audited.
    It stays until the value recovers past the reset threshold (then it clears)."""
    actor.require(Role.OPERATOR, "acknowledge alarms")
    text = validation.text("comment", comment, max_length=1000)
    with db.write() as session:
        locks.lock_alarms(session)
        alarm = session.get(Alarm, alarm_id)
        if alarm is None:
            raise NotFoundError(f"no alarm number {alarm_id}")
        if alarm.state != AlarmState.RAISED.value:
            raise ValidationError(
                "alarm",
                f"alarm {alarm_id} is {alarm.state}: only a raised alarm can be acknowledged",
            )
        before = audit.snapshot(alarm)
        now = utcnow()
        alarm.state = AlarmState.ACKNOWLEDGED.value
        alarm.acknowledged_at = now
        alarm.acknowledged_by = actor.name
        alarm.ack_comment = text
        session.add(alarm)
        session.flush()
        session.add(
            AlarmEvent(
                alarm_id=alarm_id, event="acknowledged", actor=actor.name, at=now, comment=text
            )
        )
        audit.record(
            session,
            actor,
            action=AuditAction.UPDATE,
            verb=HttpVerb.PUT,
            table=ALARM_TABLE,
            key=alarm_id,
            customer_id=alarm.customer_id,
            message=f"Alarm {alarm_id} ({alarm.rule_name}) acknowledged",
            before=before,
            after=audit.snapshot(alarm),
            comment=text,
        )
        customer = session.get(Customer, alarm.customer_id)
        assert customer is not None
        return alarm_record(alarm, customer.name, customer.account_code)


# -- KPIs for monitoring systems ---------------------------------------------------------------

KPI_METRICS = (Metric.ASR, Metric.ACD, Metric.NER, Metric.PDD, Metric.CPS, Metric.MARGIN)


@dataclass(frozen=True)
class CustomerKpis:
    customer_id: int
    name: str
    code: str | None
    attempts: int
    answered: int
    values: dict[Metric, float | None]  # over the window; SPEND over 24 h
    raised: int
    acknowledged: int


def customer_kpis(
    db: Database, actor: Actor, *, minutes: int = 60, now: datetime | None = None
) -> list[CustomerKpis]:
    """Each customer's KPIs over the last ``minutes`` (spend: the last 24 hours) and its active
    alarm counts, by customer name."""
    actor.require(Role.VIEWER, "read call statistics")
    now = now or utcnow()
    with db.read() as session:
        customers = [
            (c.id, c.name, c.account_code)
            for c in session.exec(select(Customer).order_by(col(Customer.name_folded)))
        ]
        ids = [c[0] for c in customers if c[0] is not None]
        window = time_window_totals(session, ids, minutes, None, 6, now)
        spend = time_window_totals(session, ids, SPEND_WINDOW_MINUTES, None, 6, now)
        table = table_of(Alarm)
        active = {
            (customer_id, state): int(n)
            for customer_id, state, n in session.connection().execute(
                core_select(table.c.customer_id, table.c.state, func.count())
                .where(table.c.state != AlarmState.CLEARED.value)
                .group_by(table.c.customer_id, table.c.state)
            )
        }
    out = []
    for cid, name, code in customers:
        assert cid is not None
        totals = window.get(cid, WindowTotals())
        seconds = window_seconds(WindowKind.MINUTES, minutes, totals)
        values = {m: metric_value(m, totals, seconds) for m in KPI_METRICS}
        values[Metric.SPEND] = metric_value(Metric.SPEND, spend.get(cid, WindowTotals()), 86400.0)
        out.append(
            CustomerKpis(
                customer_id=cid,
                name=name,
                code=code,
                attempts=totals.attempts,
                answered=totals.answered,
                values=values,
                raised=active.get((cid, AlarmState.RAISED.value), 0),
                acknowledged=active.get((cid, AlarmState.ACKNOWLEDGED.value), 0),
            )
        )
    return out


def since(moment: datetime) -> str:
    """``12m``, ``3h05m``, ``2d04h``: how long ago, for the grid's Since column."""
    seconds = max(0, int((utcnow() - moment) / timedelta(seconds=1)))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if days:
        return f"{days}d{hours % 24:02d}h"
    if hours:
        return f"{hours}h{minutes % 60:02d}m"
    return f"{minutes}m" if minutes else f"{seconds}s"
