"""What the screen shows, as text: the compositor's lines at the app's size, without styles (so
a test reads what an operator on a monochrome terminal reads)."""

from __future__ import annotations

import io

from rich.console import Console


def rendered_lines(app) -> list[str]:
    """The current screen (with the screens under a modal) as plain text, one string a row."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system=None,
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console.print(update)
    return console.export_text(styles=False).splitlines()


def rendered_text(app) -> str:
    return "\n".join(rendered_lines(app))
