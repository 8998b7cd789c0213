"""The real ``carriertui`` on a pseudo-terminal whose locale is not UTF-8 (issue 20, item 6):
every byte it writes is ASCII (it wrote UTF-8 box drawing that a Latin-1 terminal showed as
``âââ``), keys typed in Latin-1 arrive, and ``--ascii`` forces it on a UTF-8 terminal. The CLI
prints ASCII to such a terminal, and keeps UTF-8 data in a pipe."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.harness import PASSWORD, seed
from tests.functional.portal_harness import CONTACT_EMAIL, CONTACT_PASSWORD, seed_portal
from tests.unit.terminal_harness import PtyApp, app_env, carriertui_argv

FOREIGN = ("Café Zürich Télécom",)
LOCALE = ("LC_ALL", "LC_CTYPE", "LANG")
# A corner and the line after it, escape sequences (colours) between them or not.
BOX_CORNER = re.compile(r"\+(?:\x1b\[[0-9;]*m)*-{10}")


@pytest.fixture
def started() -> Iterator[list[PtyApp]]:
    apps: list[PtyApp] = []
    yield apps
    for app in apps:
        app.cleanup()


def _env(home: Path, **locale: str) -> dict[str, str]:
    env = app_env(home, LOGNAME="alice", USER="alice", TERM="vt100")
    for variable in LOCALE:
        env.pop(variable, None)
    env.update(locale)
    return env


def _start(started: list[PtyApp], argv: list[str], env: dict[str, str]) -> PtyApp:
    app = PtyApp(argv, env)
    started.append(app)
    return app


def _non_ascii(app: PtyApp) -> list[str]:
    """What the app wrote above 0x7F (the harness decodes bytes as UTF-8, with U+FFFD for a
    byte that is not: either way a character above 0x7F)."""
    return sorted({char for char in app.output if ord(char) >= 0x80})


def _log_in_and_open_a_customer(app: PtyApp, foreign: str = "Cafe Zurich Telecom") -> None:
    app.wait_for_text("Operator login", "alice")
    app.idle_for(0.3)
    app.type(PASSWORD + "\r")
    app.wait_for_text("Bluefin Voice GmbH", foreign)
    app.type("\r")  # the first row: Atlas Comms [UK]
    app.wait_for_text("Account code", "Audit Log")
    app.idle_for(1.0)


@pytest.mark.parametrize(
    "locale",
    [{"LANG": "C"}, {"LANG": "de_DE.ISO-8859-1"}, {"LC_ALL": "POSIX", "LANG": "C.UTF-8"}],
    ids=["LANG=C", "Latin-1", "LC_ALL=POSIX"],
)
def test_the_tui_writes_only_ascii_to_a_terminal_that_is_not_utf8(
    tmp_path: Path, started: list[PtyApp], locale: dict[str, str]
) -> None:
    url = seed(tmp_path / "c.sqlite", hostile=FOREIGN)
    app = _start(started, carriertui_argv("--db", url), _env(tmp_path, **locale))
    _log_in_and_open_a_customer(app)
    assert BOX_CORNER.search(app.output)  # the login box, in ASCII
    assert _non_ascii(app) == []
    app.signal(signal.SIGTERM)
    assert app.wait_exit(5) is not None


def test_a_utf8_terminal_gets_utf8_unless_ascii_is_asked_for(
    tmp_path: Path, started: list[PtyApp]
) -> None:
    """The control: LC_ALL=C.UTF-8 beats LANG=C (POSIX precedence) and the box is drawn in
    UTF-8; the same terminal with --ascii gets ASCII."""
    url = seed(tmp_path / "c.sqlite", hostile=FOREIGN)
    utf8 = _start(started, carriertui_argv("--db", url), _env(tmp_path, LC_ALL="C.UTF-8", LANG="C"))
    _log_in_and_open_a_customer(utf8, FOREIGN[0])
    assert "╭" in utf8.output and not BOX_CORNER.search(utf8.output)
    utf8.signal(signal.SIGTERM)
    assert utf8.wait_exit(5) is not None

    forced = _start(
        started, carriertui_argv("--ascii", "--db", url), _env(tmp_path, LANG="C.UTF-8")
    )
    _log_in_and_open_a_customer(forced)
    assert _non_ascii(forced) == []
    forced.signal(signal.SIGTERM)
    assert forced.wait_exit(5) is not None


def test_the_portal_with_ascii_forced(tmp_path: Path, started: list[PtyApp]) -> None:
    url, _contact_id = seed_portal(tmp_path)
    app = _start(
        started,
        carriertui_argv("portal", "--ascii", "--db", url),
        _env(tmp_path, LANG="en_GB.UTF-8"),
    )
    app.wait_for_text("Customer portal login", "Email")
    app.type(CONTACT_EMAIL + "\r")
    app.idle_for(0.3)
    app.type(CONTACT_PASSWORD + "\r")
    app.wait_for_text("NWT-001", "Northwind Telecom Ltd")
    app.idle_for(0.5)
    assert _non_ascii(app) == []
    app.signal(signal.SIGTERM)
    assert app.wait_exit(5) is not None


def test_keys_typed_on_a_latin1_terminal_arrive(tmp_path: Path, started: list[PtyApp]) -> None:
    """A Latin-1 terminal sends é as the one byte 0xE9, which is no UTF-8: the app decodes it
    as the locale says (it used to raise in the input thread) and draws it as e."""
    url = seed(tmp_path / "c.sqlite")
    app = _start(started, carriertui_argv("--db", url), _env(tmp_path, LANG="fr_FR.ISO-8859-1"))
    app.wait_for_text("Operator login", "alice")
    app.idle_for(0.3)
    app.type("\x1b[Z")  # shift+tab: back to the name field
    app.idle_for(0.3)
    os.write(app.master, "Jos\xe9".encode("latin-1"))
    app.wait_for_text("Jose")  # the field selected its text on focus: replaced
    assert _non_ascii(app) == []
    app.signal(signal.SIGTERM)
    assert app.wait_exit(5) is not None


def test_the_cli_prints_ascii_to_such_a_terminal_and_utf8_into_a_pipe(
    tmp_path: Path, started: list[PtyApp]
) -> None:
    url = seed(tmp_path / "c.sqlite", hostile=FOREIGN)
    argv = carriertui_argv("customers", "list", "--db", url)
    env = _env(tmp_path, LANG="C")
    app = _start(started, argv, env)
    assert app.wait_exit(20) is not None
    assert app.exit_code == 0
    assert "Cafe Zurich Telecom" in app.text and _non_ascii(app) == []

    piped = subprocess.run(argv, env=env, capture_output=True, check=True)
    assert "Café Zürich Télécom".encode() in piped.stdout  # data, for a script


def test_a_cli_error_is_ascii_on_such_a_terminal(tmp_path: Path, started: list[PtyApp]) -> None:
    url = seed(tmp_path / "c.sqlite")
    argv = carriertui_argv("customers", "show", "Café Zürich", "--db", url)
    app = _start(started, argv, _env(tmp_path, LANG="C"))
    assert app.wait_exit(20) is not None
    assert app.exit_code == 1
    assert "error: no customer named or coded 'Cafe Zurich'" in app.text
    assert _non_ascii(app) == []
