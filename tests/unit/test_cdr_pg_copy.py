"""The CDR import on PostgreSQL: COPY into staging, then one INSERT ... SELECT into monthly
partitions (store/cdrs/pg_copy.py, store/db/partitions.py), and the migration of an
unpartitioned CDR table (schema version 13 at the time of writing: SCHEMA_VERSION).

PostgreSQL only: each test runs in a private schema when CARRIERTUI_TEST_PG_URL is set, and is
reported as the one skipped PostgreSQL variant otherwise.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text

from carriertui.cli import main
from carriertui.store import rollups
from carriertui.store.cdrs import importer as cdrs
from carriertui.store.cdrs.importer import import_cdr_file
from carriertui.store.db import migrations, partitions
from carriertui.store.db.migrations import SCHEMA_VERSION
from tests.unit.cdr_helpers import (
    add_customers,
    cdr_count,
    csv_row,
    dirty_count,
    hourly_rows,
    insert,
    values,
    write_csv_file,
)


@pytest.fixture
def pg_backend():
    from tests.conftest import _pg_url, _postgres_backend, _skip_postgresql

    url = _pg_url()
    if url is None:
        _skip_postgresql()
    yield from _postgres_backend(url)


def cli_url(backend) -> str:
    return f"{backend.url}?options={quote(backend.connect_args['options'])}"


def per_partition(db) -> dict[str, int]:
    with db.read() as session:
        rows = session.connection().exec_driver_sql(
            "SELECT tableoid::regclass::text, COUNT(*) FROM cdr GROUP BY 1"
        )
        return {name.rsplit(".", 1)[-1]: count for name, count in rows}


def partition_names(db) -> list[str]:
    with db.read() as session:
        return [p.name for p in partitions.existing(session.connection())]


def stored_call_ids(db) -> list[tuple[str, datetime]]:
    with db.read() as session:
        rows = session.connection().exec_driver_sql(
            "SELECT call_id, start_time FROM cdr ORDER BY call_id"
        )
        return [(call_id, start.astimezone(UTC)) for call_id, start in rows]


def months_from_now(count: int) -> list[str]:
    return [
        partitions.partition_name(m)
        for m in partitions.months_ahead(datetime.now(UTC).date(), count)
    ]


def test_a_new_database_has_this_month_and_the_next_two_as_partitions(pg_backend) -> None:
    db = pg_backend.open()
    with db.read() as session:
        assert partitions.is_partitioned(session.connection())
    now = datetime.now(UTC).date()
    assert partition_names(db)[-3:] == months_from_now(2)
    assert partition_names(db)[0] == partitions.partition_name(now.replace(day=1))


def test_init_creates_the_months_ahead_again(pg_backend, capsys) -> None:
    """Run from cron, `carriertui init` keeps three months ahead even with no import."""
    db = pg_backend.open()
    ahead = months_from_now(2)
    with db.write() as session:
        for name in ahead[1:]:
            session.connection().exec_driver_sql(f"DROP TABLE {name}")
    assert partition_names(db) == ahead[:1]
    assert main(["init", "--db", cli_url(pg_backend)]) == 0
    out = capsys.readouterr().out
    assert f"CDR partitions created ahead: {', '.join(ahead[1:])}" in out
    assert partition_names(db) == ahead
    assert main(["init", "--db", cli_url(pg_backend)]) == 0
    assert "created ahead" not in capsys.readouterr().out  # nothing left to create


def test_an_import_creates_the_months_ahead_too(pg_backend, admin) -> None:
    db = pg_backend.open()
    ids = add_customers(db, admin, "ACME")
    ahead = months_from_now(2)
    with db.write() as session:
        for name in ahead:
            session.connection().exec_driver_sql(f"DROP TABLE {name}")
    assert partition_names(db) == []
    insert(db, admin, [values("x-1", ids["ACME"], datetime(2026, 3, 10, tzinfo=UTC))])
    assert partition_names(db) == ["cdr_y2026m03", *ahead]


def test_an_import_spanning_three_months_creates_and_fills_their_partitions(
    pg_backend, admin, tmp_path: Path
) -> None:
    db = pg_backend.open()
    ids = add_customers(db, admin, "ACME")
    starts = ["2025-01-31T23:59:59Z", "2025-02-01T00:00:00Z", "2025-02-14T12:00:00Z"]
    starts.append("2025-03-31T23:00:00+00:00")
    rows = [csv_row(i, start_time=start) for i, start in enumerate(starts)]
    report = import_cdr_file(db, admin, write_csv_file(tmp_path / "q1.csv", rows))
    assert (report.imported, report.duplicates, report.hours_touched) == (4, 0, 4)
    assert per_partition(db) == {"cdr_y2025m01": 1, "cdr_y2025m02": 2, "cdr_y2025m03": 1}
    assert partition_names(db)[:3] == ["cdr_y2025m01", "cdr_y2025m02", "cdr_y2025m03"]
    assert dirty_count(db) == 4
    rollups.rollup_incremental(db)
    hours = hourly_rows(db)
    assert sorted(hours) == [
        (ids["ACME"], datetime.fromisoformat(start).astimezone(UTC).replace(minute=0, second=0))
        for start in starts
    ]
    assert sum(row[0] for row in hours.values()) == 4


def test_importing_twice_adds_nothing_and_a_file_repeating_a_call_keeps_the_first(
    pg_backend, admin, tmp_path: Path
) -> None:
    db = pg_backend.open()
    add_customers(db, admin, "ACME")
    rows = [csv_row(i) for i in range(500)]
    # The same call again later in the file, in another month: the first one stays.
    rows.append(csv_row(7, start_time="2026-04-02T10:00:00Z"))
    path = write_csv_file(tmp_path / "a.csv", rows)
    first = import_cdr_file(db, admin, path)
    assert (first.rows, first.imported, first.duplicates) == (501, 500, 1)
    assert ("call-000007", datetime(2026, 3, 1, 7, 7, tzinfo=UTC)) in stored_call_ids(db)
    rollups.rollup_incremental(db)
    before = hourly_rows(db)
    again = import_cdr_file(db, admin, path)
    assert (again.imported, again.duplicates, again.hours_touched) == (0, 501, 0)
    assert cdr_count(db) == 500 and dirty_count(db) == 0
    assert hourly_rows(db) == before


def test_a_later_batch_repeating_a_call_or_reaching_an_older_month_is_taken_in_order(
    pg_backend, admin
) -> None:
    """Batches are claimed and COPYed one after the other: a call id of the first batch is a
    duplicate in the second, and a month with no partition first met in the second batch (the
    import has written cdr already) gets its partition in the import's own transaction."""
    db = pg_backend.open()
    ids = add_customers(db, admin, "ACME")
    march = datetime(2026, 3, 10, 9, tzinfo=UTC)
    old = datetime(2024, 6, 5, 8, tzinfo=UTC)
    assert partitions.partition_name(old.date()) not in partition_names(db)
    first = [values(f"b1-{n}", ids["ACME"], march + timedelta(minutes=n)) for n in range(50)]
    second = [
        values("b1-7", ids["ACME"], old),  # a repeat of the first batch's call, another month
        values("b2-1", ids["ACME"], old),
        values("b2-1", ids["ACME"], old + timedelta(hours=1)),  # repeated in its own batch
        values("b2-2", ids["ACME"], march),
    ]
    report = cdrs.insert_cdrs(db, admin, [first, second], source="test")
    assert (report.imported, report.duplicates, report.hours_touched) == (52, 2, 2)
    assert per_partition(db) == {"cdr_y2026m03": 51, "cdr_y2024m06": 1}
    stored = dict(stored_call_ids(db))
    assert (stored["b1-7"], stored["b2-1"]) == (march + timedelta(minutes=7), old)
    with db.read() as session:
        claimed = session.connection().exec_driver_sql("SELECT COUNT(*) FROM cdr_call_id")
        assert claimed.scalar() == 52


