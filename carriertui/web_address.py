"""Who a browser session of `carriertui serve` serves, and how its child process is started:
the client's address (the connection's peer; ``X-Forwarded-For`` only from a trusted proxy),
the same-origin check of the websocket, and the child's environment and command. Pure: the
server (web_server), the session's driver (web_driver) and `serve` (web) all read it."""

from __future__ import annotations

import ipaddress
import shlex
import sys
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from carriertui import locations

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
