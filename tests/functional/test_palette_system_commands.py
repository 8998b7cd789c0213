"""Textual's built-in palette commands (issue 20.5): the portal's palette holds only portal
commands (no Screenshot writing an SVG on the server, no Keys); the operator keeps Screenshot,
which writes into the export folder."""

from __future__ import annotations

import os
from pathlib import Path

from textual.command import CommandList, CommandPalette

from carriertui import locations
from carriertui.app import CarrierApp
from tests.functional.harness import log_in, palette_search, seed, settle, wait_for
from tests.functional.portal_harness import (
    CONTACT_EMAIL,
    CONTACT_PASSWORD,
    portal_login,
    seed_portal,
)

SIZE = (80, 24)
SYSTEM = ("Screenshot", "Keys", "Maximize", "Minimize", "Theme", "Quit")


async def _hits(pilot, text: str) -> list[str]:
    app = pilot.app
    await palette_search(pilot, text)
    assert isinstance(app.screen, CommandPalette)
    found = app.screen.query_one(CommandList)
    labels = [str(found.get_option_at_index(i).prompt) for i in range(found.option_count)]
    await pilot.press("escape")
    await settle(pilot)
    return labels


def _system(labels: list[str]) -> list[str]:
    return [label for label in labels if label.split("\n")[0].strip() in SYSTEM]


async def test_the_portal_palette_offers_no_screenshot_and_no_keys(tmp_path: Path) -> None:
    url, _ = seed_portal(tmp_path)
    app = CarrierApp(url, portal=True)
    async with app.run_test(size=SIZE) as pilot:
        # At the portal's login, and logged in as the contact.
        for search in ("screen", "keys"):
            assert _system(await _hits(pilot, search)) == []
        await portal_login(pilot, CONTACT_EMAIL, CONTACT_PASSWORD)
        await wait_for(pilot, lambda: type(app.screen).__name__ == "PortalScreen")
        for search in ("screen", "keys", "max", "theme", "quit"):
            labels = await _hits(pilot, search)
            assert _system(labels) == [], labels
        # The portal's own commands are still there.
        assert any("log out" in label for label in await _hits(pilot, "log out"))
        # Whatever asks for Textual's screenshot action, the portal writes nothing.
        app.action_screenshot()
        await settle(pilot)
    assert not list(tmp_path.rglob("*.svg")) and not list(Path.cwd().glob("*.svg"))
    assert not locations.exports_dir().exists() or not any(locations.exports_dir().iterdir())


async def test_the_operator_screenshot_goes_into_the_export_folder(tmp_path: Path) -> None:
    app = CarrierApp(seed(tmp_path / "c.sqlite"))
    folder = locations.exports_dir()
    assert not folder.exists()  # created by the screenshot
    before = set(Path.cwd().glob("*.svg"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "olga")
        labels = await _hits(pilot, "keys")
        assert _system(labels), labels  # operators keep Textual's commands
        labels = await _hits(pilot, "screenshot")
        assert any("Screenshot" in label and "export folder" in label for label in labels), labels
        await palette_search(pilot, "screenshot")
        await pilot.press("enter")
        await wait_for(pilot, lambda: folder.is_dir() and any(folder.glob("*.svg")))
        await settle(pilot)
    (shot,) = folder.glob("screenshot-*.svg")
    text = shot.read_text(encoding="utf-8")
    assert text.startswith("<svg") and "Northwind" in text.replace("\xa0", " ")
    assert oct(os.stat(shot).st_mode & 0o777) == "0o600"
    assert set(Path.cwd().glob("*.svg")) == before  # not in the working directory
