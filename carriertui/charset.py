"""What the terminal can show: UTF-8, or only ASCII (a ``LANG=C`` session, a Latin-1 terminal).

A terminal whose locale is not UTF-8 shows each byte of a UTF-8 box-drawing character as a
character of its own (``âââ`` for ``───``). The locale says which: POSIX precedence, the first
of ``LC_ALL``, ``LC_CTYPE``, ``LANG`` that is set and not empty; "C", "POSIX", none at all or a
charset other than UTF-8 means ASCII. ``--ascii`` or ``[display] charset = "ascii"`` forces it,
``charset = "unicode"`` forces UTF-8.

Python's start-up hides the answer: in the "C" locale it sets ``LC_CTYPE=C.UTF-8`` in its own
environment (PEP 538) and writes UTF-8 whatever the terminal is (PEP 540). So the locale is read
from the environment the process was started with (``/proc/self/environ``), or, where there is
none, from ``os.environ`` with that coercion undone.

In ASCII mode the app draws its own marks from :func:`glyph` (sort arrows, funnels, the check
mark, the ellipsis of a cut cell, sparkline bars), and everything it writes to the terminal (or
into a screenshot) passes through :func:`to_ascii`: Textual's borders, scrollbars, tab
underlines and switches, and data (``Café`` becomes ``Cafe``), one ASCII character per cell so
the layout does not move. Stdlib only: the CLI, the app and the driver all call it.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Callable, Mapping

UTF8_NAMES = frozenset({"utf-8", "utf8"})
# What Python writes into LC_CTYPE when it coerces the C locale (PEP 538).
_COERCED = frozenset({"C.UTF-8", "C.utf8", "UTF-8"})

_ascii = False  # the process's mode: one terminal per process (tui, portal, demo, a command)


# -- what the locale says -----------------------------------------------------------------------


def locale_name(environ: Mapping[str, str]) -> str:
    """The character-type locale by POSIX precedence: LC_ALL, then LC_CTYPE, then LANG; the
    first set to a non-empty value wins. "" when none is (that is the "C" locale)."""
    for variable in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = environ.get(variable, "")
        if value:
            return value
    return ""


def locale_charset(name: str) -> str:
    """The charset a locale name says, lower case: ``en_GB.UTF-8@euro`` -> ``utf-8``;
    "" for C, POSIX or a name without one (their charset is ASCII)."""
    if name in ("", "C", "POSIX"):
        return ""
    base = name.split("@", 1)[0]
    if "." not in base:
        return ""
    charset = base.split(".", 1)[1].lower()
    return "utf-8" if charset in UTF8_NAMES else charset


def locale_is_ascii(environ: Mapping[str, str]) -> bool:
    """Whether a terminal with this environment's locale needs ASCII (no UTF-8)."""
    return locale_charset(locale_name(environ)) != "utf-8"


