"""Alarm rules: add, list, remove (each audited)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import col, select

from carriertui.store import audit, edits
from carriertui.store.alarms.records import RuleRecord, clean_rule, rule_record
from carriertui.store.context import Actor
from carriertui.store.db.alarm_tables import Alarm, AlarmRule
from carriertui.store.db.database import Database
from carriertui.store.db.tables import Customer
from carriertui.store.enums import Role
from carriertui.store.errors import NotFoundError, ValidationError

RULE_TABLE = "alarm_rule"
RULE_AUDITED = edits.Audited(RULE_TABLE, view=audit.snapshot, customer_id=lambda r: r.customer_id)


def add_rule(
    db: Database,
    actor: Actor,
    values: Mapping[str, Any],
    *,
    customer_id: int | None = None,
    comment: str | None = None,
) -> RuleRecord:
    """A new rule; ``customer_id`` None watches every customer."""
    actor.require(Role.OPERATOR, "add alarm rules")
    cleaned = clean_rule(values)
    with db.write() as session:
        code = None
        if customer_id is not None:
            customer = session.get(Customer, customer_id)
            if customer is None:
                raise NotFoundError(f"no customer with id {customer_id}")
            code = customer.account_code or customer.name
        taken = session.exec(select(AlarmRule.id).where(AlarmRule.name == cleaned["name"])).first()
        if taken is not None:
            raise ValidationError("name", f"an alarm rule named {cleaned['name']!r} exists")
        rule = AlarmRule(customer_id=customer_id, created_by=actor.name, **cleaned)
        edits.record_create(
            session,
            actor,
            rule,
            RULE_AUDITED,
            message=lambda row: f"Alarm rule {row.name} added ({row.metric})",
            comment=comment,
        )
        return rule_record(rule, code)


def list_rules(db: Database, actor: Actor, customer_id: int | None = None) -> list[RuleRecord]:
    """Every rule by name; with ``customer_id`` those that watch that customer (its own and
    the every-customer rules)."""
    actor.require(Role.VIEWER, "list alarm rules")
    with db.read() as session:
        query = (
            select(AlarmRule, Customer.account_code, Customer.name)
            .join(Customer, col(AlarmRule.customer_id) == col(Customer.id), isouter=True)
            .where(col(AlarmRule.removed_at).is_(None))
            .order_by(col(AlarmRule.name))
        )
        if customer_id is not None:
            query = query.where(
                (col(AlarmRule.customer_id) == customer_id) | col(AlarmRule.customer_id).is_(None)
            )
        return [rule_record(rule, code or name) for rule, code, name in session.exec(query).all()]


def find_rule(session: Any, name_or_id: str | int) -> AlarmRule:
    wanted = str(name_or_id).strip()
    rule = session.exec(select(AlarmRule).where(AlarmRule.name == wanted)).first()
    if rule is None and wanted.isdigit():
        rule = session.get(AlarmRule, int(wanted))
    if rule is None or rule.removed_at is not None:
        raise NotFoundError(f"no alarm rule named or numbered {wanted!r}")
    return rule


def remove_rule(
    db: Database, actor: Actor, name_or_id: str | int, *, comment: str | None = None
) -> str:
    """Remove a rule; its alarms stay as history (an active one is cleared with it)."""
    from carriertui.store.alarms.evaluation import clear_alarm

    actor.require(Role.OPERATOR, "remove alarm rules")
    with db.write() as session:
        rule = find_rule(session, name_or_id)
        before = RULE_AUDITED.view(rule)
        active = session.exec(
            select(Alarm).where(Alarm.rule_id == rule.id, Alarm.state != "cleared")
        ).all()
        for alarm in active:
            clear_alarm(session, actor, alarm, None, reason="its rule was removed")
        name = rule.name
        if _has_alarms(session, rule):
            _retire(session, actor, rule, before, comment)
        else:
            edits.record_delete(
                session,
                actor,
                rule,
                RULE_AUDITED,
                message=f"Alarm rule {name} removed",
                before=before,
                comment=comment,
            )
        return name


def _has_alarms(session: Any, rule: AlarmRule) -> bool:
    return session.exec(select(Alarm.id).where(Alarm.rule_id == rule.id)).first() is not None


def _retire(session: Any, actor: Actor, rule: AlarmRule, before: Any, comment: str | None) -> None:
    """A rule with alarms in its history is kept, renamed and disabled (the history points at
    it), and audited as removed."""
    from carriertui.store.db.types import utcnow
    from carriertui.store.enums import AuditAction, HttpVerb

    rule.name = f"{rule.name} (removed #{rule.id})"[-64:]
    rule.enabled = False
    rule.removed_at = utcnow()
    session.add(rule)
    session.flush()
    audit.record(
        session,
        actor,
        action=AuditAction.DELETE,
        verb=HttpVerb.DELETE,
        table=RULE_TABLE,
        key=rule.id,
        customer_id=rule.customer_id,
        message=f"Alarm rule {before['name']} removed (kept disabled for its alarms' history)",
        before=before,
        comment=comment,
    )
