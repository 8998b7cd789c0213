"""Evaluating the alarm rules over the CDRs, raising and clearing alarms, and their actions.

Only rules whose window received CDRs are evaluated: CDRs above the watermark (the highest CDR
id the last evaluation saw) name the customers that got traffic, and only the rules that watch
those customers run. Window totals come from SQL aggregates (one query per time window shape
over every affected customer; one per customer for a last-N-calls window), then the pure rule
(carriertui/alarms.py) decides.

Raising, clearing and lifting a penalty are audited, in the same transaction as the change and
its mail (the outbox), so a rolled-back evaluation leaves no alarm, no mail and no penalty.

On PostgreSQL two imports at once may commit out of the order of their ids; a watermark moved
past ids still uncommitted would never see them. So an evaluation reads new CDRs only when no
import is in flight (locks.cdr_ids_settled; an import holds the shared side from before its
first id until it commits). While one runs, the evaluation defers the new CDRs (it still lifts
due penalties) and the import, once committed, evaluates them (evaluate_after_import).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal_column, or_
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from carriertui.alarms import (
    NER_EFFECTIVE_CODES,
    AlarmState,
    Metric,
    Thresholds,
    Transition,
    WindowKind,
    WindowTotals,
    decide,
    format_value,
    metric_value,
    window_seconds,
)
from carriertui.store import audit
from carriertui.store.context import Actor
from carriertui.store.db import locks
from carriertui.store.db.alarm_tables import Alarm, AlarmEvent, AlarmRule, AlarmWatermark
from carriertui.store.db.database import Database
from carriertui.store.db.tables import Cdr, Contact, Customer, table_of
from carriertui.store.db.types import utcnow
from carriertui.store.enums import AuditAction, CustomerStatus, HttpVerb, Role

ALARM_TABLE = "alarm"
ALARM_ACTOR_NAME = "Alarms"


def alarm_actor() -> Actor:
    """Who evaluates in the running app: the alarm system itself, not the operator logged in
    (a viewer's app may evaluate; what it changes is the rules' doing)."""
    from carriertui.store.context import client_ip

    return Actor(name=ALARM_ACTOR_NAME, role=Role.ADMIN, ip=client_ip())


@dataclass
class EvaluationReport:
    new_cdrs: int = 0
    evaluated: int = 0  # (rule, customer) pairs
    raised: list[int] = field(default_factory=list)  # alarm ids
    cleared: list[int] = field(default_factory=list)
    penalties_lifted: int = 0
    # New CDRs left for later: an import was in flight (PostgreSQL), its ids not all committed.
    deferred: bool = False

    def __str__(self) -> str:
        return (
            f"{self.new_cdrs} new CDRs, {self.evaluated} rule evaluations, "
            f"{len(self.raised)} raised, {len(self.cleared)} cleared"
            + (f", {self.penalties_lifted} penalties lifted" if self.penalties_lifted else "")
            + ("; new CDRs deferred: an import is running" if self.deferred else "")
        )


# -- window totals in SQL ----------------------------------------------------------------------

_CDR = table_of(Cdr)


def _aggregates(source: Any, short_seconds: int) -> list[Any]:
    c = source.c
    answered = c.duration > 0
    return [
        func.count(),
        func.sum(case((answered, 1), else_=0)),
        func.sum(case((answered, c.duration), else_=0)),
        func.sum(case((or_(answered, c.sip_code.in_(sorted(NER_EFFECTIVE_CODES))), 1), else_=0)),
        func.sum(c.pdd_ms),
        func.sum(case((and_(answered, c.duration < short_seconds), 1), else_=0)),
        func.min(c.start_time),
        func.max(c.start_time),
        func.sum(c.charge),
        func.sum(c.cost),
    ]


def _totals(row: Iterable[Any]) -> WindowTotals:
    attempts, answered, talk, effective, pdd, short, first, last, charge, cost = row
    if not attempts:
        return WindowTotals()
    return WindowTotals(
        attempts=int(attempts),
        answered=int(answered or 0),
        talk_seconds=int(talk or 0),
        ner_effective=int(effective or 0),
        pdd_ms_sum=int(pdd or 0),
        short_calls=int(short or 0),
        first_start_s=first.timestamp() if first is not None else None,
        last_start_s=last.timestamp() if last is not None else None,
        charge=charge if charge is not None else WindowTotals().charge,
        cost=cost if cost is not None else WindowTotals().cost,
    )


def _prefix_condition(prefix: str | None) -> Any:
    return True if not prefix else _CDR.c.dest_number.like(f"{prefix}%")


def time_window_totals(
    session: Session,
    customer_ids: Iterable[int],
    minutes: int,
    prefix: str | None,
    short_seconds: int,
    now: datetime,
) -> dict[int, WindowTotals]:
    """The totals of each customer's CDRs that started in [now - minutes, now]."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    since = now - timedelta(minutes=minutes)
    query = (
        core_select(_CDR.c.customer_id, *_aggregates(_CDR, short_seconds))
        .where(
            _CDR.c.customer_id.in_(ids),
            _CDR.c.start_time >= since,
            _CDR.c.start_time <= now,
            _prefix_condition(prefix),
        )
        .group_by(_CDR.c.customer_id)
    )
    return {row[0]: _totals(row[1:]) for row in session.connection().execute(query)}


