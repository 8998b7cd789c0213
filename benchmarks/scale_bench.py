"""Carrier volume on PostgreSQL: N CDRs over 12 months for 200 customers (issue 16).

    python benchmarks/scale_bench.py --cdrs 20000000 --pg postgresql://postgres@127.0.0.1/test \\
        --json benchmarks/results/scale_bench.json

Works in a schema of its own (``scale_bench_<pid>``, dropped at the end unless ``--keep``),
made by carriertui itself (schema version with monthly partitions), with 200 customers created
through the customer service. Then:

- build: N CDRs over the 12 whole UTC months before the current one, generated server-side
  (``generate_series``: random 128-bit call ids, time-ordered, the busiest customer about a sixth
  of the traffic), then ``rollup --rebuild`` (both timed for information, no budget)
- call_id_fill_s: cdr_call_id filled from the built CDRs as the version 16 migration does
- mb_per_million: the CDR partitions with their indexes and cdr_call_id (pg_total_relation_size),
  MB per 1,000,000 CDRs (call_id_mb_per_million: cdr_call_id alone); db_mb_per_million: the
  whole schema
- audit_open_ms: the audit log filled to ``--audit`` entries (server-side; their MACs are not
  a chain), then the Audit Log grid's first page and count, newest first, account-wide and the
  busiest customer's tab (median of 5 each; the slower)
- summary_open_ms: what the Summary tab calls (customer_summary and invoice_numbers) for the
  busiest customer, daily and monthly views, median of 5 each; the slower of the two
- report_rows_per_s: a day's CDR report of the busiest customer (export_cdr_report to a file)
- copy_rows_per_s: `cdr import` of a CSV of ``--import-cdrs`` new CDRs (parse, COPY, INSERT
  ... SELECT with the call-id check, marks, audit), rows / wall time
- copy_floor_rows_per_s: the floor: the same rows, parsed beforehand (not timed), through bare
  psycopg binary COPY straight into the partitioned cdr table with its indexes (rolled back)
- executemany_rows_per_s: the import before COPY: psycopg executemany of the same rows in
  batches of 20,000 (``--executemany-cdrs`` of them; rolled back); copy_vs_executemany
- incremental_rollup_ms: a new hour of traffic (N / 8760 CDRs) imported, then
  rollup_incremental timed; median of 3 hours
- concurrent: ``--sessions`` simulated operators (threads, each with its own Database, as each
  operator's process has) loop over open Summary, page the audit log and open a customer, with
  ``--think-ms`` between actions, while a real ``carriertui cdr import`` process imports
  ``--concurrent-cdrs`` CDRs; p50/p95/max per action; concurrent_p95_ms is the worst p95
- prune_month_s: `cdr prune` of the oldest month (one partition dropped, its CDRs counted),
  after the roll-up of the concurrent import's hours (rollup_after_import_s)

Budgets (issue 16, at N = 20,000,000): COPY >= 0.7x its floor and >= 3x executemany; Summary
open <= 150 ms, p95 under the concurrent load <= 400 ms; the day's report >= 200,000 rows/s;
incremental roll-up <= 100 ms; prune of a month <= 2 s. Writes the common form
(benchmarks/harness.py).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import Measure, at_least, at_most, load_average
from harness import report as write_report

from carriertui.grid.model import Query, SortKey
from carriertui.store import audit, customers, invoices, rollups, summary
from carriertui.store.cdrs import child as cdr_parse
from carriertui.store.cdrs import importer as cdrs
from carriertui.store.cdrs import prune
from carriertui.store.cdrs.importer import CSV_COLUMNS
from carriertui.store.context import Actor
from carriertui.store.db import partitions
from carriertui.store.db.database import Database, open_database
from carriertui.store.enums import Role

CUSTOMERS = 200
REPEATS = 5
PAGE = 100
DESTINATIONS = ["United Kingdom - Mobile", "Germany - Fixed", "United States", "India - Mobile"]
ACTOR = Actor(name="bench", role=Role.ADMIN, ip="127.0.0.1")


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def month_back(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def as_moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class Bench:
    def __init__(self, url: str, schema: str) -> None:
        self.schema = schema
        self.options = {"options": f"-csearch_path={schema}"}
        self.base_url = url
        self.cli_url = f"{url}?options={quote(self.options['options'])}"
        admin = Database(url)
        with admin.engine.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            connection.commit()
        admin.dispose()
        self.db = self.open()
        self.ids: list[int] = []

    def open(self) -> Database:
        return open_database(self.base_url, connect_args=dict(self.options))

    def sql(self, statement: str, parameters: Any = None) -> Any:
        with self.db.write() as session:
            result = session.connection().exec_driver_sql(statement, parameters)
            return result.fetchall() if result.returns_rows else result.rowcount

    def drop(self) -> None:
        self.db.dispose()
        admin = Database(self.base_url)
        with admin.engine.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
            connection.commit()
        admin.dispose()


# -- building -------------------------------------------------------------------------------


def add_customers(bench: Bench) -> None:
    bench.ids = [
        customers.create_customer(
            bench.db,
            ACTOR,
            {"name": f"Carrier {n:03d}", "account_code": f"C{n:03d}", "currency": "EUR"},
        ).id
        for n in range(CUSTOMERS)
    ]


def build_cdrs(bench: Bench, count: int, start: datetime, end: datetime) -> None:
    """``count`` CDRs in [start, end), time-ordered, generated by the server in chunks."""
    months = []
    month = start.date()
    while month < end.date():
        months.append(month)
        month = month_back(month, -1)
    partitions.ensure_months(bench.db.engine, months)
    step = (end - start).total_seconds() / count
    ids = "ARRAY[" + ",".join(map(str, bench.ids)) + "]"
    names = "ARRAY[" + ",".join(f"'{name}'" for name in DESTINATIONS) + "]"
    chunk = 1_000_000
    bench.sql("SELECT setseed(0.16)")
    for first in range(1, count + 1, chunk):
        last = min(first + chunk - 1, count)
        # Values from generate_series and random() only; the bounds are integers.
        bench.sql(
            f"INSERT INTO cdr ({', '.join(cdr_parse._INSERT_COLUMNS)}) "
            "SELECT md5('scale' || g::text), "
            f"({ids})[1 + floor({CUSTOMERS} * power(r1, 3))::int], "
            f"%s + (g - 1) * interval '{step:.9f} seconds', "
            "'442079460000', '49301' || lpad(mod(g, 100000)::text, 5, '0'), "
            f"({names})[1 + mod(g, 4)], d, CASE WHEN d > 0 THEN d + 6 ELSE 0 END, "
            "CASE WHEN d > 0 THEN 200 ELSE 486 END, "
            "CASE WHEN d > 0 THEN 'Normal Clearing' ELSE 'User Busy' END, "
            "800 + (r2 * 3000)::int, d * 17, d * 12, 'outbound', '192.0.2.10' "
            "FROM (SELECT g, random() AS r1, random() AS r2, "
            "CASE WHEN random() < 0.45 THEN 0 ELSE (random() * 600)::int + 1 END AS d "
            f"FROM generate_series({first}, {last}) g) s",
            (start,),
        )
        say(f"built {last:,} of {count:,} CDRs")
    bench.sql("ANALYZE cdr")


def fill_call_ids(bench: Bench) -> float:
    """cdr_call_id made again from the built CDRs, as the version 16 migration fills it on a
    database with CDRs (server-side, as the build); returns the seconds."""
    began = time.perf_counter()
    with bench.db.write() as session:
        connection = session.connection()
        connection.exec_driver_sql(f"DROP TABLE {partitions.CALL_IDS}")
        partitions.create_call_ids(connection)
    return time.perf_counter() - began


def cdr_megabytes(bench: Bench) -> tuple[float, float, float]:
    """(the CDR partitions with their indexes and cdr_call_id, the whole schema, cdr_call_id)
    in MB."""
    ((partitioned,),) = bench.sql(
        "SELECT COALESCE(SUM(pg_total_relation_size(i.inhrelid)), 0) FROM pg_inherits i "
        "WHERE i.inhparent = 'cdr'::regclass"
    )
    ((call_ids,),) = bench.sql(f"SELECT pg_total_relation_size('{partitions.CALL_IDS}'::regclass)")
    ((schema,),) = bench.sql(
        "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'm')",
        (bench.schema,),
    )
    return (int(partitioned) + int(call_ids)) / 1e6, int(schema) / 1e6, int(call_ids) / 1e6


def fill_audit(bench: Bench, entries: int) -> int:
    ((have, seq),) = bench.sql("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM audit_entry")
    wanted = entries - int(have)
    if wanted <= 0:
        return int(have)
    ids = "ARRAY[" + ",".join(map(str, bench.ids)) + "]"
    chunk = 250_000
    for first in range(1, wanted + 1, chunk):
        last = min(first + chunk - 1, wanted)
        bench.sql(
            "INSERT INTO audit_entry (created_at, actor, ip, action, verb, table_name, "
            "primary_key, customer_id, message, after_json, seq, mac) "
            "SELECT now() - interval '1 second' * (%s - g), "
            "(ARRAY['olga','ivan','mara','noc-bot'])[1 + mod(g, 4)], '10.0.0.' || mod(g, 250), "
            "'UPDATE', 'PUT', 'customer', mod(g, 5000)::text, "
            f"({ids})[1 + floor({CUSTOMERS} * power(random(), 3))::int], "
            "'Updated customer ' || mod(g, 5000) || ': channels ' || mod(g, 90), "
            "'{\"channels\": ' || mod(g, 90) || '}', %s + g, md5(g::text) || md5(g::text) "
            f"FROM generate_series({first}, {last}) g",
            (wanted, seq),
        )
        say(f"audit log: {int(have) + last:,} of {entries:,} entries")
    bench.sql("ANALYZE audit_entry")
    return entries


def write_cdr_csv(path: Path, count: int, start: datetime, span: timedelta, tag: str) -> None:
    rng = random.Random(tag)
    step = span / max(count, 1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for n in range(count):
            answered = rng.random() >= 0.45
            duration = rng.randint(1, 600) if answered else 0
            writer.writerow(
                [
                    f"{tag}-{rng.getrandbits(128):032x}",
                    f"C{min(int(CUSTOMERS * rng.random() ** 3), CUSTOMERS - 1):03d}",
                    (start + step * n).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "442079460000",
                    f"49301{n % 100000:05d}",
                    DESTINATIONS[n % 4],
                    duration,
                    duration + 6 if duration else 0,
                    200 if duration else 486,
                    "Normal Clearing" if duration else "User Busy",
                    rng.randint(800, 3800),
                    f"{duration * 17 / 10000:.4f}",
                    f"{duration * 12 / 10000:.4f}",
                    "outbound",
                    "192.0.2.10",
                ]
            )


def stored_rows(bench: Bench, path: Path) -> list[tuple[Any, ...]]:
    codes = {f"C{n:03d}": bench.ids[n] for n in range(CUSTOMERS)}
    rows: list[tuple[Any, ...]] = []
    with path.open("rb") as raw:
        source = cdr_parse._CsvSource(raw, path.name)
        header = cdr_parse.check_header(source.header())
        parser = cdr_parse._RowParser(header, codes, sqlite=False)
        for batch in cdr_parse.parsed_batches(
            source, parser, refusing=True, cap=0, batch_rows=cdrs.BATCH_ROWS
        ):
            rows += batch.rows
    return rows


# -- measuring ------------------------------------------------------------------------------


def median_ms(step: Any, repeats: int = REPEATS) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def open_summary(db: Database, customer_id: int, view: str) -> None:
    """What the Summary tab's load() calls."""
    summary.customer_summary(db, ACTOR, customer_id, view)
    invoices.invoice_numbers(db, ACTOR, customer_id, view)


