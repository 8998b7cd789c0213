"""The Rate Cards screen at 80x24, keys only: opened from the palette, its rates searched by
prefix and name, filtered by the date they are in force, a number rated, a good deck and a bad
one imported (with the reject report), and a viewer who can read but not import."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from textual.widgets import Input, Static, TextArea

from carriertui import rating
from carriertui.app import CarrierApp
from carriertui.screens.rate_cards import RateCardsScreen
from carriertui.screens.rate_deck_import import ImportDeckScreen, RejectsScreen
from carriertui.store import audit, customers, rates
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from carriertui.store.errors import PermissionDeniedError
from tests.functional.harness import (
    grid_column,
    log_in,
    open_db,
    palette_search,
    seed,
    settle,
    wait_for,
    wait_grid,
)
from tests.functional.rendered import rendered_text

SIZE = (80, 24)
API = Actor.api()
HEADER = "prefix,destination,rate,connect_fee,mcd,pulse,effective_from,effective_to\n"
# Two versions of 447: 0.0150 until 2025-06-01, then 0.0115 (the second deck's).
FIRST_DECK = (
    HEADER
    + "44,United Kingdom - Fixed,0.0062,0,60,60,2025-01-01,\n"
    + "447,United Kingdom - Mobile,0.0150,0,30,6,2025-01-01,\n"
    + "4420,United Kingdom - London,0.0055,0.01,1,1,2025-01-01,\n"
    + "49,Germany - Fixed,0.0071,0,60,6,2025-01-01,\n"
)
SECOND_DECK = (
    HEADER
    + "44,United Kingdom - Fixed,0.0062,0,60,60,2025-06-01,\n"
    + "447,United Kingdom - Mobile,0.0115,0,30,6,2025-06-01,\n"
    + "4420,United Kingdom - London,0.0055,0.01,1,1,2025-06-01,\n"
    + "49,Germany - Fixed,0.0071,0,60,6,2025-06-01,\n"
)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def url(tmp_path: Path) -> str:
    return seed_cards(tmp_path)


def seed_cards(tmp_path: Path) -> str:
    """alice (admin), olga (operator), vic (viewer); a customer card with two decks and a
    provider card, both assigned to Northwind (GBP)."""
    url = seed(tmp_path / "r.sqlite")
    db = open_db(url)
    rates.import_deck(db, API, _write(tmp_path, "a.csv", FIRST_DECK), "Retail GBP", currency="GBP")
    rates.import_deck(db, API, _write(tmp_path, "b.csv", SECOND_DECK), "Retail GBP")
    provider = HEADER + "44,United Kingdom,0.0041,0,1,1,2025-01-01,\n"
    rates.import_deck(
        db,
        API,
        _write(tmp_path, "p.csv", provider),
        "Upstream GBP",
        currency="GBP",
        kind="provider",
    )
    northwind = customers.find_customer(db, API, "NWT-001")
    rates.assign_card(db, API, "Retail GBP", northwind.id)
    rates.assign_card(db, API, "Upstream GBP", northwind.id)
    db.dispose()
    return url


async def _open(pilot) -> RateCardsScreen:
    app = pilot.app
    await palette_search(pilot, "go: rate cards")
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RateCardsScreen))
    screen = app.screen
    await wait_for(pilot, lambda: screen.card is not None)
    await wait_grid(pilot, screen.rates_grid)
    return screen


async def test_opened_from_the_palette_it_lists_the_cards_and_the_rates_in_force_now(
    url: str,
) -> None:
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await _open(pilot)
        assert grid_column(screen.cards_grid) == ["Retail GBP", "Upstream GBP"]
        cards = {row[0]: row for row in _cards_rows(screen)}
        # every version counted: 4 of each deck
        assert cards["Retail GBP"] == ("Retail GBP", "customer", "GBP", 8, "NWT-001")
        assert cards["Upstream GBP"] == ("Upstream GBP", "provider", "GBP", 1, "NWT-001")
        # in force now: the second deck's, one version of each prefix
        assert grid_column(screen.rates_grid) == ["44", "4420", "447", "49"]
        assert grid_column(screen.rates_grid, 2)[2] == Decimal("0.0115")
        text = rendered_text(app)
        assert "Retail GBP (customer, GBP) · rates in force at" in text
        assert "United Kingdom" in text and "4 rows" in text

        # down on the cards shows the provider card's rates
        await pilot.press("down")
        await wait_for(pilot, lambda: screen.card.name == "Upstream GBP")
        await wait_grid(pilot, screen.rates_grid)
        assert grid_column(screen.rates_grid) == ["44"]
        # enter moves to the rates, c back to the cards
        await pilot.press("enter")
        assert app.focused is screen.rates_grid.view
        await pilot.press("c")
        assert app.focused is screen.cards_grid.view


def _cards_rows(screen: RateCardsScreen) -> list[tuple]:
    view = screen.cards_grid.view
    return [view.row_at(i)[1] for i in range(view.row_count)]


async def test_search_by_prefix_and_by_name(url: str) -> None:
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await _open(pilot)
        grid = screen.rates_grid
        await pilot.press("enter", "slash", *"442", "enter")
        await wait_for(pilot, lambda: grid.view.query.search == "442" and grid.view.loaded)
        assert grid_column(grid) == ["4420"]
        await pilot.press("slash", *["backspace"] * 3, *"mobile", "enter")
        await wait_for(pilot, lambda: grid.view.query.search == "mobile" and grid.view.loaded)
        assert grid_column(grid) == ["447"]
        assert "1 of 4 rows" in rendered_text(app)


async def test_filter_by_the_date_in_force_and_every_version(url: str) -> None:
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await _open(pilot)
        grid = screen.rates_grid

        async def at(text: str) -> None:
            before = grid.view.generation
            await pilot.press("d")
            assert app.focused is screen.query_one("#rates-at", Input)
            await pilot.press("ctrl+u", *text, "enter")
            await wait_grid(pilot, grid, after=before)

        await at("2025-03-01")  # the first deck's rates
        assert grid_column(grid) == ["44", "4420", "447", "49"]
        assert grid_column(grid, 2)[2] == Decimal("0.0150")
        assert grid_column(grid, 7)[2] == datetime(2025, 6, 1, tzinfo=UTC)  # superseded then
        await at("all")  # both versions of every prefix
        assert grid_column(grid) == ["44", "44", "4420", "4420", "447", "447", "49", "49"]
        assert "every version" in rendered_text(app)
        await at("")  # now again
        assert grid_column(grid, 2)[2] == Decimal("0.0115")

        # a date that is not one: said next to the field, the grid as it was
        before = grid.view.generation
        await pilot.press("d", "ctrl+u", *"March 1st", "enter")
        await settle(pilot)
        assert grid.view.generation == before
        error = str(screen.query_one("#rates-at-error", Static).content)
        assert "now, all or a date" in error


async def test_rate_a_number_shows_the_prefix_the_billed_seconds_and_the_charge(
    url: str,
) -> None:
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await _open(pilot)
        result = screen.query_one("#rate-result", Static)

        async def rate(number: str, seconds: str, at: str = "") -> str:
            if isinstance(app.focused, Input):
                await pilot.press("escape")  # out of the field: to the rates
                assert app.focused is screen.rates_grid.view
            await pilot.press("t", "ctrl+u", *number, "tab", "ctrl+u", *seconds, "tab", "ctrl+u")
            if at:
                await pilot.press(*at)
            await pilot.press("enter")
            await settle(pilot)
            return str(result.content)

        shown = await rate("+447700900123", "61")
        # 30/6 for 61 s: 30 + ceil(31 / 6) x 6 = 66 s at 0.0115/min
        expected = rating.charge(Decimal("0.0115"), Decimal(0), 66)
        assert "Prefix 447 United Kingdom - Mobile" in shown
        assert "61 s" in shown and "billed as 66 s" in shown and f"{expected} GBP" in shown
        assert screen.rated.call.charge == expected == Decimal("0.0127")

        shown = await rate("442079460000", "10", "2025-03-01")  # London, 1/1, connect fee
        assert "Prefix 4420 United Kingdom - London" in shown and "billed as 10 s" in shown
        assert f"{rating.charge(Decimal('0.0055'), Decimal('0.01'), 10)} GBP" in shown

        shown = await rate("33123456", "60")
        assert "no rate for 33123456 at" in shown
        shown = await rate("33123456", "0")
        assert "not connected" in shown and "costs nothing" in shown
        # the rendered line says the same: data as plain text
        assert "costs nothing" in rendered_text(app)


async def test_an_operator_imports_a_good_deck_with_progress(url: str, tmp_path: Path) -> None:
    rows = "".join(f"33{n:04d},France - Zone {n},0.01,0,1,1,2099-07-01,\n" for n in range(25_000))
    deck = _write(tmp_path, "france.csv", HEADER + rows)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "olga")
        screen = await _open(pilot)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ImportDeckScreen))
        dialog = app.screen
        assert dialog.query_one("#deck-card", Input).value == "Retail GBP"
        await pilot.press(*str(deck), "tab", "ctrl+u", *"France EUR", "tab", "tab", *"EUR")
        progress: list[str] = []
        original = dialog._progress

        def watched(rows: int, total: int, done: bool) -> None:
            original(rows, total, done)
            progress.append(str(dialog.query_one("#deck-status", Static).content))

        dialog._progress = watched
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen, timeout=30)
        await wait_for(pilot, lambda: screen.card is not None and screen.card.name == "France EUR")
        await wait_grid(pilot, screen.rates_grid)
        assert any("Checking the rows: 10,000 of about 25,000" in text for text in progress)
        assert "writing the rates" in progress[-1]
        assert screen.card.rates == 25_000 and screen.card.currency == "EUR"
        assert screen.rates_grid.view.count == 0  # in force from 2099: none now
        await pilot.press("d", *"2099-07-01", "enter")
        await wait_for(pilot, lambda: screen.rates_grid.view.count == 25_000)
    entry = audit.list_entries(open_db(url), API, limit=1)[0]
    assert entry.actor == "olga" and "Imported 25000 rates into rate card France EUR" in (
        entry.message
    )


async def test_a_bad_deck_shows_every_bad_line_and_imports_nothing(
    url: str, tmp_path: Path
) -> None:
    deck = _write(
        tmp_path,
        "bad.csv",
        HEADER
        + "44,United Kingdom,0.0062,0,60,60,2099-07-01,\n"
        + "44x,=HYPERLINK(1),-1,0,60,0,2099-07-01,\n"
        + "49,[@click=app.quit]Germany[/],0.01,0,60,6,2099-07-01,\n",
    )
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await _open(pilot)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ImportDeckScreen))
        dialog = app.screen
        await pilot.press(*str(deck), "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, RejectsScreen))
        rejects = app.screen
        report = rejects.query_one("#rejects-text", TextArea).text
        lines = report.splitlines()
        assert [line.split(":")[0] for line in lines] == ["line 3", "line 4"]
        assert "prefix" in lines[0] and "formula" in lines[0] and "negative" in lines[0]
        assert "pulse" in lines[0] and "markup" in lines[1]
        text = rendered_text(app)
        assert "2 bad lines; nothing was imported." in text
        assert "'[@click=app.quit]Germany[/]'" in text  # the text it is, not run as markup
        await pilot.press("c")
        assert app.clipboard == report
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is dialog)
        assert "refused, nothing imported" in str(dialog.query_one("#deck-status").content)
        # a file that is not there: said under the field, nothing runs
        dialog.query_one("#deck-path", Input).value = str(tmp_path / "nope.csv")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert dialog.query_one("#row-path").has_class("-invalid")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RateCardsScreen))
    card = rates.find_card(open_db(url), API, "Retail GBP")
    assert card.rates == 8  # as before


async def test_a_viewer_reads_and_rates_but_cannot_import(url: str, tmp_path: Path) -> None:
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "vic")
        screen = await _open(pilot)
        text = rendered_text(app)
        assert "Retail GBP (customer, GBP, read only) · rates in force at" in text
        footer = text.splitlines()[-1]
        assert "Import" not in footer and "Rate a number" in footer
        await pilot.press("i")
        await settle(pilot)
        assert app.screen is screen  # no import dialog
        await pilot.press("t", *"4930123")
        await wait_for(pilot, lambda: screen.rated is not None)
        assert "Prefix 49 Germany - Fixed" in str(screen.query_one("#rate-result").content)
        await palette_search(pilot, "rates:")
        labels = rendered_text(app)
        assert "rates: rate a number" in labels and "rates: import a deck" not in labels
        await pilot.press("escape")
        assert app.actor.role is Role.VIEWER
    # and the service refuses a viewer whatever a screen shows
    viewer = Actor(name="vic", role=Role.VIEWER, ip="127.0.0.1")
    with pytest.raises(PermissionDeniedError, match="needs the operator role"):
        rates.import_deck(open_db(url), viewer, _write(tmp_path, "v.csv", FIRST_DECK), "Retail GBP")


async def test_customer_main_shows_the_assigned_cards_or_none(url: str) -> None:
    from carriertui.screens.customer.screen import CustomerScreen

    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "vic")  # read only: a viewer sees them too
        for code, line in (
            ("NWT-001", "Rate cards: customer Retail GBP · provider Upstream GBP"),
            ("BFV-002", "Rate cards: customer none · provider none"),
        ):
            record = customers.find_customer(open_db(url), API, code)
            app.open_customer(record.id)
            await wait_for(
                pilot,
                lambda wanted=record.id: (
                    isinstance(app.screen, CustomerScreen)
                    and app.screen.customer_id == wanted
                    and app.screen.query("#main-cards")
                    and str(app.screen.query_one("#main-cards").content)
                ),
            )
            assert str(app.screen.query_one("#main-cards").content) == line
            assert line in rendered_text(app)
            await pilot.press("escape")
            await settle(pilot)


async def test_hostile_destination_names_show_as_the_text_they_are(url: str) -> None:
    """A destination the import would refuse, written by a foreign writer straight into the
    table: markup shows as its characters, a terminal escape as a visible placeholder."""
    from carriertui.store.db.rate_tables import Rate
    from carriertui.text import sanitize

    hostile = "[@click=app.quit]Evil[/] \x1b]52;c;SGk=\x07"
    db = open_db(url)
    card = rates.find_card(db, API, "Retail GBP")
    with db.write() as session:
        session.add(
            Rate(
                card_id=card.id,
                prefix="999",
                destination=hostile,
                rate=Decimal("0.5"),
                connect_fee=Decimal(0),
                mcd=1,
                pulse=1,
                effective_from=datetime(2025, 1, 1, tzinfo=UTC),
            )
        )
    db.dispose()
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await _open(pilot)
        await pilot.press("t", *"99912345")
        await wait_for(pilot, lambda: screen.rated is not None)
        await settle(pilot)
        result = str(screen.query_one("#rate-result", Static).content)
        assert sanitize(hostile) in result and "\x1b" not in result
        assert "[@click=app.quit]Evil[/]" in rendered_text(app)
        assert isinstance(app.screen, RateCardsScreen)  # nothing ran
