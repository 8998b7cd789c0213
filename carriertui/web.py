"""`carriertui serve`: the UI (or, with ``--portal``, the customer portal) in a browser, through
textual-serve (the ``carriertui[web]`` extra).

The server is an aiohttp application (carriertui/web_server.py). Each browser tab that opens its
websocket gets a session of its own: a child process, ``python -m carriertui.web``, that runs the
app on Textual's web driver (carriertui/web_driver.py) with pipes, not a terminal, so it never
takes the terminal check of `carriertui portal`. The child learns who it serves from its
environment, built here by :func:`session_environment`:

- the database in ``CARRIERTUI_DB`` (never on a command line, where ``ps`` shows a password);
- the browser's address in ``CARRIERTUI_CLIENT_ADDRESS``, which the IP whitelist and the audit
  log read (store.context.client_ip), with the server's own ``SSH_*`` variables removed: a
  server started from an SSH login must not lend its operator's address to every browser.

The address is the connection's peer. ``X-Forwarded-For`` counts only when the peer is one of
the `[web] trusted_proxies`, and then only up to the first address that is not (see
:func:`client_address`), so a browser cannot choose its own address by sending the header.

This module imports nothing heavy: the CLI reads its defaults, and the child imports the app.
"""

from __future__ import annotations

import ipaddress
import shlex
import sys
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from carriertui import locations

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
EXIT_USAGE = 2
NEEDS_EXTRA = (
    "carriertui serve needs the web extra: pip install 'carriertui[web]' "
    "(in a checkout: .venv/bin/pip install -e '.[web]')"
)
# What the web extra brings: missing, `serve` says how to install it.
_EXTRA_MODULES = frozenset({"textual_serve", "aiohttp", "aiohttp_jinja2", "jinja2"})
CHILD_ONLY = "carriertui.web runs the sessions of carriertui serve; start carriertui serve instead"
# The meta packet that tells a session the server is stopping (web_server -> web_driver).
SERVER_STOPPING = "carriertui_server_stopping"
# The server's own SSH session, if it was started from one: not the browser's.
_SSH_VARIABLES = ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "SSH_AUTH_SOCK")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


# -- the client's address -----------------------------------------------------------------------


def normalise_address(text: str) -> str | None:
    """``text`` as an IP address (``[v6]`` brackets removed, an IPv4-mapped IPv6 address as the
    IPv4 one it maps), or None when it is not one."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """`[web] trusted_proxies` entries (checked by locations.trusted_proxies) as networks."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip.version == network.version and ip in network for network in trusted)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The browser's address, for the whitelist and the audit log.

    ``peer`` is the connection's remote address; ``forwarded_for`` the request's
    ``X-Forwarded-For`` headers, in order. Each proxy appends the address it got the request
    from, so the list is read from its end: while the hop we know (first the peer) is a
    trusted proxy, the entry it appended is the next hop. The first hop that is no trusted
    proxy is the client. Entries further left were written by the client itself, and are
    never believed. A malformed entry stops the walk at the proxy that wrote it.
    """
    current = normalise_address(peer) or peer
    if not trusted or normalise_address(current) is None:
        return current
    hops = [entry for header in forwarded_for for entry in header.split(",") if entry.strip()]
    while hops and _trusted(current, trusted):
        previous = normalise_address(hops.pop())
        if previous is None:
            break
        current = previous
    return current


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` keeps the server to this machine."""
    if host.lower() == "localhost":
        return True
    address = normalise_address(host)
    return address is not None and ipaddress.ip_address(address).is_loopback


def peer_of(peername: object) -> str:
    """The remote address from a transport's ``peername`` (a tuple for TCP), or "unknown"."""
    if isinstance(peername, tuple | list) and peername:
        return str(peername[0])
    return "unknown"


def same_origin(origin: str | None, host: str | None, public_url: str | None = None) -> bool:
    """Whether a websocket handshake comes from the server's own page. A browser always sends
    ``Origin``; another site's page in the same browser (whose address may be whitelisted)
    must not open a session and try passwords from there. No ``Origin``: not a browser."""
    if not origin:
        return True
    netloc = urlsplit(origin).netloc.lower()
    if not netloc:
        return False
    if host and netloc == host.lower():
        return True
    return bool(public_url) and netloc == urlsplit(str(public_url)).netloc.lower()


def session_environment(
    base: Mapping[str, str], *, database_url: str, client: str
) -> dict[str, str]:
    """The environment of one browser session's child process: ``base`` (textual-serve's,
    with its web driver settings) with the database and the client's address, without the
    server's SSH variables."""
    environment = {k: v for k, v in base.items() if k not in _SSH_VARIABLES}
    environment["CARRIERTUI_DB"] = database_url
    environment[locations.CLIENT_ADDRESS_ENV] = client
    return environment


def session_command(*, portal: bool, python: str | None = None) -> str:
    """The shell command textual-serve runs for each session (``exec``: the shell leaves, so
    the server's signals and the end of its pipes reach the app itself)."""
    words = [python or sys.executable, "-m", "carriertui.web"]
    if portal:
        words.append("--portal")
    return "exec " + shlex.join(words)


# -- the server ---------------------------------------------------------------------------------


def serve(
    database_url: str,
    *,
    portal: bool,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    public_url: str | None = None,
) -> int:
    """Serve until SIGINT or SIGTERM; each session ends (audited) when the server stops."""
    try:
        from carriertui.web_server import CarrierServer
    except ImportError as error:
        missing = str(error.name or "").partition(".")[0]
        if missing not in _EXTRA_MODULES:
            raise
        print(f"error: {NEEDS_EXTRA}", file=sys.stderr)
        return EXIT_USAGE
    trusted = trusted_networks(locations.trusted_proxies())
    server = CarrierServer(
        session_command(portal=portal),
        database_url=database_url,
        trusted=trusted,
        host=host,
        port=port,
        title="carriertui portal" if portal else "carriertui",
        public_url=public_url,
    )
    server.serve()
    return 0


# -- one browser session (the child process) ------------------------------------------------------


def _session_main(argv: Sequence[str]) -> int:
    """Run the app for one browser session, on the web driver, over textual-serve's pipes."""
    import os

    if os.isatty(0) or locations.CLIENT_ADDRESS_ENV not in os.environ:
        print(CHILD_ONLY, file=sys.stderr)
        return EXIT_USAGE
    from carriertui.app import run
    from carriertui.web_driver import BrowserDriver

    return run(locations.database_url(), portal="--portal" in argv, driver=BrowserDriver)


if __name__ == "__main__":
    raise SystemExit(_session_main(sys.argv[1:]))
