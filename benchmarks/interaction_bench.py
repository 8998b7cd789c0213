"""Interaction latency: each common action at 80x24 on the demo database, key to painted data.

    python benchmarks/interaction_bench.py [--repeats 15] [--home DIR] [--first-frame]
                                           [--json benchmarks/results/interaction.json]

Drives the real app (carriertui.app.CarrierApp) headless at 80x24 with Textual's run_test and
Pilot, on the demo database built by carriertui.demo.builder.build_demo into a temporary
CARRIERTUI_HOME (``--home DIR`` builds it there once and reuses it on later runs; the demo's mail
goes into the Maildir there). Each action is timed with time.perf_counter from just before the
key press to the first frame painted after its data is there:

- the target widget exists AND holds its data (a grid has loaded its count and first page, a
  form's fields hold the loaded record, a Summary view's grid shows that view), AND no worker is
  running (the app's 30 s background run and the mail it sends are left out), polled every 2 ms;
- then ``pilot.pause(0)`` (Pilot's idle wait would add its own 20 ms steps, so the key is sent
  as Pilot sends it but without that wait) and one more refresh: the time is taken when a
  callback scheduled with ``call_after_refresh`` runs, after the frame with the data is rendered.

One operator session per repeat (demo auto-login as an admin) opens a customer, switches every
tab with ``]``, opens each form (new contact ``a``, edit contact ``e``, Change Password ``p``, new
customer ``n``, Settings > Options ``o``; the customer edit form is the Main tab that "open
customer" fills), saves a contact (``ctrl+g``), opens each Summary view (``1`` to ``5``), opens
View Difference on the newest audit entry (Enter), and goes back to the list (Esc); a portal
session per repeat logs a contact in through ``carriertui portal``'s login (Enter). A first,
untimed session warms Python's imports; its times are reported apart as ``cold_ms`` (what the
first open of each screen costs in a fresh process). Only keys of the README's tables at commit
367d343 are used; an action whose key or screen changed is skipped with a printed note (after
15 s), and the session goes on from the customer list.

first_frame_ms: benchmarks/first_frame.py's measures, ``repeats`` times: fresh processes from
spawn to the login screen's first painted frame and to the customer list painted with its rows
after the demo's auto-login; with ``--first-frame`` also ``carriertui demo`` in a real pty.

Budgets on a quiet machine (issue 12, item 18): p95 <= 250 ms per action, first frame <= 800 ms
(p95). The machine is shared and machines differ about 2x from day to day: the table shows the
1-minute load average during each measure beside the verdict. For a before/after comparison run
both checkouts the same way, one after the other, each with its own --home (or none); copy
first_frame.py (imported from beside this script) along with it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import first_frame
from first_frame import print_table, summarise

SIZE = (80, 24)
ACTION_BUDGET_MS = 250.0
FIRST_FRAME_BUDGET_MS = 800.0
STEP_TIMEOUT_S = 15.0
POLL_S = 0.002
CUSTOMER = "Northwind Telecom Ltd"  # the demo customer with contacts, numbers and CDRs
PORTAL_EMAIL = "eleanor.whitfield@northwind.example"  # a Northwind contact without a whitelist
PORTAL_PASSWORD = "benchmark portal pass phrase 42"  # noqa: S105 (set on the demo copy only)
# Workers that are not the action's own: the 30 s background run, the mail sender, the store.
IGNORED_GROUPS = frozenset({"background", "outbox-kick", "store"})


Predicate = Callable[[], object]
Arm = Callable[[], Predicate]


class Skip(Exception):
    """An action that could not be measured (its key or screen changed): noted, not timed."""


# -- waiting for the frame with the data ------------------------------------------------------


def idle(app: Any) -> bool:
    from textual.worker import WorkerState

    busy = (WorkerState.PENDING, WorkerState.RUNNING)
    return not any(
        worker.state in busy and worker.group not in IGNORED_GROUPS for worker in app.workers
    )


def holds(predicate: Callable[[], object]) -> bool:
    try:
        return bool(predicate())
    except Exception:  # a widget not mounted yet, or renamed in this version
        return False


async def until(pilot: Any, predicate: Callable[[], object], what: str) -> None:
    """Poll until ``predicate`` holds with no worker running, then until a frame is painted."""
    app = pilot.app
    deadline = time.perf_counter() + STEP_TIMEOUT_S
    while True:
        if holds(predicate) and idle(app):
            # pilot.pause() would wait for the process to go idle in 20 ms steps; a zero pause
            # lets the messages already posted run, and the refresh below waits for the frame.
            await pilot.pause(0)
            if holds(predicate) and idle(app):
                break
        if time.perf_counter() > deadline:
            raise Skip(f"{what}: not reached in {STEP_TIMEOUT_S:.0f} s")
        await asyncio.sleep(POLL_S)
    painted = asyncio.Event()
    app.screen.call_after_refresh(painted.set)
    app.screen.refresh()
    try:
        await asyncio.wait_for(painted.wait(), STEP_TIMEOUT_S)
    except TimeoutError:
        raise Skip(f"{what}: no frame painted") from None


def load1() -> float:
    return os.getloadavg()[0]


class Results:
    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}
        self.loads: dict[str, list[float]] = {}
        self.cold: dict[str, float] = {}
        self.notes: dict[str, str] = {}
        self.recording = True

    def add(self, name: str, ms: float) -> None:
        if not self.recording:
            self.cold.setdefault(name, ms)
            return
        self.samples.setdefault(name, []).append(ms)
        self.loads.setdefault(name, []).append(load1())

    def skip(self, name: str, note: str) -> None:
        if name not in self.notes:
            print(f"  note: {name} skipped: {note}", flush=True)
        self.notes[name] = note


# -- the operator session ---------------------------------------------------------------------


class Session:
    def __init__(self, app: Any, pilot: Any, results: Results) -> None:
        self.app = app
        self.pilot = pilot
        self.results = results

    async def measure(self, name: str, keys: tuple[str, ...], arm: Arm) -> None:
        """Time ``keys`` until the predicate that ``arm()`` returns holds and a frame is painted.
        ``arm`` runs once nothing is running any more, just before the key (it notes what the
        predicate compares with, such as a grid's query generation)."""
        await until(self.pilot, lambda: True, f"{name}: settle before the key")
        ready = arm()
        started = time.perf_counter()
        # The key goes through the driver as Pilot.press sends it, but in a task: press()
        # then waits for the whole process to be idle in 20 ms steps, which would be timed.
        pressing = asyncio.create_task(self.app._press_keys(list(keys)))
        try:
            await until(self.pilot, ready, name)
            self.results.add(name, (time.perf_counter() - started) * 1000)
        finally:
            await pressing

    async def attempt(self, name: str, keys: tuple[str, ...], arm: Arm) -> bool:
        try:
            await self.measure(name, keys, arm)
        except Skip as skip:
            self.results.skip(name, str(skip))
            return False
        return True

    # Where an action starts: reached without timing, through the app's own navigation.

    def screen_is(self, name: str) -> bool:
        return type(self.app.screen).__name__ == name

    async def to_customers(self) -> None:
        self.app.go_customers()
        await until(
            self.pilot,
            lambda: self.screen_is("CustomersScreen") and self.app.screen.grid.view.loaded,
            "back to the customer list",
        )

    def customer_row(self) -> int:
        view = self.app.screen.grid.view
        for index in range(view.row_count):
            row = view.row_at(index)
            if row is not None and CUSTOMER in row[1]:
                return index
        raise Skip(f"{CUSTOMER} is not on the customer list's first page")

    async def to_customer(self) -> Any:
        if not self.screen_is("CustomerScreen"):
            await self.to_customers()
            view = self.app.screen.grid.view
            key = view.key_at(self.customer_row())
            self.app.open_customer(int(key))
        await until(
            self.pilot,
            lambda: self.screen_is("CustomerScreen") and self.app.screen.record is not None,
            "the customer screen",
        )
        return self.app.screen

    async def to_tab(self, tab: str) -> Any:
        from textual.widgets import TabbedContent

        screen = await self.to_customer()
        tabs = screen.query_one("#customer-tabs", TabbedContent)
        if tabs.active != tab:
            tabs.active = tab
        await until(self.pilot, lambda: tabs.active == tab, f"the {tab} tab")
        return screen

    async def close(self, back_to: str) -> None:
        """Esc out of a dialog (untimed); pop it if Esc does not close it."""
        await self.pilot.press("escape")
        try:
            await until(self.pilot, lambda: self.screen_is(back_to), f"Esc back to {back_to}")
        except Skip:
            while not self.screen_is(back_to) and len(self.app.screen_stack) > 2:
                self.app.pop_screen()
            await until(self.pilot, lambda: self.screen_is(back_to), f"back to {back_to}")


def grid_ready(grid: Any, *, after: int | None = None, rows: bool = True) -> bool:
    view = grid.view
    fresh = after is None or view.generation > after
    return fresh and view.loaded and (view.row_count > 0 or not rows)


async def open_customer(s: Session) -> None:
    await s.to_customers()
    s.app.screen.grid.view.move_cursor(s.customer_row())

    def ready() -> bool:
        screen = s.app.screen
        return (
            s.screen_is("CustomerScreen")
            and screen.record is not None
            and bool(screen.query_one("#field-name").value)
        )

    await s.measure("open customer (Main form filled)", ("enter",), lambda: ready)


async def switch_tabs(s: Session) -> None:
    """Main -> Contacts -> Number Block -> Summary -> Rules -> Audit Log -> Main, with ``]``."""
    from textual.widgets import TabbedContent

    screen = await s.to_tab("main")
    tabs = screen.query_one("#customer-tabs", TabbedContent)

    # A tab's content may be built when the tab is first shown: each widget is looked up
    # when the condition is checked, and a grid that is not there yet has no generation.
    def generation(selector: str) -> int | None:
        grid = screen.query(selector)
        return grid.first().view.generation if grid else None

    def contacts() -> Predicate:
        return lambda: grid_ready(screen.query_one("#customer-contacts").grid)

    def numbers() -> Predicate:  # the tab re-reads the blocks
        before = generation("#blocks-grid")
        return lambda: (
            grid_ready(screen.query_one("#blocks-grid"), after=before)
            and grid_ready(screen.query_one("#extensions-grid"))
        )

    def summary() -> Predicate:  # the tab re-reads the summary
        before = generation("#summary-grid")

        def ready() -> bool:
            pane = screen.query_one("#summary-pane")
            return pane.summary is not None and grid_ready(pane.grid, after=before, rows=False)

        return ready

    def rules() -> Predicate:  # the tab reads the customer's match and alarm rules
        before = generation("#alarm-rules-grid")
        return lambda: (  # the demo customer may have no rules: an empty grid, its title read
            grid_ready(screen.query_one("#alarm-rules-grid"), after=before, rows=False)
            and "Loading" not in str(screen.query_one("#match-title").render())
        )

    def audit() -> Predicate:  # the tab re-reads the audit log
        before = generation("#audit-grid")
        return lambda: grid_ready(screen.query_one("#audit-grid"), after=before)

    def main() -> Predicate:
        return lambda: bool(screen.query_one("#field-name").value)

    for tab, name, condition in (
        ("contacts", "tab: Contacts (])", contacts),
        ("numbers", "tab: Number Block (])", numbers),
        ("summary", "tab: Summary (])", summary),
        ("rules", "tab: Rules (])", rules),
        ("audit", "tab: Audit Log (])", audit),
        ("main", "tab: Main (])", main),
    ):

        def arm(tab: str = tab, condition: Arm = condition) -> Predicate:
            data = condition()
            return lambda: tabs.active == tab and data()

        if not await s.attempt(name, ("right_square_bracket",), arm):
            await s.to_tab(tab)  # go on from where the key should have led


async def contact_forms(s: Session) -> None:
    screen = await s.to_tab("contacts")
    pane = screen.query_one("#customer-contacts")
    await until(s.pilot, lambda: grid_ready(pane.grid), "the contacts grid")
    pane.grid.view.move_cursor(0)

    def form(new: bool) -> Predicate:
        def ready() -> bool:
            dialog = s.app.screen
            if not s.screen_is("ContactFormScreen") or (dialog.record is None) != new:
                return False
            return bool(dialog.query_one("#field-email").value) != new

        return ready

    def password() -> bool:
        return s.screen_is("ContactPasswordScreen") and bool(s.app.screen.query("Switch"))

    for name, key, ready in (
        ("form: new contact (a)", "a", form(new=True)),
        ("form: edit contact (e)", "e", form(new=False)),
        ("form: change password (p)", "p", password),
    ):
        pane.grid.focus()
        if await s.attempt(name, (key,), lambda ready=ready: ready):
            await s.close("CustomerScreen")

    # Save a contact: open the edit form (untimed), change the phone, time ctrl+g back to the
    # customer screen with the contacts grid re-read.
    name = "save contact (ctrl+g)"
    pane.grid.focus()
    await s.pilot.press("e")
    try:
        await until(s.pilot, form(new=False), "the edit contact form")
    except Skip as skip:
        s.results.skip(name, str(skip))
        return
    phone = s.app.screen.query_one("#field-phone")
    phone.value = "+44 20 7946 0322" if not phone.value.endswith("2") else "+44 20 7946 0321"

    def saved() -> Predicate:
        before = pane.grid.view.generation
        return lambda: s.screen_is("CustomerScreen") and grid_ready(pane.grid, after=before)

    await s.attempt(name, ("ctrl+g",), saved)


async def summary_views(s: Session) -> None:
    screen = await s.to_tab("summary")
    pane = screen.query_one("#summary-pane")
    await until(
        s.pilot, lambda: pane.summary is not None and pane.grid.view.loaded, "the Summary tab"
    )
    pane.grid.focus()
    for key, view, title in (
        ("1", "24h", "24 h"),
        ("2", "daily", "daily"),
        ("3", "weekly", "weekly"),
        ("4", "monthly", "monthly"),
        ("5", "invoices", "invoices"),
    ):

        def arm(view: str = view) -> Predicate:
            before = pane.grid.view.generation

            def ready() -> bool:
                if pane.view != view or not grid_ready(pane.grid, after=before, rows=False):
                    return False
                if view == "invoices":
                    return True
                return pane.summary is not None and pane.summary.view.value == view

            return ready

        await s.attempt(f"summary: {title} ({key})", (key,), arm)


async def audit_diff(s: Session) -> None:
    screen = await s.to_tab("audit")
    audit_grid = screen.query_one("#audit-grid")
    await until(s.pilot, lambda: grid_ready(audit_grid), "the Audit Log tab")
    audit_grid.view.move_cursor(0)
    audit_grid.focus()

    def ready() -> bool:
        return s.screen_is("DiffScreen") and bool(s.app.screen.query("#diff-view"))

    if await s.attempt("audit: View Difference (enter)", ("enter",), lambda: ready):
        await s.close("CustomerScreen")


async def back_to_list(s: Session) -> None:
    await s.to_tab("main")
    grid = s.app.screen_stack[-2].query_one("#customers-grid")

    def arm() -> Predicate:  # back on the list, it re-reads the customers
        before = grid.view.generation
        return lambda: s.screen_is("CustomersScreen") and grid_ready(grid, after=before)

    await s.attempt("back to the customer list (esc)", ("escape",), arm)


async def list_forms(s: Session) -> None:
    await s.to_customers()

    def new_customer() -> bool:
        return s.screen_is("NewCustomerScreen") and bool(s.app.screen.query("#field-name"))

    if await s.attempt("form: new customer (n)", ("n",), lambda: new_customer):
        await s.close("CustomersScreen")

    def options() -> bool:
        return s.screen_is("OptionsScreen") and s.app.screen.options is not None

    if await s.attempt("form: options (o)", ("o",), lambda: options):
        await s.close("CustomersScreen")


STEPS = (open_customer, switch_tabs, contact_forms, summary_views, audit_diff, back_to_list)
LIST_STEPS = (list_forms,)


async def operator_session(url: str, results: Results) -> None:
    from carriertui.app import CarrierApp
    from carriertui.demo.builder import DEMO_OPERATOR

    app = CarrierApp(url, demo=True, auto_login=DEMO_OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        session = Session(app, pilot, results)
        await session.to_customers()
        for step in (*STEPS, *LIST_STEPS):
            try:
                await step(session)
            except Skip as skip:
                results.skip(step.__name__, str(skip))
                await session.to_customers()


async def portal_session(url: str, results: Results) -> None:
    from carriertui.app import CarrierApp

    name = "portal login (enter, as a contact)"
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        try:
            await until(
                pilot,
                lambda: app.store_ready.is_set() and app.screen.query("#portal-password"),
                "the portal login screen",
            )
            app.screen.query_one("#portal-email").value = PORTAL_EMAIL
            password = app.screen.query_one("#portal-password")
            password.value = PORTAL_PASSWORD
            password.focus()

            def portal_shown() -> bool:
                screen = app.screen
                return type(screen).__name__ == "PortalScreen" and screen.account is not None

            await Session(app, pilot, results).measure(name, ("enter",), lambda: portal_shown)
        except Skip as skip:
            results.skip(name, str(skip))


def prepare(home: Path) -> str:
    """The demo database in ``home`` (built once), with a known portal password."""
    from carriertui import locations
    from carriertui.demo.builder import build_demo, demo_actor
    from carriertui.store.contacts import service as contacts

    url = f"sqlite:///{locations.demo_db_path()}"
    if not locations.demo_db_path().exists():
        print(f"building the demo database in {home} ...", flush=True)
        started = time.perf_counter()
        build_demo(url).dispose()
        print(f"built in {time.perf_counter() - started:.1f} s", flush=True)
    db = build_demo(url)  # an existing demo: opened (and migrated) as it is
    actor = demo_actor()
    contact = contacts.find_contact(db, actor, PORTAL_EMAIL)
    contacts.change_password(db, actor, contact.id, password=PORTAL_PASSWORD)
    db.dispose()
    return url


def git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() or None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed sessions (default 15)")
    parser.add_argument(
        "--home", type=Path, help="CARRIERTUI_HOME to build the demo in once and reuse"
    )
    parser.add_argument(
        "--first-frame", action="store_true", help="also time `carriertui demo` in a real pty"
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    import textual

    repeats = max(1, args.repeats)
    cores = os.cpu_count() or 1
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as temporary:
        home = (args.home or Path(temporary)).resolve()
        home.mkdir(parents=True, exist_ok=True)
        os.environ["CARRIERTUI_HOME"] = str(home)
        url = prepare(home)
        results = Results()
        print(f"warm-up session (untimed; reported as cold_ms) on {url}", flush=True)
        results.recording = False
        asyncio.run(operator_session(url, results))
        asyncio.run(portal_session(url, results))
        results.recording = True
        for index in range(repeats):
            print(f"session {index + 1}/{repeats} (load {load1():.2f})", flush=True)
            asyncio.run(operator_session(url, results))
            asyncio.run(portal_session(url, results))

        print("first frame: fresh processes" + (", then a pty" * args.first_frame), flush=True)
        frames = first_frame.measure(url, home, repeats, with_pty=args.first_frame)
        frame_loads = {name: [load1()] for name in frames}

    actions = summarise(results.samples, results.loads)
    first_frames = summarise(frames, frame_loads)
    load_end = os.getloadavg()
    print(
        f"\ninteraction benchmark: demo database, {SIZE[0]}x{SIZE[1]}, {repeats} repeats, commit "
        f"{git_commit()}; python {platform.python_version()}, textual {textual.__version__}"
    )
    print(
        f"load average (1/5/15 min) {' '.join(f'{v:.2f}' for v in load_start)} at the start, "
        f"{' '.join(f'{v:.2f}' for v in load_end)} at the end, on {cores} cores; "
        "a verdict is marked busy when the 1-minute load exceeds 0.75 per core"
    )
    print_table("action (key -> painted with data)", actions, ACTION_BUDGET_MS, cores)
    labels = {
        "login": "login screen (fresh process)",
        "customers": "customer list with rows (demo login)",
        "pty_login": "pty: login screen text",
        "pty_customers": "pty: customer list text",
    }
    print_table(
        "first frame (spawn -> frame)",
        {labels.get(name, name): entry for name, entry in first_frames.items()},
        FIRST_FRAME_BUDGET_MS,
        cores,
    )
    if results.cold:
        print("\ncold (first in a fresh process, untimed warm-up session), ms:")
        for name, ms in results.cold.items():
            print(f"  {name:<44}{ms:>8.1f}")
    for name, note in results.notes.items():
        print(f"skipped: {name}: {note}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "actions": actions,
            "first_frame_ms": first_frames,
            "cold_ms": {name: round(ms, 1) for name, ms in results.cold.items()},
            "skipped": results.notes,
            "budget_ms": {"action_p95": ACTION_BUDGET_MS, "first_frame_p95": FIRST_FRAME_BUDGET_MS},
            "load": list(load_end),
            "load_start": list(load_start),
            "cores": cores,
            "python": platform.python_version(),
            "textual": textual.__version__,
            "commit": git_commit(),
            "repeats": repeats,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
