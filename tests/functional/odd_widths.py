"""Names whose code points have odd widths, and a check that a grid's columns stay aligned
with them, read from the Strips the grid renders (and the screen the compositor makes)."""

from __future__ import annotations

from rich.cells import cell_len, split_graphemes

from tests.functional.rendered import rendered_lines

ODD_NAMES = (
    "ACME\ufffe\uffff Noncharacters",  # noncharacters: shown as U+FFFD
    "Zero\u200bWidth\u200dJoin\u2060er",  # ZWSP, a ZWJ between letters, WORD JOINER
    "Cafe\u0301 Z\u0336\u0301\u0302a\u0334\u0335l\u0337\u0338go",  # combining, stacked (Zalgo)
    "\u6771\u4eac\u901a\u4fe1\u682a\u5f0f\u4f1a\u793e\u4e2d\u6587\u540d\u79f0\u9577\u3044",  # CJK
    "A\u6771\u4eac\u901a\u4fe1\u682a\u5f0f\u4f1a\u793e\u4e2d\u6587\u540d\u79f0",  # CJK, cut between
    # a family (ZWJ sequence), a flag, skin tones
    "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 Family \U0001f1e9\U0001f1ea"
    "\U0001f44d\U0001f3fd\U0001f44b\U0001f3ff",
    "\u2764\ufe0f Heart \u263a\ufe0f a\U0001f3fd \u3164 end",  # VS16, a lone skin tone, a filler
    "Name\u200d",  # a ZWJ at the end (it would swallow the padding)
)


def grid_line_starts(strip) -> list[int]:
    """The x where each segment of a rendered line starts (the grid draws a segment a cell)."""
    starts, x = [], 0
    for segment in strip:
        starts.append(x)
        x += cell_len(segment.text)
    return starts


def visible_column_starts(view) -> list[int]:
    """The x (in the view) of the start of every column whose start is on screen."""
    pinned_columns, pinned = view.pinned()
    width = view.scrollable_content_region.width
    scroll_x = int(view.scroll_x)
    starts = []
    for index, offset in enumerate(view._offsets):
        if index < pinned_columns:
            starts.append(offset)
        elif offset >= pinned + scroll_x and offset - scroll_x < width:
            starts.append(offset - scroll_x)
    return starts


def assert_columns_aligned(app, view) -> int:
    """Every title and data line of ``view`` is exactly the view's width, measured segment by
    segment and as one line; every column starts at the same x on every line, with its padding
    space; on the composed screen the same cells hold those spaces. Returns the rows checked."""
    width = view.scrollable_content_region.width
    columns = visible_column_starts(view)
    assert columns, "no column on screen"
    body = min(view.row_count, view.body_height)
    lines = list(range(view.header_height - 1, view.header_height + body))
    screen = rendered_lines(app)
    region = view.scrollable_content_region
    for y in lines:
        strip = view.render_line(y)
        text = "".join(segment.text for segment in strip)
        assert strip.cell_length == width, (y, text)
        # As one line (what the terminal gets): nothing in one cell joins the next.
        assert cell_len(text) == width, (y, text)
        starts = grid_line_starts(strip)
        by_start = dict(zip(starts, (segment.text for segment in strip), strict=True))
        for x in columns:
            assert x in by_start, (y, x, text)
            assert by_start[x].startswith(" "), (y, x, by_start[x])
        # The composed screen line: the cell at each column start is its padding space.
        line = screen[region.y + y]
        assert cell_len(line) == app.size.width, (y, line)
        spans, _ = split_graphemes(line)
        cells: dict[int, str] = {}
        x = 0
        for start, end, size in spans:
            cells[x] = line[start:end]
            x += size
        for column_x in columns:
            assert cells.get(region.x + column_x) == " ", (y, column_x, line)
    return len(lines) - 1
