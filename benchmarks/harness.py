"""What every benchmark shares: a measure against its floor, one table, one JSON form.

    python benchmarks/harness.py [--results benchmarks/results]

run as a script, folds every ``results/*.json`` written in the common form (below) into one
table and writes ``results/summary.json``; ``make bench`` runs it after the benchmarks.

Issue 21: machines here differ by 2x from one day to the next, so a budget is a ratio to a
floor measured in the same process and run: what the step costs with no carriertui code in the
way (the bare driver running the SQL, csv.writer over a list of tuples, one bare Textual frame).
A few budgets stay absolute (a keypress's CPU, memory): they are limits of the terminal and
the machine, not of the code, and say so in their ``budget``.

The common form of a benchmark's JSON (``FORM``), which any script can adopt:

    {
      "form": "carriertui-bench/1",
      "benchmark": "grid",                      # the script's short name
      "load_average_before": [1m, 5m, 15m], "load_average_after": [...], "cpus": 2,
      "table": [                                 # one row per measure, in print order
        {"measure": "search_ms", "value": 103.1, "unit": "ms",
         "floor": 51.0, "floor_is": "FTS5 match, LIKE, page and count via sqlite3 + 1 frame",
         "ratio": 2.02,                          # value / floor (null without a floor)
         "budget": {"on": "ratio", "op": "<=", "limit": 2.0},   # or "on": "value"
         "ok": false}                            # null without a budget
      ],
      "search_ms": 103.1, "search_ms_vs_floor": 2.02, ...   # the same, flat
    }

A ratio is always ``value / floor``: for a time lower is better (``<=``), for a rate (rows/s)
higher is better (``>=``), and a comparison ("open against Textual's DataTable") is a row whose
value is the other program's time and whose floor is ours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORM = "carriertui-bench/1"
RESULTS = Path(__file__).resolve().parent / "results"
SUMMARY = RESULTS / "summary.json"


@dataclass(frozen=True)
class Budget:
    """``value`` (or ``value / floor``, ``on="ratio"``) ``op`` ``limit``."""

    op: str  # "<=" or ">="
    limit: float
    on: str = "ratio"  # "ratio" or "value"

    def holds(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return value <= self.limit if self.op == "<=" else value >= self.limit

    def text(self, unit: str) -> str:
        if self.on == "ratio":
            return f"{self.op} {self.limit:g}x"
        return f"{self.op} {self.limit:,g} {unit}"

    def as_json(self) -> dict[str, Any]:
        return {"on": self.on, "op": self.op, "limit": self.limit}


def at_most(limit: float, *, on: str = "ratio") -> Budget:
    return Budget("<=", limit, on)


def at_least(limit: float, *, on: str = "ratio") -> Budget:
    return Budget(">=", limit, on)


@dataclass(frozen=True)
class Measure:
    measure: str
    value: float
    unit: str
    floor: float | None = None
    floor_is: str = ""
    budget: Budget | None = None

    @property
    def ratio(self) -> float | None:
        if self.floor is None or self.floor == 0:
            return None
        return self.value / self.floor

    @property
    def ok(self) -> bool | None:
        if self.budget is None:
            return None
        return self.budget.holds(self.ratio if self.budget.on == "ratio" else self.value)

    def as_json(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "measure": self.measure,
            "value": _rounded(self.value),
            "unit": self.unit,
            "floor": None if self.floor is None else _rounded(self.floor),
            "floor_is": self.floor_is,
            "ratio": None if ratio is None else round(ratio, 3),
            "budget": None if self.budget is None else self.budget.as_json(),
            "ok": self.ok,
        }


def _rounded(value: float) -> float:
    return round(value) if abs(value) >= 10_000 else round(value, 3)


def median_ms(step: Callable[[], object], repeats: int = 7, warm: int = 1) -> float:
    """The median wall time of ``step()`` in ms, after ``warm`` untimed calls."""
    for _ in range(warm):
        step()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def bare_frame_ms(size: tuple[int, int] = (120, 40), repeats: int = 9) -> float:
    """One bare Textual frame: a screenful of new text in a plain Static, from ``update`` to the
    frame painted (headless, the same ``pilot.pause`` the benchmarks wait on). The floor under
    every step that ends in a frame: no grid, no carriertui code."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    width, height = size
    screens = [
        "\n".join(
            f"{n:>8} {f'row {n + line} of the bare frame':<{width - 10}}"[:width]
            for line in range(height)
        )
        for n in range(repeats + 1)
    ]

    class BareApp(App[None]):
        def compose(self) -> ComposeResult:
            yield Static(screens[0], id="text")

    async def run() -> list[float]:
        samples = []
        app = BareApp()
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            text = app.query_one("#text", Static)
            for screen in screens[1:]:
                started = time.perf_counter()
                text.update(screen)
                await pilot.pause()
                samples.append((time.perf_counter() - started) * 1000)
        return samples

    return statistics.median(asyncio.run(run()))


async def painted_after(screen: Any) -> float:
    """The moment (perf_counter) ``screen``'s next frame is painted."""
    painted: list[float] = []
    screen.call_after_refresh(lambda: painted.append(time.perf_counter()))
    screen.refresh()
    while not painted:
        await asyncio.sleep(0.0005)
    return painted[0]


async def open_screen_ms(
    app: Any, make_screen: Callable[[], Any], ready: Callable[[Any], bool]
) -> float:
    """From ``make_screen()`` and push_screen to the first frame painted once ``ready(screen)``
    (how the modal benchmarks time an opening); pops the screen after."""
    started = time.perf_counter()
    screen = make_screen()
    await app.push_screen(screen)
    while not ready(screen):
        await asyncio.sleep(0.0005)
    elapsed = (await painted_after(screen) - started) * 1000
    await app.pop_screen()
    return elapsed


