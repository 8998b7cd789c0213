"""The one sanitizer every piece of untrusted text passes through before it is shown.

Customer names, notes, audit data and CDR fields come from outside. A control character that
reaches the terminal can retitle it (OSC 2) or write the operator's clipboard (OSC 52), so C0 and
C1 controls and DEL are replaced by visible placeholders. Markup is a separate concern: widgets
render the sanitized string as plain ``Content``/``Text``, never as markup (see widgets/plain.py).

Some printable-looking code points are as dangerous on screen, and are shown as placeholders too:

- bidirectional controls (embeddings, overrides, isolates, marks) reorder what follows them, so a
  customer name can display reversed or hide the text beside it ("Trojan Source",
  CVE-2021-42574);
- line and paragraph separators (U+2028/9) break a line in some terminals;
- noncharacters (U+FFFE, U+FFFF, U+FDD0-U+FDEF, the last two of every plane) and lone surrogates
  (what ``surrogateescape`` makes of invalid UTF-8) have no agreed width, so they shift a grid's
  columns, and a lone surrogate cannot even be encoded for the terminal.

Only what is *shown* changes: the database and exports keep the text as it was given.
"""

from __future__ import annotations

import re

# C0 controls map to the Unicode "control pictures" block (U+2400 + code), DEL to U+2421;
# C1 controls (U+0080-U+009F) have no pictures, so they become U+FFFD.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_KEEP_MULTILINE = {"\n", "\t"}

# Shown as U+FFFD: ALM (U+061C), LRM/RLM (U+200E/F), LRE..RLO (U+202A-E), LRI..PDI (U+2066-9),
# LINE/PARAGRAPH SEPARATOR (U+2028/9), surrogates, and the noncharacters.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
_INVISIBLE = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_SURROGATES = "\ud800-\udfff"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}{_SURROGATES}{_NONCHARACTERS}]")
_BIDI_OR_ODD = re.compile(f"[{_INVISIBLE}{_SURROGATES}{_NONCHARACTERS}]")
# For output that must stay faithful (JSON): what to write as an escape instead of as itself.
JSON_ESCAPE_CHARS = re.compile(f"[\x7f-\x9f{_INVISIBLE}{_SURROGATES}{_NONCHARACTERS}]")


def _picture(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return "\ufffd"


def _picture_keep_lines(match: re.Match[str]) -> str:
    char = match.group()
    return char if char in _KEEP_MULTILINE else _picture(match)


def sanitize(value: object, *, multiline: bool = False) -> str:
    """Return ``value`` as a string safe to write to a terminal.

    ``multiline`` keeps newline and tab (for notes fields); otherwise they become placeholders too,
    so one record always stays on one line.
    """
    text = "" if value is None else str(value)
    if multiline:
        text = text.replace("\r\n", "\n")
        return _UNSAFE.sub(_picture_keep_lines, text)
    return _UNSAFE.sub(_picture, text)


def has_control_characters(value: str) -> bool:
    """C0/C1 controls or DEL: what input validation refuses in one-line fields."""
    return _CONTROL.search(value) is not None


def without_display_hazards(text: str) -> str:
    """``text`` with bidi controls, separators, noncharacters and lone surrogates replaced by
    U+FFFD and nothing else touched: safe on a stream that also carries the terminal's own
    escape sequences (which are ASCII)."""
    return _BIDI_OR_ODD.sub("\ufffd", text)


def has_display_hazards(value: str) -> bool:
    """Bidi controls, separators, noncharacters or lone surrogates: kept when stored, shown as
    placeholders."""
    return _BIDI_OR_ODD.search(value) is not None


def trimmed(text: str) -> str:
    """``text`` without the blanks typed around it. Unlike ``str.strip`` it keeps control
    characters (``\\x1c``-``\\x1f``, ``\\x85`` are "whitespace" to Python), so that a search or a
    name made of one is refused by its check, not silently emptied."""
    start, end = 0, len(text)
    while start < end and _is_blank(text[start]):
        start += 1
    while end > start and _is_blank(text[end - 1]):
        end -= 1
    return text[start:end]


def _is_blank(character: str) -> bool:
    return character.isspace() and not _CONTROL.match(character)
