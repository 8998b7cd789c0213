"""The grid on a big audit-like table: open, sort, filter, search, end, key, memory, export.

    python benchmarks/grid_bench.py --rows 1000000 [--db PATH] [--json PATH]

Builds an 8-column table (text, integer, timestamp, decimal) of N rows in SQLite (raw executemany,
indexes on the sortable columns, an FTS5 trigram search index; ``--db`` keeps it for the next
run), opens the grid headless at 120x40 and times, as medians over at least 5 repetitions, each
step to the new first frame with rows:

- open_ms: grid mounted -> first frame with rows
- sort_ms / filter_ms / search_ms: the query changed -> the new first frame with rows
- end_ms: G -> the last row painted
- key_ms: CPU (this thread: the app's event loop) per cursor-down near the last row
- rss_mb: peak resident memory of this process
- export_rows_per_s: CSV export of all N rows through the same row source, as the grid's Export
  writes it (iter_csv_cells and write_csv_cells); median of 3, taking turns with its floors
- datatable_vs_open: Textual's DataTable loading min(N, 100000) rows, over open_ms

The floors, measured in the same process and run (issue 21; benchmarks/README.md says why):
open/sort/filter/search/end: the step's SQL written by hand (the first page in keyset order and
the count; the search's FTS5 match, LIKE and count) run through the bare sqlite3 driver, plus one
bare Textual frame; export: the slower of sqlite3 fetching every row and csv.writer writing rows
from a list of tuples.

Budgets (issue 21): open/sort/filter/search/end <= 2x their floor, export >= 0.6x its floor,
DataTable >= 300x open; absolute: key <= 10 ms, rss <= 200 MB (at N = 1,000,000).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import Measure, at_least, at_most, bare_frame_ms, load_average, median_ms, report
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


async def measure_datatable(rows: int, repeats: int = 3) -> float:
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
    for _ in range(max(1, repeats)):
        app = TableApp()
        async with app.run_test(size=SIZE) as pilot:
            table = app.query_one(DataTable)
            started = time.perf_counter()
            table.add_columns("Date", "User", "IP", "Action", "Table", "Key", "Amount", "Message")
            table.add_rows(data)
            await pilot.pause()
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


# -- the floors: the same work with no carriertui code in the way (issue 21) ------------------

PAGE = 100  # the grid's PAGE_SIZE
EXPORT_ROUNDS = 3
SQL_COLUMNS = "id, " + ", ".join(column.key for column in COLUMNS)
SEARCH = "invoice 4"


def _floor_search_where() -> tuple[str, list[str]]:
    """The search step's WHERE: the filter, the FTS5 trigram match for the candidates and the
    LIKE that decides (the row source's conditions, written by hand)."""
    grams = list(dict.fromkeys(SEARCH[i : i + 3] for i in range(len(SEARCH) - 2)))
    step = (len(grams) - 1) / 4
    grams = [grams[round(i * step)] for i in range(5)] if len(grams) > 5 else grams
    match = " AND ".join(f'"{gram}"' for gram in grams)
    searchable = [column.key for column in COLUMNS if column.is_searchable]
    likes = " OR ".join(f"{key} LIKE ? ESCAPE '\\'" for key in searchable)
    where = (
        f"action IN ('LOGIN', 'SEND') AND id IN (SELECT rowid FROM {SEARCH_TABLE} "
        f"WHERE {SEARCH_TABLE} MATCH ?) AND ({likes})"
    )
    return where, [match] + [f"%{SEARCH}%"] * len(searchable)


def measure_sql_floors(path: Path) -> dict[str, float]:
    """Each grid step's SQL through the bare sqlite3 driver, in ms (median of 7): the first page
    (keyset order, LIMIT 100) and the count the grid shows, one after the other."""
    table = entries.name
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    search_where, search_parameters = _floor_search_where()

    def run(sql: str, parameters: Sequence[object] = ()) -> Callable[[], object]:
        return lambda: connection.execute(sql, parameters).fetchall()

    steps = {
        "open_ms": [
            run(f"SELECT {SQL_COLUMNS} FROM {table} ORDER BY id LIMIT {PAGE}"),
            run(f"SELECT count(*) FROM {table}"),
        ],
        "sort_ms": [
            run(f"SELECT {SQL_COLUMNS} FROM {table} ORDER BY amount DESC, id DESC LIMIT {PAGE}"),
            run(f"SELECT count(*) FROM {table}"),
        ],
        "filter_ms": [
            run(
                f"SELECT {SQL_COLUMNS} FROM {table} WHERE action IN ('LOGIN', 'SEND') "
                f"ORDER BY amount DESC, id DESC LIMIT {PAGE}"
            ),
            run(f"SELECT count(*) FROM {table} WHERE action IN ('LOGIN', 'SEND')"),
        ],
        "search_ms": [
            # The candidates are few: sorted from them (+: no index drives the order).
            run(
                f"SELECT {SQL_COLUMNS} FROM {table} WHERE {search_where} "
                f"ORDER BY +amount DESC, +id DESC LIMIT {PAGE}",
                search_parameters,
            ),
            run(f"SELECT count(*) FROM {table} WHERE {search_where}", search_parameters),
        ],
        # G: the count is known; the last page is read backwards from the end of the index.
        "end_ms": [
            run(f"SELECT {SQL_COLUMNS} FROM {table} ORDER BY created_at DESC, id DESC LIMIT {PAGE}")
        ],
    }
    try:
        return {name: sum(median_ms(query) for query in queries) for name, queries in steps.items()}
    finally:
        connection.close()


def measure_export_floors(path: Path, rows: int, folder: Path) -> tuple[float, float]:
    """(read floor, format floor) in rows/s: the bare driver fetching every row in 5000-row
    batches, and csv.writer writing rows from a list of tuples (the first 200,000 of the same
    rows, fetched beforehand) to a file in the same folder."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        started = time.perf_counter()
        cursor = connection.execute(f"SELECT {SQL_COLUMNS} FROM {entries.name} ORDER BY id")
        fetched = 0
        while batch := cursor.fetchmany(5000):
            fetched += len(batch)
        read = fetched / (time.perf_counter() - started)
        sample = connection.execute(
            f"SELECT {SQL_COLUMNS} FROM {entries.name} ORDER BY id LIMIT 200000"
        ).fetchall()
    finally:
        connection.close()
    target = folder / "floor.csv"
    started = time.perf_counter()
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(SQL_COLUMNS.split(", "))
        writer.writerows(sample)
        handle.flush()
        os.fsync(handle.fileno())
    write = len(sample) / (time.perf_counter() - started)
    target.unlink()
    assert fetched == rows, (fetched, rows)
    return read, write


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
        "--datatable-repeats", type=int, default=3, help="loads of Textual's DataTable (median)"
    )
    parser.add_argument(
        "--audit",
        action="store_true",
        help="measure the real audit_entry table through audit.grid_source (account-wide log, "
        "newest first, as the Audit Log screen opens it; no floors)",
    )
    args = parser.parse_args()
    load_before = load_average()
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or Path(folder) / "bench.sqlite"
        built = 0.0
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
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
        # The floors first, in the same process: the database file is in the OS cache by then
        # for both (the grid's first open reads it too).
        frame = bare_frame_ms(SIZE)
        sql = {} if args.audit else measure_sql_floors(path)
        grid = asyncio.run(measure_grid(source, **measuring))
        # The export and its floors take turns (EXPORT_ROUNDS each, medians), so a burst of
        # load from another job falls on both.
        exports, reads, writes = [], [], []
        rss_mb = 0.0
        for _ in range(EXPORT_ROUNDS):
            exports.append(measure_export(source, rows, Path(folder)))
            if not rss_mb:
                # Peak memory of the grid and the export, read before the floors' list of rows
                # and the DataTable baseline load their rows into this same process.
                rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            if not args.audit:
                read, write = measure_export_floors(path, rows, Path(folder))
                reads.append(read)
                writes.append(write)
        export = statistics.median(exports)
        read_floor = statistics.median(reads) if reads else None
        write_floor = statistics.median(writes) if writes else None
        baseline = asyncio.run(measure_datatable(rows, args.datatable_repeats))
        db.dispose()
    one_frame = f"; + one bare Textual frame ({frame:.1f} ms: a screenful of text in a Static)"
    sql_is = {
        "open_ms": "first page by key + count(*), sqlite3",
        "sort_ms": "first page by the amount index + count(*), sqlite3",
        "filter_ms": "first page under action IN (..) + its count, sqlite3",
        "search_ms": "FTS5 trigram match, LIKE, first page + count, sqlite3",
        "end_ms": "the last page, read backwards from the index's end, sqlite3",
    }
    measures = []
    for key in ("open_ms", "sort_ms", "filter_ms", "search_ms", "end_ms"):
        floor = sql.get(key)
        measures.append(
            Measure(
                key,
                grid[key],
                "ms",
                None if floor is None else floor + frame,
                f"{sql_is[key]}{one_frame}" if floor is not None else "",
                at_most(2) if floor is not None else at_most(150, on="value"),
            )
        )
    measures += [
        Measure("key_ms", grid["key_ms"], "ms", budget=at_most(10, on="value")),
        Measure("rss_mb", rss_mb, "MB", budget=at_most(200, on="value")),
    ]
    slower = None if read_floor is None or write_floor is None else min(read_floor, write_floor)
    measures.append(
        Measure(
            "export_rows_per_s",
            export,
            "rows/s",
            slower,
            (
                f"the slower of sqlite3 fetching every row ({read_floor:,.0f} rows/s) and "
                f"csv.writer writing 200k of them from a list of tuples ({write_floor:,.0f} rows/s)"
            )
            if slower is not None
            else "",
            at_least(0.6) if slower is not None else at_least(250_000, on="value"),
        )
    )
    measures.append(
        Measure(
            "datatable_vs_open",
            baseline,
            "ms",
            grid["open_ms"],
            f"value: Textual's DataTable loading {min(rows, 100_000):,} rows; floor: our open_ms",
            at_least(300),
        )
    )
    report(
        "grid",
        measures,
        json_path=args.json,
        load_before=load_before,
        title=f"grid benchmark: {rows:,} rows"
        + (f" (built in {built:.1f} s)" if built else "")
        + (" (audit_entry)" if args.audit else ""),
        extra={
            "rows": rows,
            "frame_ms": round(frame, 2),
            "sql_floor_ms": {key: round(value, 2) for key, value in sql.items()},
            "export_read_floor_rows_per_s": None if read_floor is None else round(read_floor),
            "export_format_floor_rows_per_s": None if write_floor is None else round(write_floor),
            "baseline_datatable_open_ms": round(baseline, 1),
        },
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TEXTUAL", "")
    raise SystemExit(main())
