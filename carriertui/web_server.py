"""textual-serve's server, told who each browser is (see carriertui/web.py).

textual-serve 1.1.3 starts each session's process with its own environment and nothing of the
connection: no peer address, no header. :class:`CarrierServer` computes the client's address
from the websocket's connection (and a trusted proxy's ``X-Forwarded-For``), refuses a
handshake from another site's page, and hands the address and the database to the session
through :class:`SessionService`'s environment. Its ``handle_websocket`` is textual-serve's,
with those three steps added; textual-serve is pinned exactly in pyproject.toml for that.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from carriertui.web_address import (
    SERVER_STOPPING,
    Network,
    client_address,
    is_loopback,
    peer_of,
    same_origin,
    session_environment,
)

log = logging.getLogger("textual-serve")
# The page, as textual-serve's but loading nothing from another site (its font from here).
TEMPLATES = Path(__file__).resolve().parent / "web_templates"


class SessionService(AppService):
    """One browser session's process, with the database and the client's address in its
    environment."""

    def __init__(self, command: str, *, database_url: str, client: str, **kwargs: Any) -> None:
        super().__init__(command, **kwargs)
        self.database_url = database_url
        self.client = client

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        return session_environment(
            super()._build_environment(width=width, height=height),
            database_url=self.database_url,
            client=self.client,
        )

    async def stop_for_shutdown(self) -> None:
        """The server stops: the session is told so (its logout names it), then ends."""
        if self._task is not None:
            await self.send_meta({"type": SERVER_STOPPING})
        await self.stop()


class CarrierServer(Server):
    def __init__(
        self,
        command: str,
        *,
        database_url: str,
        trusted: Sequence[Network] = (),
        public_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(command, public_url=public_url, templates_path=TEMPLATES, **kwargs)
        self.database_url = database_url
        self.trusted = tuple(trusted)
        self.configured_public_url = public_url
        self.stopping = False
        self._websockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    def client_of(self, request: web.Request) -> str:
        peer = peer_of(request.transport.get_extra_info("peername") if request.transport else None)
        return client_address(peer, request.headers.getall("X-Forwarded-For", []), self.trusted)

    async def on_startup(self, app: web.Application) -> None:
        self.console.print(f"Serving carriertui on {self.public_url} (Ctrl+C to stop)")
        if not is_loopback(self.host):
            self.console.print(
                f"warning: listening on {self.host} in plain HTTP: let browsers in through a "
                "TLS reverse proxy only (README: In a browser)",
                markup=False,
                highlight=False,
            )
        if self.trusted:
            shown = ", ".join(str(network) for network in self.trusted)
            self.console.print(f"X-Forwarded-For is believed from: {shown}")

    async def on_shutdown(self, app: web.Application) -> None:
        """Close every browser's websocket: aiohttp would otherwise wait for them (a minute)
        before it stops, and the sessions would end without their logout."""
        self.stopping = True
        for websocket in list(self._websockets):
            await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        origin = request.headers.get("Origin")
        if not same_origin(origin, request.host, self.configured_public_url):
            log.warning("refused a websocket from another site's page: Origin %r", origin)
            raise web.HTTPForbidden(text="this page's origin may not open a session")
        client = self.client_of(request)
        log.info("session for %s", client)

        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        app_service: AppService | None = None
        try:
            await websocket.prepare(request)
            self._websockets.add(websocket)
            app_service = SessionService(
                self.command,
                database_url=self.database_url,
                client=client,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            await app_service.start(width, height)
            try:
                await self._process_messages(websocket, app_service)
            finally:
                if self.stopping:
                    await app_service.stop_for_shutdown()
                await app_service.stop()
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:
            log.exception(error)
        finally:
            if app_service is not None:
                await app_service.stop()
        return websocket
