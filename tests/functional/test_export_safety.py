"""Where an export may write, at 80x24: the customer portal writes no file at all (no path to type,
the CSV goes to the clipboard and a read-only view, or to the browser); an operator's export
refuses symbolic links out of the export folder, asks before writing outside it, and asks before
replacing a file. Also the default export folder (created on first use) and whole error text."""

from __future__ import annotations

import csv
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widgets import Input, OptionList, Static, TabbedContent

from carriertui import locations
from carriertui.app import CarrierApp
from carriertui.screens.portal import PortalScreen
from carriertui.widgets.confirm import ConfirmScreen
from carriertui.widgets.grid import Grid
from carriertui.widgets.grid.dialogs import ExportScreen, GridMenu
from carriertui.widgets.grid.transfer import CsvScreen
from tests.functional.harness import open_db, settle, wait_for, wait_grid
from tests.functional.portal_harness import (
    ADMIN,
    CONTACT_EMAIL,
    CONTACT_PASSWORD,
    portal_login,
    seed_portal,
)
from tests.functional.test_grid import GridApp, memory_source

SIZE = (80, 24)
KEEP = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKEEP keep@me\n"


def _files(*roots: Path) -> set[Path]:
    found: set[Path] = set()
    for root in roots:
        for folder, _dirs, names in os.walk(root):
            found.update(Path(folder) / name for name in names)
    return found


async def _menu_choose(pilot, choice: str) -> None:
    """Open the grid menu (m) and choose the item ``choice`` with the arrow keys and Enter."""
    app = pilot.app
    await pilot.press("m")
    await wait_for(pilot, lambda: isinstance(app.screen, GridMenu))
    options = app.screen.query_one(OptionList)
    ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
    assert choice in ids, ids
    await pilot.press(*(["down"] * ids.index(choice)), "enter")


# -- the portal ---------------------------------------------------------------------------------


def _portal_traffic(url: str) -> None:
    from carriertui.store import customers, rollups
    from carriertui.store.cdrs import importer as cdrs

    db = open_db(url)
    northwind = customers.find_customer(db, ADMIN, "NWT-001")
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = [
        cdrs.CdrValues(
            call_id=f"x-{n}",
            customer_id=northwind.id,
            start_time=day - timedelta(days=n, hours=1),
            source_cli="441632960000",
            dest_number="442079460000",
            dest_name="UK London",
            duration=60,
            billed_duration=60,
            sip_code=200,
            release_reason="Normal",
            pdd_ms=900,
            charge=Decimal("0.0125") * n,
            cost=Decimal("0.0080"),
            direction="outbound",
            source_ip="192.0.2.10",
        )
        for n in range(1, 4)
    ]
    cdrs.insert_cdrs(db, ADMIN, [rows], source="export test")
    rollups.rollup_incremental(db)
    db.dispose()


async def _portal_summary_grid(pilot) -> Grid:
    from carriertui.screens.customer.summary import SummaryPane

    app = pilot.app
    await portal_login(pilot, CONTACT_EMAIL, CONTACT_PASSWORD)
    await wait_for(
        pilot, lambda: isinstance(app.screen, PortalScreen) and app.screen.account is not None
    )
    app.screen.query_one(TabbedContent).active = "summary"
    pane = app.screen.query_one(SummaryPane)
    await wait_for(pilot, lambda: pane.summary is not None and pane.grid.view.loaded)
    pane.grid.focus()
    await settle(pilot)
    return pane.grid


@pytest.fixture
def quarantined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """HOME and the working folder in the test's temporary folder, where a stray write shows."""
    home = tmp_path / "unix-home"
    work = tmp_path / "cwd"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return [home, work, Path(os.environ["CARRIERTUI_HOME"])]


async def test_portal_export_takes_no_path_and_writes_no_file(
    tmp_path: Path, quarantined: list[Path]
) -> None:
    url, _contact = seed_portal(tmp_path)
    _portal_traffic(url)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        grid = await _portal_summary_grid(pilot)
        before = _files(*quarantined)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, GridMenu))
        assert not app.screen.query(Input)
        await pilot.press("escape")
        await _menu_choose(pilot, "export")
        await wait_for(pilot, lambda: isinstance(app.screen, CsvScreen))
        screen = app.screen
        assert not screen.query(Input)  # nothing anywhere to type a path into
        assert not any(isinstance(s, ExportScreen) for s in app.screen_stack)
        assert app.clipboard == screen.csv
        records = list(csv.reader(screen.csv.splitlines()))
        assert records[0][0] == "Period"
        assert len(records) == 1 + grid.view.count
        note = str(screen.query_one("#csv-note", Static).render())
        assert f"Copied {grid.view.count} rows as CSV" in note
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, PortalScreen)
        after = _files(*quarantined)
    assert after == before


