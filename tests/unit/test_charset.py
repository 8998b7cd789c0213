"""Which terminals get ASCII (carriertui.charset): the locale by POSIX precedence, as the
process was started (Python rewrites LC_CTYPE in the C locale), ``[display] charset``; and the
ASCII stand-ins, one cell for each cell so that no layout moves (issue 20, item 6)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from carriertui import charset, locations
from carriertui.ascii_screen import screen_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("environ", "ascii_only"),
    [
        ({"LANG": "C"}, True),
        ({"LANG": "POSIX"}, True),
        ({}, True),  # no locale at all is the C locale
        ({"LANG": ""}, True),
        ({"LANG": "en_GB.UTF-8"}, False),
        ({"LANG": "de_DE.utf8@euro"}, False),
        ({"LANG": "C.UTF-8"}, False),
        ({"LANG": "de_DE.ISO-8859-1"}, True),  # a Latin-1 terminal
        ({"LANG": "en_US"}, True),  # no charset named: the locale's default, not UTF-8
        ({"LANG": "C", "LC_CTYPE": "en_GB.UTF-8"}, False),  # LC_CTYPE before LANG
        ({"LANG": "en_GB.UTF-8", "LC_CTYPE": "C"}, True),
        ({"LANG": "en_GB.UTF-8", "LC_CTYPE": "", "LC_ALL": ""}, False),  # empty: not set
        ({"LC_ALL": "C", "LC_CTYPE": "en_GB.UTF-8", "LANG": "en_GB.UTF-8"}, True),  # LC_ALL first
        ({"LC_ALL": "en_GB.UTF-8", "LC_CTYPE": "C", "LANG": "C"}, False),
    ],
)
def test_the_locale_decides_by_posix_precedence(environ: dict[str, str], ascii_only: bool) -> None:
    assert charset.ascii_wanted(environ=environ) is ascii_only


def test_the_flag_and_the_setting_win_over_the_locale() -> None:
    utf8, c = {"LANG": "en_GB.UTF-8"}, {"LANG": "C"}
    assert charset.ascii_wanted(True, environ=utf8) is True  # --ascii
    assert charset.ascii_wanted(True, "unicode", environ=c) is True  # --ascii beats the config
    assert charset.ascii_wanted(setting="ascii", environ=utf8) is True
    assert charset.ascii_wanted(setting="unicode", environ=c) is False
    assert charset.ascii_wanted(setting="auto", environ=c) is True


def test_the_display_setting_is_read_and_checked(tmp_path: Path) -> None:
    assert locations.is_setting("display", "charset")
    assert locations.display_charset({"CARRIERTUI_DISPLAY_CHARSET": "ASCII"}) == "ascii"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CARRIERTUI_HOME", str(tmp_path))
        assert locations.display_charset({}) == "auto"
        locations.ensure_private_dir(locations.config_dir())
        locations.config_path().write_text('[display]\ncharset = "unicode"\n')
        assert locations.display_charset({}) == "unicode"
        with pytest.raises(locations.ConfigError, match="charset must be one of"):
            locations.display_charset({"CARRIERTUI_DISPLAY_CHARSET": "latin1"})


def _started_with(*assignments: str) -> str:
    """What a new interpreter started with exactly these locale variables decides."""
    code = "from carriertui import charset; print(charset.ascii_wanted(), charset.input_encoding())"
    env = dict(assignment.split("=", 1) for assignment in assignments)
    env.update(PATH="/usr/bin:/bin", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_pythons_c_locale_coercion_does_not_hide_a_c_locale() -> None:
    """Python starts in the C locale by setting LC_CTYPE=C.UTF-8 in its own environment (PEP
    538): read naively, every LANG=C session would look UTF-8."""
    assert _started_with("LANG=C") == "True utf-8"
    assert _started_with() == "True utf-8"  # keys from an unknown terminal: UTF-8, replaced
    # A C.UTF-8 the operator set is a UTF-8 locale.
    assert _started_with("LANG=C", "LC_CTYPE=C.UTF-8") == "False utf-8"
    assert _started_with("LC_ALL=C") == "True utf-8"
    assert _started_with("LANG=de_DE.ISO-8859-1") == "True iso8859-1"  # é is one byte


def test_ascii_stand_ins_take_the_cells_of_what_they_replace() -> None:
    """As Rich (so Textual) measures them: a letter with its accents, an emoji sequence joined
    by zero width joiners, a flag, a skin tone, an emoji presentation selector."""
    samples = [chr(code) for code in range(0x2500, 0x25A0)]  # box drawing and blocks
    samples += list("↑↓←→▲▼▶◀▾▿●○•·…—–“”‘’≈×✓✕⚠◔🔎")
    samples += ["Café", "Zürich", "Łódź", "東京", "e\u0301\u0302", "ﬁ", "\u00a0", "x\u200dy"]
    samples += ["\U0001f468\u200d\U0001f469 ok", "\U0001f1ec\U0001f1e7", "\U0001f44d\U0001f3fd"]
    samples += ["\u2764\ufe0f", "\x1b[1m\u256d\u2500\x1b[0m"]
    for text in samples:
        converted = screen_text(text)
        assert converted.isascii(), text
        assert cell_len(converted) == cell_len(text), text
    # The CLI's measure (the stdlib's) agrees on the ordinary ones.
    for text in ("Café", "東京", "╭──╮", "…"):
        assert charset.to_ascii(text).isascii() and len(charset.to_ascii(text)) == cell_len(text)


def test_the_stand_ins_keep_their_meaning() -> None:
    ascii = screen_text

    assert ascii("╭──╮") == "+--+" and ascii("│ok│") == "|ok|" and ascii("╰─┴─╯") == "+-+-+"
    assert ascii("═║╬") == "=|+"
    assert ascii("Café Zürich Łódź") == "Cafe Zurich Lodz"
    assert ascii("東京") == "????"  # two cells each
    assert ascii("Loading…") == "Loading."
    assert ascii("↑↓ a · b ✓") == "^v a | b x"
    assert ascii("\x1b[1mplain ascii\x1b[0m") == "\x1b[1mplain ascii\x1b[0m"


def test_the_apps_own_marks_follow_the_mode() -> None:
    before = charset.ascii_mode()
    try:
        charset.use_ascii(False)
        assert (charset.glyph("sort_ascending"), charset.glyph("cut")) == ("↑", "…")
        assert charset.spark_bars() == "▁▂▃▄▅▆▇█"
        charset.use_ascii(True)
        assert (charset.glyph("sort_ascending"), charset.glyph("cut")) == ("^", "~")
        assert charset.spark_bars().isascii() and len(charset.spark_bars()) == 8
        assert all(ascii_form.isascii() for _unicode, ascii_form in charset.GLYPHS.values())
        assert charset.for_terminal("Café — ok") == "Cafe - ok"
    finally:
        charset.use_ascii(before)


def test_a_wrong_display_setting_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from carriertui import cli

    monkeypatch.setenv("CARRIERTUI_DISPLAY_CHARSET", "latin1")
    assert cli.main(["config", "path"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "error: [display] charset must be one of auto, ascii, unicode, not 'latin1'\n"
    )
    monkeypatch.setenv("CARRIERTUI_DISPLAY_CHARSET", "ascii")
    assert cli.main(["config", "path"]) == 0
    assert charset.ascii_mode() is True  # the process draws ASCII from here on
