"""Roll-ups and summaries against a brute-force Python computation, on SQLite and PostgreSQL.

Random CDRs (hypothesis) fall around the tricky instants: midnight, ISO week 53 (2026-12-28 to
2027-01-03), month ends, a leap day; given with various UTC offsets. Incremental runs after late
CDRs give the same numbers as a rebuild, and both equal the brute force.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from cdr_helpers import add_customers, dirty_count, hourly_rows, insert, values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from carriertui.store import rollups, summary
from carriertui.store.db.tables import Cdr, CdrDirtyHour, CdrHourly
from carriertui.store.summary import SummaryRow, SummaryView, customer_summary, weighted_kpis

ANCHORS = [
    datetime(2026, 12, 27, 23, 30, tzinfo=UTC),  # Sunday before ISO week 53 of 2026
    datetime(2027, 1, 3, 23, 0, tzinfo=UTC),  # the end of week 53 (a Sunday)
    datetime(2028, 2, 28, 23, 0, tzinfo=UTC),  # into the leap day 2028-02-29
    datetime(2026, 4, 30, 23, 45, tzinfo=UTC),  # a 30-day month's end
    datetime(2026, 3, 1, 0, 0, tzinfo=UTC),  # after a 28-day February
]
OFFSETS = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]


@st.composite
def cdr_specs(draw):
    anchor = draw(st.sampled_from(ANCHORS))
    moment = anchor + timedelta(seconds=draw(st.integers(-3 * 3600, 3 * 86400)))
    moment = moment.astimezone(draw(st.sampled_from(OFFSETS)))
    answered = draw(st.booleans())
    duration = draw(st.integers(1, 7200)) if answered else 0
    return {
        "customer": draw(st.sampled_from(["A", "B"])),
        "start": moment,
        "duration": duration,
        "billed": duration + draw(st.integers(0, 59)) if answered else 0,
        "charge": Decimal(draw(st.integers(0, 10**7))).scaleb(-4) if answered else Decimal(0),
        "cost": Decimal(draw(st.integers(0, 10**7))).scaleb(-4) if answered else Decimal(0),
        "pdd_ms": draw(st.integers(0, 30_000)),
    }


def _insert_specs(db, admin, ids, specs, prefix):
    rows = [
        values(
            f"{prefix}-{index}",
            ids[spec["customer"]],
            spec["start"],
            duration=spec["duration"],
            billed=spec["billed"],
            charge=str(spec["charge"]),
            cost=str(spec["cost"]),
            pdd_ms=spec["pdd_ms"],
        )
        for index, spec in enumerate(specs)
    ]
    if rows:
        insert(db, admin, rows)


def brute_force_hours(specs, ids):
    buckets = defaultdict(lambda: [0, 0, 0, 0, Decimal(0), Decimal(0), 0])
    for spec in specs:
        start = spec["start"].astimezone(UTC)
        hour = start.replace(minute=0, second=0, microsecond=0)
        bucket = buckets[(ids[spec["customer"]], hour)]
        bucket[0] += 1
        bucket[1] += 1 if spec["duration"] > 0 else 0
        bucket[2] += spec["duration"]
        bucket[3] += spec["billed"]
        bucket[4] += spec["charge"]
        bucket[5] += spec["cost"]
        bucket[6] += spec["pdd_ms"]
    return {key: tuple(value) for key, value in buckets.items()}


def _clear(db):
    with db.write() as session:
        for model in (CdrHourly, CdrDirtyHour, Cdr):
            session.execute(delete(model))
        if db.backend == "postgresql":  # the call ids stored (store/db/partitions.py)
            session.connection().exec_driver_sql("DELETE FROM cdr_call_id")


def _period_key(view: SummaryView, moment: datetime):
    moment = moment.astimezone(UTC)
    if view is SummaryView.DAILY:
        return moment.date()
    if view is SummaryView.WEEKLY:
        return moment.date().isocalendar()[:2]
    return (moment.year, moment.month)


@pytest.fixture
def ids(db, admin):
    return add_customers(db, admin, "A", "B")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=st.lists(cdr_specs(), max_size=40),
    late=st.lists(cdr_specs(), max_size=15),
)
def test_rollups_and_summaries_equal_a_brute_force_computation(db, admin, ids, first, late):
    _clear(db)
    _insert_specs(db, admin, ids, first, "first")
    rollups.rollup_incremental(db)
    # Late CDRs (any hour, old or new) arrive after the first run: only their hours are redone.
    _insert_specs(db, admin, ids, late, "late")
    assert dirty_count(db) == len(
        {(ids[s["customer"]], s["start"].astimezone(UTC).replace(minute=0, second=0)) for s in late}
    )
    rollups.rollup_incremental(db)
    everything = first + late
    expected = brute_force_hours(everything, ids)
    incremental = hourly_rows(db)
    assert incremental == expected
    rollups.rollup_rebuild(db)
    assert hourly_rows(db) == expected

    # Every calendar view of customer A: each period's totals equal the brute force's grouping.
    specs_a = [s for s in everything if s["customer"] == "A"]
    now = datetime(2030, 1, 1, tzinfo=UTC)
    for view in (SummaryView.DAILY, SummaryView.WEEKLY, SummaryView.MONTHLY):
        result = customer_summary(
            db, admin, ids["A"], view, first=date(2026, 2, 1), last=date(2028, 3, 5), now=now
        )
        by_period = defaultdict(list)
        for spec in specs_a:
            by_period[_period_key(view, spec["start"])].append(spec)
        seen = set()
        for row in result.rows:
            key = _period_key(view, row.period_start)
            seen.add(key)
            calls = by_period.get(key, [])
            assert row.attempts == len(calls)
            assert row.connected == sum(1 for c in calls if c["duration"] > 0)
            assert row.duration == sum(c["duration"] for c in calls)
            assert row.billed_duration == sum(c["billed"] for c in calls)
            assert row.charge == sum((c["charge"] for c in calls), Decimal(0))
            assert row.cost == sum((c["cost"] for c in calls), Decimal(0))
            if view is SummaryView.WEEKLY:
                assert row.period_start.weekday() == 0
        assert set(by_period) <= seen


def test_iso_week_53_leap_day_and_month_ends(db, admin, ids) -> None:
    rows = [
        values("w53-start", ids["A"], datetime(2026, 12, 28, 0, 0, tzinfo=UTC), duration=10),
        values("w53-end", ids["A"], datetime(2027, 1, 3, 23, 59, 59, 999999, tzinfo=UTC)),
        values("w01", ids["A"], datetime(2027, 1, 4, 0, 0, tzinfo=UTC), duration=5),
        values("w52", ids["A"], datetime(2026, 12, 27, 23, 59, 59, tzinfo=UTC), duration=7),
        values("leap", ids["A"], datetime(2028, 2, 29, 12, 0, tzinfo=UTC), duration=3),
        values(
            "leap-late", ids["A"], datetime(2028, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
        ),
    ]
    insert(db, admin, rows)
    rollups.rollup_incremental(db)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    weekly = customer_summary(
        db, admin, ids["A"], "weekly", first=date(2026, 12, 21), last=date(2027, 1, 10), now=now
    )
    assert [(r.label, r.period_start.date(), r.attempts) for r in weekly.rows] == [
        ("Week 52 2026", date(2026, 12, 21), 1),
        ("Week 53 2026", date(2026, 12, 28), 2),
        ("Week 01 2027", date(2027, 1, 4), 1),
    ]
    assert weekly.rows[1].period_end == datetime(2027, 1, 4, tzinfo=UTC)
    daily = customer_summary(
        db, admin, ids["A"], "daily", first=date(2028, 2, 28), last=date(2028, 3, 1), now=now
    )
    assert [(r.label, r.attempts) for r in daily.rows] == [
        ("2028-02-28", 0),
        ("2028-02-29", 2),  # 2028-03-01 00:30 +01:00 is 2028-02-29 23:30 UTC
        ("2028-03-01", 0),
    ]
    monthly = customer_summary(
        db, admin, ids["A"], "monthly", first=date(2026, 12, 1), last=date(2027, 1, 31), now=now
    )
    assert [(r.label, r.attempts) for r in monthly.rows] == [("2026-12", 2), ("2027-01", 2)]


def test_zero_denominators_are_none_and_ratios_are_exact(db, admin, ids) -> None:
    hour = datetime(2026, 5, 4, 10, tzinfo=UTC)
    insert(
        db,
        admin,
        [
            values("a1", ids["A"], hour, duration=0),  # attempts but none connected
            values("b1", ids["B"], hour, duration=100, charge="0.3000", cost="0.1000"),
            values("b2", ids["B"], hour + timedelta(minutes=1), duration=50, charge="0.1000"),
            values("b3", ids["B"], hour + timedelta(minutes=2), duration=0),
        ],
    )
    rollups.rollup_incremental(db)
    now = datetime(2026, 5, 6, tzinfo=UTC)
    day = date(2026, 5, 4)
    a = customer_summary(db, admin, ids["A"], "daily", first=day, last=day, now=now).rows[0]
    assert (a.attempts, a.connected, a.asr, a.acd, a.profit_pct) == (
        1,
        0,
        Decimal("0.00"),
        None,
        None,
    )
    empty = customer_summary(
        db, admin, ids["A"], "daily", first=date(2026, 5, 5), last=date(2026, 5, 5), now=now
    )
    row = empty.rows[0]
    assert (row.attempts, row.asr, row.acd, row.profit, row.profit_pct) == (0, None, None, 0, None)
    assert row.values()["asr"] is None and row.values()["profit_pct"] is None
    b = customer_summary(db, admin, ids["B"], "daily", first=day, last=day, now=now).rows[0]
    assert b.asr == Decimal("66.67")
    assert b.acd == Decimal("75.00")
    assert b.charge == Decimal("0.4000") and b.cost == Decimal("0.1000")
    assert b.profit == Decimal("0.3000")
    assert b.profit_pct == Decimal("75.00")


def test_weighted_asr_and_acd_of_a_selection_are_not_averages_of_averages() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        SummaryRow(start, start, "a", attempts=100, connected=50, duration=5000),
        SummaryRow(start, start, "b", attempts=10, connected=10, duration=100),
        SummaryRow(start, start, "c", attempts=0, connected=0, duration=0),
    ]
    kpis = weighted_kpis(rows)
    assert (kpis.attempts, kpis.connected, kpis.duration) == (110, 60, 5100)
    assert kpis.asr == Decimal("54.55")  # not (50 + 100) / 2 = 75
    assert kpis.acd == Decimal("85.00")  # not (100 + 10) / 2 = 55
    none = weighted_kpis(rows[2:])
    assert (none.asr, none.acd) == (None, None)
    assert weighted_kpis([]).asr is None


def test_the_24_hour_view_is_24_rolling_hours_with_the_current_one_partial(db, admin, ids):
    now = datetime(2026, 6, 10, 14, 25, tzinfo=UTC)
    insert(
        db,
        admin,
        [
            values("old", ids["A"], now - timedelta(hours=24), duration=9),  # 13:25 yesterday
            values("first", ids["A"], now - timedelta(hours=23, minutes=25), duration=8),
            values("current", ids["A"], now - timedelta(minutes=5), duration=7),
        ],
    )
    rollups.rollup_incremental(db)
    result = customer_summary(db, admin, ids["A"], "24h", now=now)
    assert len(result.rows) == 24
    assert result.rows[0].period_start == datetime(2026, 6, 9, 15, tzinfo=UTC)
    assert result.rows[0].attempts == 1 and result.rows[-1].attempts == 1
    assert sum(row.attempts for row in result.rows) == 2
    assert [row.partial for row in result.rows] == [False] * 23 + [True]
    assert result.partial_row is result.rows[-1]
    assert result.rows[-1].label == "2026-06-10 14:00"
    assert result.rolled_up_at is not None


def test_calendar_views_default_to_the_first_data_through_the_current_period(db, admin, ids):
    now = datetime(2026, 6, 10, 14, 25, tzinfo=UTC)
    insert(db, admin, [values("x", ids["A"], datetime(2026, 5, 30, tzinfo=UTC), duration=1)])
    rollups.rollup_incremental(db)
    weekly = customer_summary(db, admin, ids["A"], "weekly", now=now)
    assert [r.label for r in weekly.rows] == ["Week 22 2026", "Week 23 2026", "Week 24 2026"]
    assert [r.partial for r in weekly.rows] == [False, False, True]
    monthly = customer_summary(db, admin, ids["B"], "monthly", now=now)
    assert [(r.label, r.attempts, r.partial) for r in monthly.rows] == [("2026-06", 0, True)]


def test_summary_grid_source_has_the_grouped_columns(db, admin, ids) -> None:
    insert(db, admin, [values("x", ids["A"], datetime(2026, 5, 30, 10, tzinfo=UTC), duration=61)])
    rollups.rollup_incremental(db)
    now = datetime(2026, 6, 2, tzinfo=UTC)
    result = customer_summary(db, admin, ids["A"], "daily", now=now)
    source = summary.summary_row_source(result)
    groups = [(c.group, c.title) for c in source.columns]
    assert groups == [
        ("Period", "Period"),
        ("Calls", "Attempts"),
        ("Calls", "Connected"),
        ("Calls", "ASR %"),
        ("Calls", "ACD"),
        ("Usage", "Duration"),
        ("Usage", "Billed Duration"),
        ("Money", "Customer Charge"),
        ("Money", "Cost"),
        ("Money", "Profit"),
        ("Money", "Profit %"),
    ]
    from carriertui.grid.model import Query, display_text

    assert source.total() == 4
    key, cells = source.page(Query(), 0, 1)[0]
    assert key == datetime(2026, 5, 30, tzinfo=UTC)
    assert display_text(source.columns[0], cells[0]) == "2026-05-30"
    assert display_text(source.columns[4], cells[4]) == "1:01"
    assert cells[3] == Decimal("100.00")
    picked = summary.rows_by_keys(result, [key])
    assert weighted_kpis(picked).acd == Decimal("61.00")


def test_incremental_after_a_rebuild_and_rebuild_from_nothing(db, admin, ids) -> None:
    hour = datetime(2026, 7, 1, 9, tzinfo=UTC)
    insert(db, admin, [values("a", ids["A"], hour, duration=5)])
    first = rollups.rollup_rebuild(db)
    assert first.hours == 1 and dirty_count(db) == 0
    assert rollups.rollup_incremental(db).hours == 0
    insert(db, admin, [values("b", ids["A"], hour + timedelta(minutes=59), duration=6)])
    report = rollups.rollup_incremental(db)
    assert report.hours == 1
    assert hourly_rows(db)[(ids["A"], hour)][:3] == (2, 2, 11)
    assert rollups.last_rollup_at(db) == report.rolled_up_at


def test_hours_are_utc_hours_whatever_the_sessions_time_zone(backend, admin) -> None:
    """PostgreSQL's date_trunc works in the session's zone; Kolkata (+05:30) would shift hours."""
    from carriertui.store.db.database import Database

    args = dict(backend.connect_args)
    if backend.name == "postgresql":
        args["options"] = args["options"] + " -cTimeZone=Asia/Kolkata"
    db = Database(backend.url, connect_args=args)
    backend.opened.append(db)
    db.create_schema()
    ids = add_customers(db, admin, "A", "B")
    start = datetime(2026, 8, 1, 10, 10, tzinfo=UTC)
    insert(db, admin, [values("k", ids["A"], start, duration=4)])
    rollups.rollup_rebuild(db)
    assert list(hourly_rows(db)) == [(ids["A"], datetime(2026, 8, 1, 10, tzinfo=UTC))]
    day = customer_summary(
        db, admin, ids["A"], "daily", first=date(2026, 8, 1), last=date(2026, 8, 1)
    )
    assert day.rows[0].attempts == 1
