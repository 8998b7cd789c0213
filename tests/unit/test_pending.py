"""Delay and Save: scheduling checks, parse_due, cancel, conflicts, and exactly-once applying
from several real processes at once, and after a process is killed half-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from carriertui.store import customers, pending
from carriertui.store.contacts import service as contacts
from carriertui.store.db.tables import AuditEntry, Contact, PendingChange
from carriertui.store.db.types import utcnow
from carriertui.store.enums import ContactType
from carriertui.store.errors import (
    NotFoundError,
    PermissionDeniedError,
    StaleEditError,
    ValidationError,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def acme(db, admin):
    return customers.create_customer(db, admin, {"name": "Acme Telecom", "account_code": "ACME"})


@pytest.fixture
def jane(db, operator_actor, acme):
    return contacts.create_contact(
        db, operator_actor, acme.id, {"name": "Jane Doe", "email": "jane@acme.example"}
    )


def soon(minutes: int = 5) -> datetime:
    return utcnow() + timedelta(minutes=minutes)


def later() -> datetime:
    """A moment after every change scheduled by soon()."""
    return utcnow() + timedelta(hours=1)


def schedule(db, actor, target_id: int, changes: dict, version: int = 1, **kwargs):
    return pending.schedule_change(
        db,
        actor,
        contacts.TABLE,
        target_id,
        changes,
        due_at=kwargs.pop("due_at", soon()),
        expected_version=version,
        **kwargs,
    )


# -- parse_due ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", NOW + timedelta(minutes=30)),
        ("2h", NOW + timedelta(hours=2)),
        ("1d", NOW + timedelta(days=1)),
        ("1h30m", NOW + timedelta(hours=1, minutes=30)),
        (" 1D 2H ", NOW + timedelta(days=1, hours=2)),
        ("2026-12-01 08:00", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        ("2026-12-01T08:00Z", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        ("2026-12-01T10:00+02:00", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
    ],
)
def test_parse_due(text, expected) -> None:
    parsed = pending.parse_due(text, now=NOW)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is required"),
        ("soon", "'soon' is neither a delay"),
        ("30s", "is neither a delay"),
        ("2026-13-01 08:00", "is neither a delay"),
    ],
)
def test_parse_due_errors(text, message) -> None:
    with pytest.raises(ValidationError) as caught:
        pending.parse_due(text, now=NOW)
    assert caught.value.field == "due"
    assert message in caught.value.message


# -- scheduling --------------------------------------------------------------------------------


def test_schedule_stores_the_change_and_audits_it(db, operator_actor, jane, audit_log) -> None:
    mark = audit_log.count()
    due = soon()
    record = schedule(db, operator_actor, jane.id, {"name": "Jane Smith"}, due_at=due)
    assert record.status is pending.PendingStatus.PENDING
    assert record.changes == {"name": "Jane Smith"}
    assert (record.operator, record.base_version, record.due_at) == ("oscar", 1, due)
    entry = audit_log.only_new(mark)
    assert (entry.action, entry.table_name, entry.customer_id) == (
        "CREATE",
        "pending_change",
        jane.customer_id,
    )
    # Nothing changes before it is due.
    assert pending.run_due(db).applied == 0
    assert contacts.get_contact(db, operator_actor, jane.id).name == "Jane Doe"


@pytest.mark.parametrize(
    ("table", "changes", "due", "field", "message"),
    [
        ("contact", {"name": "X"}, -1, "due", "must be in the future"),
        ("contact", {"name": "X"}, 60 * 24 * 400, "due", "within a year"),
        ("contact", {}, 5, "due", "nothing to change"),
        ("contact", {"name": "Jane Doe"}, 5, "due", "equal what is saved now"),
        ("contact", {"password": "a long enough password"}, 5, "password", "cannot wait"),
        ("contact", {"new_password": "x"}, 5, "password", "cannot wait"),
        ("contact", {"phone": "12345"}, 5, "phone", "country code"),
        ("contact", {"private_notes": "bad\x1b[2J"}, 5, "private_notes", "control characters"),
        ("operator", {"name": "X"}, 5, "target", "cannot be delayed"),
    ],
)
def test_schedule_refuses(
    db, operator_actor, jane, tables, audit_log, table, changes, due, field, message
) -> None:
    mark = audit_log.count()
    with pytest.raises(ValidationError) as caught:
        pending.schedule_change(
            db,
            operator_actor,
            table,
            jane.id,
            changes,
            due_at=utcnow() + timedelta(minutes=due),
            expected_version=1,
        )
    assert (caught.value.field, message in caught.value.message) == (field, True)
    assert tables.count(PendingChange) == 0
    assert audit_log.count() == mark


def test_schedule_refuses_a_stale_version_a_missing_target_and_a_viewer(
    db, operator_actor, viewer, jane, tables
) -> None:
    contacts.update_contact(db, operator_actor, jane.id, {"name": "Jane S"}, expected_version=1)
    with pytest.raises(StaleEditError):
        schedule(db, operator_actor, jane.id, {"name": "Jane X"}, version=1)
    with pytest.raises(NotFoundError):
        schedule(db, operator_actor, 999, {"name": "Jane X"})
    with pytest.raises(PermissionDeniedError):
        schedule(db, viewer, jane.id, {"name": "Jane X"}, version=2)
    assert tables.count(PendingChange) == 0


def test_cancel(db, operator_actor, viewer, jane, audit_log) -> None:
    record = schedule(db, operator_actor, jane.id, {"name": "Jane Smith"})
    with pytest.raises(PermissionDeniedError):
        pending.cancel_change(db, viewer, record.id)
    mark = audit_log.count()
    cancelled = pending.cancel_change(db, operator_actor, record.id)
    assert cancelled.status is pending.PendingStatus.CANCELLED
    assert "oscar" in cancelled.result
    assert audit_log.only_new(mark).table_name == "pending_change"
    with pytest.raises(ValidationError, match="cancelled, not pending"):
        pending.cancel_change(db, operator_actor, record.id)
    with pytest.raises(NotFoundError):
        pending.cancel_change(db, operator_actor, 999)
    assert pending.run_due(db, now=later()).applied == 0
    assert contacts.get_contact(db, operator_actor, jane.id).name == "Jane Doe"


# -- applying ----------------------------------------------------------------------------------


def test_a_due_change_is_applied_once_and_audited_as_publish(
    db, operator_actor, viewer, jane, audit_log
) -> None:
    record = schedule(
        db,
        operator_actor,
        jane.id,
        {"name": "Jane Smith", "contact_type": "noc", "ip_whitelist": "10.1.2"},
        comment="ticket 42",
    )
    mark = audit_log.count()
    report = pending.run_due(db, now=later())
    assert (report.applied, report.conflicts, report.failed) == (1, 0, 0)
    after = contacts.get_contact(db, viewer, jane.id)
    assert (after.name, after.contact_type, after.ip_whitelist) == (
        "Jane Smith",
        ContactType.NOC,
        ("10.1.2.0/24",),
    )
    assert after.version == 2
    entry = audit_log.only_new(mark)
    assert (entry.action, entry.actor, entry.ip, entry.table_name) == (
        "PUBLISH",
        "oscar",
        operator_actor.ip,
        "contact",
    )
    assert entry.customer_id == jane.customer_id
    assert entry.comment == "ticket 42"
    assert f"#{record.id} scheduled by oscar" in entry.message
    (applied,) = pending.list_changes(db, viewer)
    assert applied.status is pending.PendingStatus.APPLIED
    assert applied.applied_at is not None
    assert pending.run_due(db, now=later()).applied == 0
    assert audit_log.count() == mark + 1


def test_a_change_whose_target_moved_becomes_a_conflict(
    db, operator_actor, viewer, jane, audit_log
) -> None:
    schedule(db, operator_actor, jane.id, {"name": "Scheduled Name"})
    contacts.update_contact(
        db, operator_actor, jane.id, {"name": "Edited Name"}, expected_version=1
    )
    mark = audit_log.count()
    report = pending.run_due(db, now=later())
    assert (report.applied, report.conflicts) == (0, 1)
    assert contacts.get_contact(db, viewer, jane.id).name == "Edited Name"
    (conflict,) = pending.list_changes(db, viewer)
    assert conflict.status is pending.PendingStatus.CONFLICT
    assert "version 1 then, 2 now" in conflict.result
    entry = audit_log.only_new(mark)
    assert (entry.action, entry.table_name) == ("PUBLISH", "pending_change")
    assert "not applied" in entry.message


def test_a_password_reset_does_not_turn_a_change_into_a_conflict(
    db, operator_actor, viewer, jane, tmp_path
) -> None:
    from carriertui.store import mail

    schedule(db, operator_actor, jane.id, {"mobile": "+1 202 555 0143"})
    mail.flush_outbox(db, mail.MaildirTransport(tmp_path / "Maildir"))  # sets a password
    assert pending.run_due(db, now=later()).applied == 1
    assert contacts.get_contact(db, viewer, jane.id).mobile == "+12025550143"


def test_a_change_that_no_longer_validates_fails(db, operator_actor, viewer, acme, jane) -> None:
    schedule(db, operator_actor, jane.id, {"email": "shared@acme.example"})
    contacts.create_contact(
        db, operator_actor, acme.id, {"name": "Other", "email": "Shared@Acme.example"}
    )
    report = pending.run_due(db, now=later())
    assert (report.applied, report.failed) == (0, 1)
    (failed,) = pending.list_changes(db, viewer, status=pending.PendingStatus.FAILED)
    assert "already the login" in failed.result
    assert contacts.get_contact(db, viewer, jane.id).email == "jane@acme.example"


def test_deleting_the_contact_cancels_its_changes(db, operator_actor, viewer, jane) -> None:
    schedule(db, operator_actor, jane.id, {"name": "Jane Smith"})
    contacts.delete_contact(db, operator_actor, jane.id)
    (change,) = pending.list_changes(db, viewer)
    assert change.status is pending.PendingStatus.CANCELLED
    assert pending.run_due(db, now=later()).applied == 0


def test_a_customer_change_goes_through_customers_apply_changes(
    db, operator_actor, viewer, acme, audit_log
) -> None:
    pending.schedule_change(
        db,
        operator_actor,
        customers.TABLE,
        acme.id,
        {"channels": "120", "status": "penalty"},
        due_at=soon(),
        expected_version=acme.version,
    )
    mark = audit_log.count()
    assert pending.run_due(db, now=later()).applied == 1
    after = customers.get_customer(db, viewer, acme.id)
    assert after.channels == 120
    assert after.status.value == "Penalty"
    entry = audit_log.only_new(mark)
    assert (entry.action, entry.table_name, entry.customer_id) == ("PUBLISH", "customer", acme.id)
    assert audit_log.before(entry)["channels"] == 0
    assert audit_log.after(entry)["channels"] == 120


# -- several processes -------------------------------------------------------------------------

RUNNER = textwrap.dedent(
    """
    import json, os, sys, time
    from datetime import datetime
    from carriertui.store import pending
    from carriertui.store.db.database import Database

    url, connect_args, go, now = sys.argv[1:5]
    db = Database(url, connect_args=json.loads(connect_args))
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.005)
    report = pending.run_due(db, now=datetime.fromisoformat(now))
    ids = [int(line.split()[0].lstrip("#")) for line in report.messages]
    print(json.dumps({"applied": report.applied, "other": report.conflicts + report.failed,
                      "ids": ids}), flush=True)
    """
)

# Applies changes until the given count, then stops inside the transaction of the next one
# (after its target and audit entry were written) and waits to be killed.
KILLED_RUNNER = textwrap.dedent(
    """
    import json, sys, time
    from datetime import datetime
    from carriertui.store import pending
    from carriertui.store.db.database import Database

    url, connect_args, now, stop_at = sys.argv[1:5]
    db = Database(url, connect_args=json.loads(connect_args))
    real_apply = pending._apply_one
    done = []

    def apply_then_hang(session, change, moment):
        status = real_apply(session, change, moment)
        session.flush()
        done.append(change.id)
        if len(done) == int(stop_at):
            print("applying", change.id, flush=True)
            time.sleep(120)
        return status

    pending._apply_one = apply_then_hang
    pending.run_due(db, now=datetime.fromisoformat(now))
    print("finished", flush=True)
    """
)


def start(script: str, *args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
    )


def read_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line:
        process.kill()
        _, err = process.communicate(timeout=10)
        pytest.fail(f"child said nothing; stderr:\n{err}")
    return line


def many_contacts_with_changes(db, actor, customer_id: int, count: int) -> dict[int, str]:
    """``count`` contacts (inserted directly: setup, not under test), each with one delayed
    rename scheduled through the service. Returns {contact id: the name it should end with}."""
    with db.write() as session:
        rows = [
            Contact(
                customer_id=customer_id,
                name=f"Contact {i:03d}",
                email=f"c{i:03d}@acme.example",
                email_folded=f"c{i:03d}@acme.example",
                contact_type=ContactType.OTHER.value,
            )
            for i in range(count)
        ]
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows]
    due = soon(1)
    wanted = {}
    for contact_id in ids:
        wanted[contact_id] = f"Renamed {contact_id}"
        schedule(db, actor, contact_id, {"name": wanted[contact_id]}, due_at=due)
    return wanted


def assert_each_applied_once(db, wanted: dict[int, str]) -> None:
    with db.read() as session:
        names = dict(session.exec(select(Contact.id, Contact.name)).all())
        versions = set(session.exec(select(Contact.version)).all())
        statuses = session.exec(
            select(PendingChange.status, func.count()).group_by(col(PendingChange.status))
        ).all()
        publishes = session.exec(
            select(AuditEntry.primary_key).where(
                AuditEntry.action == "PUBLISH", AuditEntry.table_name == "contact"
            )
        ).all()
    assert dict(statuses) == {"applied": len(wanted)}
    assert len(publishes) == len(wanted)
    assert sorted(int(key) for key in publishes) == sorted(wanted)
    assert names == wanted
    assert versions == {2}


def test_three_processes_apply_200_changes_exactly_once(
    backend, operator_actor, tmp_path: Path
) -> None:
    db = backend.open()
    acme = customers.create_customer(db, operator_actor, {"name": "Acme"})
    wanted = many_contacts_with_changes(db, operator_actor, acme.id, 200)
    go = tmp_path / "go"
    args = (backend.url, json.dumps(backend.connect_args), str(go), later().isoformat())
    runners = [start(RUNNER, *args, cwd=tmp_path) for _ in range(3)]
    for runner in runners:
        assert read_line(runner) == "ready"
    go.touch()
    results = []
    for runner in runners:
        results.append(json.loads(read_line(runner)))
        _, err = runner.communicate(timeout=120)
        assert runner.returncode == 0, err
    assert sum(r["applied"] for r in results) == 200
    assert sum(r["other"] for r in results) == 0
    claimed = [change_id for r in results for change_id in r["ids"]]
    assert len(claimed) == len(set(claimed)) == 200
    assert_each_applied_once(db, wanted)
    assert pending.run_due(db, now=later()).applied == 0


def test_a_process_killed_while_applying_loses_nothing(
    backend, operator_actor, tmp_path: Path
) -> None:
    db = backend.open()
    acme = customers.create_customer(db, operator_actor, {"name": "Acme"})
    wanted = many_contacts_with_changes(db, operator_actor, acme.id, 12)
    victim = start(
        KILLED_RUNNER,
        backend.url,
        json.dumps(backend.connect_args),
        later().isoformat(),
        "5",
        cwd=tmp_path,
    )
    line = read_line(victim)
    assert line.startswith("applying ")
    hung_id = int(line.split()[1])
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    assert victim.returncode == -signal.SIGKILL

    with db.read() as session:
        hung = session.get(PendingChange, hung_id)
        assert hung is not None and hung.status == "pending"
        applied = session.exec(select(func.count()).where(PendingChange.status == "applied")).one()
    assert applied == 4  # the four before it committed; the fifth rolled back with the kill

    # On PostgreSQL the server may take a moment to notice the dead client and release its row
    # lock (run_due skips locked rows): run again until nothing due is left, as cron would.
    deadline = time.monotonic() + 30
    total = 0
    while True:
        total += pending.run_due(db, now=later()).applied
        with db.read() as session:
            left = session.exec(select(func.count()).where(PendingChange.status == "pending")).one()
        if left == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert total == 8
    assert_each_applied_once(db, wanted)


def test_a_target_saved_during_the_apply_becomes_a_conflict(
    db, operator_actor, jane, monkeypatch
) -> None:
    """On PostgreSQL an operator may save the target between the version check and the
    UPDATE; SQLAlchemy then raises StaleDataError. run_due records a conflict, not a crash."""
    from dataclasses import replace

    from sqlalchemy.orm.exc import StaleDataError

    change = schedule(db, operator_actor, jane.id, {"phone": "+44 20 7946 0958"})

    def saved_meanwhile(*_args, **_kwargs):
        raise StaleDataError("UPDATE statement on table 'contact' expected to update 1 row(s)")

    target = pending.TARGETS[contacts.TABLE]
    monkeypatch.setitem(pending.TARGETS, contacts.TABLE, replace(target, apply=saved_meanwhile))
    report = pending.run_due(db, now=change.due_at + timedelta(seconds=1))
    assert (report.applied, report.conflicts, report.failed) == (0, 1, 0)
    (record,) = pending.list_changes(db, operator_actor)
    assert record.status.value == "conflict" and "while the change was being applied" in (
        record.result or ""
    )
    assert contacts.get_contact(db, operator_actor, jane.id).phone is None


def test_a_scheduler_demoted_since_scheduling_does_not_get_the_change_applied(
    db, admin, jane, fast_argon2
) -> None:
    from sqlalchemy import update

    from carriertui.store import operators
    from carriertui.store.context import Actor
    from carriertui.store.db.tables import Operator
    from carriertui.store.enums import Role

    operators.create_operator(db, admin, "olga", Role.OPERATOR, "violet rivers hum under granite")
    olga = Actor(name="olga", role=Role.OPERATOR, ip="10.0.0.9")
    change = schedule(db, olga, jane.id, {"phone": "+44 20 7946 0958"})
    with db.write() as session:  # an admin demotes olga to viewer meanwhile
        session.execute(update(Operator).where(Operator.name == "olga").values(role="viewer"))
    report = pending.run_due(db, now=change.due_at + timedelta(seconds=1))
    assert (report.applied, report.failed) == (0, 1)
    (record,) = pending.list_changes(db, admin)
    assert record.status.value == "failed" and "may no longer change records" in record.result
    assert contacts.get_contact(db, admin, jane.id).phone is None


def test_an_unexpected_database_error_fails_one_change_and_the_rest_still_apply(
    db, operator_actor, jane, acme, monkeypatch
) -> None:
    from dataclasses import replace

    from sqlalchemy.exc import IntegrityError

    joe = contacts.create_contact(
        db, operator_actor, acme.id, {"name": "Joe", "email": "joe@acme.example"}
    )
    schedule(db, operator_actor, jane.id, {"phone": "+44 20 7946 0958"}, due_at=soon(1))
    schedule(db, operator_actor, joe.id, {"phone": "+44 20 7946 0959"}, due_at=soon(2))
    target = pending.TARGETS[contacts.TABLE]

    def apply(session, actor, record, cleaned, **kwargs):
        if record.id == jane.id:
            raise IntegrityError("UPDATE contact ...", {}, Exception("unique"))
        return target.apply(session, actor, record, cleaned, **kwargs)

    monkeypatch.setitem(pending.TARGETS, contacts.TABLE, replace(target, apply=apply))
    report = pending.run_due(db, now=later())
    assert (report.applied, report.failed) == (1, 1)
    statuses = {r.target_id: r.status.value for r in pending.list_changes(db, operator_actor)}
    assert statuses == {jane.id: "failed", joe.id: "applied"}
