"""A day's CDR report alone: export_cdr_report of one customer's day, rows/s (issue 16).

    python benchmarks/report_bench.py --rows 200000 [--pg postgresql://...] [--json PATH]

Builds, in a fresh SQLite file (or, with ``--pg``, a schema of its own in that database,
``report_bench_<pid>``, dropped at the end), carriertui's schema with one customer whose
``--rows`` CDRs fall on one UTC day (plus a few on the days around it, which the report leaves
out), written with the bare driver. Half the numbers start with ``+`` (E.164 as switches write
them), so the formula guard has work to do. Then, taking turns ``--rounds`` times (medians):

- report_rows_per_s: ``export_cdr_report`` of that day to a file (what ``carriertui cdr export``
  and the Summary's report button run);
- the floors, for information: the bare driver fetching the same rows, same SQL order, in
  5000-row batches (the read floor), and ``csv.writer.writerows`` of those rows from a list of
  tuples to a file (the format floor); the ratio is to the slower of the two.

Budget: issue 16's absolute >= 200,000 rows/s (scale_bench.py measures it at carrier volume on
PostgreSQL; this script measures the export alone, quickly, on either backend).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import Measure, at_least, load_average, report

from carriertui.store import customers
from carriertui.store.cdrs import importer as cdrs
from carriertui.store.cdrs.fields import _INSERT_COLUMNS
from carriertui.store.context import Actor
from carriertui.store.db import partitions
from carriertui.store.db.database import Database, open_database
from carriertui.store.enums import Role

ACTOR = Actor(name="bench", role=Role.ADMIN, ip="127.0.0.1")
DAY = date(2026, 3, 10)
DESTINATIONS = ["United Kingdom - Mobile", "Germany - Fixed", "United States", "India - Mobile"]


def generate(customer: int, rows: int, postgres: bool) -> list[tuple[Any, ...]]:
    """The day's rows (and 1% more on the days either side), as the bare driver stores them."""
    rng = random.Random(16)
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    step = timedelta(days=1) / rows
    moments = [start + step * n for n in range(rows)]
    moments += [start - timedelta(hours=1 + n) for n in range(rows // 200)]
    moments += [start + timedelta(days=1, hours=n) for n in range(rows // 200)]
    out = []
    for n, moment in enumerate(moments):
        duration = rng.randint(1, 600) if rng.random() >= 0.45 else 0
        out.append(
            (
                f"rb-{rng.getrandbits(128):032x}",
                customer,
                moment if postgres else moment.strftime("%Y-%m-%d %H:%M:%S.%f"),
                "442079460000" if n % 2 else "+442079460000",
                f"{'+' if n % 2 else ''}49301{n % 100000:05d}",
                DESTINATIONS[n % 4],
                duration,
                duration + 6 if duration else 0,
                200 if duration else 486,
                "Normal Clearing" if duration else "User Busy",
                rng.randint(800, 3800),
                duration * 17,  # FixedDecimal: 4 places, stored scaled
                duration * 12,
                "outbound",
                "192.0.2.10",
            )
        )
    return out


class Target:
    """The database the report reads: a SQLite file, or a schema of its own on PostgreSQL."""

    def __init__(self, pg: str | None, folder: Path) -> None:
        self.pg = pg
        self.schema = f"report_bench_{os.getpid()}"
        if pg:
            admin = Database(pg)
            with admin.engine.connect() as connection:
                connection.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
                connection.commit()
            admin.dispose()
            self.db = open_database(pg, connect_args={"options": f"-csearch_path={self.schema}"})
        else:
            self.path = folder / "report.sqlite"
            self.db = open_database(f"sqlite:///{self.path}")

    def fill(self, rows: list[tuple[Any, ...]]) -> None:
        columns = ", ".join(_INSERT_COLUMNS)
        if self.pg:
            partitions.ensure_months(self.db.engine, [date(2026, month, 1) for month in (2, 3, 4)])
            with self.db.engine.connect() as connection:
                driver = connection.connection.driver_connection
                cursor = driver.cursor()
                with cursor.copy(f"COPY cdr ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute("ANALYZE cdr")
                cursor.close()
                driver.commit()  # the driver's own transaction (SQLAlchemy began none)
            return
        connection = sqlite3.connect(self.path)
        marks = ", ".join("?" * len(_INSERT_COLUMNS))
        connection.executemany(f"INSERT INTO cdr ({columns}) VALUES ({marks})", rows)
        connection.execute("ANALYZE")
        connection.commit()
        connection.close()

    def floors(self, customer: int, folder: Path) -> tuple[float, float]:
        """(read, format) rows/s: the bare driver fetching the report's rows in its order, and
        csv.writer writing them from a list of tuples."""
        start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
        names = list(_INSERT_COLUMNS)  # the report's columns (the customer's id for its code)
        sql = (
            f"SELECT {', '.join(names)} FROM cdr WHERE customer_id = {customer} "
            "AND start_time >= {0} AND start_time < {1} ORDER BY start_time, id"
        )
        if self.pg:
            raw = self.db.engine.raw_connection()
            connection: Any = raw.driver_connection
            cursor = connection.cursor(name="floor")  # a server-side cursor, as the export's
            statement = sql.format("%s", "%s")
            parameters: tuple[Any, ...] = (start, start + timedelta(days=1))
        else:
            connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            cursor = connection.cursor()
            statement = sql.format("?", "?")
            parameters = tuple(
                moment.strftime("%Y-%m-%d %H:%M:%S.%f") for moment in (start, start + timedelta(1))
            )
        try:
            started = time.perf_counter()
            cursor.execute(statement, parameters)
            fetched: list[Any] = []
            while batch := cursor.fetchmany(5000):
                fetched += batch
            read = len(fetched) / (time.perf_counter() - started)
        finally:
            cursor.close()
            connection.close()
        target = folder / "floor.csv"
        started = time.perf_counter()
        with target.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(names)
            writer.writerows(fetched)
            handle.flush()
            os.fsync(handle.fileno())
        written = len(fetched) / (time.perf_counter() - started)
        target.unlink()
        return read, written

    def close(self) -> None:
        self.db.dispose()
        if self.pg:
            admin = Database(self.pg)
            with admin.engine.connect() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
                connection.commit()
            admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="the day's CDRs")
    parser.add_argument("--pg", help="a PostgreSQL database (a schema of its own is made there)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    load_before = load_average()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        target = Target(args.pg, folder)
        try:
            customer = customers.create_customer(
                target.db, ACTOR, {"name": "Busy", "account_code": "BUSY", "currency": "EUR"}
            ).id
            started = time.perf_counter()
            target.fill(generate(customer, args.rows, bool(args.pg)))
            built = time.perf_counter() - started
            rates, reads, writes = [], [], []
            for _ in range(args.rounds):
                began = time.perf_counter()
                exported = cdrs.export_cdr_report(
                    target.db, ACTOR, customer, "daily", DAY, folder / "report.csv"
                )
                rates.append(exported.rows / (time.perf_counter() - began))
                assert exported.rows == args.rows, (exported.rows, args.rows)
                read, write = target.floors(customer, folder)
                reads.append(read)
                writes.append(write)
        finally:
            target.close()
    read_floor, write_floor = statistics.median(reads), statistics.median(writes)
    backend = "PostgreSQL" if args.pg else "SQLite"
    report(
        "report",
        [
            Measure(
                "report_rows_per_s",
                statistics.median(rates),
                "rows/s",
                min(read_floor, write_floor),
                f"the slower of the bare driver fetching the rows ({read_floor:,.0f} rows/s) "
                f"and csv.writer writing them from a list of tuples ({write_floor:,.0f} rows/s)",
                at_least(200_000, on="value"),
            )
        ],
        json_path=args.json,
        load_before=load_before,
        title=f"CDR report benchmark: a day of {args.rows:,} CDRs on {backend} "
        f"(built in {built:.1f} s)",
        extra={"rows": args.rows, "backend": backend},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
