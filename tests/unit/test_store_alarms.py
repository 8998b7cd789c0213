"""The alarm services on a real database (SQLite, and PostgreSQL when configured): rules,
evaluation by time and by count, hysteresis across evaluations, the only-new-traffic rule,
acknowledgement, the Penalty action and the mail it queues, each audited."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select

from carriertui.alarms import (
    AlarmState,
    Call,
    Metric,
    WindowKind,
    metric_value,
    totals_of,
    window_seconds,
)
from carriertui.store import alarms, customers
from carriertui.store.alarms.evaluation import call_window_totals, time_window_totals
from carriertui.store.contacts import service as contacts
from carriertui.store.db.alarm_tables import AlarmEvent
from carriertui.store.db.tables import AuditEntry, OutboxMessage
from carriertui.store.enums import CustomerStatus, MailKind
from carriertui.store.errors import NotFoundError, PermissionDeniedError, ValidationError
from tests.unit.cdr_helpers import add_customers, insert, values

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_serial = iter(range(1, 10**9))


def calls(customer_id, start, *, answered, failed, duration=60, spacing=1, **extra):
    """``answered`` connected and ``failed`` busy calls, one every ``spacing`` seconds."""
    rows = []
    for n in range(answered + failed):
        connected = n < answered
        rows.append(
            values(
                f"c-{next(_serial)}",
                customer_id,
                start + timedelta(seconds=n * spacing),
                duration=duration if connected else 0,
                **extra,
            )
        )
    return rows


def asr_rule(db, actor, customer_id=None, **overrides):
    spec = {
        "name": "low ASR",
        "metric": "asr",
        "window_kind": "minutes",
        "window_size": 15,
        "min_attempts": 10,
        "trigger": 30,
        "reset": 31,
        "severity": "critical",
    }
    spec.update(overrides)
    return alarms.add_rule(db, actor, spec, customer_id=customer_id)


def messages(db, table=AuditEntry):
    with db.read() as session:
        return [row.message for row in session.exec(select(table).order_by(col(table.id)))]


def notices(db):
    with db.read() as session:
        return [
            row.to_address
            for row in session.exec(
                select(OutboxMessage).where(OutboxMessage.kind == MailKind.NOTICE.value)
            )
        ]


def test_a_drop_raises_once_and_a_recovery_clears_once(db, admin):
    ids = add_customers(db, admin, "ACME")
    rule = asr_rule(db, admin, ids["ACME"])
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=10), answered=8, failed=12))
    report = alarms.evaluate(db, admin, now=NOW)  # ASR 40 %: nothing
    assert report.raised == [] and report.evaluated == 1

    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=5), answered=0, failed=20))
    report = alarms.evaluate(db, admin, now=NOW)  # 8 of 40: 20 %
    assert len(report.raised) == 1
    alarm = alarms.get_alarm(db, admin, report.raised[0])
    assert (alarm.state, alarm.metric, alarm.value, alarm.threshold) == ("raised", "asr", 20, 30)
    assert alarm.rule_id == rule.id and alarm.attempts == 40

    # Still bad, worse: no second alarm.
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=4), answered=0, failed=10))
    assert alarms.evaluate(db, admin, now=NOW).raised == []
    # 18 of 60 (30 %), then 19 of 62 (30.6 %, between trigger and reset): still raised.
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=3), answered=10, failed=0))
    assert alarms.evaluate(db, admin, now=NOW).cleared == []
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=3), answered=1, failed=1))
    assert alarms.evaluate(db, admin, now=NOW).cleared == []
    # Good traffic: 69 of 112 answered, past the reset of 31 %: cleared.
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=2), answered=50, failed=0))
    report = alarms.evaluate(db, admin, now=NOW)
    assert report.cleared == [alarm.id]
    assert alarms.get_alarm(db, admin, alarm.id).state == "cleared"
    raised = [m for m in messages(db) if m.startswith("Alarm low ASR (critical) raised")]
    cleared = [m for m in messages(db) if "cleared" in m]
    assert len(raised) == 1 and "Customer ACME (ACME): ASR 20.0%" in raised[0]
    assert cleared == [f"Alarm {alarm.id} (low ASR) cleared: ASR back to 61.6%"]
    assert [e.event for e in alarms.alarm_history(db, admin, alarm.id)] == ["raised", "cleared"]


def test_minimum_attempts(db, admin):
    ids = add_customers(db, admin, "ACME")
    asr_rule(db, admin, ids["ACME"], min_attempts=25)
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=5), answered=0, failed=24))
    assert alarms.evaluate(db, admin, now=NOW).raised == []
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=4), answered=0, failed=1))
    assert len(alarms.evaluate(db, admin, now=NOW).raised) == 1


def test_time_window_leaves_older_calls_out(db, admin):
    ids = add_customers(db, admin, "ACME")
    asr_rule(db, admin, ids["ACME"], window_size=15)
    # Bad traffic 20 minutes ago, good traffic now: the 15-minute window sees only the good.
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=20), answered=0, failed=50))
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=5), answered=10, failed=0))
    assert alarms.evaluate(db, admin, now=NOW).raised == []
    # A 30-minute window sees both: 10 of 60.
    asr_rule(db, admin, ids["ACME"], name="low ASR 30m", window_size=30)
    assert len(alarms.evaluate(db, admin, now=NOW, full=True).raised) == 1


def test_call_window_takes_the_last_n_calls(db, admin):
    ids = add_customers(db, admin, "ACME")
    asr_rule(db, admin, ids["ACME"], window_kind="calls", window_size=20, min_attempts=20)
    # 30 failures yesterday, then 20 good calls: the last 20 are all good.
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(days=1), answered=0, failed=30))
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(hours=2), answered=20, failed=0))
    assert alarms.evaluate(db, admin, now=NOW).raised == []
    # 10 more failures: the last 20 hold 10 good, 10 bad (50 %); 15 more: 5 of 20 (25 %).
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(hours=1), answered=0, failed=10))
    assert alarms.evaluate(db, admin, now=NOW).raised == []
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=30), answered=0, failed=5))
    raised = alarms.evaluate(db, admin, now=NOW).raised
    assert len(raised) == 1 and alarms.get_alarm(db, admin, raised[0]).value == 25.0


def test_sql_totals_match_the_pure_computation_for_every_metric(db, admin):
    ids = add_customers(db, admin, "ACME", "BETA")
    rng = random.Random(17)
    rows, pure = [], {cid: [] for cid in ids.values()}
    for n in range(400):
        customer_id = rng.choice(list(ids.values()))
        start = NOW - timedelta(seconds=rng.randint(0, 7200))
        duration = rng.choice([0, 0, rng.randint(1, 10), rng.randint(11, 900)])
        code = 200 if duration else rng.choice([404, 408, 480, 486, 503, 600, 603])
        charge = Decimal(rng.randint(0, 5000)).scaleb(-4) if duration else Decimal(0)
        cost = Decimal(rng.randint(0, 5000)).scaleb(-4) if duration else Decimal(0)
        prefix = rng.choice(["4930", "4415"])
        row = values(
            f"r-{n}",
            customer_id,
            start,
            duration=duration,
            charge=str(charge),
            cost=str(cost),
            pdd_ms=rng.randint(0, 20000),
            dest_number=f"{prefix}{n:06d}",
        )
        row = dataclasses.replace(row, sip_code=code)
        rows.append(row)
        call = Call(start.timestamp(), duration, code, row.pdd_ms, charge, cost)
        pure[customer_id].append((start, n, row.dest_number, call))
    insert(db, admin, rows)
    with db.read() as session:
        for minutes, prefix, short in ((30, None, 6), (90, "4930", 10)):
            got = time_window_totals(session, ids.values(), minutes, prefix, short, NOW)
            for customer_id, items in pure.items():
                since = NOW - timedelta(minutes=minutes)
                window = [
                    c
                    for s, _, d, c in items
                    if s >= since and (prefix is None or d.startswith(prefix))
                ]
                want = totals_of(window, short_seconds=short)
                for metric in Metric:
                    seconds = window_seconds(WindowKind.MINUTES, minutes, want)
                    assert metric_value(metric, got[customer_id], seconds) == pytest.approx(
                        metric_value(metric, want, seconds)
                    ), (metric, minutes, prefix)
        for customer_id, items in pure.items():
            last = sorted(items, key=lambda item: (item[0], item[1]))[-50:]
            want = totals_of([c for *_, c in last], short_seconds=6)
            got_calls = call_window_totals(session, customer_id, 50, None, 6, NOW)
            for metric in Metric:
                assert metric_value(
                    metric, got_calls, window_seconds(WindowKind.CALLS, 50, got_calls)
                ) == pytest.approx(
                    metric_value(metric, want, window_seconds(WindowKind.CALLS, 50, want))
                ), metric


def test_only_rules_whose_window_received_cdrs_are_evaluated(db, admin):
    ids = add_customers(db, admin, "ACME", "BETA")
    asr_rule(db, admin, ids["ACME"], name="acme")
    asr_rule(db, admin, ids["BETA"], name="beta")
    asr_rule(db, admin, None, name="everyone")
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=5), answered=10, failed=0))
    report = alarms.evaluate(db, admin, now=NOW)
    assert (report.new_cdrs, report.evaluated) == (10, 2)  # acme + everyone for ACME
    assert alarms.evaluate(db, admin, now=NOW).evaluated == 0  # nothing new: nothing runs
    before = len(messages(db))
    insert(db, admin, calls(ids["BETA"], NOW - timedelta(minutes=5), answered=0, failed=10))
    report = alarms.evaluate(db, admin, now=NOW)
    assert report.evaluated == 2 and len(report.raised) == 2  # beta + everyone for BETA
    raised = alarms.list_alarms(db, admin, states=[AlarmState.RAISED])
    assert {(a.rule_name, a.customer_code) for a in raised} == {
        ("beta", "BETA"),
        ("everyone", "BETA"),
    }
    assert len(messages(db)) > before


def test_acknowledge_then_clear(db, admin, viewer):
    ids = add_customers(db, admin, "ACME")
    asr_rule(db, admin, ids["ACME"])
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=5), answered=0, failed=20))
    (alarm_id,) = alarms.evaluate(db, admin, now=NOW).raised
    with pytest.raises(PermissionDeniedError):
        alarms.acknowledge(db, viewer, alarm_id, "looking")
    with pytest.raises(ValidationError, match="comment: is required"):
        alarms.acknowledge(db, admin, alarm_id, "  ")
    acked = alarms.acknowledge(db, admin, alarm_id, "carrier X down, rerouted")
    assert (acked.state, acked.acknowledged_by, acked.ack_comment) == (
        "acknowledged",
        "alice",
        "carrier X down, rerouted",
    )
    with pytest.raises(ValidationError, match="is acknowledged"):
        alarms.acknowledge(db, admin, alarm_id, "again")
    assert alarms.alarm_counts(db, admin).acknowledged == 1
    # An acknowledged alarm is still active: more bad traffic raises nothing new.
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=4), answered=0, failed=5))
    assert alarms.evaluate(db, admin, now=NOW).raised == []
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=3), answered=40, failed=0))
    assert alarms.evaluate(db, admin, now=NOW).cleared == [alarm_id]
    events = alarms.alarm_history(db, admin, alarm_id)
    assert [(e.event, e.actor) for e in events] == [
        ("raised", "alice"),
        ("acknowledged", "alice"),
        ("cleared", "alice"),
    ]
    assert f"Alarm {alarm_id} (low ASR) acknowledged" in messages(db)


def test_mail_is_queued_once_per_raise(db, admin, fast_argon2):
    ids = add_customers(db, admin, "ACME")
    for name, email, kind in (
        ("Nina Noc", "noc@acme.example", "NOC"),
        ("Tim Tech", "tech@acme.example", "Technical"),
        ("Bill Pay", "billing@acme.example", "Billing"),
    ):
        contacts.create_contact(
            db,
            admin,
            ids["ACME"],
            {"name": name, "email": email, "contact_type": kind},
            password="correct horse battery staple 42",
        )
    asr_rule(
        db,
        admin,
        ids["ACME"],
        notify_contact_types="NOC,Technical",
        notify_email="noc@carrier.example",
    )
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=9), answered=0, failed=20))
    alarms.evaluate(db, admin, now=NOW)
    first = sorted(notices(db))
    assert first == ["noc@acme.example", "noc@carrier.example", "tech@acme.example"]
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=8), answered=0, failed=20))
    alarms.evaluate(db, admin, now=NOW)
    assert len(notices(db)) == 3  # still raised: no second mail
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=7), answered=60, failed=0))
    assert alarms.evaluate(db, admin, now=NOW).cleared
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=6), answered=0, failed=200))
    assert alarms.evaluate(db, admin, now=NOW).raised
    assert len(notices(db)) == 6  # raised again: mailed again


def test_penalty_is_set_and_set_back_when_its_time_ends(db, admin):
    ids = add_customers(db, admin, "ACME")
    asr_rule(db, admin, ids["ACME"], name="ASR penalty", trigger=15, reset=20, penalty_minutes=60)
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=5), answered=1, failed=19))
    (alarm_id,) = alarms.evaluate(db, admin, now=NOW).raised
    assert customers.get_customer(db, admin, ids["ACME"]).status is CustomerStatus.PENALTY
    assert alarms.get_alarm(db, admin, alarm_id).penalty_until == NOW + timedelta(minutes=60)
    assert alarms.evaluate(db, admin, now=NOW + timedelta(minutes=59)).penalties_lifted == 0
    assert customers.get_customer(db, admin, ids["ACME"]).status is CustomerStatus.PENALTY
    report = alarms.evaluate(db, admin, now=NOW + timedelta(minutes=61))
    assert report.penalties_lifted == 1
    assert customers.get_customer(db, admin, ids["ACME"]).status is CustomerStatus.ACTIVE
    log = messages(db)
    assert any(m.startswith("Customer Customer ACME set to Penalty by alarm") for m in log)
    assert any(m.startswith("Customer Customer ACME set back to Active") for m in log)
    assert alarms.evaluate(db, admin, now=NOW + timedelta(minutes=62)).penalties_lifted == 0
    with db.read() as session:
        events = session.exec(select(AlarmEvent.event).order_by(col(AlarmEvent.id))).all()
    assert list(events) == ["raised", "penalty set", "penalty lifted"]


def test_rule_validation_and_removal(db, admin, viewer):
    ids = add_customers(db, admin, "ACME")
    with pytest.raises(ValidationError) as caught:
        alarms.add_rule(
            db,
            admin,
            {"name": "", "metric": "asr", "trigger": 30, "reset": 20, "severity": "loud"},
        )
    fields = [field for field, _ in caught.value.errors]
    assert fields == ["name", "reset", "severity"]
    with pytest.raises(ValidationError, match="spend is always over the last 24 hours"):
        alarms.add_rule(
            db, admin, {"name": "s", "metric": "spend", "trigger": 5, "window_size": 60}
        )
    with pytest.raises(PermissionDeniedError):
        asr_rule(db, viewer)
    with pytest.raises(NotFoundError):
        asr_rule(db, admin, 9999)
    spend = alarms.add_rule(db, admin, {"name": "spend", "metric": "spend", "trigger": 500})
    assert (spend.window_kind, spend.window_size, spend.reset) == ("minutes", 1440, 500)
    rule = asr_rule(db, admin, ids["ACME"])
    with pytest.raises(ValidationError, match="exists"):
        asr_rule(db, admin, ids["ACME"])
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=5), answered=0, failed=20))
    (alarm_id,) = alarms.evaluate(db, admin, now=NOW).raised
    assert alarms.remove_rule(db, admin, "low ASR") == "low ASR"
    assert [r.name for r in alarms.list_rules(db, admin)] == ["spend"]
    assert alarms.get_alarm(db, admin, alarm_id).state == "cleared"  # cleared with its rule
    assert alarms.remove_rule(db, admin, "spend") == "spend"
    with pytest.raises(NotFoundError):
        alarms.remove_rule(db, admin, str(rule.id))
    log = messages(db)
    assert "Alarm rule low ASR removed (kept disabled for its alarms' history)" in log
    assert "Alarm rule spend removed" in log


def test_two_evaluators_at_once_raise_the_condition_once(db, admin, backend):
    """Two processes (here two engines on threads) evaluating the same new CDRs: one alarm,
    one audit entry, one notice (the lock serialises them; the second finds nothing new)."""
    import threading

    ids = add_customers(db, admin, "ACME")
    asr_rule(db, admin, ids["ACME"], notify_email="noc@carrier.example")
    insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=5), answered=0, failed=30))
    others = [backend.open(create=False) for _ in range(2)]
    reports, errors = [], []
    start = threading.Barrier(2)

    def run(database):
        start.wait()
        try:
            reports.append(alarms.evaluate(database, admin, now=NOW))
        except Exception as error:  # pragma: no cover - the assertion below shows it
            errors.append(error)

    threads = [threading.Thread(target=run, args=(other,)) for other in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(len(r.raised) for r in reports) == [0, 1]
    assert len(alarms.list_alarms(db, admin)) == 1
    assert notices(db) == ["noc@carrier.example"]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_an_import_committing_below_a_newer_ones_ids_is_still_evaluated(db, admin, backend):
    """PostgreSQL, two imports at once: the first took its ids, the second took higher ones and
    committed first. An evaluation then must not move its watermark past the first's ids (it
    used to, and the first import's calls were never evaluated): it defers while an import is
    in flight, and evaluates every CDR once both are in."""
    import threading

    from carriertui.store.db import locks, partitions
    from carriertui.store.db.tables import Cdr

    ids = add_customers(db, admin, "ACME")
    asr_rule(db, admin, ids["ACME"])
    first = backend.open(create=False)
    partitions.ensure_months(first.engine, [NOW.date()])  # as the importer does, beforehand
    holding, release = threading.Event(), threading.Event()
    errors: list[Exception] = []

    def slow_import() -> None:  # as an import does: the shared lock, then its rows' ids
        try:
            with first.write() as session:
                locks.share_cdr_ids(session)
                rows = calls(ids["ACME"], NOW - timedelta(minutes=5), answered=0, failed=30)
                session.add_all(Cdr(**dataclasses.asdict(row)) for row in rows)
                session.flush()
                holding.set()
                release.wait(20)
        except Exception as error:  # pragma: no cover - the assertion below shows it
            errors.append(error)

    thread = threading.Thread(target=slow_import)
    thread.start()
    try:
        assert holding.wait(20)
        # The second import: higher ids, committed while the first still runs.
        insert(db, admin, calls(ids["ACME"], NOW - timedelta(minutes=4), answered=10, failed=0))
        report = alarms.evaluate(db, admin, now=NOW)
        assert report.deferred and report.new_cdrs == 0
        assert "new CDRs deferred: an import is running" in str(report)
    finally:
        release.set()
        thread.join()
    first.dispose()
    assert errors == []
    report = alarms.evaluate(db, admin, now=NOW)
    assert not report.deferred
    assert report.new_cdrs == 40
    assert len(report.raised) == 1  # 10 of 40 answered: ASR 25 %