def call_window_totals(
    session: Session,
    customer_id: int,
    calls: int,
    prefix: str | None,
    short_seconds: int,
    now: datetime,
) -> WindowTotals:
    """The totals of the customer's last ``calls`` CDRs by start time (none after ``now``)."""
    last = (
        core_select(_CDR)
        .where(
            _CDR.c.customer_id == customer_id,
            _CDR.c.start_time <= now,
            _prefix_condition(prefix),
        )
        .order_by(_CDR.c.start_time.desc(), _CDR.c.id.desc())
        .limit(calls)
        .subquery()
    )
    row = session.connection().execute(core_select(*_aggregates(last, short_seconds))).one()
    return _totals(row)


# -- raising, clearing, penalties --------------------------------------------------------------


def _event(session: Session, alarm: Alarm, event: str, actor: Actor, **extra: Any) -> None:
    assert alarm.id is not None
    session.add(AlarmEvent(alarm_id=alarm.id, event=event, actor=actor.name, **extra))


def _customer_label(customer: Customer) -> str:
    return f"{customer.name} ({customer.account_code})" if customer.account_code else customer.name


def raise_alarm(
    session: Session,
    actor: Actor,
    rule: AlarmRule,
    customer: Customer,
    value: float,
    attempts: int,
    now: datetime,
) -> Alarm:
    assert rule.id is not None and customer.id is not None
    metric = Metric(rule.metric)
    alarm = Alarm(
        rule_id=rule.id,
        customer_id=customer.id,
        state=AlarmState.RAISED.value,
        rule_name=rule.name,
        metric=rule.metric,
        severity=rule.severity,
        threshold=rule.trigger,
        value=value,
        last_value=value,
        attempts=attempts,
        raised_at=now,
    )
    session.add(alarm)
    session.flush()
    _event(session, alarm, "raised", actor, value=value, at=now)
    what = (
        f"{metric.label} {format_value(metric, value)} "
        f"({'at or below' if metric.direction == 'below' else 'at or above'} "
        f"{format_value(metric, rule.trigger)}) over {attempts} calls"
    )
    audit.record(
        session,
        actor,
        action=AuditAction.CREATE,
        verb=HttpVerb.POST,
        table=ALARM_TABLE,
        key=alarm.id,
        customer_id=customer.id,
        message=f"Alarm {rule.name} ({rule.severity}) raised for {_customer_label(customer)}: "
        f"{what}",
        after=audit.snapshot(alarm),
    )
    _notify(session, actor, rule, customer, alarm, what)
    if rule.penalty_minutes and customer.status != CustomerStatus.PENALTY:
        _set_penalty(session, actor, rule, customer, alarm, now)
    return alarm


def _notify(
    session: Session, actor: Actor, rule: AlarmRule, customer: Customer, alarm: Alarm, what: str
) -> None:
    """Mail the customer's contacts of the rule's types and the NOC address, once per raise
    (in the raising transaction: a raise that rolls back sends nothing)."""
    from carriertui.store import mail

    types = [t for t in rule.notify_contact_types.split(",") if t]
    recipients: list[tuple[str, int | None]] = []
    if types:
        contacts = session.exec(
            select(Contact)
            .where(Contact.customer_id == customer.id, col(Contact.contact_type).in_(types))
            .order_by(col(Contact.id))
        ).all()
        recipients += [(contact.email, contact.id) for contact in contacts]
    if rule.notify_email:
        recipients.append((rule.notify_email, None))
    subject = f"[{rule.severity.upper()}] {rule.name}: {customer.name}"[:200]
    body = (
        f"Alarm {rule.name} ({rule.severity}) was raised for {_customer_label(customer)} "
        f"at {alarm.raised_at:%Y-%m-%d %H:%M:%S} UTC.\n\n{what}.\n\n"
        f"Alarm number {alarm.id}; it clears once the value is past {rule.reset:g}.\n"
    )
    seen: set[str] = set()
    for address, contact_id in recipients:
        if address.casefold() in seen:
            continue
        seen.add(address.casefold())
        mail.queue_notice(
            session,
            actor,
            to=address,
            subject=subject,
            body=body,
            customer_id=customer.id,
            contact_id=contact_id,
            message=f"Alarm {alarm.id} notice to {address} queued",
        )