NEWEST = Query(sort=(SortKey("created_at", descending=True),))


def open_audit(db: Database, customer_id: int | None, offset: int = 0) -> None:
    """The Audit Log grid's open: its first page (or the one at ``offset``) and its count."""
    source = audit.grid_source(db, ACTOR, customer_id=customer_id)
    source.page(NEWEST, offset, PAGE)
    source.count(NEWEST)


def open_customer(db: Database, customer_id: int) -> None:
    customers.get_customer(db, ACTOR, customer_id)


def busiest_customer(bench: Bench) -> tuple[int, date]:
    ((customer_id, day, _),) = bench.sql(
        "SELECT customer_id, (hour_start AT TIME ZONE 'UTC')::date, SUM(attempts) "
        "FROM cdr_hourly GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1"
    )
    return int(customer_id), day


def copy_floor(bench: Bench, rows: list[tuple[Any, ...]]) -> float:
    """Rows/s of bare binary COPY of ``rows`` into cdr (rolled back)."""
    columns = cdr_parse._INSERT_COLUMNS
    with bench.db.engine.connect() as connection:
        driver = connection.connection.driver_connection
        cursor = driver.cursor()
        cursor.execute(f"SELECT {', '.join(columns)} FROM cdr LIMIT 0")
        types = [column.type_code for column in cursor.description]
        started = time.perf_counter()
        with cursor.copy(f"COPY cdr ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
        elapsed = time.perf_counter() - started
        cursor.close()
        connection.rollback()
    return len(rows) / elapsed


def executemany_rate(bench: Bench, rows: list[tuple[Any, ...]]) -> float:
    """Rows/s of the importer's former PostgreSQL path: executemany (rolled back)."""
    columns = cdr_parse._INSERT_COLUMNS
    insert = (
        f"INSERT INTO cdr ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        "ON CONFLICT DO NOTHING"
    )
    with bench.db.engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()
        started = time.perf_counter()
        for at in range(0, len(rows), cdrs.BATCH_ROWS):
            cursor.executemany(insert, rows[at : at + cdrs.BATCH_ROWS])
        elapsed = time.perf_counter() - started
        cursor.close()
        connection.rollback()
    return len(rows) / elapsed


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def concurrent_load(
    bench: Bench, path: Path, sessions: int, think_s: float, busiest: int
) -> tuple[dict[str, dict[str, float]], float, int]:
    """``sessions`` operator threads while `carriertui cdr import` imports ``path``."""
    timings: dict[str, list[float]] = {"open_summary": [], "page_audit": [], "open_customer": []}
    lock = threading.Lock()
    importing = threading.Event()
    importing.set()
    errors: list[BaseException] = []

    def operator(number: int) -> None:
        rng = random.Random(number)
        db = bench.open()
        try:
            while importing.is_set():
                customer_id = busiest if rng.random() < 0.3 else rng.choice(bench.ids)
                actions = [
                    ("open_summary", lambda: open_summary(db, customer_id, "daily")),
                    ("page_audit", lambda: open_audit(db, None, PAGE * rng.randint(0, 20))),
                    ("open_customer", lambda: open_customer(db, customer_id)),
                ]
                for name, action in actions:
                    started = time.perf_counter()
                    action()
                    with lock:
                        timings[name].append((time.perf_counter() - started) * 1000)
                    time.sleep(think_s * (0.5 + rng.random()))
        except BaseException as error:  # reported after the run
            errors.append(error)
        finally:
            db.dispose()

    threads = [threading.Thread(target=operator, args=(n,)) for n in range(sessions)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    process = subprocess.run(
        [sys.executable, "-m", "carriertui", "--db", bench.cli_url, "cdr", "import", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    importing.clear()
    for thread in threads:
        thread.join()
    if process.returncode != 0:
        raise SystemExit(f"the concurrent import failed: {process.stderr.strip()}")
    if errors:
        raise errors[0]
    stats = {
        name: {
            "count": len(values),
            "p50_ms": round(statistics.median(values), 1),
            "p95_ms": round(percentile(values, 0.95), 1),
            "max_ms": round(max(values), 1),
        }
        for name, values in timings.items()
        if values
    }
    return stats, elapsed, sum(len(v) for v in timings.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdrs", type=int, default=200_000, help="CDRs over 12 months (N)")
    parser.add_argument(
        "--pg",
        default=os.environ.get("CARRIERTUI_TEST_PG_URL", "postgresql://postgres@127.0.0.1/test"),
        help="the PostgreSQL server (a schema of its own is made there)",
    )
    parser.add_argument("--import-cdrs", type=int, default=100_000, help="CDRs of the timed import")
    parser.add_argument("--executemany-cdrs", type=int, default=20_000)
    parser.add_argument("--concurrent-cdrs", type=int, default=100_000)
    parser.add_argument("--audit", type=int, default=1_000_000, help="audit log entries")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument(
        "--think-ms", type=float, default=1000.0, help="an operator's pause between actions"
    )
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    load_before = load_average()
    results: dict[str, Any] = {"cdrs": args.cdrs, "customers": CUSTOMERS}
    this_month = datetime.now(UTC).date().replace(day=1)
    start, end = as_moment(month_back(this_month, 12)), as_moment(this_month)
    bench = Bench(args.pg, f"scale_bench_{os.getpid()}")
    folder = tempfile.TemporaryDirectory(prefix="scale-bench-")
    work = Path(folder.name)
    try:
        add_customers(bench)
        began = time.perf_counter()
        build_cdrs(bench, args.cdrs, start, end)
        results["build_s"] = round(time.perf_counter() - began, 1)
        results["call_id_fill_s"] = round(fill_call_ids(bench), 1)
        rebuild = rollups.rollup_rebuild(bench.db)
        results["rebuild_s"] = round(rebuild.elapsed_s, 2)
        say(f"built and rolled up in {results['build_s']} + {results['rebuild_s']} s")
        table_mb, schema_mb, call_id_mb = cdr_megabytes(bench)
        results["cdr_mb"] = round(table_mb, 1)
        results["mb_per_million"] = round(table_mb / args.cdrs * 1e6, 1)
        results["call_id_mb_per_million"] = round(call_id_mb / args.cdrs * 1e6, 1)
        results["db_mb_per_million"] = round(schema_mb / args.cdrs * 1e6, 1)
        results["year_at_10m_per_day_gb"] = round(results["db_mb_per_million"] * 3650 / 1000, 0)

        results["audit_entries"] = fill_audit(bench, args.audit)
        busiest, busiest_day = busiest_customer(bench)
        results["audit_open_ms"] = round(
            max(
                median_ms(lambda: open_audit(bench.db, None)),
                median_ms(lambda: open_audit(bench.db, busiest)),
            ),
            1,
        )
        daily = median_ms(lambda: open_summary(bench.db, busiest, "daily"))
        monthly = median_ms(lambda: open_summary(bench.db, busiest, "monthly"))
        results["summary_daily_ms"] = round(daily, 1)
        results["summary_monthly_ms"] = round(monthly, 1)
        results["summary_open_ms"] = round(max(daily, monthly), 1)

        target = work / "report.csv"
        began = time.perf_counter()
        exported = cdrs.export_cdr_report(bench.db, ACTOR, busiest, "daily", busiest_day, target)
        took = time.perf_counter() - began
        results["report_rows"] = exported.rows
        results["report_rows_per_s"] = round(exported.rows / took)
        say("summary, audit and report measured")

        source = work / "import.csv"
        write_cdr_csv(source, args.import_cdrs, end + timedelta(days=1), timedelta(days=1), "imp")
        rows = stored_rows(bench, source)
        results["copy_floor_rows_per_s"] = round(copy_floor(bench, rows))
        imported = cdrs.import_cdr_file(bench.db, ACTOR, source)
        assert imported.imported == args.import_cdrs, imported
        results["copy_rows_per_s"] = round(imported.rows_per_s)
        results["copy_vs_floor"] = round(
            results["copy_rows_per_s"] / results["copy_floor_rows_per_s"], 2
        )
        sample = [(f"em-{n}", *row[1:]) for n, row in enumerate(rows[: args.executemany_cdrs])]
        results["executemany_rows_per_s"] = round(executemany_rate(bench, sample))
        results["copy_vs_executemany"] = round(
            results["copy_rows_per_s"] / results["executemany_rows_per_s"], 2
        )
        del rows, sample
        say("imports measured")

        rollups.rollup_incremental(bench.db)
        per_hour = max(args.cdrs // 8760, CUSTOMERS)
        hours = []
        for n in range(3):
            hour = end + timedelta(days=3, hours=n)
            extra = work / f"hour-{n}.csv"
            write_cdr_csv(extra, per_hour, hour, timedelta(hours=1), f"hour{n}")
            cdrs.import_cdr_file(bench.db, ACTOR, extra)
            hours.append(rollups.rollup_incremental(bench.db).elapsed_s * 1000)
        results["incremental_cdrs"] = per_hour
        results["incremental_rollup_ms"] = round(statistics.median(hours), 1)

        load = work / "concurrent.csv"
        write_cdr_csv(load, args.concurrent_cdrs, end + timedelta(days=5), timedelta(days=1), "con")
        say(f"{args.sessions} sessions while importing {args.concurrent_cdrs:,} CDRs")
        stats, import_s, actions = concurrent_load(
            bench, load, args.sessions, args.think_ms / 1000, busiest
        )
        results["concurrent"] = stats
        results["concurrent_actions"] = actions
        results["concurrent_import_s"] = round(import_s, 1)
        results["concurrent_import_rows_per_s"] = round(args.concurrent_cdrs / import_s)
        results["concurrent_p95_ms"] = max(s["p95_ms"] for s in stats.values())

        # The hourly cron roll-up has run (prune rolls up whatever is still marked, in its
        # own transaction: here that would be the concurrent import's 1M CDRs, not the prune).
        results["rollup_after_import_s"] = round(rollups.rollup_incremental(bench.db).elapsed_s, 2)
        oldest = start.date()
        with bench.db.read() as session:
            before_prune = {p.name for p in partitions.existing(session.connection())}
        pruned = prune.prune_cdrs(bench.db, ACTOR, month_back(oldest, -1), force=True)
        assert pruned.partitions_dropped == [partitions.partition_name(oldest)], pruned
        assert partitions.partition_name(oldest) in before_prune
        results["prune_month_cdrs"] = pruned.removed
        results["prune_month_s"] = round(pruned.elapsed_s, 3)
    finally:
        folder.cleanup()
        if args.keep:
            bench.db.dispose()
            say(f"kept schema {bench.schema}")
        else:
            bench.drop()
    results["cpus"] = os.cpu_count()
    results["load_avg_1m"] = round(os.getloadavg()[0], 2)

    measures = [
        Measure(
            "copy_rows_per_s",
            results["copy_rows_per_s"],
            "rows/s",
            results["copy_floor_rows_per_s"],
            "bare psycopg binary COPY of the parsed rows into the partitioned cdr table",
            at_least(0.7),
        ),
        Measure(
            "copy_rows_per_s_vs_executemany",
            results["copy_rows_per_s"],
            "rows/s",
            results["executemany_rows_per_s"],
            "the former import: psycopg executemany in batches of 20,000",
            at_least(3),
        ),
        Measure(
            "summary_open_ms", results["summary_open_ms"], "ms", budget=at_most(150, on="value")
        ),
        Measure(
            "concurrent_p95_ms",
            results["concurrent_p95_ms"],
            "ms",
            budget=at_most(400, on="value"),
        ),
        Measure(
            "report_rows_per_s",
            results["report_rows_per_s"],
            "rows/s",
            budget=at_least(200_000, on="value"),
        ),
        Measure(
            "incremental_rollup_ms",
            results["incremental_rollup_ms"],
            "ms",
            budget=at_most(100, on="value"),
        ),
        Measure("prune_month_s", results["prune_month_s"], "s", budget=at_most(2, on="value")),
        Measure("audit_open_ms", results["audit_open_ms"], "ms"),
        Measure("mb_per_million", results["mb_per_million"], "MB"),
    ]
    write_report(
        "scale",
        measures,
        json_path=args.json,
        load_before=load_before,
        title=f"Carrier volume on PostgreSQL: {args.cdrs:,} CDRs, {CUSTOMERS} customers",
        extra=results,
    )
    for name, stat in results["concurrent"].items():
        print(
            f"  {name:<14} {stat['count']:>6} actions  p50 {stat['p50_ms']:>8.1f} ms  "
            f"p95 {stat['p95_ms']:>8.1f} ms  max {stat['max_ms']:>8.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
