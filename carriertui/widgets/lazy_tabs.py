"""Tabs whose panes are built the first time they are shown.

Every pane of a TabbedContent is composed and mounted with the screen, hidden ones too: their
widgets are styled, their grids start their queries and their timers run, all before the
first tab can paint. Most customers are opened to read or change the Main tab, so the other
tabs' content waits until the operator goes there.

The content is mounted as the tab becomes active (when ``active`` is set, before the tab is
shown), so a query for it right after ``active = ...`` finds it; ``wait_built`` waits until it
is mounted. Textual's ``textual.lazy.Lazy`` instead mounts after the first refresh: the work is
only moved a frame later, and the content is missing from queries meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from textual.widget import AwaitMount, Widget
from textual.widgets import TabbedContent

Build = Callable[[], Iterable[Widget]]


class LazyTabbedContent(TabbedContent):
    """A TabbedContent; ``lazy`` maps a pane's id to what it holds, built on its first show."""

    def __init__(self, *titles: Any, lazy: Mapping[str, Build], **kwargs: Any) -> None:
        super().__init__(*titles, **kwargs)
        self._unbuilt: dict[str, Build] = dict(lazy)
        self._mounting: dict[str, tuple[list[Widget], AwaitMount]] = {}
        self._fresh: set[str] = set()

    def is_built(self, pane_id: str) -> bool:
        return pane_id not in self._unbuilt

    def build(self, pane_id: str) -> None:
        """Mount ``pane_id``'s content now unless it already is."""
        build = self._unbuilt.pop(pane_id, None)
        if build is None:
            return
        widgets = list(build())
        self._mounting[pane_id] = (widgets, self.get_pane(pane_id).mount_all(widgets))
        self._fresh.add(pane_id)

    async def wait_built(self, pane_id: str) -> None:
        """Wait until ``pane_id``'s content is mounted (at once if it is, or is not lazy)."""
        mounting = self._mounting.get(pane_id)
        if mounting is not None:
            widgets, awaitable = mounting
            if not all(widget.is_mounted for widget in widgets):
                await awaitable
            self._mounting.pop(pane_id, None)

    def first_show(self, pane_id: str) -> bool:
        """True once after ``pane_id``'s content was built: it has just read its data itself,
        so a re-read on showing the tab would repeat it."""
        if pane_id in self._fresh:
            self._fresh.discard(pane_id)
            return True
        return False

    def _watch_active(self, active: str) -> None:
        if active:
            self.build(active)
        super()._watch_active(active)
