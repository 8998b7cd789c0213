"""The grid on a big audit-like table: open, sort, filter, search, end, key, memory, export.

    python benchmarks/grid_bench.py --rows 1000000 --json benchmarks/results/grid.json

Builds an 8-column table (text, integer, timestamp, decimal) of N rows in SQLite (raw executemany,
indexes on the sortable columns, an FTS5 trigram search index), opens the grid headless at 120x40
and times, as medians over at least 5 repetitions, each step to the new first frame with rows:

- open_ms: grid mounted -> first frame with rows
- sort_ms / filter_ms / search_ms: the query changed -> the new first frame with rows
- end_ms: G -> the last row painted
- key_ms: CPU (this thread: the app's event loop) per cursor-down near the last row
- rss_mb: peak resident memory of this process
- export_rows_per_s: CSV export of all N rows through the same row source, as the grid's Export
  writes it (iter_csv_cells and write_csv_cells)
- baseline_datatable_open_ms: Textual's DataTable loading min(N, 100000) rows, for comparison

Budgets at N = 1,000,000 (issue 3): open/sort/filter/search/end <= 150 ms, key <= 10 ms,
rss <= 200 MB, export >= 250,000 rows/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from carriertui.grid.export import write_csv_cells
from carriertui.grid.model import Column as GridColumn
from carriertui.grid.model import ColumnType, Filter, Query, SortKey
from carriertui.store.db.database import Database, open_database
from carriertui.store.db.rowsource import SqlRowSource, TrigramIndex
from carriertui.store.db.types import FixedDecimal, UTCDateTime
from carriertui.widgets.grid import Grid

SIZE = (120, 40)
REPEATS = 5
ACTORS = ["alice", "bob", "carol", "dave", "erin", "API", "Portal", "frank"]
ACTIONS = ["CREATE", "UPDATE", "DELETE", "LOGIN", "SEND", "GENERATE", "PUT", "POST"]
TABLES = ["customer", "contact", "number_block", "invoice", "operator", "option"]

metadata = MetaData()
entries = Table(
    "bench_audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("actor", String(32), nullable=False),
    Column("ip", String(40), nullable=False),
    Column("action", String(16), nullable=False),
    Column("table_name", String(32), nullable=False),
    Column("primary_key", BigInteger, nullable=False),
    Column("amount", FixedDecimal, nullable=False),
    Column("message", Text, nullable=False),
)
# Every sortable column is indexed (GUIDE section 3: OFFSET on an unindexed sort is 0.2-3 s).
INDEXED = ("created_at", "actor", "ip", "action", "table_name", "primary_key", "amount")
SEARCH_TABLE = "bench_audit_search"
COLUMNS = (
    GridColumn("created_at", "Date / Time (UTC)", ColumnType.TIMESTAMP),
    GridColumn("actor", "User", width=8),
    GridColumn("ip", "IP", width=15),
    GridColumn("action", "Action", width=8),
    GridColumn("table_name", "Table", width=12),
    GridColumn("primary_key", "Key", ColumnType.INTEGER, width=9),
    GridColumn("amount", "Amount", ColumnType.DECIMAL, width=10),
    GridColumn("message", "Message", width=40),
)


def build(path: Path, rows: int) -> None:
    """Raw executemany in one transaction (about 1M rows in a few seconds), then the indexes."""
    db = Database(f"sqlite:///{path}")
    entries.create(db.engine)  # indexes come after the rows: faster than keeping them up
    db.dispose()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rng = random.Random(42)

    def generate():
        for i in range(1, rows + 1):
            moment = start + timedelta(seconds=i * 17)
            yield (
                i,
                moment.strftime("%Y-%m-%d %H:%M:%S.000000"),
                rng.choice(ACTORS),
                f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                rng.choice(ACTIONS),
                rng.choice(TABLES),
                rng.randint(1, 500_000),
                rng.randint(-5_000_000, 50_000_000),  # FixedDecimal: 4 places
                f"{rng.choice(TABLES)} {rng.randint(1, 99999)} changed: field {rng.randint(1, 40)}",
            )

    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    connection.executemany(
        f"INSERT INTO {entries.name} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", generate()
    )
    connection.commit()
    for column in INDEXED:
        connection.execute(f"CREATE INDEX ix_{column} ON {entries.name} ({column})")
    # The search index a big searchable table gets (as the audit table has since schema 4,
    # carriertui/store/audit_search.py): the searchable columns' texts in an FTS5 trigram table.
    # The table never changes here, so no triggers keep it.
    document = " || ' ' || ".join(column.key for column in COLUMNS if column.is_searchable)
    connection.execute(
        f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5(document, content='', "
        "tokenize='trigram', detail='none')"
    )
    connection.execute(
        f"INSERT INTO {SEARCH_TABLE} (rowid, document) SELECT id, {document} FROM {entries.name}"
    )
    connection.execute("ANALYZE")
    connection.commit()
    connection.close()


class GridApp(App[None]):
    def __init__(self, source: SqlRowSource, query: Query | None = None) -> None:
        super().__init__()
        self.source = source
        self.initial_query = query
        self.mounted_at = 0.0

    def compose(self) -> ComposeResult:
        yield Grid(self.source, query=self.initial_query, id="grid")

    def on_mount(self) -> None:
        self.mounted_at = time.perf_counter()
        self.query_one(Grid).focus()


async def until(pilot, predicate, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the grid did not answer in time")
        await asyncio.sleep(0.001)
    await pilot.pause()  # the frame with the rows is painted


async def time_query(pilot, grid: Grid, query: Query) -> float:
    view = grid.view
    before = view.generation
    started = time.perf_counter()
    view.set_query(query)
    await until(pilot, lambda: view.generation > before and view.rows_ready)
    elapsed = time.perf_counter() - started
    await until(pilot, lambda: view.loaded)  # let the count land before the next step
    return elapsed * 1000


async def measure_grid(
    source: SqlRowSource, *, sort_key: str = "amount", initial: Query | None = None
) -> dict[str, float]:
    results: dict[str, list[float]] = {
        k: [] for k in ("open_ms", "sort_ms", "filter_ms", "search_ms", "end_ms", "key_ms")
    }
    for _ in range(REPEATS):
        source.refresh()
        app = GridApp(source, initial)
        async with app.run_test(size=SIZE) as pilot:
            grid = app.query_one(Grid)
            view = grid.view
            await until(pilot, lambda: view.rows_ready)
            results["open_ms"].append((time.perf_counter() - app.mounted_at) * 1000)
            await until(pilot, lambda: view.loaded)
            results["sort_ms"].append(
                await time_query(pilot, grid, Query(sort=(SortKey(sort_key, descending=True),)))
            )
            sorted_query = view.query
            results["filter_ms"].append(
                await time_query(
                    pilot,
                    grid,
                    sorted_query.with_filter(
                        Filter("action", values=frozenset({"LOGIN", "SEND"})), "action"
                    ),
                )
            )
            results["search_ms"].append(
                await time_query(pilot, grid, replace(view.query, search="invoice 4"))
            )
            await time_query(pilot, grid, Query(sort=(SortKey("created_at"),)))
            started = time.perf_counter()
            await pilot.press("G")
            last = view.row_count - 1
            await until(pilot, lambda: view.cursor[0] == last and view.row_at(last) is not None)
            results["end_ms"].append((time.perf_counter() - started) * 1000)
            view.move_cursor(max(0, last - 60))
            await until(pilot, lambda: view.rows_ready and view.row_at(view.cursor[0]) is not None)
            presses = 40
            cpu = 0.0
            for _ in range(presses):
                begin = time.thread_time()
                await pilot.press("down")
                cpu += time.thread_time() - begin
            results["key_ms"].append(cpu / presses * 1000)
    return {key: statistics.median(values) for key, values in results.items()}


def measure_export(source: SqlRowSource, rows: int, folder: Path) -> float:
    target = folder / "export.csv"
    started = time.perf_counter()
    # The grid's Export: cells straight from the source (grid/container.py, export).
    written = write_csv_cells(target, source.columns, source.iter_csv_cells(Query()))
    elapsed = time.perf_counter() - started
    assert written == rows, (written, rows)
    target.unlink()
    return written / elapsed


async def measure_datatable(rows: int) -> float:
    count = min(rows, 100_000)
    data = [
        (
            f"2025-01-01 00:00:{i % 60:02d}",
            "alice",
            "10.0.0.1",
            "UPDATE",
            "customer",
            i,
            "1.00",
            "customer changed",
        )
        for i in range(count)
    ]

    class TableApp(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable()

    samples = []
    for _ in range(3):
        app = TableApp()
        async with app.run_test(size=SIZE) as pilot:
            table = app.query_one(DataTable)
            started = time.perf_counter()
            table.add_columns("Date", "User", "IP", "Action", "Table", "Key", "Amount", "Message")
            table.add_rows(data)
            await pilot.pause()
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def build_audit(path: Path, rows: int) -> None:
    """N entries in the real audit_entry table (schema, indexes and append-only triggers as the
    app creates them), written with raw executemany. The entries carry no MAC: this measures the
    grid, not the chain (``audit verify`` would reject them)."""
    open_database(f"sqlite:///{path}").dispose()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rng = random.Random(7)

    def generate():
        for i in range(1, rows + 1):
            table = rng.choice(TABLES)
            key = rng.randint(1, 99999)
            before = f'{{"account_code": "ACC-{key}", "channels": {rng.randint(1, 500)}}}'
            yield (
                (start + timedelta(seconds=i * 17)).strftime("%Y-%m-%d %H:%M:%S.000000"),
                rng.choice(ACTORS),
                f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                rng.choice(ACTIONS),
                rng.choice(["GET", "POST", "PUT", "DELETE"]),
                table,
                str(key),
                rng.randint(1, 200),
                f"{table} {key} changed: field {rng.randint(1, 40)}",
                before,
                before.replace("channels", "channel_limit"),
                i,
            )

    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    connection.executemany(
        "INSERT INTO audit_entry (created_at, actor, ip, action, verb, table_name, primary_key,"
        " customer_id, message, before_json, after_json, seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        generate(),
    )
    connection.execute("ANALYZE")
    connection.commit()
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--db", type=Path, help="reuse (or build) the benchmark database here")
    parser.add_argument(
        "--audit",
        action="store_true",
        help="measure the real audit_entry table through audit.grid_source (account-wide log, "
        "newest first, as the Audit Log screen opens it)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or Path(folder) / "bench.sqlite"
        built = 0.0
        if not path.exists():
            started = time.perf_counter()
            (build_audit if args.audit else build)(path, args.rows)
            built = time.perf_counter() - started
        # The audit table as the app opens it: a database built by an older carriertui is
        # migrated first (schema 4 adds the search index; that takes a while at 1M entries).
        db = open_database(f"sqlite:///{path}") if args.audit else Database(f"sqlite:///{path}")
        if args.audit:
            from carriertui.screens.audit import NEWEST_FIRST
            from carriertui.store import audit
            from carriertui.store.context import Actor
            from carriertui.store.enums import Role

            source = audit.grid_source(db, Actor("bench", Role.VIEWER, "127.0.0.1"))
            measuring = {"sort_key": "table_name", "initial": NEWEST_FIRST}
        else:
            source = SqlRowSource(
                db,
                name="audit-log",
                columns=COLUMNS,
                selectable=entries,
                expressions={column.key: entries.c[column.key] for column in COLUMNS},
                key=entries.c.id,
                search_index=TrigramIndex(sqlite_table=SEARCH_TABLE),
            )
            measuring = {}
        rows = source.total()
        grid = asyncio.run(measure_grid(source, **measuring))
        export = measure_export(source, rows, Path(folder))
        # Peak memory of the grid and the export, read before the DataTable baseline loads its
        # rows into this same process.
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        baseline = asyncio.run(measure_datatable(rows))
        db.dispose()
    results = {
        "rows": rows,
        **{key: round(value, 2) for key, value in grid.items()},
        "rss_mb": round(rss_mb, 1),
        "export_rows_per_s": round(export),
        "baseline_datatable_open_ms": round(baseline, 1),
    }
    budgets = {
        "open_ms": ("<=", 150),
        "sort_ms": ("<=", 150),
        "filter_ms": ("<=", 150),
        "search_ms": ("<=", 150),
        "end_ms": ("<=", 150),
        "key_ms": ("<=", 10),
        "rss_mb": ("<=", 200),
        "export_rows_per_s": (">=", 250_000),
    }
    print(f"grid benchmark: {rows:,} rows" + (f" (built in {built:.1f} s)" if built else ""))
    print(f"{'measure':<28}{'value':>14}  budget")
    for key, value in results.items():
        if key == "rows":
            continue
        rule = budgets.get(key)
        verdict = ""
        if rule:
            op, limit = rule
            ok = value <= limit if op == "<=" else value >= limit
            verdict = f"{op} {limit:,}  {'OK' if ok else 'OVER'}"
        print(f"{key:<28}{value:>14,}  {verdict}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TEXTUAL", "")
    raise SystemExit(main())
