"""Customers' match rules: how a switch's CDR names its customer beyond the account code
(feeds/matching.py has the rule; store/db/match_tables.py the table). Operators add and remove
rules; each change is audited on the customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from carriertui.feeds.matching import KINDS, LABELS, MatchRules, RuleError, normal_value
from carriertui.store import audit
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.match_tables import CustomerMatchRule
from carriertui.store.db.tables import Customer
from carriertui.store.enums import AuditAction, HttpVerb, Role
from carriertui.store.errors import NotFoundError, ValidationError

TABLE = "customer_match_rule"
__all__ = ["KINDS", "MatchRule", "add_rule", "list_rules", "load_rules", "remove_rule"]


@dataclass(frozen=True)
class MatchRule:
    id: int
    customer_id: int
    customer: str  # the customer's account code (or name when it has none)
    kind: str
    value: str
    created: datetime | None = None  # when the rule was added

    def __str__(self) -> str:
        return f"#{self.id} {self.customer}: {LABELS[self.kind]} {self.value}"


def _label(customer: Customer) -> str:
    return customer.account_code or customer.name


def add_rule(db: Database, actor: Actor, customer_id: int, kind: str, value: str) -> MatchRule:
    """A rule naming ``customer_id`` for records with ``value`` of ``kind``; ValidationError for
    a bad value or one another customer's rule (or account code) has already."""
    actor.require(Role.OPERATOR, "edit customers' match rules")
    try:
        stored = normal_value(kind, value)
    except RuleError as error:
        raise ValidationError(kind if kind in KINDS else "kind", str(error)) from None
    with db.write() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFoundError(f"no customer with id {customer_id}")
        if not customer.account_code:
            raise ValidationError(
                "customer",
                f"customer {customer.name} has no account code: imported CDRs name their "
                "customer by it, so give the customer one first",
            )
        if kind == "account_code":
            owner = session.exec(select(Customer).where(Customer.account_code == stored)).first()
            if owner is not None:
                raise ValidationError(
                    "account_code", f"{stored!r} is the account code of customer {_label(owner)}"
                )
        taken = session.exec(
            select(CustomerMatchRule).where(
                CustomerMatchRule.kind == kind, CustomerMatchRule.value == stored
            )
        ).first()
        if taken is not None:
            other = session.get(Customer, taken.customer_id)
            raise ValidationError(
                kind,
                f"{LABELS[kind]} {stored} already names customer {_label(other) if other else '?'}",
            )
        rule = CustomerMatchRule(customer_id=customer_id, kind=kind, value=stored)
        session.add(rule)
        try:
            session.flush()
        except IntegrityError:
            raise ValidationError(
                kind, f"{LABELS[kind]} {stored} already names a customer"
            ) from None
        audit.record(
            session,
            actor,
            action=AuditAction.CREATE,
            verb=HttpVerb.POST,
            table=TABLE,
            key=rule.id,
            message=f"Added match rule {LABELS[kind]} {stored} to customer {_label(customer)}",
            after={"kind": kind, "value": stored},
            customer_id=customer_id,
        )
        return MatchRule(rule.id, customer_id, _label(customer), kind, stored, rule.created_at)  # type: ignore[arg-type]


def remove_rule(db: Database, actor: Actor, rule_id: int) -> MatchRule:
    actor.require(Role.OPERATOR, "edit customers' match rules")
    with db.write() as session:
        rule = session.get(CustomerMatchRule, rule_id)
        if rule is None:
            raise NotFoundError(f"no match rule #{rule_id}")
        customer = session.get(Customer, rule.customer_id)
        label = _label(customer) if customer else str(rule.customer_id)
        removed = MatchRule(rule_id, rule.customer_id, label, rule.kind, rule.value)
        session.delete(rule)
        session.flush()
        audit.record(
            session,
            actor,
            action=AuditAction.DELETE,
            verb=HttpVerb.DELETE,
            table=TABLE,
            key=rule_id,
            message=(
                f"Removed match rule {LABELS[removed.kind]} {removed.value} of customer {label}"
            ),
            before={"kind": removed.kind, "value": removed.value},
            customer_id=rule.customer_id,
        )
        return removed


def list_rules(db: Database, actor: Actor, customer_id: int | None = None) -> list[MatchRule]:
    actor.require(Role.VIEWER, "read customers' match rules")
    with db.read() as session:
        query = select(CustomerMatchRule, Customer).join(
            Customer,
            Customer.id == CustomerMatchRule.customer_id,  # type: ignore[arg-type]
        )
        if customer_id is not None:
            query = query.where(CustomerMatchRule.customer_id == customer_id)
        rows = session.exec(query.order_by(CustomerMatchRule.kind, CustomerMatchRule.value)).all()
        return [
            MatchRule(
                rule.id or 0,
                rule.customer_id,
                _label(customer),
                rule.kind,
                rule.value,
                rule.created_at,
            )
            for rule, customer in rows
        ]


def load_rules(db: Database) -> MatchRules:
    """Every customer's account code and rules, for one import (a customer without an account
    code is named by its rules only: its name stands for it in the native rows)."""
    with db.read() as session:
        customers = session.exec(select(Customer.id, Customer.account_code)).all()
        codes = {customer_id: code for customer_id, code in customers if code}
        rules = session.exec(
            select(CustomerMatchRule.customer_id, CustomerMatchRule.kind, CustomerMatchRule.value)
        ).all()
    return MatchRules.build(
        codes.values(),
        ((codes[cid], kind, value) for cid, kind, value in rules if cid in codes),
    )
