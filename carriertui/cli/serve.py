"""``carriertui serve``: the UI (or the portal) in a browser, through textual-serve (the web
extra; carriertui/web.py). A server, so no terminal check."""

from __future__ import annotations

import argparse

from carriertui.cli.common import Commands, database_url, opened


def register(commands: Commands) -> None:
    sub = commands.add(
        "serve",
        "serve the TUI (or the portal) to browsers: needs the web extra, carriertui[web]",
        cmd_serve,
    )
    sub.add_argument("--portal", action="store_true", help="serve the customer portal")
    sub.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sub.add_argument("--port", type=int, default=8000, help="port to listen on")
    sub.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use, behind a reverse proxy (https://portal.example.net)",
    )


def cmd_serve(args: argparse.Namespace) -> int:
    """The database is opened once first, so that a wrong --db fails here and not in a
    browser."""
    from carriertui.web import serve

    url = database_url(args)
    with opened(args, url):
        pass
    return serve(
        url, portal=args.portal, host=args.host, port=args.port, public_url=args.public_url
    )
