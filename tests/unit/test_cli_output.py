"""What the CLI prints: refused searches, a reader that stops early (``| head``), and stored
text sanitised on the way to a pipe (issue 12.9, 12.10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from carriertui.cli import main


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CARRIERTUI_HOME", str(tmp_path))
    for name in ("CARRIERTUI_DB", "CARRIERTUI_BUSY_TIMEOUT", "SSH_CONNECTION", "SSH_CLIENT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("term", ["\x01", "\x1f", "North\x1b", "\ufffe", "\uffff"])
def test_a_search_with_a_control_character_is_refused_in_one_line(
    home: Path, capsys: pytest.CaptureFixture[str], term: str
) -> None:
    assert run(capsys, "customers", "add", "--name", "Northwind Telecom Ltd")[0] == 0
    code, out, err = run(capsys, "customers", "list", "--search", term)
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: search: cannot contain U+"), err
    assert f"U+{ord(term[-1]):04X}" in lines[0]
    # A printable search still answers.
    code, out, err = run(capsys, "customers", "list", "--search", "north")
    assert code == 0 and "Northwind Telecom Ltd" in out