def _set_status(
    session: Session, actor: Actor, customer: Customer, status: str, message: str
) -> None:
    from carriertui.store import customers

    customers.apply_changes(session, actor, customer, {"status": status}, message=message)


def _set_penalty(
    session: Session,
    actor: Actor,
    rule: AlarmRule,
    customer: Customer,
    alarm: Alarm,
    now: datetime,
) -> None:
    until = now + timedelta(minutes=rule.penalty_minutes)
    alarm.penalty_previous_status = customer.status
    alarm.penalty_until = until
    session.add(alarm)
    _set_status(
        session,
        actor,
        customer,
        CustomerStatus.PENALTY.value,
        f"Customer {customer.name} set to Penalty by alarm {alarm.id} ({rule.name}) until "
        f"{until:%Y-%m-%d %H:%M} UTC",
    )
    _event(session, alarm, "penalty set", actor, at=now, comment=f"until {until.isoformat()}")


def lift_due_penalties(session: Session, actor: Actor, now: datetime) -> int:
    """Set back the status of customers whose Penalty time has ended (unless someone changed
    it meanwhile: then only the alarm forgets its penalty)."""
    due = session.exec(
        select(Alarm).where(col(Alarm.penalty_until).is_not(None), col(Alarm.penalty_until) <= now)
    ).all()
    for alarm in due:
        customer = session.get(Customer, alarm.customer_id)
        previous = alarm.penalty_previous_status or CustomerStatus.ACTIVE.value
        if customer is not None and customer.status == CustomerStatus.PENALTY:
            _set_status(
                session,
                actor,
                customer,
                previous,
                f"Customer {customer.name} set back to {previous}: the Penalty of alarm "
                f"{alarm.id} ({alarm.rule_name}) ended",
            )
        alarm.penalty_until = None
        alarm.penalty_previous_status = None
        session.add(alarm)
        _event(session, alarm, "penalty lifted", actor, at=now, comment=f"status {previous}")
    return len(due)