def test_a_call_id_already_stored_in_another_month_is_refused(pg_backend, admin) -> None:
    db = pg_backend.open()
    ids = add_customers(db, admin, "ACME")
    march = datetime(2026, 3, 10, 9, tzinfo=UTC)
    insert(db, admin, [values("dup-1", ids["ACME"], march, duration=30, charge="0.5")])
    report = insert(
        db,
        admin,
        [
            values("dup-1", ids["ACME"], march + timedelta(days=45), duration=99),  # April
            values("dup-1", ids["ACME"], march),  # the same call at the same time
            values("new-1", ids["ACME"], march + timedelta(days=45)),
        ],
    )
    assert (report.imported, report.duplicates) == (1, 2)
    assert stored_call_ids(db) == [
        ("dup-1", march),
        ("new-1", march + timedelta(days=45)),
    ]


def test_a_pruned_call_id_stays_refused(pg_backend, admin) -> None:
    """The prune drops January's partition but not its call ids: the same calls imported again
    add nothing (their roll-ups are still there), a new call of January is taken."""
    from carriertui.store.cdrs import prune

    db = pg_backend.open()
    ids = add_customers(db, admin, "ACME")
    january = datetime(2026, 1, 12, 9, tzinfo=UTC)
    rows = [values(f"jan-{n}", ids["ACME"], january + timedelta(minutes=n)) for n in range(30)]
    insert(db, admin, rows)
    rollups.rollup_incremental(db)
    before = hourly_rows(db)
    pruned = prune.prune_cdrs(db, admin, date(2026, 2, 1), force=True)
    assert (pruned.removed, pruned.partitions_dropped) == (30, ["cdr_y2026m01"])
    report = insert(db, admin, [*rows, values("jan-new", ids["ACME"], january)])
    assert (report.imported, report.duplicates) == (1, 30)
    assert [call_id for call_id, _ in stored_call_ids(db)] == ["jan-new"]
    assert hourly_rows(db) == before


