"""View Difference: time to open the modal for a record of 200 fields, against its floor.

    python benchmarks/diff_bench.py [--fields 200] [--json benchmarks/results/diff_bench.json]

- diff_open_ms: from the entry's two JSON documents (as the audit table stores them) to the
  first frame of the modal showing the changed-fields grid with its rows: json.loads of both,
  DiffScreen pushed, painted (headless, 120x40). Median over at least 5 openings.
- the floor, in the same app and run, openings taking turns with the measure's: the same two
  documents parsed, a plain difflib pass over their key-sorted JSON lines (SequenceMatcher
  opcodes), and a bare modal screen of one Static showing a screenful of the changed lines, painted.

Budget (issue 21): diff_open_ms <= 3x its floor (issue 4's absolute 50 ms is no longer the
budget). Writes the common form (benchmarks/harness.py).
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import Measure, at_most, bare_screen, load_average, open_screen_ms, report
from textual.app import App

from carriertui.screens.audit import DiffScreen
from carriertui.store.audit import AuditRecord
from carriertui.widgets.grid import Grid

SIZE = (120, 40)
SCREEN_LINES = SIZE[1]


def documents(fields: int) -> tuple[str, str]:
    """The before and after JSON of a record of ``fields`` fields, a quarter of them changed."""
    before: dict[str, object] = {f"field_{i:03d}": f"value {i}" for i in range(fields)}
    before["nested"] = {"list": list(range(20)), "notes": {"public": "a", "private": "b"}}
    after = dict(before)
    for i in range(0, fields, 4):
        after[f"field_{i:03d}"] = f"new value {i}"
    after["nested"] = {"list": list(range(19)), "notes": {"public": "a2", "private": "b"}}
    return json.dumps(before), json.dumps(after)


def record(before_json: str, after_json: str) -> AuditRecord:
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
        before=json.loads(before_json),
        after=json.loads(after_json),
    )


def floor_screen(before_json: str, after_json: str):  # type: ignore[no-untyped-def]
    """The floor's work: parse, a plain difflib pass, a bare screen of the changed lines."""
    old = json.dumps(json.loads(before_json), indent=2, sort_keys=True).splitlines()
    new = json.dumps(json.loads(after_json), indent=2, sort_keys=True).splitlines()
    changed: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            changed += [f"- {line}" for line in old[i1:i2]] + [f"+ {line}" for line in new[j1:j2]]
    return bare_screen("\n".join(changed[:SCREEN_LINES]))  # one screenful, as the grid shows


async def measure(fields: int, repeats: int) -> tuple[list[float], list[float]]:
    before_json, after_json = documents(fields)

    def grid_ready(screen: DiffScreen) -> bool:
        return bool(screen.query(Grid)) and screen.query_one(Grid).view.rows_ready

    samples: list[float] = []
    floors: list[float] = []
    app = App()
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(repeats):
            samples.append(
                await open_screen_ms(
                    app, lambda: DiffScreen(record(before_json, after_json)), grid_ready
                )
            )
            await pilot.pause()
            floors.append(
                await open_screen_ms(app, lambda: floor_screen(before_json, after_json), bool)
            )
            await pilot.pause()
    return samples, floors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    load_before = load_average()
    samples, floors = asyncio.run(measure(args.fields, max(5, args.repeats)))
    median, floor = statistics.median(samples), statistics.median(floors)
    report(
        "diff",
        [
            Measure(
                "diff_open_ms",
                median,
                "ms",
                floor,
                "json.loads of both documents, difflib over their sorted JSON lines, "
                "a bare modal of one Static (a screenful of changed lines) painted",
                at_most(3),
            ),
        ],
        json_path=args.json,
        load_before=load_before,
        title=f"View Difference, {args.fields} fields: median of {len(samples)} openings",
        extra={
            "fields": args.fields,
            "runs_ms": [round(s, 1) for s in samples],
            "floor_runs_ms": [round(s, 1) for s in floors],
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
