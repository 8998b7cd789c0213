"""NOC alarm arithmetic: the KPIs of a window of CDRs and the hysteresis rule that raises and
clears an alarm. Pure (stdlib only): the store feeds it totals it summed in SQL, the tests feed
it rows, and both must agree.

Definitions (reference/DOMAIN.md 8.1, FEEDS-AND-ALARMS.md 4.2):

- a call is *answered* (connected) when its duration is above 0 (the importer's rule);
- ASR = answered / attempts x 100;
- ACD = sum of the talk seconds of answered calls / answered (seconds);
- NER (ITU-T E.425) = (answered + user busy + no answer + terminal reject) / attempts x 100,
  with the SIP mapping busy = 486/600, no answer = 408/480, reject = 603;
- PDD = the mean post-dial delay of every attempt, in seconds;
- short calls = answered calls shorter than N seconds / answered x 100 (the false answer
  supervision signal);
- CPS = attempts / the window's length in seconds (a last-N-calls window: the span from its
  first to its last call, at least one second);
- spend = the sum of the customer charges (over 24 hours: the rule's window is fixed to it);
- margin = (charge - cost) / charge x 100.

A value is None when the window cannot define it (ACD of no answered call, margin of no
charge): None never raises nor clears.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

# SIP final responses that E.425 counts as network-effective besides an answer.
NER_EFFECTIVE_CODES = frozenset({486, 600, 408, 480, 603})
SPEND_WINDOW_MINUTES = 24 * 60
DEFAULT_SHORT_SECONDS = 6


class Metric(StrEnum):
    ASR = "asr"
    ACD = "acd"
    NER = "ner"
    PDD = "pdd"
    SHORT_CALLS = "short_calls"
    CPS = "cps"
    SPEND = "spend"
    MARGIN = "margin"

    @property
    def label(self) -> str:
        return METRIC_LABELS[self]

    @property
    def unit(self) -> str:
        return METRIC_UNITS[self]

    @property
    def direction(self) -> Direction:
        """Which way is bad: a low ASR, a high PDD."""
        return Direction.ABOVE if self in _BAD_WHEN_HIGH else Direction.BELOW


METRIC_LABELS = {
    Metric.ASR: "ASR",
    Metric.ACD: "ACD",
    Metric.NER: "NER",
    Metric.PDD: "PDD",
    Metric.SHORT_CALLS: "Short calls",
    Metric.CPS: "CPS",
    Metric.SPEND: "Spend 24h",
    Metric.MARGIN: "Margin",
}
METRIC_UNITS = {
    Metric.ASR: "%",
    Metric.ACD: "s",
    Metric.NER: "%",
    Metric.PDD: "s",
    Metric.SHORT_CALLS: "%",
    Metric.CPS: "/s",
    Metric.SPEND: "",
    Metric.MARGIN: "%",
}
_BAD_WHEN_HIGH = frozenset({Metric.PDD, Metric.SHORT_CALLS, Metric.CPS, Metric.SPEND})


class Direction(StrEnum):
    BELOW = "below"  # raised at value <= trigger, cleared at value > reset
    ABOVE = "above"  # raised at value >= trigger, cleared at value < reset


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class WindowKind(StrEnum):
    MINUTES = "minutes"  # the CDRs that started in the last N minutes
    CALLS = "calls"  # the customer's last N CDRs by start time


class AlarmState(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"

    @property
    def active(self) -> bool:
        return self is not AlarmState.CLEARED


class Transition(StrEnum):
    RAISE = "raise"
    CLEAR = "clear"


@dataclass(frozen=True)
class Call:
    """What the metrics read of one CDR. ``start_s``: its start time, seconds since any epoch."""

    start_s: float
    duration: int
    sip_code: int
    pdd_ms: int
    charge: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)


@dataclass(frozen=True)
class WindowTotals:
    """The sums every metric is computed from; the store gets the same from one SQL query."""

    attempts: int = 0
    answered: int = 0
    talk_seconds: int = 0  # of answered calls
    ner_effective: int = 0
    pdd_ms_sum: int = 0
    short_calls: int = 0  # answered calls under the rule's short-call seconds
    first_start_s: float | None = None
    last_start_s: float | None = None
    charge: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)


def totals_of(calls: Iterable[Call], *, short_seconds: int = DEFAULT_SHORT_SECONDS) -> WindowTotals:
    """The totals of ``calls`` (the reference the SQL aggregation is tested against)."""
    attempts = answered = talk = effective = pdd = short = 0
    first: float | None = None
    last: float | None = None
    charge = cost = Decimal(0)
    for call in calls:
        attempts += 1
        connected = call.duration > 0
        if connected:
            answered += 1
            talk += call.duration
            if call.duration < short_seconds:
                short += 1
        if connected or call.sip_code in NER_EFFECTIVE_CODES:
            effective += 1
        pdd += call.pdd_ms
        first = call.start_s if first is None else min(first, call.start_s)
        last = call.start_s if last is None else max(last, call.start_s)
        charge += call.charge
        cost += call.cost
    return WindowTotals(attempts, answered, talk, effective, pdd, short, first, last, charge, cost)


def window_seconds(kind: WindowKind, size: int, totals: WindowTotals) -> float:
    """The length CPS divides by: the time window itself, or a call window's span (>= 1 s)."""
    if kind is WindowKind.MINUTES:
        return float(size * 60)
    if totals.first_start_s is None or totals.last_start_s is None:
        return 1.0
    return max(1.0, totals.last_start_s - totals.first_start_s)


