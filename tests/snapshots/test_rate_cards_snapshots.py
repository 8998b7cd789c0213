"""SVG snapshots of the Rate Cards screen at 80x24: the cards, the rates in force at a fixed
date, a number rated at a fixed time; the reject report of a bad deck; a viewer's read-only
screen.

Deterministic: the decks have fixed dates, the 'in force at' and the call's start are typed,
cursor blink frozen, workers waited for.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from carriertui.app import CarrierApp
from carriertui.screens.rate_cards import RateCardsScreen
from carriertui.screens.rate_deck_import import ImportDeckScreen, RejectsScreen
from tests.functional.harness import freeze_cursors, log_in, settle, wait_for, wait_grid
from tests.functional.test_rate_cards import HEADER, seed_cards

SIZE = (80, 24)


async def _open(pilot: Pilot[object], name: str = "alice") -> RateCardsScreen:
    app: CarrierApp = pilot.app  # type: ignore[assignment]
    await log_in(pilot, name)
    app.go_rate_cards()
    await wait_for(pilot, lambda: isinstance(app.screen, RateCardsScreen))
    screen = app.screen
    assert isinstance(screen, RateCardsScreen)
    await wait_for(pilot, lambda: screen.card is not None)
    await wait_grid(pilot, screen.rates_grid)
    return screen


async def _rate(pilot: Pilot[object], screen: RateCardsScreen) -> None:
    before = screen.rates_grid.view.generation
    await pilot.press("d", *"2025-03-01", "enter")
    await wait_grid(pilot, screen.rates_grid, after=before)
    await pilot.press("t", *"+447700900123", "tab", "ctrl+u", *"61", "tab", *"2025-03-01 14:30")
    await wait_for(pilot, lambda: screen.rated is not None and "14:30" in str(screen.rated.at))
    await settle(pilot)


async def _ready(pilot: Pilot[object]) -> None:
    await settle(pilot)
    freeze_cursors(pilot.app)  # type: ignore[arg-type]
    await pilot.pause()


def test_rate_cards_screen(tmp_path: Path, snap_compare) -> None:
    app = CarrierApp(seed_cards(tmp_path))

    async def run_before(pilot: Pilot[object]) -> None:
        screen = await _open(pilot)
        await _rate(pilot, screen)
        await _ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_rate_cards_screen_of_a_viewer(tmp_path: Path, snap_compare) -> None:
    app = CarrierApp(seed_cards(tmp_path))

    async def run_before(pilot: Pilot[object]) -> None:
        screen = await _open(pilot, "vic")
        await pilot.press("down")  # the provider card
        await wait_for(pilot, lambda: screen.card.name == "Upstream GBP")
        await wait_grid(pilot, screen.rates_grid)
        await _ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_rate_deck_reject_report(tmp_path: Path, snap_compare) -> None:
    app = CarrierApp(seed_cards(tmp_path))
    deck = tmp_path / "bad.csv"
    deck.write_text(
        HEADER
        + "44,United Kingdom,0.0062,0,60,60,2099-07-01,\n"
        + "44x,=HYPERLINK(1),-1,0,60,0,2099-07-01,\n"
        + "49,[@click=app.quit]Germany[/],0.01,0,60,6,2099-07-01,\n"
        + "44,United Kingdom,0.0065,0,60,60,2099-08-01,\n",
        encoding="utf-8",
    )

    async def run_before(pilot: Pilot[object]) -> None:
        await _open(pilot)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ImportDeckScreen))
        app.screen.query_one("#deck-path").value = str(deck)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, RejectsScreen))
        await _ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
