"""The screen in ASCII, for the terminal and for screenshots (see carriertui.charset).

Textual renders with the Unicode glyphs it knows (borders, scrollbars, tab underlines, the
switch); in ASCII mode each character that leaves the compositor is replaced, cell for cell,
here: in the driver's writes to the terminal (carriertui.hangup) and in
:func:`export_screenshot`, so a snapshot shows what the terminal shows.
"""

from __future__ import annotations

import io
from typing import Any

from rich.cells import get_character_cell_size
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment

from carriertui.charset import to_ascii


def screen_text(text: str) -> str:
    """``text`` in ASCII, each character as many cells wide as Rich (so Textual) measured it."""
    return to_ascii(text, get_character_cell_size)


class AsciiRenderable:
    """``renderable``'s segments with their text in ASCII (control segments untouched)."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.renderable, options):
            if segment.control or segment.text.isascii():
                yield segment
            else:
                yield Segment(screen_text(segment.text), segment.style)


def export_screenshot(app: Any, *, title: str | None = None, simplify: bool = False) -> str:
    """Textual's App.export_screenshot (8.2.8), with the screen in ASCII."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    screen_render = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens, simplify=simplify
    )
    console.print(AsciiRenderable(screen_render))
    return console.export_svg(title=title or app.title)