def clear_alarm(
    session: Session,
    actor: Actor,
    alarm: Alarm,
    value: float | None,
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    before = audit.snapshot(alarm)
    alarm.state = AlarmState.CLEARED.value
    alarm.cleared_at = now
    if value is not None:
        alarm.last_value = value
    session.add(alarm)
    session.flush()
    _event(session, alarm, "cleared", actor, value=value, at=now, comment=reason)
    metric = Metric(alarm.metric)
    why = reason or f"{metric.label} back to {format_value(metric, value)}"
    audit.record(
        session,
        actor,
        action=AuditAction.UPDATE,
        verb=HttpVerb.PUT,
        table=ALARM_TABLE,
        key=alarm.id,
        customer_id=alarm.customer_id,
        message=f"Alarm {alarm.id} ({alarm.rule_name}) cleared: {why}",
        before=before,
        after=audit.snapshot(alarm),
    )


# -- evaluation --------------------------------------------------------------------------------


def _new_cdrs(session: Session, after_id: int) -> tuple[dict[int, int], int]:
    """Customers with CDRs above ``after_id`` -> how many; and the highest id."""
    connection = session.connection()
    customer: ColumnElement[Any] = _CDR.c.customer_id
    if connection.dialect.name == "sqlite":
        # "+customer_id": SQLite would otherwise group by walking the whole (customer, start)
        # index (1M entries, 0.1 s) instead of reading the new rows by rowid range.
        customer = literal_column("+customer_id")
    rows = connection.execute(
        core_select(customer, func.count(), func.max(_CDR.c.id))
        .where(_CDR.c.id > after_id)
        .group_by(customer)
    )
    counts: dict[int, int] = {}
    top = after_id
    for customer_id, count, highest in rows:
        counts[customer_id] = int(count)
        top = max(top, int(highest))
    return counts, top


def _watermark(session: Session) -> AlarmWatermark:
    mark = session.get(AlarmWatermark, 1)
    if mark is None:
        mark = AlarmWatermark(id=1, last_cdr_id=0)
        session.add(mark)
    return mark


def pending_work(db: Database, now: datetime | None = None) -> bool:
    """Whether an evaluation would do anything: CDRs past the watermark, or a penalty due.
    A read, so an idle app's timer never takes the write lock."""
    now = now or utcnow()
    with db.read() as session:
        mark = session.get(AlarmWatermark, 1)
        after = mark.last_cdr_id if mark else 0
        newer = (
            session.connection()
            .execute(core_select(_CDR.c.id).where(_CDR.c.id > after).limit(1))
            .first()
        )
        if newer is not None:
            return True
        due = session.exec(
            select(Alarm.id).where(
                col(Alarm.penalty_until).is_not(None), col(Alarm.penalty_until) <= now
            )
        ).first()
        return due is not None


def evaluate(
    db: Database, actor: Actor, *, now: datetime | None = None, full: bool = False
) -> EvaluationReport:
    """Evaluate the rules whose window received CDRs since the last evaluation (``full``: every
    enabled rule for every customer), raise and clear alarms, run their actions, and set back
    the status of customers whose Penalty time ended."""
    actor.require(Role.VIEWER, "evaluate alarms")
    now = now or utcnow()
    report = EvaluationReport()
    if not full and not pending_work(db, now):
        return report
    with db.write() as session:
        locks.lock_alarms(session)
        if not locks.cdr_ids_settled(session):
            report.deferred = True
            report.penalties_lifted = lift_due_penalties(session, actor, now)
            return report
        mark = _watermark(session)
        counts, top = _new_cdrs(session, mark.last_cdr_id)
        report.new_cdrs = sum(counts.values())
        affected = set(counts)
        query = select(AlarmRule).where(AlarmRule.enabled == True)  # noqa: E712 (SQL)
        if full:
            affected |= {c for c in session.exec(select(Customer.id)) if c is not None}
        else:  # only the rules of the customers that got CDRs (and the every-customer ones)
            query = query.where(
                col(AlarmRule.customer_id).in_(sorted(affected))
                | col(AlarmRule.customer_id).is_(None)
            )
        rules = session.exec(query).all()
        pairs = [
            (rule, customer_id)
            for rule in rules
            for customer_id in (
                affected if rule.customer_id is None else affected & {rule.customer_id}
            )
        ]
        if pairs:
            _evaluate_pairs(session, actor, pairs, now, report)
        report.penalties_lifted = lift_due_penalties(session, actor, now)
        mark.last_cdr_id = top
        mark.evaluated_at = now
        session.add(mark)
    return report


def _evaluate_pairs(
    session: Session,
    actor: Actor,
    pairs: list[tuple[AlarmRule, int]],
    now: datetime,
    report: EvaluationReport,
) -> None:
    # Time windows: one query per (minutes, prefix, short seconds) over all their customers.
    by_shape: dict[tuple[int, str | None, int], set[int]] = defaultdict(set)
    for rule, customer_id in pairs:
        if rule.window_kind == WindowKind.MINUTES:
            by_shape[(rule.window_size, rule.dest_prefix, rule.short_seconds)].add(customer_id)
    time_totals = {
        shape: time_window_totals(session, ids, shape[0], shape[1], shape[2], now)
        for shape, ids in by_shape.items()
    }
    call_totals: dict[tuple[int, int, str | None, int], WindowTotals] = {}
    active = {
        (alarm.rule_id, alarm.customer_id): alarm
        for alarm in session.exec(select(Alarm).where(Alarm.state != AlarmState.CLEARED.value))
    }
    customers: dict[int, Customer | None] = {}
    for rule, customer_id in pairs:
        kind = WindowKind(rule.window_kind)
        if kind is WindowKind.MINUTES:
            shape = (rule.window_size, rule.dest_prefix, rule.short_seconds)
            totals = time_totals[shape].get(customer_id, WindowTotals())
        else:
            key = (customer_id, rule.window_size, rule.dest_prefix, rule.short_seconds)
            if key not in call_totals:
                call_totals[key] = call_window_totals(
                    session,
                    customer_id,
                    rule.window_size,
                    rule.dest_prefix,
                    rule.short_seconds,
                    now,
                )
            totals = call_totals[key]
        report.evaluated += 1
        metric = Metric(rule.metric)
        value = metric_value(metric, totals, window_seconds(kind, rule.window_size, totals))
        thresholds = Thresholds(metric, rule.trigger, rule.reset, rule.min_attempts)
        alarm = active.get((rule.id, customer_id))  # type: ignore[arg-type]
        step = decide(thresholds, alarm is not None, value, totals.attempts)
        if step is Transition.RAISE and value is not None:
            if customer_id not in customers:
                customers[customer_id] = session.get(Customer, customer_id)
            customer = customers[customer_id]
            if customer is None:
                continue
            raised = raise_alarm(session, actor, rule, customer, value, totals.attempts, now)
            assert raised.id is not None
            report.raised.append(raised.id)
        elif step is Transition.CLEAR and alarm is not None:
            clear_alarm(session, actor, alarm, value, now=now)
            assert alarm.id is not None
            report.cleared.append(alarm.id)
        elif alarm is not None and value is not None and value != alarm.last_value:
            alarm.last_value = value  # the grid shows the latest value of a standing alarm
            alarm.attempts = totals.attempts
            session.add(alarm)
