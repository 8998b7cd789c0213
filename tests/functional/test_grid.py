"""The grid as an operator drives it at 80x24: sort, filter, search, select, copy, export."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Column as SAColumn
from sqlalchemy import Integer, MetaData, Numeric, String, Table, insert
from textual.app import App, ComposeResult
from textual.widgets import Input, SelectionList

from carriertui import locations
from carriertui.grid.memory import InMemoryRowSource
from carriertui.grid.model import Column, ColumnType, Query, SortKey, Tone, negative_tone, tones
from carriertui.widgets.grid import Grid
from carriertui.widgets.grid.dialogs import CellScreen, ExportScreen, FilterScreen, GridMenu
from tests.functional.harness import settle, wait_for, wait_grid

SIZE = (80, 24)
COLUMNS = (
    Column("name", "Name", width=14),
    Column("status", "Status", width=9),
    Column("calls", "Attempts", ColumnType.INTEGER, width=8, group="Calls"),
    Column("ok", "Connected", ColumnType.INTEGER, width=9, group="Calls"),
    Column("charge", "Charge", ColumnType.MONEY, width=9),
    Column("at", "When (UTC)", ColumnType.TIMESTAMP),
)
BASE = datetime(2026, 11, 1, tzinfo=UTC)
ROWS = [
    (1, ("Northwind", "Active", 120, 80, Decimal("12.50"), BASE)),
    (2, ("Bluefin", "Penalty", 40, 10, Decimal("3.25"), BASE + timedelta(days=1))),
    (3, ("Atlas [UK]", "Active", 300, 210, Decimal("44.00"), BASE + timedelta(days=2))),
    (4, ("=HYPERLINK(1)", "Inactive", 0, 0, Decimal("0"), BASE + timedelta(days=3))),
    (5, ("Kestrel", "Active", 75, 30, Decimal("-1.75"), BASE + timedelta(days=4))),
]


class GridApp(App[None]):
    CSS_PATH = str(Path(__file__).resolve().parents[2] / "carriertui" / "app.tcss")

    def __init__(self, source, query: Query | None = None, **kwargs) -> None:
        super().__init__()
        self._source = source
        self._query = query
        self._kwargs = kwargs

    def compose(self) -> ComposeResult:
        yield Grid(self._source, query=self._query, id="grid", **self._kwargs)

    def on_mount(self) -> None:
        self.query_one(Grid).focus()


def memory_source() -> InMemoryRowSource:
    return InMemoryRowSource(COLUMNS, ROWS, name="calls")


def names(grid: Grid) -> list[str]:
    view = grid.view
    return [view.row_at(i)[1][0] for i in range(view.row_count)]


async def requery(pilot, grid: Grid, *keys: str) -> None:
    """Press ``keys`` and wait until the grid has re-queried and shows the new result."""
    before = grid.view.generation
    await pilot.press(*keys)
    await wait_grid(pilot, grid, after=before)


async def started(pilot) -> Grid:
    grid = pilot.app.query_one(Grid)
    await wait_grid(pilot, grid)
    return grid


async def test_sort_cycles_up_down_off_and_shift_adds_a_second_key() -> None:
    app = GridApp(memory_source())
    async with app.run_test(size=SIZE) as pilot:
        grid = await started(pilot)
        assert names(grid) == ["Northwind", "Bluefin", "Atlas [UK]", "=HYPERLINK(1)", "Kestrel"]
        await requery(pilot, grid, "s")
        assert names(grid)[0] == "=HYPERLINK(1)" and names(grid)[-1] == "Northwind"
        await requery(pilot, grid, "s")
        assert names(grid)[0] == "Northwind"
        await requery(pilot, grid, "s")
        assert grid.view.query.sort == ()
        await requery(
            pilot, grid, "right", "s", "right", "right", "S", "S"
        )  # status, connected desc
        assert grid.view.query.sort == (SortKey("status"), SortKey("ok", descending=True))
        assert names(grid) == ["Atlas [UK]", "Northwind", "Kestrel", "=HYPERLINK(1)", "Bluefin"]


async def test_clicking_a_header_sorts_by_that_column() -> None:
    app = GridApp(memory_source())
    async with app.run_test(size=SIZE) as pilot:
        grid = await started(pilot)
        x = grid.view._offsets[4] + 2  # the Charge title, in the second header line (groups)
        before = grid.view.generation
        await pilot.click("#grid-view", offset=(x, 1))
        await wait_grid(pilot, grid, after=before)
        assert grid.view.query.sort == (SortKey("charge"),)
        assert names(grid)[0] == "Kestrel"


async def test_set_filter_shows_a_chip_and_the_chip_clears_it() -> None:
    app = GridApp(memory_source())
    async with app.run_test(size=SIZE) as pilot:
        grid = await started(pilot)
        await pilot.press("right", "f")
        await wait_for(pilot, lambda: isinstance(app.screen, FilterScreen) and app.screen.loaded)
        values = app.screen.query_one(SelectionList)
        labels = [str(values.get_option_at_index(i).prompt) for i in range(values.option_count)]
        assert labels == ["Active  (3)", "Inactive  (1)", "Penalty  (1)"]
        await pilot.press("ctrl+n")
        values.select(values.get_option_at_index(2).value)
        await requery(pilot, grid, "ctrl+s")
        assert names(grid) == ["Bluefin"]
        assert grid.status_text().startswith("1 of 5 rows")
        chip = grid.query_one(".grid-chip")
        assert str(chip.label) == "Status: Penalty ✕"
        before = grid.view.generation
        await pilot.click(".grid-chip")
        await wait_grid(pilot, grid, after=before)
        assert len(names(grid)) == 5 and grid.view.query.filters == ()


async def test_range_filter_on_numbers_and_a_clear_message_for_a_bad_bound() -> None:
    app = GridApp(memory_source())
    async with app.run_test(size=SIZE) as pilot:
        grid = await started(pilot)
        await pilot.press("right", "right", "f")
        await wait_for(pilot, lambda: isinstance(app.screen, FilterScreen) and app.screen.loaded)
        app.screen.query_one("#filter-low", Input).value = "abc"
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, FilterScreen)
        assert "must be a number" in str(app.screen.query_one("#filter-error").render())
        app.screen.query_one("#filter-low", Input).value = "50"
        app.screen.query_one("#filter-high", Input).value = "200"
        await requery(pilot, grid, "ctrl+s")
        assert sorted(names(grid)) == ["Kestrel", "Northwind"]


async def test_search_applies_on_enter_and_escape_clears() -> None:
    app = GridApp(memory_source())
    async with app.run_test(size=SIZE) as pilot:
        grid = await started(pilot)
        await requery(pilot, grid, "slash", *"[uk", "enter")
        assert names(grid) == ["Atlas [UK]"]
        await requery(pilot, grid, "slash", "escape")
        assert len(names(grid)) == 5


async def test_selection_aggregates_and_select_all() -> None:
    app = GridApp(memory_source())
    async with app.run_test(size=SIZE) as pilot:
        grid = await started(pilot)
        await pilot.press("right", "right", "shift+down", "shift+down")  # Attempts 120, 40, 300
        await pilot.pause(0.2)
        await settle(pilot)
        assert grid.status_text() == (
            "5 rows · sel 3×1 · sum 460 · avg 153.33 · min 40 · max 300 · n 3"
        )
        await pilot.press("shift+right")  # and Connected 80, 10, 210
        await pilot.pause(0.2)
        await settle(pilot)
        assert "sel 3×2 · sum 760 · avg 126.67 · min 10 · max 300 · n 6" in grid.status_text()
        await pilot.press("ctrl+a")
        await pilot.pause(0.2)
        await settle(pilot)
        assert "sel 5×6 · sum" in grid.status_text() and "n 15" in grid.status_text()


async def test_copy_copy_with_headers_and_with_group_headers() -> None:
    app = GridApp(memory_source())
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("right", "shift+down", "shift+right")  # Status..Attempts, 2 rows
        # The menu: with row labels (Name, the key column), values only, headers, groups.
        for choice, expected in (
            (0, "Northwind\tActive\t120\nBluefin\tPenalty\t40"),
            (1, "Active\t120\nPenalty\t40"),
            (2, "Name\tStatus\tAttempts\nNorthwind\tActive\t120\nBluefin\tPenalty\t40"),
            (3, "\t\tCalls\nName\tStatus\tAttempts\nNorthwind\tActive\t120\nBluefin\tPenalty\t40"),
        ):
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, GridMenu))
            await pilot.press(*(["down"] * choice), "enter")
            await wait_for(pilot, lambda expected=expected: app.clipboard == expected)


async def test_export_writes_the_filtered_rows_with_hostile_text_neutralised(
    tmp_path: Path,
) -> None:
    app = GridApp(memory_source(), query=Query(sort=(SortKey("name"),)))
    target = locations.exports_dir() / "out.csv"  # a name alone goes to the export folder
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, GridMenu))
        await pilot.press("down", "down", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
        app.screen.query_one(Input).value = "out.csv"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ExportScreen))
    with target.open(newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    assert records[0] == ["Name", "Status", "Attempts", "Connected", "Charge", "When (UTC)"]
    assert [r[0] for r in records[1:]] == [
        "'=HYPERLINK(1)",
        "Atlas [UK]",
        "Bluefin",
        "Kestrel",
        "Northwind",
    ]
    assert records[4][4] == "-1.75"  # a negative number stays a number


async def test_export_to_a_missing_folder_says_so_and_writes_nothing(tmp_path: Path) -> None:
    app = GridApp(memory_source())
    target = tmp_path / "nowhere" / "out.csv"
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("m", "down", "down", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.screen.running)
        assert isinstance(app.screen, ExportScreen)
        assert "nowhere" in str(app.screen.query_one("#export-error").render())
    assert not target.parent.exists()


async def test_space_ticks_rows_and_v_shows_a_whole_value() -> None:
    app = GridApp(memory_source(), checkable=True)
    async with app.run_test(size=SIZE) as pilot:
        grid = await started(pilot)
        await pilot.press("space", "down", "down", "space")
        assert grid.view.checked == {1, 3}
        assert "2 ticked" in grid.status_text()
        await pilot.press("v")
        assert isinstance(app.screen, CellScreen)
        assert "Atlas [UK]" in str(app.screen.query_one("#cell-value").render())


async def test_refresh_keeps_the_cursor_on_the_same_record(tmp_path: Path) -> None:
    from carriertui.store.db.database import open_database
    from carriertui.store.db.rowsource import SqlRowSource

    db = open_database(f"sqlite:///{tmp_path / 'g.sqlite'}")
    metadata = MetaData()
    table = Table(
        "calls",
        metadata,
        SAColumn("id", Integer, primary_key=True),
        SAColumn("name", String(40)),
        SAColumn("charge", Numeric(10, 2)),
    )
    metadata.create_all(db.engine)
    with db.write() as session:
        session.execute(
            insert(table), [{"id": i, "name": f"c{i:03d}", "charge": i} for i in range(1, 301)]
        )
    columns = (Column("name", "Name"), Column("charge", "Charge", ColumnType.DECIMAL))
    source = SqlRowSource(
        db,
        name="calls",
        columns=columns,
        selectable=table,
        expressions={"name": table.c.name, "charge": table.c.charge},
        key=table.c.id,
    )
    app = GridApp(source, query=Query(sort=(SortKey("name"),)))
    async with app.run_test(size=SIZE) as pilot:
        grid = await started(pilot)
        grid.view.move_cursor(150)
        # Row 150 is on a page the view fetches in a worker: wait for it, as an operator would.
        await wait_for(pilot, lambda: grid.view.cursor_key == 151)
        with db.write() as session:  # two records sort before it now
            session.execute(insert(table), [{"id": 900, "name": "a"}, {"id": 901, "name": "b"}])
        await requery(pilot, grid, "r")
        await wait_for(pilot, lambda: grid.view.cursor == (152, 0) and grid.view.cursor_key == 151)
        assert grid.view.count == 302


async def test_the_header_funnel_opens_the_columns_filter() -> None:
    app = GridApp(memory_source())
    async with app.run_test(size=SIZE) as pilot:
        grid = await started(pilot)
        view = grid.view
        funnel = view._offsets[1] + view._widths[1]  # Status's last cell, title row is y=1
        await pilot.click("#grid-view", offset=(funnel, 1))
        await wait_for(pilot, lambda: isinstance(app.screen, FilterScreen) and app.screen.loaded)
        assert view.cursor[1] == 1
        assert view.query.sort == ()  # the funnel filters, it does not sort


async def test_a_slow_query_says_loading_and_keeps_the_old_rows() -> None:
    import threading

    gate = threading.Event()

    class SlowSource(InMemoryRowSource):
        synchronous = False  # a slow source (like SQL) is asked in a worker

        def page(self, query, offset, limit):
            if query.search:
                gate.wait(5)
            return super().page(query, offset, limit)

    app = GridApp(SlowSource(COLUMNS, ROWS, name="calls"))
    async with app.run_test(size=SIZE) as pilot:
        grid = await started(pilot)
        await pilot.press("slash", *"kes", "enter")
        await pilot.pause(0.4)
        assert grid.status_text().startswith("loading…")
        assert app.is_running
        gate.set()
        await wait_grid(pilot, grid)
        assert names(grid) == ["Kestrel"]
        assert grid.status_text().startswith("1 of 5 row")


async def test_a_status_tone_colours_its_cells_and_the_cursor_still_wins() -> None:
    """A column's tone colours the cells it names (by theme variable), only those, and the
    cursor's own colour still shows on a toned cell."""
    toned = (
        *COLUMNS[:1],
        Column(
            "status",
            "Status",
            width=9,
            tone=tones({"Penalty": Tone.ERROR, "Inactive": Tone.MUTED}),
        ),
        *COLUMNS[2:4],
        Column("charge", "Charge", ColumnType.MONEY, width=9, tone=negative_tone),
        COLUMNS[5],
    )
    app = GridApp(InMemoryRowSource(toned, ROWS, name="calls"))
    async with app.run_test(size=SIZE) as pilot:
        grid = await started(pilot)
        view = grid.view
        error = view.get_component_rich_style("datagrid--tone-error").color
        muted = view.get_component_rich_style("datagrid--tone-muted").color
        assert error is not None and muted is not None and error != muted

        def cell_colour(row: int, text: str):
            strip = view.render_line(view.header_height + row - int(view.scroll_offset.y))
            segment = next(s for s in strip if text in s.text)
            return segment.style.color

        assert cell_colour(1, "Penalty") == error  # Bluefin
        assert cell_colour(4, "-1.75") == error  # Kestrel's negative charge
        assert cell_colour(3, "Inactive") == muted
        for row, text in ((0, "Active"), (0, "12.50"), (1, "Bluefin"), (4, "Kestrel")):
            assert cell_colour(row, text) not in (error, muted), text  # no tone: plain
        assert cell_colour(2, "Active") == cell_colour(2, "Atlas")  # not the cursor row
        # The cursor on Bluefin's status: the cursor's colour, not the tone's.
        await pilot.press("down", "right")
        await settle(pilot)
        cursor = view.get_component_rich_style("datagrid--cursor")
        assert cell_colour(1, "Penalty") == cursor.color
