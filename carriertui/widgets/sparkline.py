"""A one-row bar chart whose bars start at zero, drawn in the alphabet the terminal shows.

Textual's Sparkline scales its bars from the smallest value to the largest, so a customer with
no traffic at all (every value 0, or one period) got full bars under "max 0", and a quiet day
next to a busy one looked empty. Here a bar is as high as its value is to the largest one: zero
draws nothing, any traffic at least the lowest bar, and no traffic an empty chart. In ASCII
mode (carriertui.charset) the bars are ``_.-~=+*#``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.widgets import Sparkline as TextualSparkline

from carriertui import charset


def buckets(data: Sequence[float], width: int) -> list[float]:
    """``data`` as ``width`` cells: partitioned into consecutive buckets, each its largest
    value, when there are more values than cells; each value repeated over its share of the
    cells when there are fewer (as Textual's Sparkline does)."""
    if width <= 0 or not data:
        return []
    count = min(len(data), width)
    step = Fraction(len(data), count)
    parts = [data[int(step * index) : int(step * (index + 1))] for index in range(count)]
    values = [float(max(part)) for part in parts if part]
    return [values[index * len(values) // width] for index in range(width)]


def bar_levels(values: Iterable[float], levels: int) -> list[int]:
    """Each value's bar height, 0 (nothing) to ``levels``, on a scale from zero to the largest
    value; any value above zero gets at least 1."""
    values = list(values)
    peak = max(values, default=0.0)
    if peak <= 0:
        return [0] * len(values)
    return [0 if value <= 0 else max(1, round(value / peak * levels)) for value in values]


class _Bars:
    def __init__(self, values: list[float], width: int, low: Color, high: Color) -> None:
        self.values = values
        self.width = width
        self.low = low
        self.high = high

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        bars = charset.spark_bars()
        levels = bar_levels(self.values, len(bars))
        for level in levels:
            if level == 0:
                yield Segment(" ")
                continue
            color = self.low.blend(self.high, (level - 1) / max(1, len(bars) - 1))
            yield Segment(bars[level - 1], Style(color=color.rich_color))
        if self.width > len(levels):
            yield Segment(" " * (self.width - len(levels)))


class Sparkline(TextualSparkline):
    """Textual's Sparkline (same CSS, same ``data``), with bars from zero: see the module."""

    def render(self) -> _Bars:
        width = self.size.width
        _, base = self.background_colors
        low = base + (
            self.get_component_styles("sparkline--min-color").color
            if self.min_color is None
            else self.min_color
        )
        high = base + (
            self.get_component_styles("sparkline--max-color").color
            if self.max_color is None
            else self.max_color
        )
        return _Bars(buckets(list(self.data or []), width), width, low, high)
