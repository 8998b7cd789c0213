"""View Difference: what an audit entry changed, as a table of fields or as both JSON records.

The default view is the grid of changed fields (Path, Before, After, Change), unchanged fields
hidden and counted. ``t`` switches to the full view: both records as key-sorted JSON, side by side
when there are at least 100 columns and unified (``-``/``+``) when narrower; ``n``/``N`` jump
between changes. Every value is plain text.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from carriertui.diffing import changed_fields, compact, side_by_side, unified_lines
from carriertui.grid.memory import InMemoryRowSource
from carriertui.grid.model import Column
from carriertui.text import sanitize
from carriertui.widgets.grid import Grid
from carriertui.widgets.plain import plain

FIELD_COLUMNS = (
    Column("path", "Path", width=24),
    Column("before", "Before", width=22),
    Column("after", "After", width=22),
    Column("change", "Change", width=8),
)
SIDE_BY_SIDE_MIN_WIDTH = 100


class FullDiff(VerticalScroll, can_focus=True):
    """Both records as JSON; changed lines highlighted."""

    DEFAULT_CSS = """
    FullDiff { height: 1fr; }
    FullDiff > Static { width: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next_change(1)", "Next change", id="diff.next"),
        Binding("N", "next_change(-1)", "Prev change", id="diff.prev"),
    ]

    def __init__(self, before: Any, after: Any) -> None:
        super().__init__(id="diff-full")
        self._before = before
        self._after = after
        self._width = 0
        self.change_lines: list[int] = []  # line numbers where a run of changes starts
        self.side_by_side = False

    def compose(self) -> ComposeResult:
        yield Static("", id="diff-full-text")

    def on_resize(self) -> None:
        # Rendered when first shown (most openings never need it) and again on a new width.
        width = self.app.size.width
        if width != self._width and self.display:
            self._width = width
            self.render_text()

    def on_show(self) -> None:
        self.on_resize()

    def render_text(self) -> None:
        self.side_by_side = self._width >= SIDE_BY_SIDE_MIN_WIDTH and (
            self._before is not None and self._after is not None
        )
        lines: list[Content] = []
        starts: list[int] = []
        previous_changed = False
        if self.side_by_side:
            half = max(20, (self._width - 7) // 2)
            for number, row in enumerate(side_by_side(self._before, self._after)):
                left = sanitize(row.left or "")[:half].ljust(half)
                right = sanitize(row.right or "")[:half]
                style = "on $error 25%" if row.changed and row.left is not None else ""
                right_style = "on $success 25%" if row.changed and row.right is not None else ""
                lines.append(Content.assemble((left, style), (" │ ", "dim"), (right, right_style)))
                if row.changed and not previous_changed:
                    starts.append(number)
                previous_changed = row.changed
        else:
            for number, line in enumerate(unified_lines(self._before, self._after)):
                style = {"-": "on $error 25%", "+": "on $success 25%"}.get(line.tag, "")
                lines.append(Content.assemble((f"{line.tag} {sanitize(line.text)}", style)))
                changed = line.tag != " "
                if changed and not previous_changed:
                    starts.append(number)
                previous_changed = changed
        self.change_lines = starts
        self.query_one("#diff-full-text", Static).update(Content("\n").join(lines))

    def action_next_change(self, step: int) -> None:
        if not self.change_lines:
            return
        top = int(self.scroll_y)
        if step > 0:
            following = [line for line in self.change_lines if line > top]
            target = following[0] if following else self.change_lines[0]
        else:
            preceding = [line for line in self.change_lines if line < top]
            target = preceding[-1] if preceding else self.change_lines[-1]
        self.scroll_to(y=target, animate=False)


class DiffView(Vertical):
    """The changed-fields grid and the full view of one audit entry."""

    DEFAULT_CSS = """
    DiffView { height: 1fr; }
    DiffView > #diff-summary { height: auto; color: $text-muted; }
    DiffView > #diff-full { display: none; }
    DiffView.-full > #diff-full { display: block; }
    DiffView.-full > #diff-fields { display: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "t",
            "toggle_full",
            "Fields/full",
            id="diff.toggle",
            tooltip="Changed fields or both records",
        ),
    ]

    def __init__(self, before: Any, after: Any, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.before = before
        self.after = after
        self.changes, self.unchanged = changed_fields(before, after)

    def compose(self) -> ComposeResult:
        yield Static(plain(self._summary()), id="diff-summary")
        # CREATE has no before and DELETE no after: show only the side that exists.
        one_side = self.before is None or self.after is None
        columns = [
            column
            for column in FIELD_COLUMNS
            if not (one_side and column.key == "change")
            and not (self.before is None and column.key == "before")
            and not (self.after is None and column.key == "after")
        ]
        rows = []
        for index, change in enumerate(self.changes):
            cells = {
                "path": change.path,
                "before": "" if change.kind == "added" else compact(change.before),
                "after": "" if change.kind == "removed" else compact(change.after),
                "change": change.kind,
            }
            rows.append((index, tuple(cells[column.key] for column in columns)))
        yield Grid(InMemoryRowSource(columns, rows, name="changes"), id="diff-fields")
        # The full view is mounted on the first `t`: most openings never need it.

    def _summary(self) -> str:
        if self.before is None and self.after is None:
            return "This entry holds no record data."
        if self.before is None:
            return f"Created: {len(self.changes)} fields (t: the whole record)"
        if self.after is None:
            return f"Deleted: {len(self.changes)} fields (t: the whole record)"
        hidden = f"; {self.unchanged} unchanged hidden" if self.unchanged else ""
        return f"{len(self.changes)} changed{hidden} (t: both records in full)"

    @property
    def showing_full(self) -> bool:
        return self.has_class("-full")

    def on_mount(self) -> None:
        self.query_one(Grid).focus()

    async def action_toggle_full(self) -> None:
        if not self.query(FullDiff):
            await self.mount(FullDiff(self.before, self.after))
        self.toggle_class("-full")
        if self.showing_full:
            self.query_one(FullDiff).focus()
        else:
            self.query_one(Grid).focus()
