"""``carriertui alarms ...`` (rules, the alarm list, acknowledge, the Nagios check) and
``carriertui metrics`` (per-customer KPIs and alarm counts for Prometheus' textfile collector).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carriertui.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    Commands,
    api_actor,
    customer_id,
    format_option,
    opened,
)
from carriertui.cli.output import iso_utc, out, print_json, print_table
from carriertui.text import sanitize

if TYPE_CHECKING:
    from carriertui.store.alarms import AlarmCounts, AlarmRecord, CustomerKpis

METRICS = ("asr", "acd", "ner", "pdd", "short_calls", "cps", "spend", "margin")
STATES = ("raised", "acknowledged", "cleared")
# Nagios plugin return codes (Nagios Plugin Development Guidelines).
NAGIOS_OK, NAGIOS_WARNING, NAGIOS_CRITICAL, NAGIOS_UNKNOWN = 0, 1, 2, 3
NAGIOS_NAMES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


def register(commands: Commands) -> None:
    group = commands.group("alarms", "NOC alarms: rules, raised alarms, acknowledge, Nagios check")
    rule = group.group("rule", "alarm rules: add, list, remove")
    sub = rule.add("add", "add an alarm rule", cmd_rule_add)
    sub.add_argument("--name", required=True, help="a unique name, e.g. 'ACME low ASR'")
    sub.add_argument("--metric", required=True, choices=METRICS)
    scope = sub.add_mutually_exclusive_group(required=True)
    scope.add_argument("--customer", help="the customer watched (account code, exact name, id)")
    scope.add_argument(
        "--every-customer", action="store_true", help="watch every customer (one alarm each)"
    )
    sub.add_argument("--prefix", metavar="DIGITS", help="only calls to numbers with this prefix")
    sub.add_argument(
        "--window-kind",
        choices=("minutes", "calls"),
        default="minutes",
        help="the last N minutes of CDRs, or the last N calls (default minutes)",
    )
    sub.add_argument(
        "--window", metavar="N", help="N minutes or calls (default 15 minutes, 100 calls)"
    )
    sub.add_argument("--min-attempts", metavar="N", default="10", help="default 10")
    sub.add_argument("--trigger", required=True, metavar="VALUE", help="raise at this value")
    sub.add_argument(
        "--reset", metavar="VALUE", help="clear only past this value (default: the trigger)"
    )
    sub.add_argument(
        "--short-seconds", metavar="N", help="short calls: connected under N seconds (default 6)"
    )
    sub.add_argument("--severity", choices=("warning", "critical"), default="warning")
    sub.add_argument(
        "--notify-contacts",
        metavar="TYPES",
        help="mail the customer's contacts of these types, e.g. NOC,Technical",
    )
    sub.add_argument("--notify-email", metavar="ADDRESS", help="mail this address (the NOC's)")
    sub.add_argument(
        "--penalty-minutes",
        metavar="N",
        help="set the customer's status to Penalty for N minutes when raised",
    )
    sub.add_argument("--disabled", action="store_true", help="add it switched off")
    sub = rule.add("list", "alarm rules by name", cmd_rule_list)
    sub.add_argument("--customer", help="only the rules watching this customer")
    format_option(sub)
    sub = rule.add("remove", "remove an alarm rule (its alarms stay as history)", cmd_rule_remove)
    sub.add_argument("rule", metavar="NAME|ID")

    sub = group.add("list", "alarms, newest first", cmd_alarm_list)
    sub.add_argument("--state", choices=STATES, action="append", help="repeatable")
    sub.add_argument("--customer", help="one customer's alarms")
    format_option(sub)
    sub = group.add("ack", "acknowledge a raised alarm", cmd_alarm_ack)
    sub.add_argument("id", metavar="ID", type=int)
    sub.add_argument("--comment", required=True, help="what is being done about it")
    sub = group.add(
        "check",
        "evaluate, then print one Nagios status line (exit 0 OK, 1 WARNING, 2 CRITICAL, "
        "3 UNKNOWN); for cron and monitoring",
        cmd_alarm_check,
    )
    sub.add_argument(
        "--full", action="store_true", help="evaluate every rule, not only those with new CDRs"
    )
    sub.add_argument("--no-evaluate", action="store_true", help="only report what is raised")

    sub = commands.add(
        "metrics",
        "per-customer KPIs and alarm counts in the Prometheus text format (textfile collector)",
        cmd_metrics,
    )
    sub.add_argument("-o", "--output", metavar="FILE", help="write FILE atomically, not stdout")
    sub.add_argument("--window", metavar="MINUTES", type=int, default=60, help="default 60")


# -- rules -------------------------------------------------------------------------------------


def cmd_rule_add(args: argparse.Namespace) -> int:
    from carriertui.store import alarms

    values: dict[str, Any] = {
        "name": args.name,
        "metric": args.metric,
        "dest_prefix": args.prefix,
        "window_kind": args.window_kind,
        "window_size": args.window,
        "min_attempts": args.min_attempts,
        "trigger": args.trigger,
        "reset": args.reset,
        "short_seconds": args.short_seconds,
        "severity": args.severity,
        "notify_contact_types": args.notify_contacts or "",
        "notify_email": args.notify_email,
        "penalty_minutes": args.penalty_minutes,
        "enabled": not args.disabled,
    }
    with opened(args) as db:
        customer = None if args.every_customer else customer_id(db, args.customer)
        rule = alarms.add_rule(db, api_actor(), values, customer_id=customer)
    out(
        f"alarm rule {sanitize(rule.name)} added: {rule.metric.label} "
        f"{rule.metric.direction.value} {rule.trigger:g} (reset {rule.reset:g}) over "
        f"{rule.window}, {sanitize(rule.scope)}, {rule.severity.value}; {sanitize(rule.actions)}"
    )
    return EXIT_OK


def cmd_rule_list(args: argparse.Namespace) -> int:
    from carriertui.store import alarms

    with opened(args) as db:
        customer = customer_id(db, args.customer) if args.customer else None
        rules = alarms.list_rules(db, api_actor(), customer)
    if args.format == "json":
        print_json(
            [
                {
                    "id": r.id,
                    "name": r.name,
                    "metric": r.metric.value,
                    "customer": r.customer_code,
                    "dest_prefix": r.dest_prefix,
                    "window_kind": r.window_kind.value,
                    "window_size": r.window_size,
                    "min_attempts": r.min_attempts,
                    "trigger": r.trigger,
                    "reset": r.reset,
                    "short_seconds": r.short_seconds,
                    "severity": r.severity.value,
                    "notify_contact_types": [t.value for t in r.notify_contact_types],
                    "notify_email": r.notify_email,
                    "penalty_minutes": r.penalty_minutes,
                    "enabled": r.enabled,
                }
                for r in rules
            ]
        )
        return EXIT_OK
    print_table(
        ["Name", "Metric", "Scope", "Window", "Min", "Trigger", "Reset", "Severity", "Actions"],
        [
            [
                r.name if r.enabled else f"{r.name} (off)",
                r.metric.label,
                r.scope,
                r.window,
                str(r.min_attempts),
                f"{r.trigger:g}",
                f"{r.reset:g}",
                r.severity.value,
                r.actions,
            ]
            for r in rules
        ],
    )
    return EXIT_OK


def cmd_rule_remove(args: argparse.Namespace) -> int:
    from carriertui.store import alarms

    with opened(args) as db:
        name = alarms.remove_rule(db, api_actor(), args.rule)
    out(f"alarm rule {sanitize(name)} removed")
    return EXIT_OK


# -- alarms ------------------------------------------------------------------------------------


def _customer_text(alarm: AlarmRecord) -> str:
    return alarm.customer_code or alarm.customer_name


def alarm_json(alarm: AlarmRecord) -> dict[str, Any]:
    return {
        "id": alarm.id,
        "state": alarm.state.value,
        "severity": alarm.severity.value,
        "rule": alarm.rule_name,
        "customer": alarm.customer_name,
        "customer_code": alarm.customer_code,
        "metric": alarm.metric.value,
        "value": alarm.value,
        "last_value": alarm.last_value,
        "threshold": alarm.threshold,
        "attempts": alarm.attempts,
        "raised_at": alarm.raised_at,
        "acknowledged_at": alarm.acknowledged_at,
        "acknowledged_by": alarm.acknowledged_by,
        "ack_comment": alarm.ack_comment,
        "cleared_at": alarm.cleared_at,
        "penalty_until": alarm.penalty_until,
    }


def cmd_alarm_list(args: argparse.Namespace) -> int:
    from carriertui.alarms import AlarmState, format_value
    from carriertui.store import alarms

    states = [AlarmState(s) for s in args.state or ()]
    with opened(args) as db:
        customer = customer_id(db, args.customer) if args.customer else None
        found = alarms.list_alarms(db, api_actor(), states=states, customer_id=customer)
    if args.format == "json":
        print_json([alarm_json(a) for a in found])
        return EXIT_OK
    print_table(
        ["ID", "State", "Severity", "Customer", "Metric", "Value", "Threshold", "Since", "Ack by"],
        [
            [
                str(a.id),
                a.state.value,
                a.severity.value.upper(),
                _customer_text(a),
                a.metric.label,
                format_value(a.metric, a.value),
                format_value(a.metric, a.threshold),
                iso_utc(a.raised_at),
                a.acknowledged_by or "-",
            ]
            for a in found
        ],
    )
    return EXIT_OK


def cmd_alarm_ack(args: argparse.Namespace) -> int:
    from carriertui.store import alarms

    with opened(args) as db:
        alarm = alarms.acknowledge(db, api_actor(), args.id, args.comment)
    out(
        f"alarm {alarm.id} ({sanitize(alarm.rule_name)}, {sanitize(_customer_text(alarm))}) "
        f"acknowledged by {sanitize(alarm.acknowledged_by or '')}"
    )
    return EXIT_OK


def nagios_status(counts: AlarmCounts, raised: list[AlarmRecord]) -> tuple[int, str]:
    """The check's exit code and its line: the state comes from raised (unacknowledged)
    alarms, critical above warning; acknowledged ones are counted in the text and perf data."""
    from carriertui.alarms import format_value

    if counts.raised_critical:
        code = NAGIOS_CRITICAL
    elif counts.raised_warning:
        code = NAGIOS_WARNING
    else:
        code = NAGIOS_OK
    summary = (
        f"{counts.raised} raised ({counts.raised_critical} critical, {counts.raised_warning} "
        f"warning), {counts.acknowledged} acknowledged, {counts.rules} rules"
    )
    worst = sorted(raised, key=lambda a: (a.severity.value != "critical", -a.id))[:3]
    details = "; ".join(
        f"{a.rule_name} {_customer_text(a)} {a.metric.label} {format_value(a.metric, a.value)}"
        for a in worst
    )
    text = f"{summary}: {details}" if details else summary
    # The first "|" starts the performance data: none may appear in the text itself.
    text = sanitize(text).replace("|", "/")
    perf = (
        f"raised={counts.raised};;;0 critical={counts.raised_critical};;;0 "
        f"warning={counts.raised_warning};;;0 acknowledged={counts.acknowledged};;;0 "
        f"rules={counts.rules};;;0"
    )
    return code, f"ALARMS {NAGIOS_NAMES[code]} - {text} | {perf}"


def cmd_alarm_check(args: argparse.Namespace) -> int:
    """Never the CLI's own exit codes: a monitoring system reads 3 as "cannot tell"."""
    try:
        from carriertui.alarms import AlarmState
        from carriertui.store import alarms

        with opened(args) as db:
            actor = api_actor()
            if not args.no_evaluate:
                alarms.evaluate(db, actor, full=args.full)
            counts = alarms.alarm_counts(db, actor)
            raised = alarms.list_alarms(db, actor, states=[AlarmState.RAISED], limit=50)
        code, line = nagios_status(counts, raised)
    except Exception as error:  # any failure is UNKNOWN, in one line
        reason = sanitize(str(error).strip().splitlines()[0] if str(error).strip() else "")
        print(f"ALARMS UNKNOWN - {reason or type(error).__name__}".replace("|", "/"))
        return NAGIOS_UNKNOWN
    print(line)
    return code


