"""The screen in ASCII, for the terminal and for screenshots (see carriertui.charset).

Textual renders with the Unicode glyphs it knows (borders, scrollbars, tab underlines, the
switch); in ASCII mode each character that leaves the compositor is replaced, cell for cell,
here: in the driver's writes to the terminal (carriertui.hangup) and in
:func:`export_screenshot`, so a snapshot shows what the terminal shows.
"""

from __future__ import annotations

import io
import re
from functools import lru_cache
from typing import Any

from rich.cells import split_graphemes
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment

from carriertui.charset import ascii_for

# A run of non-ASCII characters, with the ASCII character a trailing zero width joiner joins.
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+(?:(?<=\u200d)[\x00-\x7f])?")


@lru_cache(maxsize=4096)
def _grapheme(grapheme: str, width: int) -> str:
    first = grapheme[0]
    if first.isascii():  # a letter with combining marks, or a character a joiner joined
        return first
    return ascii_for(first, width)


def _graphemes_in_ascii(chunk: str) -> str:
    spans, _width = split_graphemes(chunk)
    out = []
    for start, end, width in spans:
        grapheme = chunk[start:end]
        out.append(grapheme if grapheme.isascii() else _grapheme(grapheme, width))
    return "".join(out)


def screen_text(text: str) -> str:
    """``text`` in ASCII, each grapheme (a letter and its accents, an emoji sequence) in as
    many cells as Rich, and so Textual, measured it; escape sequences untouched."""
    if text.isascii():
        return text
    out = []
    last = 0
    for match in _NON_ASCII_RUN.finditer(text):
        # From the character before the run: a combining mark or a joiner belongs to it.
        base = match.start() - 1 if match.start() > last else match.start()
        out.append(text[last:base])
        out.append(_graphemes_in_ascii(text[base : match.end()]))
        last = match.end()
    out.append(text[last:])
    return "".join(out)


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