async def test_portal_export_in_a_browser_is_a_download(
    tmp_path: Path, quarantined: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under textual-serve the driver is a web driver; here the headless driver says it is one
    and records what Textual's file delivery hands it (a browser would receive that)."""
    url, _contact = seed_portal(tmp_path)
    _portal_traffic(url)
    monkeypatch.setattr(CarrierApp, "is_web", property(lambda self: True))
    app = CarrierApp(url, portal=True)
    delivered: list[dict[str, object]] = []
    async with app.run_test(size=SIZE) as pilot:

        def deliver_binary(binary, *, delivery_key, save_path, **options) -> None:
            delivered.append({"text": binary.read(), "file": save_path.name, **options})

        monkeypatch.setattr(app._driver, "deliver_binary", deliver_binary)
        grid = await _portal_summary_grid(pilot)
        count = grid.view.count
        before = _files(*quarantined)
        await _menu_choose(pilot, "export")
        await wait_for(pilot, lambda: bool(delivered))
        assert not isinstance(app.screen, (ExportScreen, CsvScreen))
        after = _files(*quarantined)
    assert after == before
    (sent,) = delivered
    assert sent["mime_type"] == "text/csv" and str(sent["file"]).endswith(".csv")
    records = list(csv.reader(str(sent["text"]).splitlines()))
    assert records[0][0] == "Period" and len(records) == 1 + count


async def test_portal_export_is_bounded_and_says_so(
    tmp_path: Path, quarantined: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from carriertui.widgets.grid import transfer

    url, _contact = seed_portal(tmp_path)
    _portal_traffic(url)
    # a few rows' worth: the portal's billed columns make a row about 40 bytes, the header 84
    monkeypatch.setattr(transfer, "PORTAL_COPY_LIMIT", 200)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        grid = await _portal_summary_grid(pilot)
        count = grid.view.count
        await _menu_choose(pilot, "export")
        await wait_for(pilot, lambda: isinstance(app.screen, CsvScreen))
        text = app.screen.csv
        note = str(app.screen.query_one("#csv-note", Static).render())
    assert len(text) <= 200
    rows = len(list(csv.reader(text.splitlines()))) - 1
    assert 0 < rows < count
    assert f"the first {rows} rows" in note and "select fewer rows" in note


# -- operators --------------------------------------------------------------------------------


async def _export_dialog(pilot) -> ExportScreen:
    app = pilot.app
    await wait_grid(pilot, app.query_one(Grid))
    await _menu_choose(pilot, "export")
    await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
    return app.screen


def _error(screen: ExportScreen) -> str:
    return str(screen.query_one("#export-error", Static).render())


async def test_an_export_to_a_symlink_out_of_the_export_folder_is_refused(
    tmp_path: Path,
) -> None:
    folder = locations.exports_dir()
    folder.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "authorized_keys"
    victim.write_text(KEEP)
    (folder / "evil.csv").symlink_to(victim)
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    app = GridApp(memory_source())
    async with app.run_test(size=SIZE) as pilot:
        screen = await _export_dialog(pilot)
        for typed, reason in (
            ("evil.csv", "symbolic link"),
            (str(folder / "evil.csv"), "symbolic link"),
            ("linked/authorized_keys", "leads out of the export folder"),
            (str(folder / "linked" / "new.csv"), "leads out of the export folder"),
        ):
            screen.query_one(Input).value = typed
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is screen and not screen.running, typed
            assert reason in _error(screen), (typed, _error(screen))
    assert victim.read_text() == KEEP
    assert sorted(p.name for p in outside.iterdir()) == ["authorized_keys"]
    assert sorted(p.name for p in folder.iterdir()) == ["evil.csv", "linked"]


async def test_replacing_an_existing_export_asks_and_no_keeps_it(tmp_path: Path) -> None:
    folder = locations.exports_dir()
    folder.mkdir(parents=True)
    existing = folder / "calls.csv"
    existing.write_bytes(b"old,data\r\n")
    app = GridApp(memory_source())
    async with app.run_test(size=SIZE) as pilot:
        screen = await _export_dialog(pilot)
        screen.query_one(Input).value = "calls.csv"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = str(app.screen.query_one(".dialog-text", Static).render())
        assert "Replace the existing file?" in question and str(existing) in question
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        await settle(pilot)
        assert not screen.running and "left as it is" in _error(screen)
        assert existing.read_bytes() == b"old,data\r\n"
        await pilot.press("enter")  # again, and this time replace it
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: not isinstance(app.screen, (ExportScreen, ConfirmScreen)))
    assert existing.read_text().startswith("Name,Status,Attempts")


async def test_an_export_outside_the_export_folder_asks_first(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "calls.csv"
    target.parent.mkdir()
    app = GridApp(memory_source())
    async with app.run_test(size=SIZE) as pilot:
        screen = await _export_dialog(pilot)
        screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = str(app.screen.query_one(".dialog-text", Static).render())
        assert "outside the export folder" in question and str(target) in question
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        await settle(pilot)
        assert not target.exists() and "outside the export folder" in _error(screen)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: target.exists())
    assert target.read_text().startswith("Name,Status,Attempts")


# -- the default folder and whole error text ------------------------------------------------------


async def test_the_default_path_exports_into_a_new_export_folder(tmp_path: Path) -> None:
    folder = locations.exports_dir()
    assert not folder.exists()  # a fresh CARRIERTUI_HOME
    app = GridApp(memory_source())
    async with app.run_test(size=SIZE) as pilot:
        screen = await _export_dialog(pilot)
        default = Path(screen.query_one(Input).value)
        assert default.parent == folder
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ExportScreen))
        await settle(pilot)
        shown = [n.message for n in app._notifications]
    assert default.is_file()
    assert default.read_text().startswith("Name,Status,Attempts")
    assert f"Exported 5 rows to {default.resolve()}" in shown