def test_a_killed_import_after_its_insert_select_leaves_nothing(
    pg_backend, admin, tmp_path: Path
) -> None:
    """SIGKILL a real `carriertui cdr import` after the rows have reached cdr (and their hours
    cdr_dirty_hour) but before the commit: nothing stays, and the next import takes the file."""
    db = pg_backend.open()
    add_customers(db, admin, "ACME")
    path = write_csv_file(tmp_path / "big.csv", (csv_row(i) for i in range(20_000)))
    script = textwrap.dedent(
        """
        import sys, time
        from carriertui.cli import main
        from carriertui.store.cdrs import pg_copy

        move = pg_copy.PgCopyWriter.finish

        def moved(self):
            move(self)
            cursor = self.driver.cursor()
            cursor.execute("SELECT COUNT(*) FROM cdr")
            print("MOVED", cursor.fetchone()[0], self.inserted, flush=True)
            time.sleep(60)

        pg_copy.PgCopyWriter.finish = moved
        sys.exit(main(sys.argv[1:]))
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, "--db", cli_url(pg_backend), "cdr", "import", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        line = process.stdout.readline()
        assert line.split() == ["MOVED", "20000", "20000"], process.stderr.read()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    fresh = pg_backend.open()
    assert (cdr_count(fresh), dirty_count(fresh)) == (0, 0)
    assert import_cdr_file(fresh, admin, path).imported == 20_000


def test_two_imports_at_once_add_a_call_id_once(pg_backend, admin, tmp_path: Path) -> None:
    """Two real processes import files sharing call ids in different months: the advisory lock
    around the check and the insert lets exactly one copy of each in."""
    db = pg_backend.open()
    add_customers(db, admin, "ACME")
    march = write_csv_file(tmp_path / "m.csv", (csv_row(i) for i in range(3000)))
    may = write_csv_file(
        tmp_path / "may.csv",
        (csv_row(i, start_time=f"2026-05-02T{i % 24:02d}:00:00Z") for i in range(3000)),
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "carriertui", "--db", cli_url(pg_backend), "cdr", "import", p],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in (str(march), str(may))
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert cdr_count(db) == 3000
    months = per_partition(db)
    assert sum(months.values()) == 3000 and set(months) <= {"cdr_y2026m03", "cdr_y2026m05"}


# -- the migration of an unpartitioned table ------------------------------------------------


def _unpartitioned_database(backend, monkeypatch):
    """A database at the version before the partitions (the CDR table one plain table), as
    an older carriertui left it."""
    later = {(migrations._cdr_partitions,), (migrations._cdr_call_ids,)}
    steps = {v: s for v, s in migrations._MIGRATIONS.items() if s not in later}
    monkeypatch.setattr(migrations, "_MIGRATIONS", steps)
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", SCHEMA_VERSION - 2)
    db = backend.open()
    with db.read() as session:
        assert not partitions.is_partitioned(session.connection())
    return db


def test_init_partitions_an_existing_cdr_table_keeping_every_row_and_roll_up(
    pg_backend, admin, tmp_path: Path, monkeypatch, capsys
) -> None:
    with monkeypatch.context() as old:
        db = _unpartitioned_database(pg_backend, old)
        ids = add_customers(db, admin, "ACME", "BETA")
        # The importer of that version: executemany with ON CONFLICT (call_id).
        old.setattr(cdrs, "_writer_for", cdrs._BulkWriter)
        start = datetime(2025, 11, 20, tzinfo=UTC)
        rows = [
            values(
                f"old-{n}",
                ids["ACME" if n % 3 else "BETA"],
                start + timedelta(hours=7 * n, minutes=n % 60),
                duration=n % 200,
                charge=f"{n % 97}.{n % 10000:04d}",
                cost="0.0100",
            )
            for n in range(1500)  # about 15 months of CDRs
        ]
        insert(db, admin, rows)
        rollups.rollup_rebuild(db)
        before_rows = stored_cdr_table(db)
        before_hours = hourly_rows(db)
        db.dispose()
    assert len(before_rows) == 1500
    monkeypatch.setattr("sys.stdin", None)
    assert main(["init", "--yes", "--db", cli_url(pg_backend)]) == 0
    assert f"to {SCHEMA_VERSION}" in capsys.readouterr().out
    db = pg_backend.open(create=False)
    assert db.schema_version() == SCHEMA_VERSION
    with db.read() as session:
        connection = session.connection()
        assert partitions.is_partitioned(connection)
        id_type = connection.exec_driver_sql(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'cdr'::regclass AND attname = 'id'"
        ).scalar()
    assert id_type == "bigint"
    assert stored_cdr_table(db) == before_rows  # every row, id and value
    assert hourly_rows(db) == before_hours
    rollups.rollup_rebuild(db)
    assert hourly_rows(db) == before_hours  # the roll-ups from the moved rows are the same
    assert len(per_partition(db)) >= 14
    # The moved table takes new CDRs, and its id sequence carries on after the old ids.
    report = insert(db, admin, [values("new-1", ids["ACME"], datetime(2026, 3, 1, tzinfo=UTC))])
    assert report.imported == 1
    assert max(row[0] for row in stored_cdr_table(db)) == 1501
    assert insert(db, admin, [rows[5]]).duplicates == 1


def test_init_fills_the_call_id_table_of_a_partitioned_database_with_cdrs(
    pg_backend, admin, monkeypatch, capsys
) -> None:
    """A database at version 15 (partitioned, no cdr_call_id) holding CDRs in three months:
    `carriertui init` makes cdr_call_id from them, and then a stored call id is refused in
    another month and the rows and roll-ups are those of before."""
    with monkeypatch.context() as old:
        steps = {v: s for v, s in migrations._MIGRATIONS.items() if v < SCHEMA_VERSION}
        old.setattr(migrations, "_MIGRATIONS", steps)
        old.setattr(migrations, "SCHEMA_VERSION", SCHEMA_VERSION - 1)
        db = pg_backend.open()
        ids = add_customers(db, admin, "ACME")
        start = datetime(2026, 1, 20, tzinfo=UTC)
        with db.write() as session:
            connection = session.connection()
            assert connection.exec_driver_sql("SELECT to_regclass('cdr_call_id')").scalar() is None
            partitions.create_partitions(connection, [date(2026, m, 1) for m in (1, 2, 3)])
            # What version 15's importer stored (no call-id table to claim in).
            connection.exec_driver_sql(
                "INSERT INTO cdr (call_id, customer_id, start_time, source_cli, dest_number, "
                "dest_name, duration, billed_duration, sip_code, release_reason, pdd_ms, "
                "charge, cost, direction, source_ip) SELECT 'v15-' || g, %s, "
                "%s + g * interval '1 hour', '442079460000', '4930901234', 'Germany', g %% 300, "
                "g %% 300, 200, 'Normal Clearing', 900, 100 * g, 50 * g, 'outbound', "
                "'192.0.2.10' FROM generate_series(1, 1500) g",
                (ids["ACME"], start),
            )
        rollups.rollup_rebuild(db)
        before_rows = stored_cdr_table(db)
        before_hours = hourly_rows(db)
        db.dispose()
    assert len(per_partition(pg_backend.open(create=False))) >= 3
    monkeypatch.setattr("sys.stdin", None)
    assert main(["init", "--yes", "--db", cli_url(pg_backend)]) == 0
    assert f"to {SCHEMA_VERSION}" in capsys.readouterr().out
    db = pg_backend.open(create=False)
    with db.read() as session:
        claimed = session.connection().exec_driver_sql(
            "SELECT call_id FROM cdr_call_id ORDER BY call_id"
        )
        assert [row[0] for row in claimed] == sorted(f"v15-{g}" for g in range(1, 1501))
        # cdr_call_id is the call id's constraint now: cdr's own per-month UNIQUE is gone.
        constraints = session.connection().exec_driver_sql(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'cdr'::regclass"
        )
        assert "uq_cdr_call_id" not in {row[0] for row in constraints}
    assert stored_cdr_table(db) == before_rows
    assert hourly_rows(db) == before_hours
    # v15-10 is stored in January; the same call id in March is refused, a new one taken.
    march = datetime(2026, 3, 25, tzinfo=UTC)
    report = insert(
        db, admin, [values("v15-10", ids["ACME"], march), values("new-1", ids["ACME"], march)]
    )
    assert (report.imported, report.duplicates) == (1, 1)
    assert cdr_count(db) == 1501


def stored_cdr_table(db) -> list[tuple]:
    with db.read() as session:
        return [
            tuple(row)
            for row in session.connection().execute(text("SELECT * FROM cdr ORDER BY id"))
        ]


def test_carriertui_connections_run_without_jit(pg_backend) -> None:
    """JIT compiled for about a second per roll-up of a partitioned year (engine.py)."""
    db = pg_backend.open()
    with db.read() as session:
        assert session.connection().exec_driver_sql("SHOW jit").scalar() == "off"
    with db.write() as session:
        assert session.connection().exec_driver_sql("SHOW jit").scalar() == "off"


def test_the_roll_up_of_marked_hours_reads_only_their_partitions(pg_backend, admin) -> None:
    """The marks join the CDRs hour by hour (LATERAL): the plan touches no partition but the
    marked hour's (a plain join scanned every partition of the year)."""
    db = pg_backend.open()
    ids = add_customers(db, admin, "ACME")
    for month in range(1, 13):
        insert(db, admin, [values(f"m{month}", ids["ACME"], datetime(2025, month, 3, tzinfo=UTC))])
    rollups.rollup_incremental(db)
    insert(db, admin, [values("late", ids["ACME"], datetime(2025, 6, 3, 0, 30, tzinfo=UTC))])
    from carriertui.store.rollups import _MARKED_HOURS_SQL

    select_part = _MARKED_HOURS_SQL[True].split(") ", 1)[1]
    with db.read() as session:
        plan = "\n".join(
            row[0]
            for row in session.connection().exec_driver_sql(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + select_part
            )
        )
    scanned = {
        line.split(" on ")[1].split()[0]
        for line in plan.splitlines()
        if " on cdr_y" in line and "never executed" not in line
    }
    assert scanned == {"cdr_y2025m06"}, plan
    rollups.rollup_incremental(db)
    hours = hourly_rows(db)
    assert hours[(ids["ACME"], datetime(2025, 6, 3, tzinfo=UTC))][0] == 2
