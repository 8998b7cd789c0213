"""`carriertui serve`: the UI (or, with ``--portal``, the customer portal) in a browser, through
textual-serve (the ``carriertui[web]`` extra).

The server is an aiohttp application (carriertui/web_server.py); who a session serves is worked
out in carriertui/web_address.py. Each browser tab that opens its
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

import sys
from collections.abc import Sequence

from carriertui import locations
from carriertui.web_address import session_command, trusted_networks

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
