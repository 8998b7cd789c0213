"""Noncharacters, zero-width and combining code points, wide CJK and emoji sequences keep every
grid column aligned at 80x24: in the customer list (also scrolled right) and the audit log."""

from __future__ import annotations

from pathlib import Path

from carriertui.app import CarrierApp
from carriertui.screens.audit import AuditLogScreen
from carriertui.store import customers
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from carriertui.text import sanitize
from carriertui.widgets.grid import Grid
from carriertui.widgets.grid.cells import align_text
from tests.functional.harness import log_in, open_db, seed, settle, wait_for, wait_grid
from tests.functional.odd_widths import ODD_NAMES, assert_columns_aligned
from tests.functional.rendered import rendered_text

SIZE = (80, 24)


def seeded(tmp_path: Path) -> str:
    """The odd names as customers created through the service (so each has an audit entry)."""
    url = seed(tmp_path / "odd.sqlite", with_customers=False)
    db = open_db(url)
    actor = Actor("olga", Role.OPERATOR, "192.0.2.10")
    for index, name in enumerate(ODD_NAMES):
        values = {"name": name, "account_code": f"ODD-{index}", "currency": "EUR"}
        customers.create_customer(db, actor, values)
    db.dispose()
    return url


async def test_customer_list_with_odd_widths_stays_aligned_also_scrolled(tmp_path: Path) -> None:
    app = CarrierApp(seeded(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        grid = app.screen.grid
        view = grid.view
        assert view.row_count == len(ODD_NAMES)
        assert assert_columns_aligned(app, view) == len(ODD_NAMES)
        screen = rendered_text(app)
        assert "\ufffe" not in screen and "\uffff" not in screen
        assert "ACME\ufffd\ufffd Noncharacters" in screen
        # A wide character cut at the column's edge leaves a space before the ellipsis.
        width = view._widths[0]
        cjk = ODD_NAMES[3]
        assert align_text(sanitize(cjk), width, "left").endswith(" …")
        assert align_text(sanitize(cjk), width, "left") in screen
        for _ in view.columns:  # one column to the right at a time: every scroll position
            await pilot.press("right")
            await settle(pilot)
            assert assert_columns_aligned(app, view) == len(ODD_NAMES)
        assert view.scroll_x > 0
        for offset in (1, 3, 5):  # the left edge inside a column (a scroll bar drag)
            view.scroll_to(x=view._offsets[2] - view.pinned()[1] + offset, animate=False)
            await settle(pilot)
            assert assert_columns_aligned(app, view) == len(ODD_NAMES)


async def test_audit_log_with_odd_widths_stays_aligned(tmp_path: Path) -> None:
    app = CarrierApp(seeded(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        app.go_audit_log()
        await wait_for(
            pilot, lambda: isinstance(app.screen, AuditLogScreen) and app.screen.query(Grid)
        )
        grid = app.screen.query_one(Grid)
        await wait_grid(pilot, grid)
        await settle(pilot)
        view = grid.view
        messages = [str(view.row_at(i)[1][2]) for i in range(view.row_count)]
        assert sum(message.startswith("Customer ") for message in messages) == len(ODD_NAMES)
        assert assert_columns_aligned(app, view) >= len(ODD_NAMES)
        for _ in view.columns:
            await pilot.press("right")
            await settle(pilot)
            assert assert_columns_aligned(app, view) >= len(ODD_NAMES)
        # The left edge inside the Message column, at and around the family emoji sequence
        # ("Customer " then the sequence): the cut-off part is blanked cell for cell.
        pinned = view.pinned()[1]
        for offset in range(8, 16):
            view.scroll_to(x=view._offsets[2] - pinned + offset, animate=False)
            await settle(pilot)
            assert assert_columns_aligned(app, view) >= len(ODD_NAMES)
