"""``LANG=C`` at 80x24 (issue 20, item 6): the screens an operator and a customer see, drawn
with ASCII only. Each picture is what the terminal gets; besides matching its snapshot, every
character of it is ASCII. The app's mode comes from the locale as `carriertui` decides it."""

from __future__ import annotations

from pathlib import Path

import pytest
import time_machine
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from carriertui import charset, locations
from carriertui.app import CarrierApp
from carriertui.ascii_screen import screen_text
from carriertui.screens.audit import DiffScreen
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.screens.customer.summary import SummaryPane
from carriertui.screens.login import LoginScreen
from tests.functional.harness import freeze_cursors, log_in, seed, settle, wait_for
from tests.functional.portal_harness import (
    CONTACT_EMAIL,
    CONTACT_PASSWORD,
    portal_login,
    seed_portal,
)
from tests.functional.summary_harness import NOW, seed_traffic
from tests.snapshots.test_audit_snapshots import ENTRY

SIZE = (80, 24)
FIXED = ENTRY.created_at
# Data with accents and a wide script: shown without them, one ASCII character per cell.
FOREIGN = ("Café Zürich Télécom", "東京テレコム")


@pytest.fixture(autouse=True)
def c_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(variable, "noc-operator")
    for variable in ("LC_ALL", "LC_CTYPE", "CARRIERTUI_DISPLAY_CHARSET"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "C")
    monkeypatch.setenv("TERM", "vt100")


def _app(url: str, **kwargs: bool) -> CarrierApp:
    ascii_only = charset.ascii_wanted(setting=locations.display_charset())
    assert ascii_only, "LANG=C must mean ASCII"
    return CarrierApp(url, ascii=ascii_only, **kwargs)


async def _ready(pilot: Pilot[object]) -> None:
    await settle(pilot)
    freeze_cursors(pilot.app)  # type: ignore[arg-type]
    await pilot.pause()
    _assert_ascii(pilot.app.export_screenshot())


def _assert_ascii(svg: str) -> None:
    wrong = sorted({char for char in svg if ord(char) >= 0x80})
    assert not wrong, f"not ASCII: {wrong}"


def _lines(app: CarrierApp) -> list[str]:
    """The screen as the terminal gets it, one string per row."""
    return [screen_text(strip.text) for strip in app.screen._compositor.render_strips()]


async def _open_customer(pilot: Pilot[object], *keys: str) -> CustomerScreen:
    app = pilot.app
    await log_in(pilot)
    await pilot.press(*keys, "enter")
    await wait_for(
        pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
    )
    return app.screen  # type: ignore[return-value]


def test_login(tmp_path: Path, snap_compare) -> None:
    app = _app(seed(tmp_path / "c.sqlite"))

    async def run_before(pilot: Pilot[object]) -> None:
        await wait_for(
            pilot, lambda: app.store_ready.is_set() and isinstance(app.screen, LoginScreen)
        )
        await _ready(pilot)
        assert any(line.strip().startswith("+----") for line in _lines(app))  # the box border

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_customer_list(tmp_path: Path, snap_compare) -> None:
    app = _app(seed(tmp_path / "c.sqlite", hostile=FOREIGN))

    async def run_before(pilot: Pilot[object]) -> None:
        await log_in(pilot)
        await _ready(pilot)
        shown = "\n".join(_lines(app))
        assert "Cafe Zurich Telecom" in shown and "??????" in shown

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_customer_tabs(tmp_path: Path, snap_compare) -> None:
    app = _app(seed(tmp_path / "c.sqlite"))

    async def run_before(pilot: Pilot[object]) -> None:
        await _open_customer(pilot, "down")  # Bluefin Voice GmbH
        await _ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_audit_difference(tmp_path: Path, snap_compare) -> None:
    with time_machine.travel(FIXED, tick=False):
        app = _app(seed(tmp_path / "c.sqlite"))

    async def run_before(pilot: Pilot[object]) -> None:
        await log_in(pilot)
        app.push_screen(DiffScreen(ENTRY))
        await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen))
        await _ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def _summary_with_chart(pilot: Pilot[object], view_key: str) -> SummaryPane:
    screen = await _open_customer(pilot)
    screen.query_one(TabbedContent).active = "summary"
    pane = screen.query_one(SummaryPane)
    await wait_for(pilot, lambda: pane.summary is not None and pane.grid.view.loaded)
    await pilot.press(view_key)
    await wait_for(pilot, lambda: pane.grid.view.loaded)
    if not pane.chart_shown:
        await pilot.press("t")
    await pilot.pause(0.4)  # the chart follows the rows in view on a short timer
    return pane


def test_summary_with_chart(tmp_path: Path, snap_compare) -> None:
    with time_machine.travel(NOW, tick=False):
        url, _customer_id = seed_traffic(tmp_path)
    app = _app(url)

    async def run_before(pilot: Pilot[object]) -> None:
        pane = await _summary_with_chart(pilot, "2")
        assert max(pane.query_one("#chart-minutes").data) > 0
        await _ready(pilot)

    with time_machine.travel(NOW, tick=True):
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("ascii_only", [True, False], ids=["ascii", "utf8"])
def test_summary_of_a_customer_without_traffic(
    tmp_path: Path, snap_compare, ascii_only: bool
) -> None:
    """No CDRs: an empty chart (issue 20, item 7), in either alphabet."""
    with time_machine.travel(NOW, tick=False):
        url = seed(tmp_path / "quiet.sqlite")
    app = _app(url) if ascii_only else CarrierApp(url)

    async def run_before(pilot: Pilot[object]) -> None:
        pane = await _summary_with_chart(pilot, "2")
        assert set(pane.query_one("#chart-minutes").data) == {0.0}
        await settle(pilot)
        freeze_cursors(app)
        await pilot.pause()
        if ascii_only:
            _assert_ascii(app.export_screenshot())

    with time_machine.travel(NOW, tick=True):
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_command_palette(tmp_path: Path) -> None:
    """No snapshot (the palette lists its hits in the order their providers answer): its
    search icon (two cells, an emoji) and the rest, ASCII."""
    from textual.command import CommandPalette

    app = _app(seed(tmp_path / "c.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.pause(0.5)
        await _ready(pilot)
        assert any(line.startswith("  >  Search for commands") for line in _lines(app))


def test_portal_account(tmp_path: Path, snap_compare) -> None:
    with time_machine.travel(FIXED, tick=False):
        url, _contact_id = seed_portal(tmp_path)
    app = _app(url, portal=True)

    async def run_before(pilot: Pilot[object]) -> None:
        from carriertui.screens.portal import PortalScreen

        await portal_login(pilot, CONTACT_EMAIL, CONTACT_PASSWORD)
        await wait_for(
            pilot, lambda: isinstance(app.screen, PortalScreen) and app.screen.account is not None
        )
        await _ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
