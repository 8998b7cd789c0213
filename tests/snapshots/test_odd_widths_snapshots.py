"""Grids at 80x24 with names whose code points have odd widths (noncharacters, zero-width and
combining marks, Zalgo, wide CJK cut at a column's edge, emoji ZWJ sequences, flags, skin
tones): the customer list, and audit rows naming those customers. Every column stays aligned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot

from carriertui.app import CarrierApp
from carriertui.grid.memory import InMemoryRowSource
from carriertui.grid.model import Query, SortKey
from carriertui.store.audit import CUSTOMER_COLUMN, GRID_COLUMNS
from tests.functional.harness import freeze_cursors, log_in, seed, settle
from tests.functional.odd_widths import ODD_NAMES, assert_columns_aligned
from tests.functional.test_grid import GridApp

SIZE = (80, 24)
FIXED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_customer_list_with_odd_widths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snap_compare
) -> None:
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(variable, "noc-operator")
    # Written straight into the table (fixed creation times), as the harness does.
    app = CarrierApp(seed(tmp_path / "odd.sqlite", with_customers=False, hostile=ODD_NAMES))

    async def run_before(pilot: Pilot[object]) -> None:
        await log_in(pilot)
        await settle(pilot)
        freeze_cursors(app)
        await pilot.pause()
        assert assert_columns_aligned(app, app.screen.grid.view) == len(ODD_NAMES)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def audit_rows() -> InMemoryRowSource:
    columns = (*GRID_COLUMNS[:3], CUSTOMER_COLUMN, *GRID_COLUMNS[3:])
    rows = [
        (
            index + 1,
            (
                FIXED + timedelta(minutes=index),
                "CREATE",
                f"Customer {name} created",
                name,
                "customer",
                "olga",
                "192.0.2.10",
                "POST",
                str(index + 1),
                "{}",
            ),
        )
        for index, name in enumerate(ODD_NAMES)
    ]
    return InMemoryRowSource(columns, rows, name="audit-log")


def test_audit_rows_with_odd_widths(snap_compare) -> None:
    app = GridApp(audit_rows(), query=Query(sort=(SortKey("created_at", descending=True),)))

    async def run_before(pilot: Pilot[object]) -> None:
        grid = app.query_one("#grid")
        await settle(pilot)
        assert assert_columns_aligned(app, grid.view) == len(ODD_NAMES)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
