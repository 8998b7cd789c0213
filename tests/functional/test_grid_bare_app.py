"""The grid's dialogs carry their own layout: in a bare App (no carriertui app.tcss) at 80x24
each opens framed and centred over the grid, every widget in it sized and inside the screen,
its buttons on screen, laid out cell for cell as under the app's sheet (which only paints)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Input, OptionList, SelectionList, Static, TextArea

from carriertui.widgets.grid import Grid
from carriertui.widgets.grid.dialogs import CellScreen, ExportScreen, FilterScreen, GridMenu
from carriertui.widgets.grid.finder import ColumnFinder
from carriertui.widgets.grid.transfer import CsvScreen
from tests.functional.harness import settle, wait_for, wait_grid
from tests.functional.test_grid import SIZE, GridApp, memory_source

SCREEN = Region(0, 0, *SIZE)
# What an operator works with in each dialog: it must be on screen, not covered.
CONTROLS = (Button, Input, OptionList, SelectionList, TextArea)


class BareGridApp(App[None]):
    """The grid alone, with Textual's own styles and nothing of carriertui's sheet."""

    portal = False

    def compose(self) -> ComposeResult:
        yield Grid(memory_source(), id="grid")

    def on_mount(self) -> None:
        self.query_one(Grid).focus()


class StyledGridApp(GridApp):
    portal = False


def shown(screen: Screen[object]) -> list[Widget]:
    """The screen's widgets that are displayed (a hidden progress bar's parts are not)."""
    return [
        widget
        for widget in screen.query("*")
        if all(node.display for node in widget.ancestors_with_self if node is not screen)
    ]


def layout(screen: Screen[object]) -> list[tuple[str, str | None, Region, Region]]:
    return [
        (type(widget).__name__, widget.id, widget.region, widget.content_region)
        for widget in shown(screen)
    ]


def check_usable(screen: Screen[object]) -> None:
    """Framed and centred over the grid, every widget sized and inside the frame, the
    controls (buttons, inputs, lists) visible where they are."""
    name = type(screen).__name__
    dialog = screen.query_one(".dialog")
    frame = dialog.region
    assert frame.width < SCREEN.width, f"{name} covers the whole width: {frame}"
    assert abs(frame.x - (SCREEN.width - frame.right)) <= 1, f"{name} is not centred: {frame}"
    assert dialog.styles.border_top[0] != "", f"{name} has no frame"
    assert frame.height <= SCREEN.height and SCREEN.contains_region(frame), (name, frame)
    inside = dialog.content_region
    for widget in shown(screen):
        if widget is dialog:
            continue
        region = widget.region
        # An error line with nothing to say yet is as wide as its text: none.
        empty = isinstance(widget, Static) and not str(widget.render()).strip()
        assert region.height > 0 and (region.width > 0 or empty), f"{name}: {widget!r} unsized"
        assert inside.contains_region(region), f"{name}: {widget!r} {region} outside {inside}"
        if isinstance(widget, CONTROLS):
            under, _ = screen.get_widget_at(*region.offset)
            assert widget in under.ancestors_with_self, f"{name}: {widget!r} is covered"
    buttons = list(screen.query(Button))
    for button in buttons:
        assert button.region.height == 1, f"{name}: {button!r} is {button.region.height} high"
    if buttons:
        assert len({button.region.y for button in buttons}) == 1, f"{name}: buttons not in a row"


async def open_each_dialog(app: App[None]) -> dict[str, list[tuple[object, ...]]]:
    """Open each of the grid's dialogs as an operator does; each one's layout by name."""
    seen: dict[str, list[tuple[object, ...]]] = {}

    async def opened(kind: type[Screen[object]], *keys: str) -> Screen[object]:
        await pilot.press(*keys)
        await wait_for(pilot, lambda: isinstance(app.screen, kind))
        await settle(pilot)
        screen = app.screen
        check_usable(screen)
        seen[kind.__name__] = layout(screen)
        return screen

    async def export_item() -> None:
        menu = await opened(GridMenu, "m")
        options = menu.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        await pilot.press(*["down"] * ids.index("export"), "enter")

    async with app.run_test(size=SIZE) as pilot:
        await wait_grid(pilot, app.query_one(Grid))
        # Attempts, a number: the filter shows its From/to range as well as the values.
        filters = await opened(FilterScreen, "right", "right", "f")
        await wait_for(pilot, lambda: filters.loaded)
        await settle(pilot)
        check_usable(filters)
        seen["FilterScreen"] = layout(filters)
        await pilot.press("escape")
        await opened(CellScreen, "v")
        await pilot.press("escape")
        await opened(ColumnFinder, "ctrl+f")
        await pilot.press("escape")
        await export_item()
        await opened(ExportScreen)
        await pilot.press("escape")
        app.portal = True  # type: ignore[attr-defined]
        await export_item()
        await opened(CsvScreen)
    return seen


async def test_each_grid_dialog_is_laid_out_without_the_app_sheet() -> None:
    bare = await open_each_dialog(BareGridApp())
    assert sorted(bare) == [
        "CellScreen",
        "ColumnFinder",
        "CsvScreen",
        "ExportScreen",
        "FilterScreen",
        "GridMenu",
    ]
    assert any(kind == "Input" and id == "filter-low" for kind, id, *_ in bare["FilterScreen"])
    styled = await open_each_dialog(StyledGridApp(memory_source()))
    for name, widgets in bare.items():
        assert widgets == styled[name], f"{name} is laid out differently without the app sheet"
