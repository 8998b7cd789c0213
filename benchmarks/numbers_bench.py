"""Number blocks: allocation latency and the number picker's time to first rows.

    python benchmarks/numbers_bench.py [--db URL] [--allocations 100] [--used 50000] [--json PATH]

- allocate_ms: median of ``allocate_next_block`` over 100 allocations (each one write
  transaction with its audit entry), on a fresh database (SQLite in a temporary directory
  unless ``--db`` names another, e.g. an empty PostgreSQL database). Budget (issue 6): 20 ms.
- picker_ms: a customer whose only block holds 100,000 numbers, ``--used`` of them in use
  (every other number by default, the unused ones scattered across the whole block); median
  over 9 openings of the time from the service call that reads the used numbers to the first
  frame of the picker showing its first unused numbers (headless Textual, 80x24). Budget: 50 ms.

Prints a table and writes {"allocate_ms": ..., "picker_ms": ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BLOCK_SIZE = 100_000


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


async def measure_picker(db: object, actor: object, customer: int, repeats: int) -> list[float]:
    from textual.app import App

    from carriertui.screens.numbers import NumberPickerScreen
    from carriertui.store.numbers import service as numbers
    from carriertui.widgets.grid import Grid
    from carriertui.widgets.grid.view import PAGE_SIZE

    css = Path(__file__).resolve().parents[1] / "carriertui" / "app.tcss"

    class PickerApp(App[None]):
        CSS_PATH = str(css)

    samples: list[float] = []
    app = PickerApp()
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(repeats):
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
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an empty database URL (default: SQLite in a temp dir)")
    parser.add_argument("--allocations", type=int, default=100)
    parser.add_argument("--used", type=int, default=BLOCK_SIZE // 2)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

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
        picker = asyncio.run(measure_picker(db, actor, customer, max(5, args.repeats)))
        db.dispose()  # type: ignore[attr-defined]

    allocate_ms = statistics.median(allocations)
    picker_ms = statistics.median(picker)
    print(f"{'measure':<44} {'median ms':>10} {'budget':>7}")
    print(
        f"{f'allocate_next_block ({len(allocations)} allocations)':<44} "
        f"{allocate_ms:>10.2f} {20:>7}  {'OK' if allocate_ms <= 20 else 'OVER'}"
    )
    print(
        f"{f'picker first rows ({BLOCK_SIZE:,} numbers, {args.used:,} used)':<44} "
        f"{picker_ms:>10.2f} {50:>7}  {'OK' if picker_ms <= 50 else 'OVER'}"
    )
    print(
        f"allocation min/max {min(allocations):.2f}/{max(allocations):.2f} ms; "
        f"picker runs: {', '.join(f'{s:.1f}' for s in picker)} ms"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        result = {"allocate_ms": round(allocate_ms, 2), "picker_ms": round(picker_ms, 2)}
        args.json.write_text(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