# -- Prometheus ---------------------------------------------------------------------------------

_PROMETHEUS_GAUGES = (
    ("asr", "carriertui_asr_percent", "Answer-seizure ratio over the window, percent"),
    ("acd", "carriertui_acd_seconds", "Average duration of answered calls over the window"),
    ("ner", "carriertui_ner_percent", "Network effectiveness ratio (E.425) over the window"),
    ("pdd", "carriertui_pdd_seconds", "Mean post-dial delay over the window"),
    ("cps", "carriertui_calls_per_second", "Call attempts per second over the window"),
    ("margin", "carriertui_margin_percent", "(charge - cost) / charge over the window"),
    ("spend", "carriertui_spend_24h", "Customer charges over the last 24 hours"),
)


def _label(value: str) -> str:
    """A label value as the exposition format escapes it: backslash, double quote, newline;
    other control characters made visible first (carriertui.text.sanitize)."""
    text = sanitize(value)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return repr(float(value))


def prometheus_text(kpis: list[CustomerKpis], counts: AlarmCounts, window: int, now: float) -> str:
    from carriertui.alarms import Metric

    lines: list[str] = []

    def family(name: str, help_text: str) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")

    def labels(k: CustomerKpis) -> str:
        return f'customer="{_label(k.code or k.name)}",name="{_label(k.name)}"'

    family("carriertui_call_attempts", f"Call attempts in the last {window} minutes")
    lines += [f"carriertui_call_attempts{{{labels(k)}}} {k.attempts}" for k in kpis]
    family("carriertui_calls_answered", f"Answered calls in the last {window} minutes")
    lines += [f"carriertui_calls_answered{{{labels(k)}}} {k.answered}" for k in kpis]
    for key, name, help_text in _PROMETHEUS_GAUGES:
        family(name, help_text)
        for k in kpis:
            value = k.values.get(Metric(key))
            if value is not None:  # undefined (no calls): no sample, not a fake zero
                lines.append(f"{name}{{{labels(k)}}} {_number(value)}")
    family("carriertui_customer_alarms", "Active alarms of the customer by state")
    for k in kpis:
        lines.append(f'carriertui_customer_alarms{{{labels(k)},state="raised"}} {k.raised}')
        lines.append(
            f'carriertui_customer_alarms{{{labels(k)},state="acknowledged"}} {k.acknowledged}'
        )
    family("carriertui_alarms", "Active alarms by state and severity")
    for state, severity, count in (
        ("raised", "critical", counts.raised_critical),
        ("raised", "warning", counts.raised_warning),
        ("acknowledged", "any", counts.acknowledged),
    ):
        lines.append(f'carriertui_alarms{{state="{state}",severity="{severity}"}} {count}')
    family("carriertui_alarm_rules", "Alarm rules defined")
    lines.append(f"carriertui_alarm_rules {counts.rules}")
    family("carriertui_metrics_generated_seconds", "When this file was written (Unix time)")
    lines.append(f"carriertui_metrics_generated_seconds {_number(now)}")
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Into a temporary file beside ``path``, flushed, mode 0644 (the node exporter runs as
    another user), then renamed over it: a collector never reads half a file."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, then renamed)
            "w", encoding="utf-8", dir=folder, prefix=f".{path.name}.", suffix=".tmp", delete=False
        )
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror or error}") from error
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), 0o644)
        os.replace(handle.name, path)
    except OSError as error:
        Path(handle.name).unlink(missing_ok=True)
        raise CommandError(f"cannot write {path}: {error.strerror or error}") from error


def cmd_metrics(args: argparse.Namespace) -> int:
    import time

    from carriertui.store import alarms

    if not 1 <= args.window <= 7 * 24 * 60:
        raise CommandError("--window must be between 1 and 10080 minutes", EXIT_USAGE)
    with opened(args) as db:
        actor = api_actor()
        kpis = alarms.customer_kpis(db, actor, minutes=args.window)
        counts = alarms.alarm_counts(db, actor)
    text = prometheus_text(kpis, counts, args.window, time.time())
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return EXIT_OK
    write_atomically(Path(args.output), text)
    return EXIT_OK


def evaluate_after_import(db: Any) -> None:
    """`cdr import`'s hook, once its CDRs have committed: evaluate the rules whose window
    received them and say what changed. A failure here is a warning, never the import's: the
    CDRs are in, and the next `alarms check` evaluates them."""
    from carriertui.cli.output import warn
    from carriertui.store import alarms

    try:
        report = alarms.evaluate_after_import(db, api_actor())
    except Exception as error:
        warn(f"alarm evaluation failed (run carriertui alarms check): {sanitize(str(error))}")
        return
    if report.raised or report.cleared or report.penalties_lifted:
        out(f"alarms: {report}")
