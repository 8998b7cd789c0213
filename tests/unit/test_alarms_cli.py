"""``carriertui alarms ...`` and ``carriertui metrics`` as cron and a monitoring system run them:
real CSV imports, a real SQLite file, the Nagios exit codes, a Prometheus file that parses."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.unit.cdr_helpers import csv_row, write_csv_file
from tests.unit.test_cli import add_customer, home, one_error_line, run  # noqa: F401

_serial = iter(range(1, 10**9))


def traffic(tmp_path: Path, *, answered: int, failed: int, code: str = "ACME") -> str:
    """A CSV of calls in the last few minutes: ``answered`` connected, ``failed`` busy."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    rows = []
    for n in range(answered + failed):
        index = next(_serial)
        moment = (start + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        row = csv_row(index, customer=code, start_time=moment, call_id=f"cli-{index}")
        if n >= answered:
            row.update(duration="0", billed_duration="0", sip_code="486", charge="0", cost="0")
        else:
            row.update(duration="90", billed_duration="90", sip_code="200")
        rows.append(row)
    return str(write_csv_file(tmp_path / f"cdrs-{index}.csv", rows))


def add_asr_rule(capsys, *extra: str) -> str:
    code, out, err = run(
        capsys,
        "alarms",
        "rule",
        "add",
        "--name",
        "ACME low ASR",
        "--metric",
        "asr",
        "--customer",
        "ACME",
        "--window",
        "15",
        "--min-attempts",
        "10",
        "--trigger",
        "30",
        "--reset",
        "31",
        *extra,
    )
    assert code == 0, err
    return out


def test_rules_add_list_remove(home, capsys):  # noqa: F811
    add_customer(capsys, "Acme Telecom", "--code", "ACME")
    out = add_asr_rule(capsys, "--severity", "critical", "--notify-email", "noc@carrier.example")
    assert out == (
        "alarm rule ACME low ASR added: ASR below 30 (reset 31) over 15 min, ACME, critical; "
        "mail noc@carrier.example\n"
    )
    code, out, err = run(
        capsys, "alarms", "rule", "add", "--name", "pdd", "--metric", "pdd", "--every-customer",
        "--window-kind", "calls", "--window", "200", "--trigger", "8", "--reset", "5",
        "--notify-contacts", "NOC,Technical", "--penalty-minutes", "60",
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = run(capsys, "alarms", "rule", "list", "--format", "json")
    rules = {r["name"]: r for r in json.loads(out)}
    assert rules["pdd"]["customer"] is None and rules["pdd"]["window_kind"] == "calls"
    assert rules["pdd"]["notify_contact_types"] == ["NOC", "Technical"]
    assert rules["pdd"]["penalty_minutes"] == 60
    assert rules["ACME low ASR"]["trigger"] == 30 and rules["ACME low ASR"]["reset"] == 31
    code, out, _ = run(capsys, "alarms", "rule", "list")
    assert "mail NOC+Technical, penalty 60 min" in out
    code, out, _ = run(capsys, "alarms", "rule", "remove", "pdd")
    assert (code, out) == (0, "alarm rule pdd removed\n")

    # Bad input: one line, exit 2, nothing saved.
    code, _, err = run(
        capsys, "alarms", "rule", "add", "--name", "x", "--metric", "asr", "--customer", "ACME",
        "--trigger", "30", "--reset", "20",
    )  # fmt: skip
    assert code == 2 and "the reset (20) must be at or above the trigger (30)" in one_error_line(
        err
    )
    code, _, err = run(
        capsys, "alarms", "rule", "add", "--name", "x", "--metric", "asr", "--trigger", "3"
    )
    assert code == 2 and "--customer" in err
    code, out, _ = run(capsys, "alarms", "rule", "list", "--format", "json")
    assert [r["name"] for r in json.loads(out)] == ["ACME low ASR"]


def test_import_raises_check_reports_ack_and_a_good_import_clears(home, capsys, tmp_path):  # noqa: F811
    add_customer(capsys, "Acme Telecom", "--code", "ACME")
    add_asr_rule(capsys, "--severity", "critical")
    code, out, _ = run(capsys, "alarms", "check")
    assert code == 0
    assert out == (
        "ALARMS OK - 0 raised (0 critical, 0 warning), 0 acknowledged, 1 rules | raised=0;;;0 "
        "critical=0;;;0 warning=0;;;0 acknowledged=0;;;0 rules=1;;;0\n"
    )

    code, out, err = run(capsys, "cdr", "import", traffic(tmp_path, answered=2, failed=18))
    assert code == 0, err
    assert "alarms: 20 new CDRs, 1 rule evaluations, 1 raised, 0 cleared" in out
    # The import's own summary first, then what its CDRs raised (the last line).
    assert out.splitlines()[-1].startswith("alarms: 20 new CDRs")
    code, out, _ = run(capsys, "alarms", "check")
    assert code == 2
    assert out.startswith(
        "ALARMS CRITICAL - 1 raised (1 critical, 0 warning), 0 acknowledged, 1 rules: "
        "ACME low ASR ACME ASR 10.0% | raised=1;;;0 critical=1;;;0"
    )
    code, out, _ = run(capsys, "alarms", "list", "--format", "json")
    (alarm,) = json.loads(out)
    assert (alarm["state"], alarm["severity"], alarm["value"], alarm["customer_code"]) == (
        "raised",
        "critical",
        10.0,
        "ACME",
    )
    code, out, _ = run(capsys, "alarms", "list")
    header, _rule, row = out.splitlines()[:3]
    assert header.split() == [
        "ID", "State", "Severity", "Customer", "Metric", "Value", "Threshold", "Since", "Ack", "by",
    ]  # fmt: skip
    assert row.split()[:7] == ["1", "raised", "CRITICAL", "ACME", "ASR", "10.0%", "30.0%"]

    code, _, err = run(capsys, "alarms", "ack", "1")
    assert code == 2 and "--comment" in err
    code, out, _ = run(capsys, "alarms", "ack", "1", "--comment", "carrier X rerouted")
    assert (code, out) == (0, "alarm 1 (ACME low ASR, ACME) acknowledged by API\n")
    code, out, _ = run(capsys, "alarms", "check")
    assert code == 0 and "0 raised (0 critical, 0 warning), 1 acknowledged" in out
    code, _, err = run(capsys, "alarms", "ack", "1", "--comment", "again")
    assert code == 2 and "only a raised alarm can be acknowledged" in one_error_line(err)

    code, out, _ = run(capsys, "cdr", "import", traffic(tmp_path, answered=40, failed=0))
    assert "1 cleared" in out
    code, out, _ = run(capsys, "alarms", "list", "--state", "cleared", "--format", "json")
    assert [(a["id"], a["acknowledged_by"]) for a in json.loads(out)] == [(1, "API")]
    code, out, _ = run(capsys, "alarms", "list", "--state", "raised", "--format", "json")
    assert json.loads(out) == []


def test_check_warning_and_unknown(home, capsys, tmp_path):  # noqa: F811
    add_customer(capsys, "Acme Telecom", "--code", "ACME")
    add_asr_rule(capsys)  # warning, the default
    run(capsys, "cdr", "import", traffic(tmp_path, answered=0, failed=10))
    code, out, _ = run(capsys, "alarms", "check")
    assert code == 1 and out.startswith("ALARMS WARNING - 1 raised (0 critical, 1 warning)")
    code, out, _ = run(capsys, "alarms", "check", "--db", "postgresql://nobody@127.0.0.1:9/x")
    assert code == 3 and out.startswith("ALARMS UNKNOWN - ") and len(out.splitlines()) == 1
    assert "|" not in out


def test_metrics_file_parses_with_the_prometheus_parser(home, capsys, tmp_path):  # noqa: F811
    add_customer(capsys, "Acme Telecom", "--code", "ACME")
    add_customer(capsys, 'Quote "Q" \\ Back}slash', "--code", "Q1")
    add_asr_rule(capsys, "--severity", "critical")
    run(capsys, "cdr", "import", traffic(tmp_path, answered=3, failed=17))
    target = tmp_path / "textfile" / "carriertui.prom"
    target.parent.mkdir()
    code, out, err = run(capsys, "metrics", "-o", str(target))
    assert (code, out, err) == (0, "", "")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["carriertui.prom"]  # no temporary left
    families = {f.name: f for f in text_string_to_metric_families(target.read_text())}
    samples = {
        (f.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    acme = (("customer", "ACME"), ("name", "Acme Telecom"))
    assert samples[("carriertui_call_attempts", acme)] == 20
    assert samples[("carriertui_asr_percent", acme)] == 15.0
    assert samples[("carriertui_acd_seconds", acme)] == 90.0
    assert samples[("carriertui_customer_alarms", (*acme, ("state", "raised")))] == 1
    assert samples[("carriertui_alarms", (("severity", "critical"), ("state", "raised")))] == 1
    assert samples[("carriertui_alarm_rules", ())] == 1
    # The hostile name round-trips through the format's escapes; no calls: no ASR sample.
    hostile = (("customer", "Q1"), ("name", 'Quote "Q" \\ Back}slash'))
    assert samples[("carriertui_call_attempts", hostile)] == 0
    assert ("carriertui_asr_percent", hostile) not in samples
    code, out, _ = run(capsys, "metrics")
    assert code == 0 and out.startswith("# HELP carriertui_call_attempts")


def test_a_spool_ingest_evaluates_the_rules_its_files_fed(home, capsys, tmp_path):  # noqa: F811
    """`cdr ingest DIR` (cron's spool pass) evaluates like `cdr import`: a file with an ASR
    drop raises the alarm as soon as it is stored."""
    add_customer(capsys, "Acme Telecom", "--code", "ACME")
    add_asr_rule(capsys, "--severity", "critical")
    spool = tmp_path / "spool"
    spool.mkdir()
    source = Path(traffic(tmp_path, answered=2, failed=18))
    source.rename(spool / source.name)
    code, out, err = run(capsys, "cdr", "ingest", str(spool), "--format", "native")
    assert code == 0, err
    assert "alarms: 20 new CDRs, 1 rule evaluations, 1 raised, 0 cleared" in out
    code, out, _ = run(capsys, "alarms", "check")
    assert code == 2 and out.startswith("ALARMS CRITICAL - 1 raised")
