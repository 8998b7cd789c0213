"""`carriertui serve --portal` as a real server on loopback, driven over textual-serve's own
websocket protocol (the browser test, test_web_browser.py, does the same through Chromium):
the contact logs in, the whitelist and the audit log see the connection's address (a proxy's
X-Forwarded-For only when it is trusted), another site's page gets no session, and no session
outlives the browser or the server."""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.functional.harness import PASSWORD, seed
from tests.functional.portal_harness import CONTACT_EMAIL, CONTACT_PASSWORD, seed_portal
from tests.unit.terminal_harness import app_env
from tests.unit.web_harness import Session, audit_entries, serving, wait_until


def _log_in(session: Session) -> None:
    session.wait_for("Customer portal login")
    session.type(CONTACT_EMAIL)
    session.type("\t")
    session.type(CONTACT_PASSWORD)
    session.type("\r")


def _portal_entries(url: str, action: str) -> list:
    """The contact's logins (not the refused ones, also LOGIN entries) or logouts."""
    start = {"LOGIN": "Portal login of ", "LOGOUT": "Portal logout of "}[action]
    return [e for e in audit_entries(url) if e.action == action and e.message.startswith(start)]


def test_the_whitelist_and_the_audit_see_the_connection_not_the_header(tmp_path: Path) -> None:
    """No trusted proxy: a browser that claims a whitelisted address in X-Forwarded-For is
    still refused from its real one."""
    url, _contact = seed_portal(tmp_path, whitelist="203.0.113.0/24")
    with serving(tmp_path, url, "--portal") as served:
        with Session(served, {"X-Forwarded-For": "203.0.113.7"}) as session:
            _log_in(session)
            refused = wait_until(
                lambda: [e for e in audit_entries(url) if "not in the IP whitelist" in e.message],
                20,
                "the refused login in the audit log",
            )
            assert not _portal_entries(url, "LOGIN")
        assert served.stop() == []
    (entry,) = refused
    assert entry.ip == "127.0.0.1"
    assert "address 127.0.0.1 not in the IP whitelist" in entry.message


def test_a_trusted_proxys_forwarded_address_logs_in_and_is_audited(tmp_path: Path) -> None:
    url, contact_id = seed_portal(tmp_path, whitelist="203.0.113.0/24")
    trusted = {"CARRIERTUI_WEB_TRUSTED_PROXIES": "127.0.0.1"}
    with serving(tmp_path, url, "--portal", env=trusted) as served:
        # What the client wrote (192.0.2.66) is left of what the proxy appended.
        with Session(served, {"X-Forwarded-For": "192.0.2.66, 203.0.113.7"}) as session:
            _log_in(session)
            (login,) = wait_until(lambda: _portal_entries(url, "LOGIN"), 20, "the login")
            session.wait_for("Northwind Telecom Ltd")
            assert len(served.sessions()) == 1
        # The browser left: the session logs out, audited, and its process ends.
        (logout,) = wait_until(lambda: _portal_entries(url, "LOGOUT"), 10, "the logout")
        wait_until(lambda: not served.sessions(), 10, "the session's process to end")
        assert served.stop() == []
    assert (login.ip, login.primary_key) == ("203.0.113.7", str(contact_id))
    assert logout.ip == "203.0.113.7"
    assert logout.message.endswith("(the browser left)")


def test_a_websocket_from_another_sites_page_gets_no_session(tmp_path: Path) -> None:
    url, _contact = seed_portal(tmp_path)
    with serving(tmp_path, url, "--portal") as served:
        with Session(served, {"Origin": "https://evil.example"}) as session:
            assert session.status == 403
        assert served.sessions_seen == set() and served.sessions() == []
        with Session(served, {"Origin": served.base}) as session:
            session.wait_for("Customer portal login")
            assert session.status == 101
        assert served.stop() == []


def test_the_server_stopped_ends_every_session_audited(tmp_path: Path) -> None:
    """SIGTERM to the server (a service manager's stop): each session logs out and exits."""
    url, _contact = seed_portal(tmp_path)
    with serving(tmp_path, url, "--portal") as served, Session(served) as session:
        _log_in(session)
        wait_until(lambda: _portal_entries(url, "LOGIN"), 20, "the login")
        assert len(served.sessions()) == 1
        assert served.stop() == []
    (logout,) = _portal_entries(url, "LOGOUT")
    assert logout.message.endswith("(the server stopped)")


def test_a_killed_server_leaves_no_session_behind(tmp_path: Path) -> None:
    """SIGKILL gives the server no chance to stop its sessions: each sees the end of its
    pipes, logs out (audited) and exits instead of waiting for input forever."""
    url, _contact = seed_portal(tmp_path)
    with serving(tmp_path, url, "--portal") as served, Session(served) as session:
        _log_in(session)
        wait_until(lambda: _portal_entries(url, "LOGIN"), 20, "the login")
        (child,) = served.sessions()
        os.kill(served.process.pid, signal.SIGKILL)  # the server alone, not its group
        served.process.wait(timeout=5)
        assert child in served.sessions_seen
        wait_until(
            lambda: served.left() == [],
            5,
            "the session to end",
        )
        assert served.left() == []
    logouts = _portal_entries(url, "LOGOUT")
    assert len(logouts) == 1, served.session_log()
    # Whichever the session saw first: the end of its input, or a write into the dead pipe.
    assert logouts[0].message.endswith(
        ("(the server closed the session)", "(the server's pipe closed: Broken pipe)")
    ), logouts[0].message


def test_without_portal_the_operator_ui_is_served_and_its_login_audited(tmp_path: Path) -> None:
    url = seed(tmp_path / "noc.sqlite")
    trusted = {"CARRIERTUI_WEB_TRUSTED_PROXIES": "127.0.0.0/8"}
    with serving(tmp_path, url, env=trusted) as served:
        with Session(served, {"X-Forwarded-For": "198.51.100.23"}) as session:
            session.wait_for("Operator login")
            session.idle(0.5)
            # The server's OS account is not offered as the operator's name (it is over SSH).
            assert getpass.getuser().encode() not in session.output
            session.type("alice")
            session.type("\t")
            session.type(PASSWORD)
            session.type("\r")
            (login,) = wait_until(
                lambda: [e for e in audit_entries(url) if e.action == "LOGIN"], 20, "the login"
            )
            session.wait_for("Customers")
        assert served.stop() == []
    assert (login.actor, login.ip) == ("alice", "198.51.100.23")


def test_a_session_process_started_by_hand_is_refused(tmp_path: Path) -> None:
    """python -m carriertui.web is textual-serve's child only: it needs the server's address."""
    result = subprocess.run(
        [sys.executable, "-m", "carriertui.web", "--portal"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=20,
        env=app_env(tmp_path / "home"),
        check=False,
    )
    assert result.returncode == 2
    assert "carriertui serve" in result.stderr


def test_serve_without_the_web_extra_says_how_to_get_it(tmp_path: Path) -> None:
    url, _contact = seed_portal(tmp_path)
    # The extra is installed here: hide it from this one process, as if it were not.
    code = (
        "import sys; sys.modules['textual_serve'] = None; "
        "from carriertui.cli import main; "
        f"sys.exit(main(['serve', '--portal', '--db', {url!r}, '--port', '1']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        env=app_env(tmp_path / "home"),
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "pip install 'carriertui[web]'" in result.stderr
