"""The real ``carriertui portal`` and operator UI on a pseudo-terminal, as an SSH session runs
them: when the client goes away (the master closed, SIGHUP, SIGTERM) the app logs the session
out in the audit log and is gone within 2 s, with nothing of its session left running, and it
does not spin while it waits for keys."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from carriertui.store import audit
from tests.functional.harness import PASSWORD, open_db, seed
from tests.functional.portal_harness import ADMIN, CONTACT_EMAIL, CONTACT_PASSWORD, seed_portal
from tests.unit.terminal_harness import PtyApp, app_env, carriertui_argv

EXIT_HANGUP = 128 + signal.SIGHUP
EXIT_TERMINATED = 128 + signal.SIGTERM
# How each way of going away ends the app: (how, exit code, the reason the audit entry names).
HANGUPS = {
    "master closed": ("close", EXIT_HANGUP, ("the terminal closed", "hangup: SIGHUP")),
    "master closed, no controlling tty": ("close-eio", EXIT_HANGUP, ("the terminal closed",)),
    "SIGHUP": ("SIGHUP", EXIT_HANGUP, ("hangup: SIGHUP",)),
    "SIGTERM": ("SIGTERM", EXIT_TERMINATED, ("terminated: SIGTERM",)),
}


@pytest.fixture
def started() -> Iterator[list[PtyApp]]:
    apps: list[PtyApp] = []
    yield apps
    for app in apps:
        app.cleanup()


def _start(started: list[PtyApp], argv: list[str], home: Path, *, controlling: bool) -> PtyApp:
    app = PtyApp(argv, app_env(home), controlling=controlling)
    started.append(app)
    return app


def _go_away(app: PtyApp, how: str) -> float | None:
    if how.startswith("close"):
        app.close_master()
    else:
        app.signal(getattr(signal, how))
    return app.wait_exit(5)


def _assert_gone_cleanly(app: PtyApp, seconds: float | None, code: int) -> None:
    assert seconds is not None, "still running 5 s after its terminal went away"
    assert seconds < 2, f"took {seconds:.2f} s to exit"
    assert app.exit_code == code, f"wait status {app.status}: killed, not handled"
    assert app.session_members() == []  # no child, no grandchild of its session runs on


def _cpu_over(app: PtyApp, seconds: float) -> float:
    before = app.cpu_seconds()
    app.idle_for(seconds)
    return app.cpu_seconds() - before


def _assert_idle_cpu_low(app: PtyApp) -> None:
    """Waiting for a key costs next to nothing (the old input loop spun at a full core). The
    store loads after the first frame (imports, the database): let that finish first."""
    quiet = 0
    for _ in range(30):  # two quiet half-seconds in a row: a busy machine may pause the loading
        quiet = quiet + 1 if _cpu_over(app, 0.5) < 0.1 else 0
        if quiet == 2:
            break
    else:
        raise AssertionError("the app never went quiet")
    assert _cpu_over(app, 2.0) < 0.3  # the old input loop: about 2 s of CPU in these 2 s


def _newest(url: str) -> audit.AuditRecord:
    return audit.list_entries(open_db(url), ADMIN)[0]


@pytest.mark.parametrize("way", list(HANGUPS))
def test_portal_session_ends_audited_when_the_client_goes(
    tmp_path: Path, started: list[PtyApp], way: str
) -> None:
    how, code, reasons = HANGUPS[way]
    url, contact_id = seed_portal(tmp_path)
    app = _start(
        started, carriertui_argv("portal", "--db", url), tmp_path, controlling=how != "close-eio"
    )
    app.wait_for_text("Customer portal login", "Email")
    app.type(CONTACT_EMAIL + "\r")
    app.idle_for(0.3)
    app.type(CONTACT_PASSWORD + "\r")
    app.wait_for_text("NWT-001", "Northwind Telecom Ltd")
    assert app.children() == []
    _assert_idle_cpu_low(app)

    _assert_gone_cleanly(app, _go_away(app, how), code)
    entry = _newest(url)
    assert (entry.action, entry.actor, entry.primary_key) == ("LOGOUT", "Portal", str(contact_id))
    assert entry.message in {
        f"Portal logout of Jane Doe <{CONTACT_EMAIL}> ({reason})" for reason in reasons
    }


@pytest.mark.parametrize("way", ["master closed", "SIGHUP", "SIGTERM"])
def test_portal_login_screen_exits_on_hangup(
    tmp_path: Path, started: list[PtyApp], way: str
) -> None:
    """Nobody logged in: nothing to audit, still gone at once."""
    how, code, _reasons = HANGUPS[way]
    url, _ = seed_portal(tmp_path)
    entries = len(audit.list_entries(open_db(url), ADMIN))
    app = _start(started, carriertui_argv("portal", "--db", url), tmp_path, controlling=True)
    app.wait_for_text("Customer portal login")
    _assert_idle_cpu_low(app)
    _assert_gone_cleanly(app, _go_away(app, how), code)
    assert len(audit.list_entries(open_db(url), ADMIN)) == entries


@pytest.mark.parametrize("way", ["master closed", "SIGHUP", "SIGTERM"])
def test_operator_session_ends_audited_when_the_client_goes(
    tmp_path: Path, started: list[PtyApp], way: str
) -> None:
    how, code, reasons = HANGUPS[way]
    url = seed(tmp_path / "ops.sqlite")
    # The login form fills in the system user's name and puts the cursor on the password.
    app = PtyApp(carriertui_argv("--db", url), app_env(tmp_path, LOGNAME="alice", USER="alice"))
    started.append(app)
    app.wait_for_text("Operator login", "alice")
    app.idle_for(0.3)
    app.type(PASSWORD + "\r")
    app.wait_for_text("Bluefin Voice GmbH")
    _assert_idle_cpu_low(app)

    _assert_gone_cleanly(app, _go_away(app, how), code)
    entry = _newest(url)
    assert (entry.action, entry.actor, entry.table) == ("LOGOUT", "alice", "operator")
    assert entry.message in {f"Logout of alice ({reason})" for reason in reasons}


def test_no_bidi_control_reaches_the_terminal_even_from_an_input_field(
    tmp_path: Path, started: list[PtyApp]
) -> None:
    """An editable field (the customer form's Name) shows a stored override as a placeholder
    (the form sanitizes what it shows; a field left as shown is no change), and the driver's
    output filter is the net under it: the override never reaches the terminal."""
    url = seed(tmp_path / "bidi.sqlite", hostile=("ACME\u202eLtd\u2066x\u2069",))
    app = PtyApp(carriertui_argv("--db", url), app_env(tmp_path, LOGNAME="alice", USER="alice"))
    started.append(app)
    app.wait_for_text("Operator login", "alice")
    app.idle_for(0.3)
    app.type(PASSWORD + "\r")
    app.wait_for_text("Bluefin Voice GmbH", "ACME\ufffdLtd")
    app.type("\r")  # the first row: ACME
    app.wait_for_text("HOST-0")
    app.idle_for(1.5)  # the form's fields filled in and drawn
    assert "Name" in app.text
    for char in ("\u202e", "\u2066", "\u2069"):
        assert char not in app.output
    app.signal(signal.SIGTERM)
    assert app.wait_exit(5) is not None


def test_the_drivers_output_never_carries_a_bidi_control_or_a_lone_surrogate() -> None:
    import io

    from carriertui.hangup import _TerminalOutput

    stream = io.StringIO()
    output = _TerminalOutput(stream, on_gone=lambda reason: None)
    output.write("\x1b[1mACME\u202eLtd\u2066x\u2069 bad\udcff\x1b[0m \U0001f468\u200d\U0001f469")
    written = stream.getvalue()
    expected = "\x1b[1mACME\ufffdLtd\ufffdx\ufffd bad\ufffd\x1b[0m "
    assert written == expected + "\U0001f468\u200d\U0001f469"  # escapes and joiners kept


@pytest.mark.parametrize("when", ["before the first frame", "once the form is shown"])
def test_a_burst_of_email_tab_password_enter_logs_in(
    tmp_path: Path, started: list[PtyApp], when: str
) -> None:
    """A password manager's auto-type sends "email TAB password ENTER" in one write. Textual
    forwarded each key to the field focused when it read the key, and Tab moved the focus only
    later: the password landed in Email. Typed before the app took the terminal, Enter arrives
    as a newline and the form's first auto-focus came after the keys (issue 20, item 8)."""
    url, _contact_id = seed_portal(tmp_path)
    app = _start(started, carriertui_argv("--db", url, "portal"), tmp_path, controlling=True)
    if when == "once the form is shown":
        app.wait_for_text("Customer portal login")
        app.idle_for(0.3)
    app.type(CONTACT_EMAIL + "\t" + CONTACT_PASSWORD + "\r")
    app.wait_for_text("Northwind Telecom Ltd", timeout=30)
