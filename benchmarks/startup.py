"""CLI start-up: wall time of whole `carriertui` processes, each against its floor in the same run.

    python benchmarks/startup.py [--runs 21] [--json benchmarks/results/startup.json]

Every measure is a fresh process started the way an operator starts it (the `carriertui` console
script beside this interpreter, or ``python -m carriertui`` when there is none), timed from spawn
to exit, ``--runs`` times after one warm-up run (which compiles the bytecode and fills the OS file
cache). The measures take turns, run by run, so a burst of load on a shared machine falls on all
of them alike rather than on whichever ran last.

- help: ``carriertui --help``; version: ``carriertui --version``. Budget (issue 20.9): <= 0.3 s.
  Floor: ``python -c pass``, the interpreter starting and stopping and nothing else.
- read: ``carriertui customers list`` on a small SQLite database (12 customers, made once by the
  CLI itself). Budget: <= 0.6 s. Floor: ``python -c "import sqlite3"`` opening the same file and
  reading its rows through the bare driver.

Each row gives the median and p95 (nearest rank), the floor's median, and ``vs_floor``: the
measure's median over its floor's median (issue 21: a ratio to a floor measured in the same run
holds across machines; the absolute budgets are issue 20's). Nothing of carriertui is imported
by this script, so the same file times any checkout: run it with that checkout's interpreter.
The time to the TUI's first frame is measured by ``benchmarks/first_frame.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "startup.json"
CUSTOMERS = 12
BUDGETS_S = {"help": 0.3, "version": 0.3, "read": 0.6}
FLOOR_OF = {"help": "floor_pass", "version": "floor_pass", "read": "floor_sqlite"}
FLOOR_SQLITE = (
    "import sqlite3, sys\n"
    "connection = sqlite3.connect(sys.argv[1])\n"
    "tables = [row[0] for row in connection.execute("
    "\"select name from sqlite_master where type = 'table'\")]\n"
    "rows = connection.execute('select * from customer').fetchall() "
    "if 'customer' in tables else []\n"
    "connection.close()\n"
)


def carriertui_command() -> list[str]:
    script = Path(sys.executable).parent / "carriertui"
    return [str(script)] if script.exists() else [sys.executable, "-m", "carriertui"]


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    completed = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        timeout=120,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr.decode(errors="replace")[-500:])
    return elapsed, completed.returncode


def make_database(cli: list[str], url: str, env: dict[str, str]) -> None:
    adds = [
        ["customers", "add", "--db", url, "--name", f"Bench Telecom {n:02d}", "--code", f"B{n:02d}"]
        for n in range(1, CUSTOMERS + 1)
    ]
    for argv in [["init", "--db", url, "--yes"], *adds]:
        completed = subprocess.run(
            cli + argv, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        if completed.returncode != 0:
            raise SystemExit(f"setting up the database failed: {completed.stderr.strip()}")


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs of each measure (>= 5)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"default {RESULTS}")
    args = parser.parse_args()
    runs = max(5, args.runs)
    cli = carriertui_command()
    with tempfile.TemporaryDirectory() as home:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("CARRIERTUI_") and key != "PYTHONPATH"
        }
        env["CARRIERTUI_HOME"] = home
        path = Path(home) / "bench.sqlite"
        url = f"sqlite:///{path}"
        make_database(cli, url, env)
        measures = {
            "floor_pass": [sys.executable, "-c", "pass"],
            "floor_sqlite": [sys.executable, "-c", FLOOR_SQLITE, str(path)],
            "help": [*cli, "--help"],
            "version": [*cli, "--version"],
            "read": [*cli, "customers", "list", "--db", url],
        }
        samples: dict[str, list[float]] = {name: [] for name in measures}
        failed: dict[str, int] = {}
        load_before = os.getloadavg()
        for name, argv in measures.items():  # warm-up, not counted
            _, code = run_once(argv, env)
            if code != 0:
                failed[name] = code
        for _ in range(runs):
            for name, argv in measures.items():
                if name in failed:
                    continue
                elapsed, code = run_once(argv, env)
                if code != 0:
                    failed[name] = code
                    continue
                samples[name].append(elapsed)
        load_after = os.getloadavg()

    results: dict[str, dict[str, object]] = {}
    for name in measures:
        if name in failed or not samples[name]:
            results[name] = {"failed_exit_status": failed.get(name)}
            continue
        median = statistics.median(samples[name])
        row: dict[str, object] = {
            "median_s": round(median, 4),
            "p95_s": round(p95(samples[name]), 4),
        }
        floor = FLOOR_OF.get(name)
        if floor is not None and samples[floor]:
            floor_median = statistics.median(samples[floor])
            row["floor"] = floor
            row["floor_s"] = round(floor_median, 4)
            row["vs_floor"] = round(median / floor_median, 2)
        if name in BUDGETS_S:
            row["budget_s"] = BUDGETS_S[name]
            row["ok"] = median <= BUDGETS_S[name]
        results[name] = row

    header = f"{'measure':<13}{'median s':>9}{'p95 s':>8}{'floor s':>9}{'vs floor':>9}"
    print(header + f"{'budget s':>10}  result")
    for name, row in results.items():
        if "failed_exit_status" in row:
            print(f"{name:<13}{'failed: exit status ' + str(row['failed_exit_status']):>35}")
            continue
        floor_text = f"{row['floor_s']:>9.3f}{row['vs_floor']:>8.1f}x" if "floor" in row else ""
        line = f"{name:<13}{row['median_s']:>9.3f}{row['p95_s']:>8.3f}{floor_text:>18}"
        if "budget_s" in row:
            line += f"{row['budget_s']:>10.2f}  {'OK' if row['ok'] else 'OVER'}"
        print(line)
    load = ", ".join(f"{value:.2f}" for value in load_before)
    print(f"{runs} runs each; load average before {load}, after {load_after[0]:.2f}; {cli[0]}")

    document = {
        "runs": runs,
        "command": cli,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in load_after],
        "measures": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