def _proc_environ() -> dict[str, str] | None:
    """The environment this process was started with (Linux), or None where there is none."""
    try:
        with open("/proc/self/environ", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    found: dict[str, str] = {}
    for item in raw.split(b"\0"):
        name, sep, value = item.partition(b"=")
        if sep:
            found[name.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return found


def startup_environ() -> dict[str, str]:
    """The locale variables with Python's C-locale coercion of LC_CTYPE undone (see the
    module's text): LC_CTYPE as the process was started with it, when Python may have set it."""
    environ = {name: os.environ.get(name, "") for name in ("LC_ALL", "LC_CTYPE", "LANG")}
    if environ["LC_CTYPE"] in _COERCED and not environ["LC_ALL"]:
        started = _proc_environ()
        if started is not None:
            environ["LC_CTYPE"] = started.get("LC_CTYPE", "")
        elif sys.flags.utf8_mode and "PYTHONUTF8" not in os.environ:
            environ["LC_CTYPE"] = ""  # coerced: a real C.UTF-8 locale does not turn UTF-8 mode on
    return environ


def ascii_wanted(
    forced: bool = False,
    setting: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> bool:
    """Whether to draw with ASCII only: ``--ascii`` (``forced``), else the ``[display] charset``
    setting ("ascii", "unicode", or "auto": the locale's answer; locations.display_charset
    checks the value)."""
    if forced:
        return True
    choice = (setting or "auto").strip().lower()
    if choice == "ascii":
        return True
    if choice == "unicode":
        return False
    return locale_is_ascii(startup_environ() if environ is None else environ)


def input_encoding(environ: Mapping[str, str] | None = None) -> str:
    """How to decode the keys the terminal sends: the locale's charset when Python knows it
    (a Latin-1 terminal types ``é`` as one byte), else UTF-8 (a C locale on a terminal that
    is UTF-8 after all)."""
    import codecs

    name = locale_charset(locale_name(startup_environ() if environ is None else environ))
    try:
        codec = codecs.lookup(name).name if name else "utf-8"
    except LookupError:
        return "utf-8"
    return "utf-8" if codec == "ascii" else codec


def use_ascii(on: bool) -> None:
    """Set the process's mode (the app does, from its ``ascii`` argument)."""
    global _ascii
    _ascii = bool(on)


def ascii_mode() -> bool:
    return _ascii


# -- the app's own marks ------------------------------------------------------------------------

# name: (UTF-8, ASCII). Both forms of a mark take one cell (layouts are computed with either),
# except the last ones.
GLYPHS: dict[str, tuple[str, str]] = {
    "sort_ascending": ("↑", "^"),
    "sort_descending": ("↓", "v"),
    "filter": ("▿", ":"),  # the funnel of a filterable column (v is a descending sort)
    "filter_active": ("▾", "*"),  # ... with a filter on
    "checked": ("✓", "x"),
    "cut": ("…", "~"),  # the end of a cell or line cut to fit (a file manager's tilde)
    "rule": ("─", "-"),  # a column group's rule in the grid header
    "separator": ("·", "|"),  # between the parts of a status line
    "divider": ("│", "|"),  # between the two sides of a diff
    "remove": ("✕", "x"),  # the close mark of a filter chip
    "times": ("×", "x"),
    "none": ("—", "-"),  # a missing value
    "about": ("≈", "~"),
    # Where the width is free (a placeholder, a chip): the ASCII form is longer.
    "ellipsis": ("…", "..."),  # more to come
    "range": ("…", ".."),  # from..to (a "." alone would read as a decimal point)
}

# The eight heights of a one-row sparkline bar, lowest first.
SPARK_BARS = ("▁▂▃▄▅▆▇█", "_.-~=+*#")


def glyph(name: str) -> str:
    """The mark ``name`` in the alphabet the terminal shows."""
    unicode, ascii_form = GLYPHS[name]
    return ascii_form if _ascii else unicode


def spark_bars() -> str:
    return SPARK_BARS[1] if _ascii else SPARK_BARS[0]


# -- everything else, cell for cell -------------------------------------------------------------


def _box_drawing(char: str) -> str:
    """U+2500-U+257F by the shape of its name: a line, a corner or junction, a diagonal."""
    name = unicodedata.name(char, "")
    if "DIAGONAL CROSS" in name:
        return "X"
    if "DIAGONAL UPPER RIGHT TO LOWER LEFT" in name:
        return "/"
    if "DIAGONAL UPPER LEFT TO LOWER RIGHT" in name:
        return "\\"
    horizontal = "HORIZONTAL" in name or name.endswith((" LEFT", " RIGHT"))
    vertical = "VERTICAL" in name or name.endswith((" UP", " DOWN"))
    if "AND" in name or "ARC" in name or "CORNER" in name:
        return "+"
    if horizontal and not vertical:
        return "=" if "DOUBLE" in name else "-"
    if vertical and not horizontal:
        return "|"
    return "+"


# Block elements (U+2580-U+259F): Textual's tall/wide/outer borders, scrollbar thumbs, the
# Switch, a Toast's left edge, a Checkbox's ends, progress bars.
_BLOCKS = {
    "▀": "~",
    "▔": "-",
    "▁": " ",  # from here up: a vertical scrollbar thumb's end (its colour draws it)
    "▂": " ",
    "▃": " ",
    "▄": " ",
    "▅": " ",
    "▆": " ",
    "▇": " ",
    "█": "#",
    "▉": "|",
    "▊": "|",
    "▋": "|",
    "▌": "|",
    "▍": "|",
    "▎": "|",
    "▏": "|",
    "▐": "|",
    "▕": "|",
    "░": ".",
    "▒": ":",
    "▓": "#",
}

# Cell-for-cell replacements for the rest Textual and the app draw.
_SYMBOLS = {
    **{unicode: ascii_form for unicode, ascii_form in GLYPHS.values() if len(ascii_form) == 1},
    "…": ".",  # prose ("Loading…"); a cut cell uses glyph("cut") instead
    "←": "<",
    "→": ">",
    "↑": "^",
    "↓": "v",
    "↔": "-",
    "↕": "|",
    "⇐": "<",
    "⇒": ">",
    "▲": "^",
    "△": "^",
    "▴": "^",
    "▵": "^",
    "▼": "v",
    "▾": "v",  # a drop-down's arrow ("Switch ▾"); the grid's funnel is glyph("filter_active")
    "▿": "v",
    "◔": "*",  # the Summary's open (partial) period, as the CLI marks it
    "◑": "*",
    "◕": "*",
    "◐": "*",
    "⚠": "!",
    "▽": "v",
    "▶": ">",
    "▷": ">",
    "▸": ">",
    "▹": ">",
    "►": ">",
    "◀": "<",
    "◁": "<",
    "◂": "<",
    "◃": "<",
    "◄": "<",
    "●": "*",
    "○": "o",
    "◉": "*",
    "◌": "o",
    "•": "*",
    "◦": "o",
    "∙": ".",
    "■": "#",
    "□": "#",
    "▪": "#",
    "▫": "#",
    "◆": "*",
    "◇": "o",
    "★": "*",
    "☆": "*",
    "✔": "x",  # a check mark is the x of [x], as glyph("checked")
    "✗": "x",
    "✘": "x",
    "✖": "x",
    "✕": "x",
    "⭘": "o",
    "⏐": "|",
    "⎸": "|",
    "⎹": "|",
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "–": "-",
    "—": "-",
    "―": "-",
    "−": "-",
    "‘": "'",
    "’": "'",
    "‚": ",",
    "′": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "″": '"',
    "«": "<",
    "»": ">",
    "‹": "<",
    "›": ">",
    "≈": "~",
    "≠": "#",
    "≤": "<",
    "≥": ">",
    "±": "+",
    "÷": "/",
    "×": "x",
    "Σ": "E",
    "°": "o",
    "µ": "u",
    "€": "E",
    "£": "L",
    "¥": "Y",
    "¢": "c",
    "©": "c",
    "®": "R",
    "™": "T",
    "§": "S",
    "¶": "P",
    "ß": "s",
    "æ": "a",
    "Æ": "A",
    "ø": "o",
    "Ø": "O",
    "đ": "d",
    "Đ": "D",
    "ł": "l",
    "Ł": "L",
    "þ": "p",
    "Þ": "P",
    "ð": "d",
    "Ð": "D",
    "ı": "i",
    "¡": "!",
    "¿": "?",
    "\u00a0": " ",
    "\u2007": " ",
    "\u2009": " ",
    "\u202f": " ",
    "␛": "?",
}

# Wide (two-cell) characters Textual draws: the command palette's search icon.
_WIDE = {"🔎": "> ", "🔍": "> "}


def _default_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def ascii_for(char: str, width: int) -> str:
    """One character's ASCII stand-in, ``width`` cells wide (its width on screen)."""
    if width <= 0:
        return ""
    if width == 2 and char in _WIDE:
        return _WIDE[char]
    if width == 1:
        known = _SYMBOLS.get(char) or _BLOCKS.get(char)
        if known is not None:
            return known
        if "\u2500" <= char <= "\u257f":
            return _box_drawing(char)
        letters = "".join(
            c for c in unicodedata.normalize("NFKD", char) if c.isascii() and c.isprintable()
        )
        if len(letters) == 1:  # é -> e, ﬁ is two: a question mark
            return letters
    return "?" * width


class _AsciiTable(dict[int, str]):
    """A ``str.translate`` table that works out (and keeps) each new character's stand-in."""

    def __init__(self, width_of: Callable[[str], int]) -> None:
        super().__init__()
        self._width_of = width_of

    def __missing__(self, code: int) -> str:
        char = chr(code)
        replacement = char if code < 0x80 else ascii_for(char, self._width_of(char))
        self[code] = replacement
        return replacement


_tables: dict[Callable[[str], int], _AsciiTable] = {}


def to_ascii(text: str, width_of: Callable[[str], int] | None = None) -> str:
    """``text`` with every non-ASCII character replaced by ASCII of the same cell width
    (``width_of`` measures a character as the renderer did; Rich's measure for the screen)."""
    if text.isascii():
        return text
    measure = _default_width if width_of is None else width_of
    table = _tables.get(measure)
    if table is None:
        table = _tables[measure] = _AsciiTable(measure)
    return text.translate(table)


def for_terminal(text: str) -> str:
    """``text`` as the terminal can show it: unchanged in UTF-8 mode."""
    return to_ascii(text) if _ascii else text
