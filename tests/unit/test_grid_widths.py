"""How the grid shares a wide screen's spare width among its text columns."""

from __future__ import annotations

from decimal import Decimal

import pytest

from carriertui.grid.model import Column, ColumnType
from carriertui.widgets.grid.cells import share_spare_width, text_widths


def test_no_spare_width_keeps_every_width() -> None:
    assert share_spare_width([24, 10, 12], [80, 10, 12], 0) == [24, 10, 12]
    assert share_spare_width([24, 10, 12], [80, 10, 12], -43) == [24, 10, 12]


def test_equal_shares_capped_at_what_each_column_needs() -> None:
    # Three text columns want more; the second needs only 2 more cells, and what it leaves
    # goes to the other two in the next round.
    assert share_spare_width([20, 20, 20], [60, 22, 60], 30) == [34, 22, 34]


def test_cells_left_when_all_are_satisfied_stay_unused() -> None:
    assert share_spare_width([20, 8, 20], [25, 8, 21], 50) == [25, 8, 21]


def test_the_last_few_cells_go_to_the_leftmost_columns() -> None:
    assert share_spare_width([10, 10, 10], [50, 50, 50], 5) == [12, 12, 11]
    assert share_spare_width([10, 10, 10], [50, 50, 50], 2) == [11, 11, 10]


@pytest.mark.parametrize("spare", [0, 1, 7, 40, 1000])
def test_never_more_than_the_spare_width_nor_below_a_columns_own(spare: int) -> None:
    natural, needs = [18, 9, 24, 3], [70, 9, 31, 3]
    widths = share_spare_width(natural, needs, spare)
    assert sum(widths) - sum(natural) == min(spare, sum(needs) - sum(natural))
    assert all(n <= w <= max(n, need) for n, w, need in zip(natural, widths, needs, strict=True))


def test_text_widths_measure_text_columns_as_drawn_and_skip_the_others() -> None:
    columns = (
        Column("name", "Name", width=10),
        Column("balance", "Balance", ColumnType.MONEY, width=12),
        Column("code", "Code", grow=False),
        Column("count", "Count", ColumnType.INTEGER, grow=True),
    )
    rows = [
        (1, ("\u6771\u4eac\u901a\u4fe1", Decimal("1234567.89"), "LONG-CODE-0001", 1234567)),
        (2, ("bell\x07", Decimal("1"), "X", 5)),
    ]
    # CJK counts two cells a character; a control character is one visible placeholder; the
    # money and the code keep their declared widths (0: nothing to grow to); a column that
    # asks to grow is measured as displayed ("1,234,567").
    assert text_widths(columns, rows) == [8, 0, 0, 9]
    assert [column.grows for column in columns] == [True, False, False, True]
