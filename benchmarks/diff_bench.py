"""View Difference: time to open the modal for a record of 200 fields.

    python benchmarks/diff_bench.py [--fields 200] [--json PATH]

Median over at least 5 openings, from push_screen to the first frame showing the changed-fields
grid with its rows (headless, 120x40). Budget (issue 4): <= 50 ms. Writes {"diff_open_ms": ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.app import App

from carriertui.screens.audit import DiffScreen
from carriertui.store.audit import AuditRecord
from carriertui.widgets.grid import Grid


def record(fields: int) -> AuditRecord:
    before = {f"field_{i:03d}": f"value {i}" for i in range(fields)}
    before["nested"] = {"list": list(range(20)), "notes": {"public": "a", "private": "b"}}
    after = dict(before)
    for i in range(0, fields, 4):  # a quarter of the fields change
        after[f"field_{i:03d}"] = f"new value {i}"
    after["nested"] = {"list": list(range(19)), "notes": {"public": "a2", "private": "b"}}
    return AuditRecord(
        id=1,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        actor="alice",
        ip="10.0.0.1",
        action="UPDATE",
        verb="PUT",
        table="customer",
        primary_key="1",
        customer_id=1,
        message="Customer updated",
        comment=None,
        before=before,
        after=after,
    )


async def measure(fields: int, repeats: int) -> list[float]:
    """From push_screen to the first refresh after the changed-fields grid has its rows."""
    entry = record(fields)
    samples: list[float] = []
    app = App()
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(repeats):
            painted: list[float] = []
            started = time.perf_counter()
            screen = DiffScreen(entry)
            await app.push_screen(screen)
            while not (screen.query(Grid) and screen.query_one(Grid).view.rows_ready):
                await asyncio.sleep(0.0005)
            screen.call_after_refresh(lambda painted=painted: painted.append(time.perf_counter()))
            screen.refresh()
            while not painted:
                await asyncio.sleep(0.0005)
            samples.append((painted[0] - started) * 1000)
            await app.pop_screen()
            await pilot.pause()
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    samples = asyncio.run(measure(args.fields, max(5, args.repeats)))
    median = statistics.median(samples)
    print(f"View Difference, {args.fields} fields: open (ms) per run")
    for index, sample in enumerate(samples, 1):
        print(f"{index:>4}  {sample:8.1f}")
    print(f"median {median:7.1f}   (budget 50, {'OK' if median <= 50 else 'OVER'})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"diff_open_ms": round(median, 2)}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
