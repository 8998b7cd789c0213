"""What the alarm services return (plain values) and the rule's field rules."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from carriertui.alarms import (
    DEFAULT_SHORT_SECONDS,
    SPEND_WINDOW_MINUTES,
    AlarmState,
    Metric,
    Severity,
    WindowKind,
    threshold_problem,
)
from carriertui.store import validation
from carriertui.store.db.alarm_tables import Alarm, AlarmRule
from carriertui.store.enums import ContactType
from carriertui.store.errors import ValidationError

MAX_WINDOW_MINUTES = 7 * 24 * 60
MAX_WINDOW_CALLS = 100_000
MAX_PENALTY_MINUTES = 30 * 24 * 60
DEFAULT_WINDOW = {WindowKind.MINUTES: 15, WindowKind.CALLS: 100}


@dataclass(frozen=True)
class RuleRecord:
    id: int
    name: str
    metric: Metric
    customer_id: int | None  # None: every customer
    customer_code: str | None
    dest_prefix: str | None
    window_kind: WindowKind
    window_size: int
    min_attempts: int
    trigger: float
    reset: float
    short_seconds: int
    severity: Severity
    notify_contact_types: tuple[ContactType, ...]
    notify_email: str | None
    penalty_minutes: int
    enabled: bool

    @property
    def scope(self) -> str:
        who = self.customer_code or (f"#{self.customer_id}" if self.customer_id else "every")
        return f"{who} {self.dest_prefix}*" if self.dest_prefix else who

    @property
    def window(self) -> str:
        unit = "min" if self.window_kind is WindowKind.MINUTES else "calls"
        return f"{self.window_size} {unit}"

    @property
    def actions(self) -> str:
        parts = []
        if self.notify_contact_types:
            parts.append("mail " + "+".join(t.value for t in self.notify_contact_types))
        if self.notify_email:
            parts.append(f"mail {self.notify_email}")
        if self.penalty_minutes:
            parts.append(f"penalty {self.penalty_minutes} min")
        return ", ".join(parts) or "toast"


@dataclass(frozen=True)
class AlarmRecord:
    id: int
    rule_id: int
    rule_name: str
    customer_id: int
    customer_name: str
    customer_code: str | None
    state: AlarmState
    severity: Severity
    metric: Metric
    value: float
    last_value: float
    threshold: float
    attempts: int
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_comment: str | None
    cleared_at: datetime | None
    penalty_until: datetime | None


@dataclass(frozen=True)
class AlarmEventRecord:
    at: datetime
    event: str
    actor: str
    value: float | None
    comment: str | None


def rule_record(rule: AlarmRule, customer_code: str | None) -> RuleRecord:
    assert rule.id is not None
    types = tuple(ContactType(t) for t in rule.notify_contact_types.split(",") if t)
    return RuleRecord(
        id=rule.id,
        name=rule.name,
        metric=Metric(rule.metric),
        customer_id=rule.customer_id,
        customer_code=customer_code,
        dest_prefix=rule.dest_prefix,
        window_kind=WindowKind(rule.window_kind),
        window_size=rule.window_size,
        min_attempts=rule.min_attempts,
        trigger=rule.trigger,
        reset=rule.reset,
        short_seconds=rule.short_seconds,
        severity=Severity(rule.severity),
        notify_contact_types=types,
        notify_email=rule.notify_email,
        penalty_minutes=rule.penalty_minutes,
        enabled=rule.enabled,
    )


def alarm_record(alarm: Alarm, name: str, code: str | None) -> AlarmRecord:
    assert alarm.id is not None
    return AlarmRecord(
        id=alarm.id,
        rule_id=alarm.rule_id,
        rule_name=alarm.rule_name,
        customer_id=alarm.customer_id,
        customer_name=name,
        customer_code=code,
        state=AlarmState(alarm.state),
        severity=Severity(alarm.severity),
        metric=Metric(alarm.metric),
        value=alarm.value,
        last_value=alarm.last_value,
        threshold=alarm.threshold,
        attempts=alarm.attempts,
        raised_at=alarm.raised_at,
        acknowledged_at=alarm.acknowledged_at,
        acknowledged_by=alarm.acknowledged_by,
        ack_comment=alarm.ack_comment,
        cleared_at=alarm.cleared_at,
        penalty_until=alarm.penalty_until,
    )


def _number(field: str, value: Any) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValidationError(field, f"must be a number, not {str(value)[:40]!r}") from None
    if not math.isfinite(number):
        raise ValidationError(field, "must be a finite number")
    return number


def clean_rule(values: Mapping[str, Any]) -> dict[str, Any]:
    """The rule's fields checked and normalised (every bad field reported at once). ``customer_id``
    is resolved by the caller; ``window_size`` may be missing (a default per kind; spend is
    always over 24 hours)."""
    errors: list[tuple[str, str]] = []
    out: dict[str, Any] = {}

    def take(field: str, parse: Any) -> None:
        try:
            out[field] = parse()
        except ValidationError as error:
            errors.extend(error.errors)

    take("name", lambda: validation.text("name", values.get("name"), max_length=64))
    take("metric", lambda: validation.choice("metric", values.get("metric"), Metric))
    take(
        "window_kind",
        lambda: validation.choice(
            "window_kind", values.get("window_kind") or WindowKind.MINUTES, WindowKind
        ),
    )
    kind = out.get("window_kind", WindowKind.MINUTES)
    size = values.get("window_size")
    if out.get("metric") is Metric.SPEND:
        if kind is not WindowKind.MINUTES or size not in (None, "", SPEND_WINDOW_MINUTES):
            errors.append(("window_size", "spend is always over the last 24 hours (1440 min)"))
        out["window_kind"], out["window_size"] = WindowKind.MINUTES, SPEND_WINDOW_MINUTES
    else:
        maximum = MAX_WINDOW_MINUTES if kind is WindowKind.MINUTES else MAX_WINDOW_CALLS
        take(
            "window_size",
            lambda: (
                DEFAULT_WINDOW[kind]
                if size in (None, "")
                else validation.integer("window_size", size, minimum=1, maximum=maximum)
            ),
        )
    take(
        "min_attempts",
        lambda: validation.integer(
            "min_attempts", values.get("min_attempts", 10), minimum=0, maximum=MAX_WINDOW_CALLS
        ),
    )
    take("trigger", lambda: _number("trigger", values.get("trigger", "")))
    take(
        "reset",
        lambda: (
            out["trigger"]
            if values.get("reset") in (None, "") and "trigger" in out
            else _number("reset", values.get("reset", ""))
        ),
    )
    if "metric" in out and "trigger" in out and "reset" in out:
        problem = threshold_problem(out["metric"], out["trigger"], out["reset"])
        if problem:
            errors.append(("reset", problem))
    take(
        "short_seconds",
        lambda: validation.integer(
            "short_seconds",
            values.get("short_seconds") or DEFAULT_SHORT_SECONDS,
            minimum=1,
            maximum=3600,
        ),
    )
    take(
        "severity",
        lambda: validation.choice("severity", values.get("severity") or Severity.WARNING, Severity),
    )
    prefix = str(values.get("dest_prefix") or "").strip().lstrip("+")
    if prefix and (not prefix.isdigit() or len(prefix) > 20):
        errors.append(("dest_prefix", "must be up to 20 digits"))
    out["dest_prefix"] = prefix or None
    types = values.get("notify_contact_types") or ()
    if isinstance(types, str):
        types = [t for t in types.split(",") if t.strip()]
    chosen: list[ContactType] = []
    for raw in types:
        try:
            chosen.append(validation.choice("notify_contact_types", raw, ContactType))
        except ValidationError as error:
            errors.extend(error.errors)
    out["notify_contact_types"] = ",".join(dict.fromkeys(t.value for t in chosen))
    email = values.get("notify_email")
    if email:
        from carriertui.store.contacts.fields import clean_email

        take("notify_email", lambda: clean_email(email, "notify_email"))
    else:
        out["notify_email"] = None
    take(
        "penalty_minutes",
        lambda: validation.integer(
            "penalty_minutes",
            values.get("penalty_minutes") or 0,
            minimum=0,
            maximum=MAX_PENALTY_MINUTES,
        ),
    )
    take("enabled", lambda: validation.boolean("enabled", values.get("enabled", True)))
    ValidationError.raise_all(errors)
    return out