def metric_value(metric: Metric, totals: WindowTotals, seconds: float) -> float | None:
    """``metric`` over a window with ``totals`` lasting ``seconds``; None when undefined."""
    t = totals
    if metric is Metric.SPEND:
        return float(t.charge)
    if metric is Metric.MARGIN:
        return float((t.charge - t.cost) / t.charge * 100) if t.charge else None
    if t.attempts == 0:
        return None
    if metric is Metric.ASR:
        return t.answered / t.attempts * 100
    if metric is Metric.NER:
        return t.ner_effective / t.attempts * 100
    if metric is Metric.PDD:
        return t.pdd_ms_sum / t.attempts / 1000
    if metric is Metric.CPS:
        return t.attempts / seconds
    if t.answered == 0:
        return None
    if metric is Metric.ACD:
        return t.talk_seconds / t.answered
    return t.short_calls / t.answered * 100  # SHORT_CALLS


@dataclass(frozen=True)
class Thresholds:
    """A rule's trigger and reset values, checked for the metric's direction."""

    metric: Metric
    trigger: float
    reset: float
    min_attempts: int = 1

    def __post_init__(self) -> None:
        problem = threshold_problem(self.metric, self.trigger, self.reset)
        if problem:
            raise ValueError(problem)
        if self.min_attempts < 0:
            raise ValueError("minimum attempts must be 0 or more")


def threshold_problem(metric: Metric, trigger: float, reset: float) -> str | None:
    """Why this pair cannot work (the reset must lie on the good side of the trigger, or the
    alarm would clear the moment it raises), or None."""
    if metric.direction is Direction.BELOW and reset < trigger:
        return (
            f"{metric.label} alarms raise when the value falls to the trigger: the reset "
            f"({reset:g}) must be at or above the trigger ({trigger:g})"
        )
    if metric.direction is Direction.ABOVE and reset > trigger:
        return (
            f"{metric.label} alarms raise when the value rises to the trigger: the reset "
            f"({reset:g}) must be at or below the trigger ({trigger:g})"
        )
    return None


def decide(
    thresholds: Thresholds, active: bool, value: float | None, attempts: int
) -> Transition | None:
    """The hysteresis rule. ``active``: an alarm of this rule and scope is raised or
    acknowledged. Too few attempts or no value decide nothing; an active alarm never raises
    again, it only clears once the value is past the reset threshold."""
    if value is None or attempts < thresholds.min_attempts:
        return None
    below = thresholds.metric.direction is Direction.BELOW
    if not active:
        breached = value <= thresholds.trigger if below else value >= thresholds.trigger
        return Transition.RAISE if breached else None
    recovered = value > thresholds.reset if below else value < thresholds.reset
    return Transition.CLEAR if recovered else None


def replay(
    thresholds: Thresholds, values: Iterable[tuple[float | None, int]], active: bool = False
) -> list[Transition]:
    """The transitions a sequence of (value, attempts) evaluations makes, from ``active``."""
    out: list[Transition] = []
    for value, attempts in values:
        step = decide(thresholds, active, value, attempts)
        if step is not None:
            out.append(step)
            active = step is Transition.RAISE
    return out


def format_value(metric: Metric, value: float | None) -> str:
    """A metric value as the NOC reads it: ``27.5%``, ``43.0s``, ``12.3400``."""
    if value is None:
        return "-"
    if metric is Metric.SPEND:
        return f"{value:.4f}"
    if metric is Metric.CPS:
        return f"{value:.2f}/s"
    return f"{value:.1f}{metric.unit}"
