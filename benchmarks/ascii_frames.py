"""ASCII mode's cost per frame: the driver turns each write into ASCII (carriertui.ascii_screen).

    python benchmarks/ascii_frames.py [--json PATH]

Renders the customer list and a customer's Summary (with its chart) of a seeded database at
80x24 and 200x50 (headless), takes each full frame as the terminal would get it, and times
``screen_text`` on it (median of 50). A full repaint is the worst case: most writes are
partial updates of a few lines. Writes {"<screen>@<size>": {"chars": ..., "ms": ...}}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.widgets import TabbedContent

from carriertui.app import CarrierApp
from carriertui.ascii_screen import screen_text
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.screens.customer.summary import SummaryPane
from tests.functional.harness import log_in, settle, wait_for
from tests.functional.summary_harness import seed_traffic

RUNS = 50


def frame(app: CarrierApp) -> str:
    update = app.screen._compositor.render_update(full=True)
    return update.render_segments(app.console)


def timed(text: str) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        screen_text(text)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def frames(url: str, size: tuple[int, int]) -> dict[str, str]:
    app = CarrierApp(url)
    found = {}
    async with app.run_test(size=size) as pilot:
        await log_in(pilot)
        await settle(pilot)
        found["customers"] = frame(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
        app.screen.query_one(TabbedContent).active = "summary"
        pane = app.screen.query_one(SummaryPane)
        await wait_for(pilot, lambda: pane.summary is not None and pane.grid.view.loaded)
        if not pane.chart_shown:
            await pilot.press("t")
        await pilot.pause(0.4)
        await settle(pilot)
        found["summary"] = frame(app)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        url, _ = seed_traffic(Path(tmp))
        for size in ((80, 24), (200, 50)):
            for name, text in asyncio.run(frames(url, size)).items():
                non_ascii = sum(1 for char in text if ord(char) >= 0x80)
                key = f"{name}@{size[0]}x{size[1]}"
                results[key] = {"chars": len(text), "non_ascii": non_ascii, "ms": timed(text)}
    print(f"{'frame':<22}{'chars':>8}{'non-ASCII':>11}{'ms':>8}")
    for key, row in results.items():
        print(f"{key:<22}{row['chars']:>8}{row['non_ascii']:>11}{row['ms']:>8.3f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
