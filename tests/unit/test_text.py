"""The one sanitizer for untrusted text: no control character reaches the terminal."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carriertui.text import has_control_characters, has_display_hazards, sanitize

# C0 controls, DEL and C1 controls: what a terminal may act on.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# Written out independently of carriertui.text: what must never reach the screen either.
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
SEPARATORS = {"\u2028", "\u2029"}


def is_noncharacter(char: str) -> bool:
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def is_surrogate(char: str) -> bool:
    return 0xD800 <= ord(char) <= 0xDFFF


def display_hazard(char: str) -> bool:
    return char in BIDI or char in SEPARATORS or is_noncharacter(char) or is_surrogate(char)


MULTILINE_ALLOWED = {"\n", "\t"}

HOSTILE = [
    "\x1b]52;c;aGk=\x07",  # OSC 52: write the operator's clipboard
    "\x1b]2;PWNED\x07",  # OSC 2: retitle the terminal
    "\x9b31m",  # C1 CSI: colour change without ESC
    "\x1b[2J\x1b[H",  # clear the screen
    "ACME\x7f\x7f",  # DEL
    "nul\x00byte",
    "bell\x07",
    "\x1bP+q\x1b\\",  # DCS
    "\x90\x9d\x9e\x9f\x85",  # more C1
    "back\rover",
]


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("multiline", [False, True])
def test_hostile_input_loses_every_control_character(hostile: str, multiline: bool) -> None:
    shown = sanitize(hostile, multiline=multiline)
    assert CONTROL.search(shown) is None
    assert not has_control_characters(shown)
    # One visible placeholder per control character: nothing silently disappears.
    assert len(shown) == len(hostile)


def test_placeholders_are_visible() -> None:
    assert sanitize("\x1b]2;PWNED\x07") == "\u241b]2;PWNED\u2407"
    assert sanitize("a\x00b") == "a\u2400b"
    assert sanitize("a\x7fb") == "a\u2421b"
    assert sanitize("\x9b31m") == "\ufffd31m"
    assert sanitize("tab\there") == "tab\u2409here"
    assert sanitize("two\nlines") == "two\u240alines"


@pytest.mark.parametrize(
    "markup_like",
    ["[@click=app.quit]x[/]", "[/", "ACME [Ltd]", "[b]bold[/b]", "\\[escaped]", "50% off"],
)
def test_markup_like_text_comes_back_unchanged(markup_like: str) -> None:
    assert sanitize(markup_like) == markup_like
    assert sanitize(markup_like, multiline=True) == markup_like
    assert not has_control_characters(markup_like)


def test_multiline_keeps_newline_and_tab_only() -> None:
    shown = sanitize("line one\r\n\tline two\rthree\x1b[31m\n", multiline=True)
    assert shown == "line one\n\tline two\u240dthree\u241b[31m\n"
    assert "\r" not in shown
    assert "\x1b" not in shown


def test_non_strings_and_none() -> None:
    assert sanitize(None) == ""
    assert sanitize(12.5) == "12.5"


def test_printable_unicode_is_kept() -> None:
    text = "Café Ωmega 東京 \u00a0nbsp 🙂"
    assert sanitize(text) == text


def test_has_control_characters() -> None:
    assert has_control_characters("a\x1bb")
    assert has_control_characters("\x85")
    assert not has_control_characters("plain text [with] brackets")


@settings(max_examples=300, database=None, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=("Cs",))))
def test_no_control_character_survives(text: str) -> None:
    single = sanitize(text)
    assert CONTROL.search(single) is None
    assert len(single) == len(text)
    multi = sanitize(text, multiline=True)
    assert all(char in MULTILINE_ALLOWED for char in CONTROL.findall(multi))
    assert "\r" not in multi


@settings(max_examples=200, database=None, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0xFF)))
def test_no_control_character_survives_in_latin1(text: str) -> None:
    # Dense in control characters: every C0/C1 code point is drawn often.
    assert CONTROL.search(sanitize(text)) is None
    assert sanitize(sanitize(text)) == sanitize(text)  # idempotent


@settings(max_examples=200, database=None, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7E, min_codepoint=0x20)))
def test_printable_ascii_is_untouched(text: str) -> None:
    assert sanitize(text) == text


TROJAN_SOURCE = [
    "ACME\u202e gnp.exe",  # RIGHT-TO-LEFT OVERRIDE: displays reversed
    "Name\u2066hidden\u2069",  # LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE
    "a\u202ab\u202bc\u202cd\u202de",  # embeddings and overrides
    "\u200e\u200f\u061c",  # LRM, RLM, ARABIC LETTER MARK
    "\u2067\u2068x",  # RLI, FSI
    "one\u2028two\u2029three",  # line and paragraph separators
    "\ufffe\uffff\ufdd0\U0010ffff",  # noncharacters
    "bad\udcff",  # a lone surrogate, as surrogateescape makes of the byte 0xff
]


@pytest.mark.parametrize("hostile", TROJAN_SOURCE)
@pytest.mark.parametrize("multiline", [False, True])
def test_bidi_controls_and_odd_code_points_become_placeholders(
    hostile: str, multiline: bool
) -> None:
    shown = sanitize(hostile, multiline=multiline)
    assert not any(display_hazard(char) for char in shown)
    assert shown.count("\ufffd") == sum(display_hazard(char) for char in hostile)
    assert len(shown) == len(hostile)  # one visible placeholder each, nothing dropped
    shown.encode("utf-8")  # strict: a lone surrogate would raise here
    assert has_display_hazards(hostile)
    assert not has_display_hazards(shown)


def test_bidi_is_not_a_control_character_for_validation() -> None:
    # Stored and exported unchanged: only the display replaces them.
    assert not has_control_characters("ACME\u202e")


def test_joiners_that_build_words_and_emoji_are_kept() -> None:
    # ZWJ and ZWNJ are needed by emoji sequences and by Persian and Indic scripts.
    text = "\U0001f468\u200d\U0001f469 \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    assert sanitize(text) == text


@settings(max_examples=400, database=None, deadline=None)
@given(
    st.one_of(
        st.text(alphabet=st.characters(codec=None)),  # every category, surrogates included
        st.binary(max_size=40).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
        st.text(alphabet=st.sampled_from([*sorted(BIDI | SEPARATORS), "a", "\ufffe", "\n"])),
    )
)
def test_nothing_dangerous_survives_any_text(text: str) -> None:
    for multiline in (False, True):
        shown = sanitize(text, multiline=multiline)
        assert not any(display_hazard(char) for char in shown)
        allowed = MULTILINE_ALLOWED if multiline else set()
        assert all(char in allowed for char in CONTROL.findall(shown))
        assert "\x1b" not in shown
        shown.encode("utf-8")
        assert sanitize(shown, multiline=multiline) == shown  # idempotent
    assert len(sanitize(text)) == len(text)
