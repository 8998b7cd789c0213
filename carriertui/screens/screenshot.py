"""The operator's Screenshot (command palette): an SVG of the screen in the export folder.

Textual's own Screenshot writes into the current working directory, wherever the app was
started (on a shared host, anywhere); here it goes into the export folder, created when
missing, under a new name (an existing file is never replaced). In a browser
(``carriertui serve``) the browser downloads it instead. The customer portal has no Screenshot.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carriertui.screens.base import report_error, run_service
from carriertui.widgets.plain import notify_plain


def screenshot_name(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"screenshot-{moment:%Y%m%d-%H%M%S-%f}.svg"


def write_new_file(folder: Path, name: str, text: str) -> Path:
    """``text`` into a new file ``folder/name`` (mode 0600); a name taken already gets a
    ``-2``, ``-3``... suffix rather than replacing the file there."""
    stem, suffix = Path(name).stem, Path(name).suffix
    for attempt in range(1, 100):
        path = folder / (name if attempt == 1 else f"{stem}-{attempt}{suffix}")
        try:
            with path.open("x", encoding="utf-8") as handle:
                path.chmod(0o600)
                handle.write(text)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{folder / name} and 98 more names exist already")


def save_screenshot_to_exports(app: Any) -> None:
    """The palette's Screenshot for operators: the SVG of the current screen into the export
    folder (a worker writes it), or a download in a browser."""
    if app.is_web:
        app.deliver_screenshot(screenshot_name())
        return
    svg = app.export_screenshot()  # the screen as painted now (UI thread)
    name = screenshot_name()

    def write() -> Path:
        from carriertui import locations

        return write_new_file(locations.ensure_exports_dir(), name, svg)

    run_service(
        app,
        write,
        on_done=lambda path: notify_plain(app, f"Screenshot written to {path}", timeout=6),
        on_error=lambda error: report_error(app, error),
        group="screenshot",
    )