def bare_screen(text: str) -> Any:
    """The floor of opening a modal: a plain ModalScreen of one Static holding ``text`` (markup
    off, as data is shown), opaque as the app's dialogs are."""
    from textual.app import ComposeResult
    from textual.screen import ModalScreen
    from textual.widgets import Static

    class BareScreen(ModalScreen[None]):
        DEFAULT_CSS = "BareScreen { background: $surface; }"

        def compose(self) -> ComposeResult:
            yield Static(text, markup=False)

    return BareScreen()


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


# -- the table ----------------------------------------------------------------------------------

_HEADER = f"{'measure':<34}{'value':>16}{'floor':>16}{'ratio':>10}  {'budget':<20}result"


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.2f}"
    return f"{text} {unit}".rstrip() if unit else text


def table_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = [_HEADER]
    for row in rows:
        budget = row.get("budget")
        unit = row.get("unit", "")
        if budget:
            shown = Budget(budget["op"], budget["limit"], budget["on"]).text(unit)
            result = "OK" if row.get("ok") else "SHORT"
        else:
            shown, result = "-", ""
        ratio = row.get("ratio")
        lines.append(
            f"{row['measure']:<34}{_number(row.get('value'), unit):>16}"
            f"{_number(row.get('floor'), unit):>16}"
            f"{'-' if ratio is None else f'{ratio:.2f}x':>10}  {shown:<20}{result}"
        )
    return lines


def report(
    benchmark: str,
    measures: Sequence[Measure],
    *,
    json_path: Path | None,
    extra: dict[str, Any] | None = None,
    load_before: list[float] | None = None,
    title: str = "",
) -> dict[str, Any]:
    """Print the table (and the floors' meaning) and write the JSON in the common form."""
    rows = [measure.as_json() for measure in measures]
    load_after = load_average()
    print(title or f"{benchmark} benchmark")
    for line in table_lines(rows):
        print(line)
    for measure in measures:
        if measure.floor_is:
            print(f"  floor of {measure.measure}: {measure.floor_is}")
    print(f"load average before {load_before or '-'}, after {load_after}; {os.cpu_count()} CPUs")
    document: dict[str, Any] = {
        "form": FORM,
        "benchmark": benchmark,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "cpus": os.cpu_count(),
        "table": rows,
    }
    for row in rows:
        document[row["measure"]] = row["value"]
        if row["floor"] is not None:
            document[f"{row['measure']}_floor"] = row["floor"]
            document[f"{row['measure']}_vs_floor"] = row["ratio"]
    document.update(extra or {})
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(document, indent=2) + "\n")
    return document


# -- the summary of a run -----------------------------------------------------------------------


def _startup_rows(document: dict[str, Any]) -> list[dict[str, Any]] | None:
    """benchmarks/startup.py's own form ({"measures": {name: {median_s, floor_s, vs_floor,
    budget_s, ok}}}), read as rows of the common form until it writes that itself."""
    measures = document.get("measures")
    if not isinstance(measures, dict):
        return None
    rows = []
    for name, row in measures.items():
        if not isinstance(row, dict) or "median_s" not in row:
            continue
        budget = row.get("budget_s")
        rows.append(
            {
                "measure": f"{name}_s",
                "value": row["median_s"],
                "unit": "s",
                "floor": row.get("floor_s"),
                "ratio": row.get("vs_floor"),
                "budget": None if budget is None else at_most(budget, on="value").as_json(),
                "ok": row.get("ok"),
            }
        )
    return rows


def fold(results: Path) -> tuple[list[dict[str, Any]], list[str], dict[str, Any]]:
    """Every result file's rows (measure names prefixed with the benchmark's), the files not in a
    known form, and each benchmark's load averages."""
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    loads: dict[str, Any] = {}
    for path in sorted(results.glob("*.json")):
        if path.name == SUMMARY.name:
            continue
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError):
            skipped.append(path.name)
            continue
        name = path.stem
        if isinstance(document, dict) and document.get("form") == FORM:
            name = document.get("benchmark", name)
            found = document["table"]
            loads[name] = {
                "before": document.get("load_average_before"),
                "after": document.get("load_average_after"),
            }
        elif isinstance(document, dict) and (found := _startup_rows(document)):
            loads[name] = {
                "before": document.get("load_average_before"),
                "after": document.get("load_average_after"),
            }
        else:
            skipped.append(path.name)
            continue
        rows += [{**row, "measure": f"{name}.{row['measure']}"} for row in found]
    return rows, skipped, loads


def main() -> int:
    parser = argparse.ArgumentParser(description="Fold the benchmarks' results into one table")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows, skipped, loads = fold(args.results)
    print(f"== summary of {args.results}")
    for line in table_lines(rows):
        print(line)
    short = [row["measure"] for row in rows if row.get("budget") and not row.get("ok")]
    for name, load in loads.items():
        print(f"  {name}: load average before {load['before']}, after {load['after']}")
    if skipped:
        print(f"  not in the common form (see benchmarks/README.md): {', '.join(skipped)}")
    listed = f": {', '.join(short)}" if short else ""
    print(f"{len(rows)} measures, {len(short)} short of budget{listed}")
    document = {
        "form": FORM,
        "benchmark": "summary",
        "load_average_now": load_average(),
        "cpus": os.cpu_count(),
        "loads": loads,
        "short": short,
        "not_in_form": skipped,
        "table": rows,
    }
    target = args.results / SUMMARY.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
