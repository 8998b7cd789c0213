"""Invoices (store/invoices.py and `carriertui invoices`): closed periods only, one invoice per
period, amounts equal to the roll-ups and to the CDRs, tax rounding, daily lines, gap-free
numbers under two real concurrent generators, auto-generate, status changes, audit entries.
Every test with a ``db`` runs on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import random
import textwrap
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from cdr_helpers import insert, values
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from carriertui.cli import main
from carriertui.grid.model import Filter, Query
from carriertui.store import audit, customers, invoices, rollups, summary
from carriertui.store.context import Actor
from carriertui.store.db.tables import AuditEntry, Invoice
from carriertui.store.enums import InvoiceStatus, Role
from carriertui.store.errors import NotFoundError, PermissionDeniedError, ValidationError
from carriertui.store.invoices import DuplicateInvoiceError, PeriodOpenError
from carriertui.store.periods import PeriodKind
from tests.unit.test_store_concurrency import expect_line, start


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


MARCH = utc(2026, 3, 1)
APRIL = utc(2026, 4, 1)
LATER = utc(2026, 6, 1)  # every period in the tests below is closed by then


def add_customer(db, actor, code: str, **fields) -> int:
    values_ = {"name": f"Customer {code}", "account_code": code, "currency": "EUR", **fields}
    return customers.create_customer(db, actor, values_).id


@pytest.fixture
def acme(db, admin) -> int:
    return add_customer(
        db, admin, "ACME", tax_percent="20", invoice_due_days=14, invoice_schedule="monthly"
    )


def invoice_count(db) -> int:
    with db.read() as session:
        return int(session.execute(select(func.count()).select_from(Invoice)).scalar_one())


def random_cdrs(customer_id: int, first: datetime, last: datetime, count: int, seed: int):
    """Calls spread over [first, last) plus calls on both edges, with odd charges."""
    rng = random.Random(seed)
    span = (last - first).total_seconds()
    moments = [first, first + timedelta(microseconds=1), last - timedelta(microseconds=1)]
    moments += [first - timedelta(microseconds=1), last]  # just outside
    moments += [first + timedelta(seconds=rng.uniform(0, span)) for _ in range(count)]
    rows = []
    for index, moment in enumerate(moments):
        answered = rng.random() < 0.6
        duration = rng.randint(1, 900) if answered else 0
        rows.append(
            values(
                f"c{customer_id}-{seed}-{index}",
                customer_id,
                moment,
                duration=duration,
                billed=duration + rng.randint(0, 59) if answered else 0,
                charge=f"{rng.randint(0, 99999) / 10000:.4f}" if answered else "0",
                cost="0.0010",
            )
        )
    return rows


# -- refusals ------------------------------------------------------------------------------------


def test_open_periods_and_the_24_hour_view_are_refused(db, admin, acme) -> None:
    insert(db, admin, [values("a", acme, utc(2026, 3, 15, 12), duration=60, charge="1")])
    now = utc(2026, 3, 15, 13)
    with pytest.raises(PeriodOpenError, match="not closed yet"):
        invoices.generate_invoices(db, admin, acme, "monthly", [MARCH], now=now)
    with pytest.raises(PeriodOpenError, match="not closed yet"):
        invoices.generate_invoices(db, admin, acme, "daily", [utc(2026, 3, 15)], now=now)
    with pytest.raises(PeriodOpenError, match="24-hour view"):
        invoices.generate_invoices(db, admin, acme, "24h", [utc(2026, 3, 14)], now=now)
    with pytest.raises(ValidationError, match="not the start of a weekly period"):
        invoices.generate_invoices(db, admin, acme, "weekly", [utc(2026, 3, 3)], now=now)
    assert invoice_count(db) == 0
    # a period ending exactly now is closed
    (day,) = invoices.generate_invoices(
        db, admin, acme, "daily", [utc(2026, 3, 15)], now=utc(2026, 3, 16)
    )
    assert day.number == "INV-000001" and day.total == Decimal("1.2000")


def test_a_period_invoiced_already_is_refused_with_its_number(db, admin, acme) -> None:
    insert(db, admin, [values("a", acme, utc(2026, 3, 2, 9), duration=60, charge="2.5")])
    (march,) = invoices.generate_invoices(db, admin, acme, "monthly", [MARCH], now=LATER)
    with pytest.raises(DuplicateInvoiceError) as refused:
        invoices.generate_invoices(db, admin, acme, "monthly", [MARCH], now=LATER)
    assert refused.value.number == march.number == "INV-000001"
    assert "INV-000001" in str(refused.value)
    # a week of March, or a day of it, would bill the same calls twice
    with pytest.raises(DuplicateInvoiceError, match="INV-000001 covers its days"):
        invoices.generate_invoices(db, admin, acme, "weekly", [utc(2026, 3, 30)], now=LATER)
    # all or nothing: a batch with one invoiced period creates none, and burns no number
    with pytest.raises(DuplicateInvoiceError):
        invoices.generate_invoices(db, admin, acme, "monthly", [APRIL, MARCH], now=LATER)
    assert invoice_count(db) == 1
    (april,) = invoices.generate_invoices(db, admin, acme, "monthly", [APRIL], now=LATER)
    assert april.number == "INV-000002"


def test_the_database_refuses_a_second_invoice_for_one_period(db, admin, acme) -> None:
    (march,) = invoices.generate_invoices(db, admin, acme, "monthly", [MARCH], now=LATER)
    with pytest.raises(IntegrityError), db.write() as session:
        session.add(
            Invoice(
                sequence=99,
                number="INV-000099",
                customer_id=acme,
                period_kind="monthly",
                period_start=MARCH,
                period_end=APRIL,
                subtotal=Decimal(0),
                tax_percent=Decimal(0),
                tax=Decimal(0),
                total=Decimal(0),
                currency="EUR",
                issue_date=date(2026, 4, 1),
                due_date=date(2026, 4, 1),
                status="Unpaid",
                created_by="x",
            )
        )
    assert [r.number for r in invoices.list_invoices(db, admin)] == [march.number]


def test_a_rolled_back_generation_burns_no_number(db, admin, acme, monkeypatch) -> None:
    real = audit.record
    calls = []

    def failing(session, actor, **kwargs):
        calls.append(kwargs["message"])
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(session, actor, **kwargs)

    monkeypatch.setattr(audit, "record", failing)
    with pytest.raises(RuntimeError):
        invoices.generate_invoices(db, admin, acme, "monthly", [MARCH, APRIL], now=LATER)
    monkeypatch.setattr(audit, "record", real)
    assert invoice_count(db) == 0
    created = invoices.generate_invoices(db, admin, acme, "monthly", [MARCH, APRIL], now=LATER)
    assert [r.number for r in created] == ["INV-000001", "INV-000002"]


def test_generating_needs_the_operator_role(db, admin, viewer, acme) -> None:
    with pytest.raises(PermissionDeniedError):
        invoices.generate_invoices(db, viewer, acme, "monthly", [MARCH], now=LATER)
    with pytest.raises(PermissionDeniedError):
        invoices.auto_generate(db, viewer, now=LATER)
    assert invoices.list_invoices(db, viewer) == []


# -- amounts -------------------------------------------------------------------------------------


def test_totals_equal_the_rollup_and_a_brute_force_sum_over_the_cdrs(db, admin, acme) -> None:
    other = add_customer(db, admin, "BETA")
    rows = random_cdrs(acme, MARCH, APRIL, 400, seed=7)
    rows += random_cdrs(other, MARCH, APRIL, 50, seed=8)
    insert(db, admin, rows[: len(rows) // 2])
    rollups.rollup_incremental(db)
    insert(db, admin, rows[len(rows) // 2 :])  # not rolled up yet: generation rolls it up
    assert rollups.pending_hours(db) > 0

    (march,) = invoices.generate_invoices(db, admin, acme, "monthly", [MARCH], now=LATER)
    assert rollups.pending_hours(db) == 0

    inside = [r for r in rows if r.customer_id == acme and MARCH <= r.start_time < APRIL]
    by_day: dict[date, list] = defaultdict(list)
    for row in inside:
        by_day[row.start_time.date()].append(row)
    assert march.subtotal == sum((r.charge for r in inside), Decimal(0))
    assert len(march.lines) == 31
    for line in march.lines:
        calls = by_day.get(line.day, [])
        assert line.attempts == len(calls)
        assert line.connected == sum(1 for r in calls if r.duration > 0)
        assert line.billed_duration == sum(r.billed_duration for r in calls)
        assert line.billed_minutes == (Decimal(line.billed_duration) / 60).quantize(
            Decimal("0.0001")
        )
        assert line.charge == sum((r.charge for r in calls), Decimal(0))
    assert sum(line.attempts for line in march.lines) == len(inside)

    (row,) = [
        r
        for r in summary.customer_summary(db, admin, acme, "monthly", now=LATER).rows
        if r.period_start == MARCH
    ]
    assert march.subtotal == row.charge
    assert sum(line.attempts for line in march.lines) == row.attempts
    assert march.tax == (march.subtotal / 5).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert march.total == march.subtotal + march.tax
    assert (march.currency, march.tax_percent) == ("EUR", Decimal("20.0000"))
    assert march.issue_date == LATER.date() and march.due_date == date(2026, 6, 15)
    assert march.status is InvoiceStatus.UNPAID and march.created_by == "alice"
    assert (march.period_start, march.period_end, march.period_kind) == (MARCH, APRIL, "monthly")


@pytest.mark.parametrize(
    ("subtotal", "percent", "tax"),
    [
        ("0.0500", "50", "0.03"),  # 0.025: half-up, where half-even would give 0.02
        ("0.0150", "50", "0.01"),  # 0.0075
        ("123.4567", "8.875", "10.96"),  # 10.9567821...
        ("10.0050", "20", "2.00"),  # 2.001
        ("0.0000", "20", "0.00"),
        ("99.9999", "0", "0.00"),
    ],
)
def test_tax_is_rounded_half_up_to_cents(subtotal: str, percent: str, tax: str) -> None:
    assert invoices.tax_amount(Decimal(subtotal), Decimal(percent)) == Decimal(tax)


def test_tax_rounding_on_a_generated_invoice(db, admin) -> None:
    half = add_customer(db, admin, "HALF", tax_percent="50")
    insert(db, admin, [values("h", half, utc(2026, 3, 3, 10), duration=9, charge="0.0500")])
    (invoice,) = invoices.generate_invoices(db, admin, half, "daily", [utc(2026, 3, 3)], now=LATER)
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal("0.0500"),
        Decimal("0.0300"),
        Decimal("0.0800"),
    )


def test_one_line_per_day_in_long_months_leap_februaries_and_iso_week_53(db, admin, acme):
    week_53 = utc(2026, 12, 28)  # ISO week 53 of 2026: Monday 28 December to Sunday 3 January
    calls = [
        values("w-first", acme, week_53, duration=60, charge="1.0000"),
        values("w-new-year", acme, utc(2027, 1, 1, 0, 0, 1), duration=30, charge="0.5000"),
        values("w-last", acme, utc(2027, 1, 4) - timedelta(microseconds=1), duration=1),
        values("w-after", acme, utc(2027, 1, 4), duration=60, charge="7.0000"),
        values("leap-day", acme, utc(2028, 2, 29, 23, 59, 59), duration=60, charge="0.2500"),
    ]
    insert(db, admin, calls)
    now = utc(2028, 6, 1)
    (week,) = invoices.generate_invoices(db, admin, acme, "weekly", [week_53], now=now)
    assert week.period_label == "Week 53 2026"
    assert week.period_end == utc(2027, 1, 4)
    assert [line.day for line in week.lines] == [
        date(2026, 12, 28) + timedelta(days=i) for i in range(7)
    ]
    assert [line.attempts for line in week.lines] == [1, 0, 0, 0, 1, 0, 1]
    assert week.subtotal == Decimal("1.5000")

    created = invoices.generate_invoices(
        db, admin, acme, "monthly", [utc(2028, 2, 1), utc(2026, 2, 1), utc(2027, 3, 1)], now=now
    )
    by_start = {r.period_start: r for r in created}
    assert len(by_start[utc(2028, 2, 1)].lines) == 29
    assert by_start[utc(2028, 2, 1)].lines[-1].day == date(2028, 2, 29)
    assert by_start[utc(2028, 2, 1)].lines[-1].charge == Decimal("0.2500")
    assert len(by_start[utc(2026, 2, 1)].lines) == 28
    assert len(by_start[utc(2027, 3, 1)].lines) == 31
    assert by_start[utc(2027, 3, 1)].lines[-1].day == date(2027, 3, 31)
    assert [r.period_start for r in created] == sorted(by_start)  # oldest first


def test_periods_come_back_oldest_first_whatever_the_order_given(db, admin, acme) -> None:
    created = invoices.generate_invoices(
        db, admin, acme, "monthly", [utc(2026, 5, 1), MARCH, APRIL], now=LATER
    )
    assert [(r.number, r.period_start) for r in created] == [
        ("INV-000001", MARCH),
        ("INV-000002", APRIL),
        ("INV-000003", utc(2026, 5, 1)),
    ]


# -- auto-generate ---------------------------------------------------------------------------------


def test_auto_generate_fills_closed_periods_since_the_first_cdr_once(db, admin) -> None:
    weekly = add_customer(db, admin, "WEEK", invoice_schedule="weekly", invoice_due_days=7)
    monthly = add_customer(db, admin, "MONTH", invoice_schedule="monthly")
    unscheduled = add_customer(db, admin, "NONE")
    add_customer(db, admin, "QUIET", invoice_schedule="daily")  # no CDRs: nothing to invoice
    insert(
        db,
        admin,
        [
            values("w1", weekly, utc(2026, 3, 4, 10), duration=60, charge="1"),  # Wed, week 10
            values("w2", weekly, utc(2026, 3, 20, 10), duration=60, charge="2"),  # week 12
            values("m1", monthly, utc(2026, 1, 31, 23), duration=60, charge="3"),
            values("n1", unscheduled, utc(2026, 1, 5), duration=60, charge="4"),
        ],
    )
    now = utc(2026, 3, 25, 12)
    created = invoices.auto_generate(db, admin, now=now)
    assert [(r.customer_id, r.period_kind, r.period_start) for r in created] == [
        (weekly, "weekly", utc(2026, 3, 2)),
        (weekly, "weekly", utc(2026, 3, 9)),
        (weekly, "weekly", utc(2026, 3, 16)),  # ends 23 March: closed; 23-29 March is open
        (monthly, "monthly", utc(2026, 1, 1)),
        (monthly, "monthly", utc(2026, 2, 1)),  # a closed month without calls: a zero invoice
    ]
    assert [r.number for r in created] == [f"INV-{n:06d}" for n in range(1, 6)]
    assert [r.total for r in created] == [Decimal(x) for x in ("1", "0", "2", "3", "0")]
    assert invoices.auto_generate(db, admin, now=now) == []  # idempotent
    assert invoices.auto_generate(db, admin, now=now, customer_id=weekly) == []

    later = invoices.auto_generate(db, admin, now=utc(2026, 4, 2))
    assert [(r.customer_id, r.period_start) for r in later] == [
        (weekly, utc(2026, 3, 23)),
        (monthly, utc(2026, 3, 1)),
    ]
    with pytest.raises(ValidationError, match="no invoice schedule"):
        invoices.auto_generate(db, admin, customer_id=unscheduled, now=now)
    entries = [e for e in audit.list_entries(db, admin) if e.action == "GENERATE"]
    assert len(entries) == 7 and all(e.comment == "Auto Generate" for e in entries)


def test_auto_generate_skips_periods_a_manual_invoice_covers(db, admin) -> None:
    weekly = add_customer(db, admin, "WEEK", invoice_schedule="weekly")
    insert(db, admin, [values("w1", weekly, utc(2026, 3, 2, 10), duration=60, charge="1")])
    (manual,) = invoices.generate_invoices(
        db, admin, weekly, "daily", [utc(2026, 3, 10)], now=LATER
    )
    created = invoices.auto_generate(db, admin, now=utc(2026, 3, 23))
    assert [r.period_start for r in created] == [utc(2026, 3, 2), utc(2026, 3, 16)]
    assert manual.number == "INV-000001"


# -- reading, status, grid, audit ------------------------------------------------------------------


def test_list_show_mark_paid_and_their_audit_entries(db, admin, acme, audit_log) -> None:
    beta = add_customer(db, admin, "BETA")
    insert(db, admin, [values("a", acme, utc(2026, 3, 2, 9), duration=60, charge="2.5")])
    before = audit_log.count()
    (march,) = invoices.generate_invoices(
        db, admin, acme, "monthly", [MARCH], now=LATER, comment="month end"
    )
    entry = audit_log.only_new(before)
    assert (entry.action, entry.verb, entry.table_name) == ("GENERATE", "POST", "invoice")
    assert (entry.primary_key, entry.customer_id, entry.actor) == (str(march.id), acme, "alice")
    assert "INV-000001" in entry.message and entry.comment == "month end"
    assert audit_log.after(entry)["total"] == "3.0000"
    assert audit_log.after(entry)["lines"] == 31

    (day,) = invoices.generate_invoices(db, admin, beta, "daily", [MARCH], now=utc(2026, 7, 2))
    assert [r.number for r in invoices.list_invoices(db, admin)] == ["INV-000001", "INV-000002"]
    assert [r.number for r in invoices.list_invoices(db, admin, customer_id=beta)] == [day.number]
    assert [r.number for r in invoices.list_invoices(db, admin, since=date(2026, 7, 1))] == [
        day.number
    ]
    shown = invoices.get_invoice(db, admin, " inv-000001 ")
    assert shown == march
    assert shown.customer_name == "Customer ACME" and shown.customer_code == "ACME"
    with pytest.raises(NotFoundError):
        invoices.get_invoice(db, admin, "INV-999999")

    before = audit_log.count()
    paid = invoices.set_status(db, admin, march.id, InvoiceStatus.PAID, comment="wire 42")
    assert paid.status is InvoiceStatus.PAID
    entry = audit_log.only_new(before)
    assert (entry.action, entry.verb, entry.customer_id) == ("UPDATE", "PUT", acme)
    assert audit_log.before(entry) == {"number": "INV-000001", "status": "Unpaid"}
    assert audit_log.after(entry) == {"number": "INV-000001", "status": "Paid"}
    assert invoices.set_status(db, admin, march.id, "paid").status is InvoiceStatus.PAID
    assert audit_log.count() == before + 1  # no change, no entry
    with pytest.raises(ValidationError):
        invoices.set_status(db, admin, march.id, "Overdue")
    with pytest.raises(NotFoundError):
        invoices.set_status(db, admin, 12345, "Paid")


def test_invoice_numbers_for_the_summary_column(db, admin, acme) -> None:
    invoices.generate_invoices(db, admin, acme, "monthly", [MARCH], now=LATER)
    invoices.generate_invoices(db, admin, acme, "daily", [utc(2026, 5, 3)], now=LATER)
    assert invoices.invoice_numbers(db, admin, acme, "monthly") == {MARCH: "INV-000001"}
    assert invoices.invoice_numbers(db, admin, acme, PeriodKind.DAILY) == {
        utc(2026, 5, 3): "INV-000002"
    }
    assert invoices.invoice_numbers(db, admin, acme, "weekly") == {}
    assert invoices.invoice_numbers(db, admin, acme, "24h") == {}


def test_grid_source_pages_filters_and_names_the_customer(db, admin, acme) -> None:
    beta = add_customer(db, admin, "BETA")
    invoices.generate_invoices(db, admin, acme, "monthly", [MARCH, APRIL], now=LATER)
    (beta_invoice,) = invoices.generate_invoices(db, admin, beta, "monthly", [MARCH], now=LATER)
    invoices.set_status(db, admin, beta_invoice.id, "Paid")

    source = invoices.grid_source(db, admin, customer_id=acme)
    assert [c.title for c in source.columns] == [
        "Number",
        "Period",
        "From (UTC)",
        "To (UTC)",
        "Issued",
        "Due",
        "Subtotal",
        "Tax",
        "Total",
        "Currency",
        "Status",
    ]
    rows = source.page(Query(), 0, 10)
    assert [values_[0] for _key, values_ in rows] == ["INV-000001", "INV-000002"]
    _number, kind, first, end, issued, due, *_money, currency, status = rows[0][1]
    assert (kind, first, end, currency, status) == ("monthly", MARCH, APRIL, "EUR", "Unpaid")
    assert issued == due - timedelta(days=14) == LATER.date()

    everything = invoices.grid_source(db, admin)
    assert [c.key for c in everything.columns][:2] == ["number", "customer"]
    paid = Query(filters=(Filter("status", values=frozenset({"Paid"})),))
    assert [(v[0], v[1]) for _k, v in everything.page(paid, 0, 10)] == [
        ("INV-000003", "Customer BETA")
    ]
    assert everything.count(Query(search="inv-00000")) == 3


# -- two real processes ----------------------------------------------------------------------------

DAYS = 15

# Waits for the go file, then invoices each day for each of its customers, one call each; prints
# the numbers it got and the numbers named by the refusals (periods the other process took).
GENERATOR = textwrap.dedent(
    """
    import json, os, sys, time
    from datetime import UTC, datetime, timedelta
    from carriertui.store import invoices
    from carriertui.store.context import Actor
    from carriertui.store.db.database import Database
    from carriertui.store.enums import Role

    url, connect_args, ids, go, days = sys.argv[1:6]
    db = Database(url, connect_args=json.loads(connect_args))
    actor = Actor(name=f"generator-{os.getpid()}", role=Role.OPERATOR, ip="192.0.2.80")
    now = datetime(2026, 6, 1, tzinfo=UTC)
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.005)
    got, refused = [], []
    for day in range(int(days)):
        start = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(days=day)
        for customer_id in json.loads(ids):
            try:
                (record,) = invoices.generate_invoices(
                    db, actor, customer_id, "daily", [start], now=now
                )
                got.append([record.number, customer_id, record.period_start.isoformat()])
            except invoices.DuplicateInvoiceError as error:
                refused.append([error.number, customer_id, start.isoformat()])
    print(json.dumps({"got": got, "refused": refused}), flush=True)
    """
)


def test_two_processes_generating_at_once_number_without_gaps(backend, tmp_path: Path) -> None:
    db = backend.open()
    api = Actor(name="setup", role=Role.ADMIN, ip="127.0.0.1")
    east, west, shared = (add_customer(db, api, code) for code in ("EAST", "WEST", "SHARED"))
    calls = [
        values(f"{who}-{day}", who, MARCH + timedelta(days=day, hours=9), duration=60, charge="1")
        for who in (east, west, shared)
        for day in range(DAYS)
    ]
    insert(db, api, calls)
    go = tmp_path / "go"
    args = (backend.url, json.dumps(backend.connect_args))
    workers = [
        start(GENERATOR, *args, json.dumps(ids), str(go), str(DAYS), cwd=tmp_path)
        for ids in ([east, shared], [west, shared])
    ]
    for worker in workers:
        expect_line(worker, "ready")
    go.touch()
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err  # no error but refusals reached either generator
        results.append(json.loads(out))

    got = [tuple(item) for result in results for item in result["got"]]
    numbers = sorted(number for number, _, _ in got)
    assert numbers == [f"INV-{n:06d}" for n in range(1, 3 * DAYS + 1)]  # gap-free, no repeats
    for result in results:  # each process's numbers rise
        mine = [number for number, _, _ in result["got"]]
        assert mine == sorted(mine)
    by_period = {(customer, when): number for number, customer, when in got}
    assert len(by_period) == 3 * DAYS  # every period invoiced exactly once
    refused = [tuple(item) for result in results for item in result["refused"]]
    assert len(refused) == DAYS  # the shared customer's periods the other process won
    for number, customer, when in refused:
        assert customer == shared and by_period[(customer, when)] == number
    stored = invoices.list_invoices(db, api)
    assert [r.number for r in stored] == numbers
    assert all(r.total == Decimal("1.0000") for r in stored)
    statement = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "GENERATE")
    with db.read() as session:
        generated = session.execute(statement).scalar_one()
    assert generated == 3 * DAYS


# -- the command line ------------------------------------------------------------------------------


@pytest.fixture
def cli_db(tmp_path: Path, admin) -> str:
    from carriertui.store.db.database import open_database

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    db = open_database(url)
    try:
        code = add_customer(
            db, admin, "ACME", tax_percent="19", invoice_schedule="monthly", invoice_due_days=30
        )
        add_customer(db, admin, "EVIL", name="=HYPERLINK(1)")
        insert(
            db,
            admin,
            [
                values("a", code, utc(2026, 1, 10, 9), duration=61, billed=66, charge="1.2345"),
                values("b", code, utc(2026, 2, 10, 9), duration=30, charge="0.1000"),
            ],
        )
    finally:
        db.dispose()
    return url


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_generate_show_list_and_mark_paid(cli_db: str, capsys) -> None:
    code, out, _ = _run(
        capsys,
        *("invoices", "generate", "--customer", "ACME", "--period", "monthly"),
        *("--date", "2026-01-20", "--db", cli_db),
    )
    assert code == 0 and "generated INV-000001" in out
    code, _, err = _run(
        capsys,
        *("invoices", "generate", "--customer", "acme", "--period", "monthly"),
        *("--date", "2026-01-02", "--db", cli_db),
    )
    assert code != 0 and "invoiced already: INV-000001" in err
    code, _, err = _run(
        capsys,
        *("invoices", "generate", "--customer", "ACME", "--period", "daily"),
        *("--date", "2999-01-02", "--db", cli_db),
    )
    assert code != 0 and "not closed yet" in err

    code, out, _ = _run(
        capsys, "invoices", "show", "INV-000001", "--format", "json", "--db", cli_db
    )
    shown = json.loads(out)
    assert code == 0
    assert shown["number"] == "INV-000001" and shown["customer"] == "ACME"
    assert (shown["subtotal"], shown["tax"], shown["total"]) == ("1.2345", "0.2300", "1.4645")
    assert shown["period_start"] == "2026-01-01T00:00:00Z"
    assert shown["period_end"] == "2026-02-01T00:00:00Z"
    assert shown["status"] == "Unpaid" and shown["created_by"] == "API"
    assert len(shown["lines"]) == 31
    assert shown["lines"][9] == {
        "day": "2026-01-10",
        "attempts": 1,
        "connected": 1,
        "billed_minutes": "1.1000",
        "billed_duration": 66,
        "charge": "1.2345",
    }
    code, out, _ = _run(capsys, "invoices", "show", "inv-000001", "--db", cli_db)
    assert code == 0 and "Subtotal:    1.2345 EUR" in out and "2026-01-10" in out

    assert _run(capsys, "invoices", "mark-paid", "INV-000001", "--db", cli_db)[1].startswith(
        "INV-000001 marked Paid"
    )
    code, out, _ = _run(capsys, "invoices", "list", "--format", "json", "--db", cli_db)
    (listed,) = json.loads(out)
    assert listed["status"] == "Paid" and listed["total"] == "1.4645"
    code, _, err = _run(capsys, "invoices", "show", "INV-000009", "--db", cli_db)
    assert code == 1 and "no invoice numbered 'INV-000009'" in err


def test_cli_auto_and_csv_list(cli_db: str, capsys) -> None:
    code, out, _ = _run(capsys, "invoices", "auto", "--db", cli_db)
    assert code == 0 and out.startswith("generated ")
    count = int(out.split()[1])
    assert count >= 2  # January, February and every month since, up to the last closed one
    code, out, _ = _run(capsys, "invoices", "auto", "--customer", "ACME", "--db", cli_db)
    assert code == 0 and out.startswith("no invoices generated")
    code, _, err = _run(capsys, "invoices", "auto", "--customer", "EVIL", "--db", cli_db)
    assert code == 2 and "no invoice schedule" in err

    code, out, _ = _run(
        capsys, "invoices", "list", "--customer", "ACME", "--format", "csv", "--db", cli_db
    )
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert code == 0 and len(rows) == count
    first = rows[0]
    assert first["number"] == "INV-000001" and first["customer"] == "ACME"
    assert (first["period_kind"], first["period"]) == ("monthly", "2026-01")
    assert (first["subtotal"], first["tax_percent"], first["tax"], first["total"]) == (
        "1.2345",
        "19.0000",
        "0.2300",
        "1.4645",
    )
    assert first["period_start"] == "2026-01-01T00:00:00Z" and first["status"] == "Unpaid"
    code, out, _ = _run(
        capsys, "invoices", "list", "--since", "2999-01-01", "--format", "json", "--db", cli_db
    )
    assert code == 0 and json.loads(out) == []


def test_marking_several_invoices_is_all_or_nothing(db, admin, acme, audit_log) -> None:
    first, second = invoices.generate_invoices(
        db, admin, acme, "monthly", [MARCH, APRIL], now=LATER
    )
    before = audit_log.count()
    with pytest.raises(NotFoundError):
        invoices.set_status_many(db, admin, [first.id, 98765], "Paid")
    assert audit_log.count() == before
    assert invoices.get_invoice(db, admin, first.number).status is InvoiceStatus.UNPAID
    marked = invoices.set_status_many(db, admin, [first.id, second.id], InvoiceStatus.PENDING)
    assert [r.status for r in marked] == [InvoiceStatus.PENDING] * 2
    assert [e.action for e in audit_log.since(before)] == ["UPDATE", "UPDATE"]


def test_the_demo_seeds_invoices_with_older_ones_paid(db, admin) -> None:
    from carriertui.demo import builder as demo
    from carriertui.store.db.types import utcnow

    weekly = add_customer(db, admin, "WEEK", invoice_schedule="weekly")
    add_customer(db, admin, "NONE")
    today = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    insert(
        db,
        admin,
        [
            values(f"d{day}", weekly, today - timedelta(days=day), duration=60, charge="1")
            for day in range(100)
        ],
    )
    demo._seed_invoices(db, admin)
    records = invoices.list_invoices(db, admin)
    assert len(records) >= 13 and {r.customer_id for r in records} == {weekly}
    paid_before = utcnow() - timedelta(days=demo.DEMO_PAID_AFTER_DAYS)
    for record in records:
        expected = InvoiceStatus.PAID if record.period_end <= paid_before else InvoiceStatus.UNPAID
        assert record.status is expected, record
    assert {r.status for r in records} == {InvoiceStatus.PAID, InvoiceStatus.UNPAID}
    demo._seed_invoices(db, admin)  # an interrupted build resumes: nothing twice
    assert invoices.list_invoices(db, admin) == records
