"""The one sanitizer every piece of untrusted text passes through before it is shown.

Customer names, notes, audit data and CDR fields come from outside. A control character that
reaches the terminal can retitle it (OSC 2) or write the operator's clipboard (OSC 52), so C0 and
C1 controls and DEL are replaced by visible placeholders. Markup is a separate concern: widgets
render the sanitized string as plain ``Content``/``Text``, never as markup (see widgets/plain.py).
"""

from __future__ import annotations

import re

# C0 controls map to the Unicode "control pictures" block (U+2400 + code), DEL to U+2421;
# C1 controls (U+0080-U+009F) have no pictures, so they become U+FFFD.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_KEEP_MULTILINE = {"\n", "\t"}


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
        return _CONTROL.sub(_picture_keep_lines, text)
    return _CONTROL.sub(_picture, text)


def has_control_characters(value: str) -> bool:
    return _CONTROL.search(value) is not None
