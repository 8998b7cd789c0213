"""First frame: how long `carriertui demo` takes to show its first screens, in fresh processes.

    python benchmarks/first_frame.py [--runs 7] [--home DIR] [--pty] [--json PATH]

- login / customers: a fresh Python process (as `carriertui demo` starts: every import from
  scratch) runs the app headless at 80x24 on the demo database; times from spawn to the login
  screen's first painted frame, and to the customer list painted with its rows after the demo's
  auto-login;
- pty_login / pty_customers (``--pty``): the real `carriertui demo` in a pty
  (TERM=xterm-256color, 80x24), from spawn until the login box's title, then a customer's name,
  appear in what it writes (best effort: escape sequences are stripped before the search).

Budget (issue 12, item 18): <= 800 ms on a quiet machine. interaction_bench.py runs the same
measures as its first_frame_ms.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZE = (80, 24)
BUDGET_MS = 800.0
LOGIN_TEXT = b"Operator login"  # the login box's title
CUSTOMER_TEXT = b"Northwind"  # a demo customer on the list's first page
ANSI = re.compile(rb"\x1b\[[0-9;?<>=!]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")


# -- first frame: fresh processes -------------------------------------------------------------

# The child marks the login screen's first frame (after its first refresh, as startup.py does)
# and then the customer list painted with its rows after the demo's auto-login.
CHILD = r"""
import asyncio, os, sys, time
from carriertui.app import CarrierApp
from carriertui.screens.login import LoginScreen

def mark(what):
    os.write(1, f"{what} {time.time()!r}\n".encode())

_mount = LoginScreen.on_mount

def on_mount(self):
    _mount(self)
    self.call_after_refresh(lambda: mark("login"))

LoginScreen.on_mount = on_mount

async def main():
    app = CarrierApp(sys.argv[1], demo=True, auto_login="demo")
    async with app.run_test(size=(80, 24)) as pilot:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            screen = app.screen
            if type(screen).__name__ == "CustomersScreen":
                try:
                    view = screen.query_one("#customers-grid").view
                    if view.loaded and view.row_count > 0:
                        break
                except Exception:  # the grid's parts are still mounting
                    pass
            await asyncio.sleep(0.002)
        else:
            return
        await pilot.pause()
        painted = asyncio.Event()
        app.screen.call_after_refresh(painted.set)
        app.screen.refresh()
        await asyncio.wait_for(painted.wait(), 30)
        mark("customers")

asyncio.run(main())
"""


def first_frame_run(url: str) -> dict[str, float]:
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ),
    )
    marks = {}
    for line in done.stdout.splitlines():
        what, _, moment = line.partition(" ")
        if what in ("login", "customers"):
            marks[what] = (float(moment) - started) * 1000
    if done.returncode != 0 or len(marks) < 2:
        print(f"  note: first-frame child: rc {done.returncode}: {done.stderr[-500:]}", flush=True)
    return marks


def pty_run(home: Path, executable: list[str]) -> dict[str, float]:
    """``carriertui demo`` in a real pty: spawn to the login box's title, then to a customer's
    name, in what the process writes to its terminal."""
    import fcntl
    import pty
    import signal
    import struct
    import termios

    targets = {"pty_login": LOGIN_TEXT, "pty_customers": CUSTOMER_TEXT}
    env = {**os.environ, "CARRIERTUI_HOME": str(home), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: an 80x24 terminal, then carriertui
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
            os.execvpe(executable[0], [*executable, "demo"], env)  # noqa: S606 (no shell)
        finally:
            os._exit(127)
    found: dict[str, float] = {}
    output = b""
    deadline = time.perf_counter() + 60
    try:
        while len(found) < len(targets) and time.perf_counter() < deadline:
            readable, _, _ = select.select([fd], [], [], 0.05)
            if not readable:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            text = ANSI.sub(b"", output)
            now = time.perf_counter()
            for name, needle in targets.items():
                if name not in found and needle in text:
                    found[name] = (now - started) * 1000
        os.write(fd, b"\x11")  # ctrl+q
        end = time.perf_counter() + 10
        while time.perf_counter() < end:
            if select.select([fd], [], [], 0.05)[0]:
                try:
                    if not os.read(fd, 65536):
                        break
                except OSError:
                    break
            if os.waitpid(pid, os.WNOHANG)[0]:
                pid = 0
                break
    finally:
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        os.close(fd)
    if len(found) < len(targets):
        print(f"  note: pty run saw only {sorted(found)}", flush=True)
    return found


def carriertui_command() -> list[str]:
    beside = Path(sys.executable).with_name("carriertui")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "carriertui"]


def demo_url(home: Path) -> str:
    """The demo database in ``home`` (CARRIERTUI_HOME), built on first use."""
    os.environ["CARRIERTUI_HOME"] = str(home)
    from carriertui import locations
    from carriertui.demo.builder import build_demo

    url = f"sqlite:///{locations.demo_db_path()}"
    if not locations.demo_db_path().exists():
        print(f"building the demo database in {home} ...", flush=True)
        build_demo(url).dispose()
    return url


def measure(url: str, home: Path, runs: int, *, with_pty: bool) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        for name, ms in first_frame_run(url).items():
            samples.setdefault(name, []).append(ms)
    if with_pty:
        command = carriertui_command()
        for _ in range(runs):
            for name, ms in pty_run(home, command).items():
                samples.setdefault(name, []).append(ms)
    return samples


# -- report (shared with interaction_bench.py) -----------------------------------------------


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def summarise(samples: dict[str, list[float]], loads: dict[str, list[float]] | None = None):
    table = {}
    for name, values in samples.items():
        if not values:
            continue
        entry = {
            "p50_ms": round(statistics.median(values), 1),
            "p95_ms": round(p95(values), 1),
            "n": len(values),
        }
        if loads and loads.get(name):
            entry["load1"] = round(statistics.median(loads[name]), 2)
        table[name] = entry
    return table


def verdict(p95_ms: float, budget: float, load: float | None, cores: int) -> str:
    ok = "OK" if p95_ms <= budget else "OVER"
    if load is not None and load > cores * 0.75:
        ok += " (busy machine)"
    return ok


def print_table(title: str, table: dict[str, dict[str, float]], budget: float, cores: int) -> None:
    print(f"\n{title:<38}{'p50 ms':>8}{'p95 ms':>8}{'n':>4}  {'budget':<8}{'load1':>6}  verdict")
    for name, entry in table.items():
        load = entry.get("load1")
        shown = f"{load:>6.2f}" if load is not None else f"{'':>6}"
        print(
            f"{name[:38]:<38}{entry['p50_ms']:>8.1f}{entry['p95_ms']:>8.1f}{entry['n']:>4}  "
            f"<= {budget:<5.0f}{shown}  {verdict(entry['p95_ms'], budget, load, cores)}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per measure")
    parser.add_argument("--home", type=Path, help="CARRIERTUI_HOME to build the demo in and reuse")
    parser.add_argument("--pty", action="store_true", help="also time `carriertui demo` in a pty")
    parser.add_argument("--json", type=Path, help="write {measure: {p50_ms, p95_ms, n}} here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        home = (args.home or Path(temporary)).resolve()
        home.mkdir(parents=True, exist_ok=True)
        url = demo_url(home)
        samples = measure(url, home, max(1, args.runs), with_pty=args.pty)
    load = os.getloadavg()[0]
    results = summarise(samples, {name: [load] for name in samples})
    print_table("first frame (spawn -> frame)", results, BUDGET_MS, os.cpu_count() or 1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