async def test_a_long_export_error_wraps_in_the_dialog(tmp_path: Path) -> None:
    missing = tmp_path / ("a-folder-with-a-rather-long-name-" * 3) / "summary-NWT-001.csv"
    app = GridApp(memory_source())
    async with app.run_test(size=SIZE) as pilot:
        screen = await _export_dialog(pilot)
        screen.query_one(Input).value = str(missing)
        await pilot.press("enter")
        await settle(pilot)
        error = screen.query_one("#export-error", Static)
        await wait_for(pilot, lambda: error.size.height > 1)
        message = str(error.render())
        width, height = error.size
        lines = [strip.text.rstrip() for strip in error.render_lines(Region(0, 0, width, height))]
        dialog = screen.query_one("#export-dialog")
    assert "does not exist" in message and str(missing.parent) in message
    assert len(message) > width  # longer than the dialog is wide: so it wraps
    assert "".join(lines).replace(" ", "") == message.replace(" ", "")  # all of it is shown
    assert error.region.right <= dialog.region.right


# -- row labels -----------------------------------------------------------------------------------


async def test_a_range_of_daily_charges_exports_with_its_periods(tmp_path: Path) -> None:
    """Issue 12.3: the Customer Charge cells of four Summary > Daily rows export with the
    Period of each row; "values only" gives the bare charges. Copy does the same."""
    import time_machine

    from tests.functional.summary_harness import NOW, seed_traffic
    from tests.functional.test_summary import _summary_tab, _switch

    folder = locations.exports_dir()
    with time_machine.travel(NOW, tick=True):
        url, _customer = seed_traffic(tmp_path)
        app = CarrierApp(url)
        async with app.run_test(size=SIZE) as pilot:
            pane = await _summary_tab(pilot)
            await _switch(pilot, pane, "2", "daily")
            view = pane.grid.view
            charge = [c.key for c in view.columns].index("charge")
            await pilot.press(*(["right"] * charge), "shift+down", "shift+down", "shift+down")
            await settle(pilot)
            assert view.selection is not None and view.selection.rows == 4
            rows = [view.row_at(i) for i in range(4)]
            periods = [key.astimezone(UTC).date().isoformat() for key, _values in rows]
            charges = [values[charge] for _key, values in rows]
            for choice, name in (("export", "labels.csv"), ("export_values", "bare.csv")):
                await _menu_choose(pilot, choice)
                await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
                app.screen.query_one(Input).value = name
                await pilot.press("enter")
                await wait_for(pilot, lambda name=name: (folder / name).exists(), timeout=15)
                await wait_for(pilot, lambda: not isinstance(app.screen, ExportScreen))
            await _menu_choose(pilot, "copy")
            await wait_for(pilot, lambda: pane.grid.last_copied is not None)
            copied = pane.grid.last_copied
            await _menu_choose(pilot, "copy_values")
            await wait_for(pilot, lambda: pane.grid.last_copied != copied)
            bare_copy = pane.grid.last_copied
    with (folder / "labels.csv").open(newline="", encoding="utf-8") as handle:
        labelled = list(csv.reader(handle))
    with (folder / "bare.csv").open(newline="", encoding="utf-8") as handle:
        bare = list(csv.reader(handle))
    assert labelled[0] == ["Period", "Customer Charge"]
    assert [row[0][:10] for row in labelled[1:]] == periods
    assert [Decimal(row[1]) for row in labelled[1:]] == charges
    assert bare[0] == ["Customer Charge"]
    assert [Decimal(row[0]) for row in bare[1:]] == charges
    lines = copied.split("\n")
    assert len(lines) == 4 and all("\t" in line for line in lines)
    assert all("\t" not in line for line in bare_copy.split("\n"))
