"""Switches say their state in words (issue 12.7): with NO_COLOR and a grey-only theme the
rendered text alone tells on from off."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.theme import Theme
from textual.widgets import Switch

from carriertui.app import CarrierApp
from carriertui.screens.customer.contact_form import ContactFormScreen
from carriertui.screens.customer.contact_password import ContactPasswordScreen
from tests.functional.harness import seed, settle, wait_for
from tests.functional.rendered import rendered_lines
from tests.functional.test_contacts import SIZE, _add_contact, _contacts_tab

GREY = "#a0a0a0"
MONOCHROME = Theme(
    name="test-monochrome",
    primary=GREY,
    secondary=GREY,
    accent=GREY,
    foreground=GREY,
    background="#000000",
    surface="#000000",
    panel="#000000",
    boost="#000000",
    success=GREY,
    warning=GREY,
    error=GREY,
    dark=True,
)


def _line(app, label: str) -> str:
    (line,) = [line for line in rendered_lines(app) if f" {label} " in line]
    return line


async def _toggle(pilot, switch_id: str) -> None:
    switch = pilot.app.screen.query_one(f"#{switch_id}", Switch)
    switch.focus()
    switch.scroll_visible(animate=False)
    await pilot.press("space")
    await settle(pilot)


def _monochrome(app: CarrierApp) -> None:
    app.register_theme(MONOCHROME)
    app.theme = MONOCHROME.name


async def test_contact_form_switches_show_on_and_off_in_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = CarrierApp(seed(tmp_path / "c.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        _monochrome(app)
        await _contacts_tab(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactFormScreen))
        await settle(pilot)
        for label, switch_id, first in (
            ("Auto Password", "field-auto_password", "On"),
            ("Email Verified", "field-email_verified", "Off"),
            ("Mobile Verified", "field-mobile_verified", "Off"),
        ):
            app.screen.query_one(f"#{switch_id}", Switch).scroll_visible(animate=False)
            await settle(pilot)
            assert _line(app, label).split(label, 1)[1].split()[0] == first
            await _toggle(pilot, switch_id)
            second = "Off" if first == "On" else "On"
            assert _line(app, label).split(label, 1)[1].split()[0] == second


async def test_change_password_switch_shows_its_state_in_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    url = seed(tmp_path / "c.sqlite")
    _add_contact(url)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        _monochrome(app)
        await _contacts_tab(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactPasswordScreen))
        await settle(pilot)
        assert _line(app, "Auto & Email").split("Auto & Email", 1)[1].split()[0] == "On"
        await _toggle(pilot, "auto")
        assert _line(app, "Auto & Email").split("Auto & Email", 1)[1].split()[0] == "Off"
