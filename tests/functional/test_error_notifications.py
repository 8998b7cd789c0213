"""The TUI names a database error's class as the CLI does (issue 19, item 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from carriertui.app import CarrierApp
from carriertui.screens.base import report_error
from tests.functional.harness import log_in, seed, settle


def _messages(app: CarrierApp) -> list[str]:
    return [notification.message for notification in app._notifications]


def _real_error(app: CarrierApp, statement: str, **params: object) -> Exception:
    assert app.db is not None
    with pytest.raises(Exception) as caught, app.db.read() as session:
        session.execute(text(statement), params).all()
    return caught.value


async def test_a_limit_and_a_defect_are_told_apart_in_the_toast(tmp_path: Path) -> None:
    app = CarrierApp(seed(tmp_path / "e.sqlite"))
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        report_error(app, _real_error(app, "SELECT 'a' LIKE :p", p="%" * 60_000))
        report_error(app, _real_error(app, "SELECT * FROM no_such_table_here"))
        await settle(pilot)
        limit, defect = _messages(app)[-2:]
        assert limit.startswith("the input is too large for the database: a search pattern")
        assert "cannot connect" not in limit
        log = tmp_path / "carriertui-home" / "logs" / "carriertui.log"
        assert defect.startswith("internal database error on sqlite:///")
        assert defect.endswith(f"(details in {log})")
        assert "no_such_table_here" in log.read_text()
