"""Display formats shared by screens (pure functions of values)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from carriertui.grid.model import Tone


def money(amount: Decimal, currency: str = "") -> str:
    """``1,234.50 USD``: two places unless the amount needs more (up to the stored four)."""
    normalized = amount.normalize()
    exponent = normalized.as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    text = f"{amount:,.{min(places, 4)}f}"
    return f"{text} {currency}".strip()


def number(amount: Decimal) -> str:
    """A plain decimal for an edit field: no grouping, no trailing zeros beyond two places."""
    normalized = amount.normalize()
    exponent = normalized.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return f"{amount:.{places}f}"


def utc(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# A tone as a text style, in the theme's colours (the grid's cells use the same variables).
_TONE_STYLES = {
    Tone.SUCCESS: "$text-success",
    Tone.WARNING: "$text-warning",
    Tone.ERROR: "bold $text-error",
    Tone.MUTED: "$text-muted",
}


def tone_style(tone: Tone | None, plain: str = "") -> str:
    """The style of a text with ``tone``; ``plain`` for none."""
    return plain if tone is None else _TONE_STYLES[tone]
