"""Shared by the Pilot and snapshot tests: a seeded database and an operator's moves."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update
from textual.pilot import Pilot
from textual.widgets import Input

from carriertui.app import CarrierApp
from carriertui.store import customers, operators
from carriertui.store.context import Actor
from carriertui.store.db.database import Database, open_database
from carriertui.store.db.tables import Customer
from carriertui.store.enums import Role

PASSWORD = "correct horse battery staple"
FIXED_CREATED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SEED_CUSTOMERS = (
    {
        "name": "Northwind Telecom Ltd",
        "account_code": "NWT-001",
        "currency": "GBP",
        "balance": "1520.75",
        "debit_limit": "500",
        "channels": 60,
        "invoice_schedule": "monthly",
    },
    {
        "name": "Bluefin Voice GmbH",
        "account_code": "BFV-002",
        "currency": "EUR",
        "status": "Penalty",
        "balance": "-310.4",
        "debit_limit": "250",
        "channels": 30,
    },
    {
        "name": "Atlas Comms [UK]",
        "account_code": "ATL-003",
        "currency": "USD",
        "status": "Pending Approval",
        "channels": 10,
        "invoice_schedule": "weekly",
    },
)


def seed(path: Path, *, with_customers: bool = True, hostile: tuple[str, ...] = ()) -> str:
    """Create a database with alice (admin), olga (operator), vic (viewer) and some customers.

    ``hostile`` names are written straight into the table, as a foreign writer (an import, an
    older version) could, because the services refuse control characters.
    """
    url = f"sqlite:///{path}"
    db = open_database(url)
    api = Actor(name="seed", role=Role.ADMIN, ip="127.0.0.1")
    for name, role in (("alice", Role.ADMIN), ("olga", Role.OPERATOR), ("vic", Role.VIEWER)):
        operators.create_operator(db, api, name, role, PASSWORD)
    if with_customers:
        for values in SEED_CUSTOMERS:
            customers.create_customer(db, api, values)
    with db.write() as session:
        for index, name in enumerate(hostile):
            session.add(
                Customer(
                    name=name,
                    name_folded=name.casefold(),
                    account_code=f"HOST-{index}",
                    status="Active",
                    currency="USD",
                    tax_percent=0,
                    balance=0,
                    debit_limit=0,
                    channels=0,
                    invoice_schedule="none",
                    invoice_due_days=0,
                )
            )
    with db.write() as session:
        # A Core UPDATE: fixed creation times for snapshots, without bumping the version column.
        session.execute(update(Customer).values(created_at=FIXED_CREATED))
    db.dispose()
    return url


def open_db(url: str) -> Database:
    return open_database(url)


async def settle(pilot: Pilot[object], rounds: int = 3) -> None:
    """Wait for workers (queries, argon2) and the messages they post back."""
    app = pilot.app
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def wait_for(pilot: Pilot[object], predicate, timeout: float = 10.0) -> None:
    """Wait until ``predicate()`` holds. A predicate that asks for a widget of a screen still
    being composed (NoMatches, on a loaded machine) is simply not true yet."""
    import asyncio

    from textual.css.query import NoMatches

    def holds() -> bool:
        try:
            return bool(predicate())
        except NoMatches:
            return False

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not holds():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting; screen is {pilot.app.screen!r}")
        await settle(pilot, 1)
        await asyncio.sleep(0.02)


async def log_in(
    pilot: Pilot[object], name: str = "alice", password: str = PASSWORD, *, type_keys: bool = False
) -> None:
    """Log in and wait for the customers screen with its rows.

    ``type_keys`` types every character as key presses (slow: about 0.1 s a key); otherwise the
    fields are filled and Enter is pressed, which goes through the same submit path.
    """
    from carriertui.screens.customers import CustomersScreen

    app: CarrierApp = pilot.app  # type: ignore[assignment]
    await wait_for(pilot, lambda: app.store_ready.is_set())
    name_input = app.screen.query_one("#login-name", Input)
    password_input = app.screen.query_one("#login-password", Input)
    if type_keys:
        name_input.value = ""
        await pilot.click("#login-name")
        await pilot.press(*name, "enter")
        await pilot.press(*password)
    else:
        name_input.value = name
        password_input.value = password
        password_input.focus()
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: isinstance(app.screen, CustomersScreen) and app.screen.grid.view.loaded
    )


async def palette_search(pilot: Pilot[object], text: str, *, key: str = "ctrl+p") -> None:
    """Open the command palette (or the customer switcher, ``ctrl+o``) and type ``text``; the
    hits are on screen when this returns (the palette searches in the background)."""
    from textual.command import CommandPalette

    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    await pilot.press(*text)
    await pilot.pause(0.5)
    await settle(pilot)


def grid_column(grid, index: int = 0) -> list[object]:
    """The values of one column for the loaded rows of a Grid (in display order)."""
    view = grid.view
    return [view.row_at(i)[1][index] for i in range(view.row_count) if view.row_at(i)]


async def wait_grid(pilot: Pilot[object], grid, after: int | None = None) -> None:
    """Wait until the grid's current query has its count and first page; with ``after`` (a
    generation seen before a key press) also until the grid has re-queried since."""
    await wait_for(
        pilot, lambda: grid.view.loaded and (after is None or grid.view.generation > after)
    )


def freeze_cursors(app: CarrierApp) -> None:
    for widget in app.screen.query(Input):
        widget.cursor_blink = False
