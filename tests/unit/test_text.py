"""The one sanitizer for untrusted text: no control character reaches the terminal."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len, split_graphemes
from rich.segment import Segment
from textual.strip import Strip

from carriertui.grid.model import Column
from carriertui.text import has_control_characters, has_display_hazards, sanitize
from carriertui.widgets.grid.cells import align_text, blank_cells, text_widths

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


# Code points whose width is odd: zero-width (ZWSP, ZWJ, ZWNJ, VS16, combining marks, tags),
# wide (CJK), emoji pieces (people, skin tones, regional indicators, text-style pictographs),
# noncharacters and the blank Hangul fillers; drawn densely so their sequences come up often.
ODD_WIDTHS = [
    *"\u200b\u200c\u200d\ufe0f\u0301\u0302\u0336\u20e3a \u4e2d\uac00\u2764\u2695\u2640",
    *"\ufffe\uffff\u3164\uffa0\u0dca\u0dbb",
    "\U0001f468",
    "\U0001f469",
    "\U0001f3fd",
    "\U0001f1e9",
    "\U0001f1ea",
    "\U0001f3f3",
    "\U000e0067",
]
ANY_TEXT = st.one_of(
    st.text(alphabet=st.characters(codec=None)),  # every category, surrogates included
    st.binary(max_size=40).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
    st.text(alphabet=st.sampled_from([*sorted(BIDI | SEPARATORS), "a", "\ufffe", "\n"])),
    st.text(alphabet=st.sampled_from(ODD_WIDTHS), max_size=16),
)


@settings(max_examples=400, database=None, deadline=None)
@given(ANY_TEXT)
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


@settings(max_examples=400, database=None, deadline=None)
@given(ANY_TEXT, st.integers(min_value=0, max_value=24), st.sampled_from(["left", "right"]))
# Rich's Segment.split_cells cuts " man ZWJ woman " after the ZWJ, and "woman " then measures
# three cells instead of one: the grid must not blank a cut column by measuring such pieces.
@example("\U0001f468\u200d\U0001f469", 3, "left")
def test_shown_text_takes_the_cells_the_grid_gives_it(text: str, width: int, align: str) -> None:
    """What the grid measures (a page's text widths), what it cuts and pads a cell to, and
    what the terminal line is made of (segments side by side) all agree on every text."""
    shown = sanitize(text)
    size = cell_len(shown)
    assert text_widths([Column("name", "Name")], [(1, (text,))]) == [size]
    assert split_graphemes(shown)[1] == size  # cutting measures as padding does
    cell = " " + align_text(shown, width, align)
    assert cell_len(cell) == width + 1
    if size <= width:
        assert shown in cell  # not cut when it fits
    # Nothing at the end of one cell joins the next cell's padding (a ZWJ there would).
    line = Strip([Segment(cell), Segment(cell), Segment(" |")])
    total = 2 * width + 4
    assert line.cell_length == cell_len(cell + cell + " |") == total
    for cut in range(total + 1):
        # What the grid does at the edges of a scrolled view: the part left of the right edge
        # is kept as it is (a wide character cut in two becomes a space); a column cut by the
        # left edge is blanked, a space for each of its cells.
        kept = line.crop(0, cut)
        assert kept.cell_length == cell_len(kept.text) == cut
        blank = blank_cells(line, cut, total)
        assert blank.cell_length == cell_len(blank.text) == total - cut


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\u200db", "a\u2060b"),  # Rich would count the b as joined: no cells
        ("\u4e2d\u200d\u6587", "\u4e2d\u2060\u6587"),  # CJK does not join either
        ("name\u200d", "name\u2060"),  # at the end it would swallow the cell's padding
        ("\u200dx", "\u2060x"),
        ("\u0dc1\u0dca\u200d\u0dbb\u0dd3", "\u0dc1\u0dca\u2060\u0dbb\u0dd3"),  # Sinhala "Sri"
        ("a\U0001f3fd", "a\ufffd"),  # a skin tone on its own: Rich 0 cells, terminals 2
        ("\u3164\u3164", "\ufffd\ufffd"),  # blank Hangul fillers
        ("\U0001f468\u200d\U0001f469\u200d\U0001f467", None),  # family: kept
        ("\u2764\ufe0f \u263a\ufe0f", "\u2764\ufe0e \u263a\ufe0e"),  # text style: one cell
        ("\U0001f3f3\ufe0f\u200d\U0001f308", "\U0001f3f3\ufe0e\u2060\U0001f308"),  # flag, rainbow
        ("\U0001f469\u200d\u2695\ufe0f", "\U0001f469\u2060\u2695\ufe0e"),  # woman, staff
        ("\U0001f600\ufe0f", None),  # VS16 after a wide emoji changes nothing: kept
        ("\U0001f468\U0001f3fd\u200d\U0001f4bb", None),  # technologist with a skin tone
        ("\U0001f44d\U0001f3fd \U0001f1e9\U0001f1ea", None),  # thumbs up with a tone, a flag
        ("e\u0301 Zalgo\u0336\u0301\u0302", None),  # combining marks stay on their letter
    ],
)
def test_code_points_rich_and_terminals_measure_differently(text: str, shown: str | None) -> None:
    assert sanitize(text) == (text if shown is None else shown)
    assert len(sanitize(text)) == len(text)
