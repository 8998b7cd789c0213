"""NOC alarms (issue 17): rules, evaluation over the CDRs, raised -> acknowledged -> cleared
with a history, and the actions (mail through the outbox, a Penalty status for a time).

The arithmetic is pure, in carriertui/alarms.py; this package stores and runs it:
``rules`` (add, list, remove), ``evaluation`` (windows in SQL, raise, clear, penalties),
``queries`` (lists, counts, acknowledge, KPIs for Nagios and Prometheus), ``records``.
"""

from __future__ import annotations

from carriertui.store.alarms.evaluation import (
    EvaluationReport,
    alarm_actor,
    evaluate,
    pending_work,
)
from carriertui.store.alarms.queries import (
    AlarmCounts,
    CustomerKpis,
    acknowledge,
    alarm_counts,
    alarm_history,
    customer_kpis,
    get_alarm,
    list_alarms,
)
from carriertui.store.alarms.records import AlarmRecord, RuleRecord
from carriertui.store.alarms.rules import add_rule, list_rules, remove_rule
from carriertui.store.context import Actor
from carriertui.store.db.database import Database

__all__ = [
    "AlarmCounts",
    "AlarmRecord",
    "CustomerKpis",
    "EvaluationReport",
    "RuleRecord",
    "acknowledge",
    "add_rule",
    "alarm_actor",
    "alarm_counts",
    "alarm_history",
    "customer_kpis",
    "evaluate",
    "evaluate_after_import",
    "get_alarm",
    "list_alarms",
    "list_rules",
    "pending_work",
    "remove_rule",
]


def evaluate_after_import(db: Database, actor: Actor | None = None) -> EvaluationReport:
    """The hook an importer (the CLI's `cdr import`, a spool ingest, the app) calls once its
    CDRs have committed: evaluates the rules whose window received them."""
    return evaluate(db, actor or alarm_actor())
