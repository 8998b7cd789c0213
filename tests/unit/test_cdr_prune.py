"""Retention: `carriertui cdr prune` (store/cdrs/prune.py) on SQLite and PostgreSQL: raw CDRs
before a date go; roll-ups, invoices with their lines and the audit log stay as they were."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from carriertui.cli import main
from carriertui.store import customers, invoices, rollups
from carriertui.store.cdrs import prune
from carriertui.store.db import partitions
from carriertui.store.db.tables import AuditEntry
from carriertui.store.errors import PermissionDeniedError, ValidationError
from tests.unit.cdr_helpers import cdr_count, dirty_count, hourly_rows, insert, values

JAN = datetime(2026, 1, 1, tzinfo=UTC)
MAY = datetime(2026, 5, 1, tzinfo=UTC)


def customer(db, actor, code: str, schedule: str = "monthly") -> int:
    return customers.create_customer(
        db,
        actor,
        {
            "name": f"Customer {code}",
            "account_code": code,
            "currency": "EUR",
            "invoice_schedule": schedule,
        },
    ).id


def traffic(db, actor, customer_id: int, code: str, start=JAN, days: int = 120) -> int:
    """Four CDRs a day from ``start`` for ``days`` days (answered and not, with money)."""
    rows = [
        values(
            f"{code}-{day}-{n}",
            customer_id,
            start + timedelta(days=day, hours=5 * n, minutes=day % 60),
            duration=(day * 7 + n) % 300 if n % 2 else 0,
            charge=f"0.{(day * 31 + n) % 10000:04d}",
            cost="0.0010",
        )
        for day in range(days)
        for n in range(4)
    ]
    insert(db, actor, rows)
    return len(rows)


def cdrs_before(db, moment: datetime) -> int:
    with db.read() as session:
        return len(
            [
                start
                for (start,) in session.connection().execute(text("SELECT start_time FROM cdr"))
                if _aware(start) < moment
            ]
        )


def _aware(start) -> datetime:
    if isinstance(start, datetime):
        return start
    return datetime.fromisoformat(start).replace(tzinfo=UTC)  # SQLite's stored UTC text


def invoice_view(db, actor) -> list:
    return [
        (i.number, i.customer_id, i.period_start, i.lines, i.subtotal, i.total)
        for i in invoices.list_invoices(db, actor)
    ]


def audit_entries(db) -> list[tuple]:
    with db.read() as session:
        return [
            (e.seq, e.mac, e.message)
            for e in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
        ]


def test_prune_removes_old_cdrs_and_keeps_roll_ups_invoices_and_the_audit_log(db, admin) -> None:
    acme = customer(db, admin, "ACME")
    beta = customer(db, admin, "BETA", schedule="none")
    total = traffic(db, admin, acme, "A") + traffic(db, admin, beta, "B", days=60)
    rollups.rollup_incremental(db)
    made = invoices.auto_generate(db, admin, now=MAY)
    assert [i.period_label for i in made] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    hours, bills, log = hourly_rows(db), invoice_view(db, admin), audit_entries(db)
    march = datetime(2026, 3, 1, tzinfo=UTC)
    old = cdrs_before(db, march)
    assert 0 < old < total

    report = prune.prune_cdrs(db, admin, date(2026, 3, 1))

    assert report.removed == old and not report.forced
    assert cdr_count(db) == total - old and cdrs_before(db, march) == 0
    assert hourly_rows(db) == hours
    assert invoice_view(db, admin) == bills
    after = audit_entries(db)
    assert after[: len(log)] == log and len(after) == len(log) + 1
    entry = after[-1]
    assert entry[2] == f"Pruned {old} CDRs before 2026-03-01"
    if db.backend == "postgresql":
        assert report.partitions_dropped == ["cdr_y2026m01", "cdr_y2026m02"]
        assert report.deleted_rows == 0
        with db.read() as session:
            names = [p.name for p in partitions.existing(session.connection())]
        assert names[:2] == ["cdr_y2026m03", "cdr_y2026m04"]
    # A rebuild recomputes only the hours from the prune's date on: the old ones stay.
    rollups.rollup_rebuild(db)
    assert hourly_rows(db) == hours
    # Pruning to the same date again finds nothing (and is audited as such).
    assert prune.prune_cdrs(db, admin, date(2026, 3, 1)).removed == 0


def test_a_date_inside_a_month_removes_only_the_calls_before_it(db, admin) -> None:
    acme = customer(db, admin, "ACME", schedule="none")
    total = traffic(db, admin, acme, "A")
    mid = datetime(2026, 3, 15, tzinfo=UTC)
    old = cdrs_before(db, mid)
    report = prune.prune_cdrs(db, admin, mid.date())
    assert report.removed == old and cdr_count(db) == total - old
    assert cdrs_before(db, mid) == 0 and cdrs_before(db, mid + timedelta(days=1)) > 0
    assert old == 4 * (31 + 28 + 14)
    if db.backend == "postgresql":
        assert report.partitions_dropped == ["cdr_y2026m01", "cdr_y2026m02"]
        assert report.deleted_rows == 4 * 14  # the part of March before the 15th


def test_an_uninvoiced_scheduled_customer_stops_the_prune_unless_forced(db, admin) -> None:
    acme = customer(db, admin, "ACME", schedule="daily")
    total = traffic(db, admin, acme, "A", days=40)
    rollups.rollup_incremental(db)
    # Invoiced up to 2026-01-31 only: February's first days are not.
    invoices.generate_invoices(
        db, admin, acme, "daily", [JAN + timedelta(days=d) for d in range(31)], now=MAY
    )
    log = audit_entries(db)
    with pytest.raises(prune.UninvoicedError) as refused:
        prune.prune_cdrs(db, admin, date(2026, 2, 5))
    assert refused.value.gaps == [("Customer ACME", date(2026, 2, 1))]
    assert "Customer ACME from 2026-02-01" in refused.value.message
    assert "--force" in refused.value.message
    assert cdr_count(db) == total and audit_entries(db) == log  # nothing removed or written
    # Up to what is invoiced, it prunes.
    assert prune.prune_cdrs(db, admin, date(2026, 2, 1)).removed == 4 * 31
    forced = prune.prune_cdrs(db, admin, date(2026, 2, 5), force=True)
    assert (forced.removed, forced.forced) == (16, True)
    with db.read() as session:
        entry = (
            session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc())).scalars().first()
        )
        assert json.loads(entry.after_json)["uninvoiced"] == [["Customer ACME", "2026-02-01"]]
        assert json.loads(entry.after_json)["cdrs"] == 16
        assert "forced past 1 un-invoiced customers" in entry.message


def test_marked_hours_are_rolled_up_before_their_cdrs_go(db, admin) -> None:
    acme = customer(db, admin, "ACME", schedule="none")
    traffic(db, admin, acme, "A", days=10)
    assert dirty_count(db) > 0 and hourly_rows(db) == {}
    prune.prune_cdrs(db, admin, date(2026, 1, 6))
    assert dirty_count(db) == 0
    assert sum(row[0] for row in hourly_rows(db).values()) == 40  # all ten days rolled up
    assert cdr_count(db) == 20


def test_sqlite_deletes_in_batches_and_the_first_commits_the_audit(db, admin, monkeypatch) -> None:
    acme = customer(db, admin, "ACME", schedule="none")
    beta = customer(db, admin, "BETA", schedule="none")
    traffic(db, admin, acme, "A", days=30)
    traffic(db, admin, beta, "B", days=30)
    monkeypatch.setattr(prune, "BATCH_ROWS", 7)
    batches: list[int] = []
    delete = prune._delete_batch
    monkeypatch.setattr(
        prune, "_delete_batch", lambda *a: batches.append(delete(*a)) or batches[-1]
    )
    report = prune.prune_cdrs(db, admin, date(2026, 1, 21))
    assert report.removed == 2 * 4 * 20 and cdr_count(db) == 2 * 4 * 10
    if db.backend == "sqlite":
        # 22 full batches, the last 6 rows, and the empty batch that says it is done.
        assert batches == [7] * 22 + [6, 0]
    else:
        assert batches == [] and report.partitions_dropped == []  # January is not over on the 21st


def test_prune_needs_an_admin_and_a_past_date(db, admin, operator_actor) -> None:
    with pytest.raises(PermissionDeniedError):
        prune.prune_cdrs(db, operator_actor, date(2026, 1, 1))
    with pytest.raises(ValidationError, match="future"):
        prune.prune_cdrs(db, admin, datetime.now(UTC).date() + timedelta(days=2))


def test_default_date_keeps_whole_months() -> None:
    assert prune.default_before(12, date(2026, 12, 3)) == date(2025, 12, 1)
    assert prune.default_before(1, date(2026, 1, 31)) == date(2025, 12, 1)
    assert prune.default_before(3, date(2026, 3, 1)) == date(2025, 12, 1)


# -- the command ----------------------------------------------------------------------------


def cli_url(backend) -> str:
    from urllib.parse import quote

    options = backend.connect_args.get("options")
    return f"{backend.url}?options={quote(options)}" if options else backend.url


def test_the_command_prunes_refuses_and_takes_keep_months(
    backend, admin, capsys, monkeypatch
) -> None:
    db = backend.open()
    acme = customer(db, admin, "ACME", schedule="monthly")
    traffic(db, admin, acme, "A")
    url = cli_url(backend)
    assert main(["--db", url, "cdr", "prune", "--before", "2026-02-01"]) == 2
    err = capsys.readouterr().err
    assert "not pruned: 1 customers with an invoice schedule" in err and "--force" in err
    assert main(["--db", url, "cdr", "prune", "--before", "2026-02-01", "--force"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith(f"pruned {4 * 31} CDRs before 2026-02-01")
    assert "forced: Customer ACME not invoiced from 2026-01-01" in out.err
    assert main(["--db", url, "cdr", "prune", "--before", "Feb 1"]) == 2
    assert "--before: not a date" in capsys.readouterr().err
    # No --before: [cdr] keep_months whole months back from this month (January to April
    # 2026 are more than one month back).
    monkeypatch.setenv("CARRIERTUI_CDR_KEEP_MONTHS", "1")
    assert main(["--db", url, "cdr", "prune", "--force"]) == 0
    assert f"before {prune.default_before(1).isoformat()}" in capsys.readouterr().out
    assert cdr_count(db) == 0
    monkeypatch.setenv("CARRIERTUI_CDR_KEEP_MONTHS", "0")
    assert main(["--db", url, "cdr", "prune"]) == 1
    assert "[cdr] keep_months must be a whole number" in capsys.readouterr().err
