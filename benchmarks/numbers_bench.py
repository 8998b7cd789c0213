"""Number blocks: allocation latency and the number picker's time to first rows.

    python benchmarks/numbers_bench.py [--db URL] [--allocations 100] [--used 50000] [--json PATH]

- allocate_ms: median of ``allocate_next_block`` over 100 allocations (each one write
  transaction with its audit entry), on a fresh database (SQLite in a temporary directory
  unless ``--db`` names another, e.g. an empty PostgreSQL database). Budget (issue 6): 20 ms.
- picker_ms: a customer whose only block holds 100,000 numbers, ``--used`` of them in use
  (every other number by default, the unused ones scattered across the whole block); median
  over 9 openings of the time from the service call that reads the used numbers to the first
  frame of the picker showing its first unused numbers (headless Textual, 80x24).
- the picker's floor, openings taking turns with the picker's in the same app: the raw SQL of the
  page of unused numbers through the bare driver (the customer's block, the count of used
  numbers in it, and the first 100 numbers of the block with no extension_number row: a
  recursive CTE and NOT EXISTS, sqlite3), then a bare modal of one Static listing them, painted.

Budgets (issue 21): picker_ms <= 2x its floor; allocate_ms <= 20 ms (absolute, issue 6: each
allocation is one write transaction with its fsync, whose cost is the disk's). Issue 6's
absolute 50 ms for the picker is no longer its budget. Writes the common form
(benchmarks/harness.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import Measure, at_most, bare_screen, load_average, open_screen_ms, report

BLOCK_SIZE = 100_000
PICKER_PAGE = 100
FLOOR_PAGE_SQL = """
WITH RECURSIVE candidate(number) AS (
    SELECT ? UNION ALL SELECT number + 1 FROM candidate WHERE number < ?
)
SELECT number FROM candidate
WHERE NOT EXISTS (SELECT 1 FROM extension_number AS used WHERE used.number = candidate.number)
LIMIT ?
"""


def measure_allocations(url: str, count: int) -> list[float]:
    from carriertui.store import customers, options
    from carriertui.store.context import Actor
    from carriertui.store.db.database import open_database
    from carriertui.store.enums import Role
    from carriertui.store.numbers import service as numbers

    db = open_database(url)
    actor = Actor(name="bench", role=Role.ADMIN, ip="127.0.0.1")
    options.set_options(db, actor, {"number_range_start": 1000, "block_size": 1000})
    customer = customers.create_customer(db, actor, {"name": "Allocation bench"}).id
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        numbers.allocate_next_block(db, actor, customer)
        samples.append((time.perf_counter() - started) * 1000)
    db.dispose()
    return samples


def prepare_picker(url: str, used: int) -> tuple[object, object, int]:
    from sqlalchemy import insert

    from carriertui.store import customers, options
    from carriertui.store.context import Actor
    from carriertui.store.db.database import open_database
    from carriertui.store.db.tables import ExtensionNumber
    from carriertui.store.db.types import utcnow
    from carriertui.store.enums import Role
    from carriertui.store.numbers import service as numbers

    db = open_database(url)
    actor = Actor(name="bench", role=Role.ADMIN, ip="127.0.0.1")
    options.set_options(db, actor, {"number_range_start": 1000, "block_size": BLOCK_SIZE})
    customer = customers.create_customer(db, actor, {"name": "Picker bench"}).id
    block = numbers.allocate_next_block(db, actor, customer)
    step = max(1, BLOCK_SIZE // max(used, 1))
    taken = list(range(block.range_start, block.range_end + 1, step))[:used]
    # Bulk Core insert (GUIDE section 3): only the picker's input, the used numbers, matters here.
    table = ExtensionNumber.__table__  # type: ignore[attr-defined]
    now = utcnow()
    with db.write() as session:
        session.connection().execute(
            insert(table),
            [
                {"number": n, "customer_id": customer, "kind": "conference", "created_at": now}
                for n in taken
            ],
        )
    return db, actor, customer


def floor_screen(path: Path | None, customer: int):  # type: ignore[no-untyped-def]
    """The picker's floor: its page of unused numbers by raw SQL (sqlite3), on a bare modal."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        first, last = connection.execute(
            "SELECT range_start, range_end FROM number_block WHERE customer_id = ? "
            "ORDER BY range_start LIMIT 1",
            (customer,),
        ).fetchone()
        (used,) = connection.execute(
            "SELECT count(*) FROM extension_number WHERE number BETWEEN ? AND ?", (first, last)
        ).fetchone()
        page = connection.execute(FLOOR_PAGE_SQL, (first, last, PICKER_PAGE)).fetchall()
    finally:
        connection.close()
    unused = last - first + 1 - used
    lines = [f"{unused:,} unused"] + [f"{number:>12}  {number % 100_000:05d}" for (number,) in page]
    return bare_screen("\n".join(lines))


