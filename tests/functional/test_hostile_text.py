"""Hostile customer names render as literal text everywhere and neither crash nor act.

GUIDE section 4: Textual parses plain strings as markup, and control sequences reach the terminal
unless replaced. Names with control characters are written straight into the table (as a foreign
writer could), since the services refuse them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import OptionList

from carriertui.app import CarrierApp
from carriertui.screens.customer.screen import CustomerHeader, CustomerScreen
from carriertui.screens.customers import CustomersScreen
from carriertui.text import sanitize
from carriertui.widgets.grid.view import cell_text
from tests.functional.harness import grid_column, log_in, palette_search, seed, settle, wait_for

HOSTILE = (
    "[@click=app.quit]x[/]",
    "[/",
    "ACME [Ltd]",
    "\x1b]52;c;aGk=\x07",
    "\x1b]2;PWNED\x07",
    "[bold red]not bold[/bold red]",
    "ACME\u202e Ltd\u2066hidden\u2069",  # "Trojan Source": bidi override and isolate
)
BIDI = ("\u202e", "\u2066", "\u2069")


def _controls(text: str) -> list[str]:
    return [c for c in text if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F]


@pytest.fixture
def hostile_url(tmp_path: Path) -> str:
    return seed(tmp_path / "h.sqlite", with_customers=False, hostile=HOSTILE)


async def test_customers_table_shows_hostile_names_literally_and_clicks_do_nothing(
    hostile_url: str,
) -> None:
    app = CarrierApp(hostile_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        grid = app.screen.grid
        shown = sorted(cell_text(grid.view.columns[0], name) for name in grid_column(grid))
        assert shown == sorted(sanitize(name) for name in HOSTILE)
        assert "[@click=app.quit]x[/]" in shown and "[/" in shown and "ACME [Ltd]" in shown
        assert "\u241b]2;PWNED\u2407" in shown  # ESC and BEL as visible control pictures
        assert "ACME\ufffd Ltd\ufffdhidden\ufffd" in shown  # bidi controls as placeholders
        for row in range(grid.view.row_count):
            await pilot.click("#grid-view", offset=(3, row + 1))
            await settle(pilot)
            assert app.is_running
            await pilot.click("#grid-view", offset=(3, row + 1))  # a second click on the name
            await settle(pilot)
            assert app.is_running and isinstance(app.screen, CustomersScreen)
        assert isinstance(app.screen, CustomersScreen)
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\x07" not in svg
        assert not any(char in svg for char in BIDI)
        assert "[@click=app.quit]x[/]" in svg


@pytest.mark.parametrize("name", HOSTILE)
async def test_customer_screen_header_and_form_keep_hostile_names_literal(
    hostile_url: str, name: str
) -> None:
    app = CarrierApp(hostile_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        grid = app.screen.grid
        grid.view.move_cursor([str(n) for n in grid_column(grid)].index(name))
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
        )
        header = app.screen.query_one(CustomerHeader).render().plain
        assert header.startswith(sanitize(name))
        assert not _controls(header.replace("\n", ""))
        await pilot.click(CustomerHeader, offset=(1, 0))
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, CustomerScreen)
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\x07" not in svg


async def test_palette_lists_hostile_names_as_plain_text(hostile_url: str) -> None:
    app = CarrierApp(hostile_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await palette_search(pilot, "customer")
        options = app.screen.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        joined = "\n".join(prompts)
        assert "customer: [@click=app.quit]x[/] (HOST-0)" in joined
        assert "customer: [/ (HOST-1)" in joined
        assert "customer: ACME [Ltd] (HOST-2)" in joined
        assert not _controls(joined.replace("\n", ""))
        assert app.is_running
