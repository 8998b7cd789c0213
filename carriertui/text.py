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

And a few are shown otherwise because Rich (which Textual measures with) and terminals give them
different widths, so a cell holding one would shift every column right of it (see
``even_widths``).

Only what is *shown* changes: the database and exports keep the text as it was given.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

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


# Width hazards, where Rich (which Textual measures and cuts with) and terminals disagree:
# - Rich counts the character after a ZERO WIDTH JOINER as joined to the one before (no cells of
#   its own): right in an emoji sequence (man, ZWJ, woman: two cells), wrong anywhere else ("a",
#   ZWJ, "b" takes two cells in every terminal, one in Rich; at the end of a cell it swallows the
#   padding). Outside a sequence of wide emoji it becomes WORD JOINER: as invisible, joins
#   nothing, measured alike everywhere.
# - VS16 (U+FE0F) after a narrow character asks for an emoji picture: two cells in Rich, one or
#   two in terminals, and Rich's Segment.split_cells cuts between the two (a cell goes missing).
#   It becomes VS15 (text presentation): one cell everywhere. After a wide emoji it changes
#   nothing and stays.
# - a skin-tone modifier gets no cells in Rich, also on its own, where terminals draw a two-cell
#   swatch; the blank Hangul filler letters get none in Rich and one or two in terminals: both
#   become U+FFFD unless the modifier follows a wide emoji.
_ZWJ = "\u200d"
_WORD_JOINER = "\u2060"
_VS16 = "\ufe0f"
_VS15 = "\ufe0e"
_SKIN_TONES = "\U0001f3fb-\U0001f3ff"
_HANGUL_FILLERS = "\u3164\uffa0"
_WIDTH_HAZARDS = re.compile(f"[{_ZWJ}{_VS16}{_SKIN_TONES}{_HANGUL_FILLERS}]")
# Code points of emoji that take part in ZWJ sequences (Extended_Pictographic, coarsely: the
# standard library has no emoji property), without regional indicators and skin tones.
_PICTOGRAPHIC = re.compile(
    "[\u2194-\u2199\u21a9\u21aa\u231a-\u23ff\u2600-\u27bf\u2b00-\u2bff"
    "\U0001f000-\U0001f1e5\U0001f200-\U0001f3fa\U0001f400-\U0001faff]"
)
# What may sit between an emoji and a ZWJ that follows it: VS16, a skin tone, a keycap, tags.
_EMOJI_TAIL = re.compile(f"[{_VS16}{_SKIN_TONES}\u20e3\U000e0020-\U000e007f]")


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _wide_emoji(char: str) -> bool:
    return _PICTOGRAPHIC.match(char) is not None and _wide(char)


def _joins_emoji(chars: Sequence[str], index: int) -> bool:
    """The ZWJ at ``index`` sits between two wide emoji (what Rich's measure assumes)."""
    if index + 1 >= len(chars) or not _wide_emoji(chars[index + 1]):
        return False
    before = index - 1
    while before >= 0 and _EMOJI_TAIL.match(chars[before]) is not None:
        before -= 1
    return before >= 0 and _wide_emoji(chars[before])


def even_widths(text: str) -> str:
    """``text`` with the code points Rich and terminals measure differently made to measure
    alike (see above). One code point for one: nothing is dropped."""
    if _WIDTH_HAZARDS.search(text) is None:
        return text
    # Looked back at as already shown, so that showing the result again changes nothing.
    chars = list(text)
    for index, char in enumerate(text):
        after = chars[index - 1] if index else ""
        if char == _ZWJ and not _joins_emoji(chars, index):
            chars[index] = _WORD_JOINER
        elif char == _VS16 and not (after and _wide(after)):
            chars[index] = _VS15
        elif char in _HANGUL_FILLERS or (
            "\U0001f3fb" <= char <= "\U0001f3ff" and not (after and _wide_emoji(after))
        ):
            chars[index] = "\ufffd"
    return "".join(chars)


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
        return even_widths(_UNSAFE.sub(_picture_keep_lines, text))
    return even_widths(_UNSAFE.sub(_picture, text))


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
