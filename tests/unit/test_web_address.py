"""Who a browser session says it serves (carriertui/web.py): the connection's peer, a trusted
proxy's X-Forwarded-For and nothing else; the `[web] trusted_proxies` setting; the session's
environment, read by the whitelist and the audit (store.context.client_ip)."""

from __future__ import annotations

from pathlib import Path

import pytest

from carriertui import locations
from carriertui import web_address as web
from carriertui.store.context import client_ip

PROXY = web.trusted_networks(["127.0.0.1", "10.0.0.0/8", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # No trusted proxy configured: the header is the client's word, never believed.
        ("198.51.100.4", ["203.0.113.7"], "198.51.100.4"),
        ("127.0.0.1", ["203.0.113.7"], "127.0.0.1"),
        ("::ffff:198.51.100.4", [], "198.51.100.4"),
    ],
)
def test_without_trusted_proxies_the_peer_is_the_client(
    peer: str, forwarded: list[str], expected: str
) -> None:
    assert web.client_address(peer, forwarded, ()) == expected


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # The proxy on loopback appended the address it got the request from.
        ("127.0.0.1", ["203.0.113.7"], "203.0.113.7"),
        # What the client wrote itself (left of the proxy's entry) is never believed.
        ("127.0.0.1", ["192.0.2.1, 203.0.113.7"], "203.0.113.7"),
        ("127.0.0.1", ["192.0.2.1", "203.0.113.7"], "203.0.113.7"),
        # Two trusted proxies in a row: walk past both.
        ("127.0.0.1", ["192.0.2.1, 203.0.113.7, 10.1.2.3"], "203.0.113.7"),
        # Every hop trusted: the leftmost hop is as far as anyone vouches.
        ("127.0.0.1", ["10.9.9.9"], "10.9.9.9"),
        # A peer that is no trusted proxy: its header is ignored, whatever it says.
        ("198.51.100.4", ["203.0.113.7"], "198.51.100.4"),
        # A trusted proxy that forwards nothing: the proxy itself.
        ("127.0.0.1", [], "127.0.0.1"),
        # A malformed entry stops the walk at the proxy that wrote it.
        ("127.0.0.1", ["203.0.113.7, not-an-address"], "127.0.0.1"),
        ("127.0.0.1", ["unknown, 10.1.2.3"], "10.1.2.3"),
        # IPv6, bracketed or IPv4-mapped, as proxies and dual-stack sockets write them.
        ("::ffff:127.0.0.1", ["[2001:db8::5]"], "2001:db8::5"),
        ("fd00::1", ["2001:db8::5"], "2001:db8::5"),
        ("127.0.0.1", [" 203.0.113.7 ,, "], "203.0.113.7"),
    ],
)
def test_a_trusted_proxys_forwarded_for_is_read_from_its_end(
    peer: str, forwarded: list[str], expected: str
) -> None:
    assert web.client_address(peer, forwarded, PROXY) == expected


def test_a_peer_without_an_address_is_kept_as_it_is() -> None:
    assert web.peer_of(None) == "unknown"
    assert web.peer_of(("192.0.2.9", 51234)) == "192.0.2.9"
    assert web.client_address("unknown", ["203.0.113.7"], PROXY) == "unknown"


def test_trusted_proxies_come_from_the_config_or_its_variable(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CARRIERTUI_HOME", str(tmp_path))
        assert locations.trusted_proxies(environ={}) == ()
        environ = {"CARRIERTUI_WEB_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8 ::1"}
        assert locations.trusted_proxies(environ) == ("127.0.0.1", "10.0.0.0/8", "::1")
        config = locations.config_path()
        config.parent.mkdir(parents=True)
        config.write_text('[web]\ntrusted_proxies = ["192.0.2.10", "2001:db8::/32"]\n')
        assert locations.trusted_proxies(environ={}) == ("192.0.2.10", "2001:db8::/32")
        networks = web.trusted_networks(locations.trusted_proxies(environ={}))
        assert web.client_address("192.0.2.10", ["203.0.113.7"], networks) == "203.0.113.7"


@pytest.mark.parametrize("value", ["proxy.example.net", "10.0.0.0/33", "1.2.3"])
def test_a_trusted_proxy_that_is_no_address_is_a_config_error(value: str) -> None:
    with pytest.raises(locations.ConfigError, match="trusted_proxies"):
        locations.trusted_proxies(environ={"CARRIERTUI_WEB_TRUSTED_PROXIES": value})


def test_the_session_environment_names_the_browser_not_the_servers_ssh_login() -> None:
    server = {
        "PATH": "/usr/bin",
        "SSH_CONNECTION": "192.0.2.50 50000 192.0.2.1 22",
        "SSH_CLIENT": "192.0.2.50 50000 22",
        "SSH_TTY": "/dev/pts/3",
        "TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver",
    }
    environment = web.session_environment(
        server, database_url="sqlite:////srv/carrier.sqlite", client="203.0.113.7"
    )
    assert environment["CARRIERTUI_DB"] == "sqlite:////srv/carrier.sqlite"
    assert environment["TEXTUAL_DRIVER"] == server["TEXTUAL_DRIVER"]
    assert not {"SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"} & set(environment)
    # What the whitelist and the audit log read in the session:
    assert client_ip(environment) == "203.0.113.7"
    # The database's URL is no configuration key, and neither is the address.
    assert locations.load_config(Path("/nonexistent.toml"), environment) == {}
    # Without the server's scrubbing, the server's SSH client would have been taken.
    assert client_ip({**server, locations.CLIENT_ADDRESS_ENV: "203.0.113.7"}) == "192.0.2.50"


def test_the_session_command_execs_the_app_with_no_secret_on_it() -> None:
    command = web.session_command(portal=True, python="/opt/carrier tui/bin/python")
    assert command == "exec '/opt/carrier tui/bin/python' -m carriertui.web --portal"
    assert "--portal" not in web.session_command(portal=False)


@pytest.mark.parametrize(
    ("origin", "host", "public_url", "allowed"),
    [
        (None, "127.0.0.1:8000", None, True),  # not a browser
        ("http://127.0.0.1:8000", "127.0.0.1:8000", None, True),
        ("https://portal.example.net", "portal.example.net", None, True),
        ("https://portal.example.net", "127.0.0.1:8000", "https://portal.example.net", True),
        ("https://evil.example", "127.0.0.1:8000", None, False),
        ("https://evil.example", "127.0.0.1:8000", "https://portal.example.net", False),
        ("http://127.0.0.1:8001", "127.0.0.1:8000", None, False),
        ("null", "127.0.0.1:8000", None, False),  # a sandboxed frame or a file: page
    ],
)
def test_a_websocket_from_another_sites_page_is_refused(
    origin: str | None, host: str, public_url: str | None, allowed: bool
) -> None:
    assert web.same_origin(origin, host, public_url) is allowed


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),  # noqa: S104 (the case under test)
        ("::", False),
        ("192.0.2.8", False),
        ("portal.example.net", False),
    ],
)
def test_only_a_loopback_address_keeps_the_server_to_this_machine(
    host: str, loopback: bool
) -> None:
    assert web.is_loopback(host) is loopback
