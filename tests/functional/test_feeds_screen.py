"""The Feeds screen at 80x24: one status line per spool of `[feeds] spool`, what the spool's
ingest left (files, rows, CDRs, rejects, waiting, the last error), file names shown as text."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from textual.widgets import Static

from carriertui.app import CarrierApp
from carriertui.feeds.common import FeedOptions
from carriertui.screens.feeds import FeedsScreen
from carriertui.store import spool
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from tests.functional.harness import log_in, open_db, palette_search, seed, wait_for

SIZE = (80, 24)
ADMIN = Actor("test", Role.ADMIN, "127.0.0.1")
FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "feeds_fixtures"


def _status(app: CarrierApp) -> str:
    return str(app.screen.query_one("#feeds-status", Static).render())


async def test_feeds_screen_shows_each_spool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = seed(tmp_path / "f.sqlite")
    db = open_db(url)
    from carriertui.store import customers

    customers.create_customer(db, ADMIN, {"name": "Feed Co", "account_code": "ACME"})
    directory = tmp_path / "spool"
    directory.mkdir()
    (directory / "odd.csv").write_text("1,2,3\n", encoding="utf-8")
    time.sleep(0.01)  # imported in order of time: the odd one first
    hostile = "[@click=app.quit]cx.csv"  # markup in a file name: shown as text
    shutil.copy(FIXTURES / "connexcs_api.csv", directory / hostile)
    spool.ingest_once(db, ADMIN, directory, "auto", FeedOptions(), settle_s=0.05)
    (directory / "next.csv").write_text("waiting\n", encoding="utf-8")
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("CARRIERTUI_FEEDS_SPOOL", f"{directory}:{missing}")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await palette_search(pilot, "go: feeds")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FeedsScreen))
        await wait_for(pilot, lambda: "files" in _status(app))
        text = _status(app)
        assert f"{directory}: 2 files, 4 rows, 2 CDRs imported, 2 rejected, 1 waiting" in text
        assert "last error: odd.csv: " in text and "cannot tell the format" in text
        assert f"{missing}: not a directory" in text
        # BETA is unknown here: its two rows are the rejects; the name is shown as it is
        assert f"last {hostile} at " in text
        (directory / "next.csv").unlink()
        await pilot.press("r")
        await wait_for(pilot, lambda: "0 waiting" in _status(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, FeedsScreen))
