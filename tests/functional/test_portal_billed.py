"""The portal shows its customer what they are billed and nothing of the carrier's: no cost, no
margin, no private notes, and no operator key (issue 12.1), at 80x24 as a contact sees it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from textual.widgets import OptionList, TabbedContent

from carriertui.app import CarrierApp
from carriertui.grid.export import write_csv_cells
from carriertui.screens.customer.summary import SummaryPane
from carriertui.screens.portal import PortalScreen
from carriertui.store import customers, invoices, rollups
from carriertui.store.cdrs import importer as cdrs
from carriertui.store.enums import InvoiceStatus
from tests.functional.harness import open_db, settle, wait_for, wait_grid
from tests.functional.portal_harness import (
    ADMIN,
    CONTACT_EMAIL,
    CONTACT_PASSWORD,
    PRIVATE_CANARY,
    portal_login,
    screen_text,
    seed_portal,
)

SIZE = (80, 24)
BILLED_TITLES = [
    "Period",
    "Attempts",
    "Connected",
    "ASR %",
    "ACD",
    "Duration",
    "Billed Duration",
    "Customer Charge",
    "Invoice",  # the number of the period's invoice, when there is one
]
# Per call: charge 12.34, cost 9.8765 (so profit 2.4635): three calls on one day.
COST_TEXTS = ("Cost", "Profit", "29.63", "29.6295", "9.88", "7.39", "7.3905", "19.96")


def _seed_calls(url: str) -> int:
    """Three calls three days ago, rolled up, and an invoice for that day. Returns the day's
    invoice id."""
    db = open_db(url)
    northwind = customers.find_customer(db, ADMIN, "NWT-001")
    day = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=3)
    rows = [
        cdrs.CdrValues(
            call_id=f"billed-{n}",
            customer_id=northwind.id,
            start_time=day + timedelta(minutes=n),
            source_cli="441632960000",
            dest_number="442079460000",
            dest_name="UK London",
            duration=120,
            billed_duration=120,
            sip_code=200,
            release_reason="Normal",
            pdd_ms=900,
            charge=Decimal("12.3400"),
            cost=Decimal("9.8765"),
            direction="outbound",
            source_ip="192.0.2.10",
        )
        for n in range(3)
    ]
    cdrs.insert_cdrs(db, ADMIN, [rows], source="portal test")
    rollups.rollup_incremental(db)
    start = day.replace(hour=0, minute=0)
    (invoice,) = invoices.generate_invoices(db, ADMIN, northwind.id, "daily", [start])
    db.dispose()
    return invoice.id


async def _portal_summary(pilot) -> SummaryPane:
    app = pilot.app
    await portal_login(pilot, CONTACT_EMAIL, CONTACT_PASSWORD)
    await wait_for(
        pilot, lambda: isinstance(app.screen, PortalScreen) and app.screen.account is not None
    )
    app.screen.query_one(TabbedContent).active = "summary"
    pane = app.screen.query_one(SummaryPane)
    await wait_for(pilot, lambda: pane.summary is not None and pane.grid.view.loaded)
    return pane


async def _switch(pilot, pane: SummaryPane, key: str) -> None:
    pane.grid.focus()
    generation = pane.grid.view.generation
    await pilot.press(key)
    await wait_grid(pilot, pane.grid, after=generation)
    await settle(pilot)


async def test_the_portal_summary_grid_has_exactly_the_billed_columns(tmp_path: Path) -> None:
    url, _ = seed_portal(tmp_path)
    _seed_calls(url)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        pane = await _portal_summary(pilot)
        for key, view in (("1", "24h"), ("2", "daily"), ("3", "weekly"), ("4", "monthly")):
            if pane.view != view:
                await _switch(pilot, pane, key)
            assert pane.view == view
            assert [column.title for column in pane.grid.view.columns] == BILLED_TITLES
            assert not hasattr(pane.summary.rows[0], "cost")
            # Scrolled to the last column, the screen shows no Cost or Profit heading either.
            pane.grid.focus()
            await pilot.press("end", *["right"] * len(BILLED_TITLES))
            await settle(pilot)
            text = screen_text(app)
            assert "Customer Charge" in text or "Invoice" in text
            assert "Cost" not in text and "Profit" not in text


async def test_copying_and_exporting_the_portal_summary_carry_no_cost(tmp_path: Path) -> None:
    url, _ = seed_portal(tmp_path)
    _seed_calls(url)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        pane = await _portal_summary(pilot)
        grid = pane.grid
        grid.focus()
        # Select everything, then the grid menu's "Copy with Headers".
        await pilot.press("ctrl+a", "m")
        await settle(pilot)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: getattr(grid, "last_copied", None))
        copied = grid.last_copied
        assert copied.splitlines()[0].split("\t") == BILLED_TITLES
        assert "37.02" in copied  # the day's charge ...
        for leaked in COST_TEXTS:  # ... and neither its cost nor its margin
            assert leaked not in copied, leaked
        # The portal's Export (it writes no file: it copies the CSV and shows it).
        await pilot.press("m")
        await settle(pilot)
        menu = app.screen.query_one(OptionList)
        ids = [menu.get_option_at_index(i).id for i in range(menu.option_count)]
        menu.highlighted = ids.index("export")
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(grid, "last_portal_csv", None) is not None)
        exported = grid.last_portal_csv.text
        assert exported.splitlines()[0].split(",") == BILLED_TITLES
        assert "37.02" in exported
        for leaked in COST_TEXTS:
            assert leaked not in exported, leaked
        # And what any export of this grid would write: its row source holds the same columns.
        source, query = grid.view.source, grid.view.query
        columns = list(grid.view.columns)
        path = tmp_path / "portal-summary.csv"
        write_csv_cells(
            path,
            columns,
            source.iter_csv_cells(query, 0, None, positions=range(len(columns))),
        )
        written = path.read_text(encoding="utf-8")
        assert written.splitlines()[0].split(",") == BILLED_TITLES
        for leaked in COST_TEXTS:
            assert leaked not in written, leaked


async def test_the_portal_invoice_view_has_no_mark_paid(tmp_path: Path) -> None:
    url, _ = seed_portal(tmp_path)
    invoice_id = _seed_calls(url)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        pane = await _portal_summary(pilot)
        await _switch(pilot, pane, "5")
        assert pane.view == "invoices"
        text = screen_text(app)
        assert "INV-" in text or "Number" in text
        assert "marks the one under the cursor paid" not in text
        assert not re.search(r"\bmark(s|ed)?\b", text, re.IGNORECASE)  # no hint to mark paid
        # No binding anywhere on the portal screen marks an invoice paid ...
        active = {binding.action for _, binding, enabled, _ in _bindings(app) if enabled}
        assert not [action for action in active if "paid" in action], active
        # ... and p (the operator's key) on the invoice under the cursor changes nothing.
        pane.grid.focus()
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, PortalScreen)  # no reason dialog either
    (record,) = invoices.list_invoices(open_db(url), ADMIN)
    assert record.id == invoice_id and record.status is InvoiceStatus.UNPAID


def _bindings(app):
    """(key, binding, enabled, tooltip) of every binding active on the focused chain."""
    for key, active in app.screen.active_bindings.items():
        yield key, active.binding, active.enabled, active.tooltip


async def test_private_notes_appear_on_no_portal_view(tmp_path: Path) -> None:
    """Every tab of the portal and every Summary view, F1 included: the seeded private note's
    marker is nowhere in what the screen shows or holds."""
    url, _ = seed_portal(tmp_path)
    _seed_calls(url)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        pane = await _portal_summary(pilot)
        screen = app.screen
        tabs = screen.query_one(TabbedContent)
        views = []
        for tab in ("account", "profile", "numbers"):
            tabs.active = tab
            await settle(pilot)
            views.append(screen_text(app))
            await pilot.press("f1")
            await settle(pilot)
            views.append(screen_text(app))
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen)
        tabs.active = "summary"
        await settle(pilot)
        for key in "12345":
            if pane.view != {"1": "24h", "2": "daily", "3": "weekly", "4": "monthly"}.get(
                key, "invoices"
            ):
                await _switch(pilot, pane, key)
            views.append(screen_text(app))
        assert len(views) == 11
        assert "Jane Doe" in views[2]  # the screens were read (My Profile holds the name)
        assert all(PRIVATE_CANARY not in view for view in views)
        assert PRIVATE_CANARY not in repr(screen.account)