async def measure_picker(
    db: object, actor: object, customer: int, repeats: int, path: Path | None
) -> tuple[list[float], list[float]]:
    from textual.app import App

    from carriertui.screens.customer.number_dialogs import NumberPickerScreen
    from carriertui.store.numbers import service as numbers
    from carriertui.widgets.grid import Grid
    from carriertui.widgets.grid.view import PAGE_SIZE

    css = Path(__file__).resolve().parents[1] / "carriertui" / "app.tcss"

    class PickerApp(App[None]):
        CSS_PATH = str(css)

    samples: list[float] = []
    floors: list[float] = []
    app = PickerApp()
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(repeats):
            if path is not None:
                floors.append(
                    await open_screen_ms(
                        app, lambda: floor_screen(path, customer), lambda screen: True
                    )
                )
                await pilot.pause()
            painted: list[float] = []
            started = time.perf_counter()
            source = await asyncio.to_thread(
                lambda: numbers.unused_numbers(db, actor, customer, prime="", prime_rows=PAGE_SIZE)
            )
            screen = NumberPickerScreen(source)
            await app.push_screen(screen)
            while not (screen.query(Grid) and screen.query_one(Grid).view.rows_ready):
                await asyncio.sleep(0.0005)
            screen.call_after_refresh(lambda painted=painted: painted.append(time.perf_counter()))
            screen.refresh()
            while not painted:
                await asyncio.sleep(0.0005)
            samples.append((painted[0] - started) * 1000)
            first = screen.query_one(Grid).view.row_at(0)
            assert first is not None and source.is_unused(first[0])
            await app.pop_screen()
            await pilot.pause()
    return samples, floors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an empty database URL (default: SQLite in a temp dir)")
    parser.add_argument("--allocations", type=int, default=100)
    parser.add_argument("--used", type=int, default=BLOCK_SIZE // 2)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="numbers-bench-") as home:
        os.environ["CARRIERTUI_HOME"] = home  # the audit key and chain head go here
        base = args.db
        allocate_url = base or f"sqlite:///{Path(home) / 'allocate.sqlite'}"
        allocations = measure_allocations(allocate_url, args.allocations)
        if base:
            from carriertui.store.db.database import open_database

            # the same database for the picker: drop the allocation run's blocks first
            from carriertui.store.db.tables import NumberBlock, Option

            db = open_database(base)
            with db.write() as session:
                session.connection().execute(NumberBlock.__table__.delete())  # type: ignore[attr-defined]
                session.connection().execute(Option.__table__.delete())  # type: ignore[attr-defined]
            db.dispose()
        picker_url = base or f"sqlite:///{Path(home) / 'picker.sqlite'}"
        db, actor, customer = prepare_picker(picker_url, args.used)
        # The floor's raw SQL needs the SQLite file (no floor on another database).
        floor_path = None if base else Path(home) / "picker.sqlite"
        picker, floors = asyncio.run(
            measure_picker(db, actor, customer, max(5, args.repeats), floor_path)
        )
        db.dispose()  # type: ignore[attr-defined]

    allocate_ms = statistics.median(allocations)
    picker_ms = statistics.median(picker)
    floor_ms = statistics.median(floors) if floors else None
    print(
        f"allocation min/max {min(allocations):.2f}/{max(allocations):.2f} ms; "
        f"picker runs: {', '.join(f'{s:.1f}' for s in picker)} ms; "
        f"floor runs: {', '.join(f'{s:.1f}' for s in floors) or '(PostgreSQL: none)'} ms"
    )
    report(
        "numbers",
        [
            Measure(
                "allocate_ms",
                allocate_ms,
                "ms",
                budget=at_most(20, on="value"),
            ),
            Measure(
                "picker_ms",
                picker_ms,
                "ms",
                floor_ms,
                "the page of unused numbers by raw SQL (block, used count, recursive CTE with "
                "NOT EXISTS, LIMIT 100) through sqlite3, on a bare modal of one Static, painted"
                if floor_ms is not None
                else "",
                at_most(2) if floor_ms is not None else at_most(50, on="value"),
            ),
        ],
        json_path=args.json,
        load_before=load_before,
        title=f"number blocks: {len(allocations)} allocations; picker over {BLOCK_SIZE:,} "
        f"numbers, {args.used:,} used",
        extra={"picker_runs_ms": [round(s, 1) for s in picker]},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
