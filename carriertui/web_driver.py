"""Textual's web driver, made to end the session like a terminal's (carriertui/hangup.py).

Under `carriertui serve` the app reads textual-serve's packets on stdin and writes its own on
stdout. Textual 8.2.8's ``WebDriver`` ends the app without a logout when the browser leaves
(textual-serve's "quit" packet) or on SIGTERM, and does not end it at all when the server is
gone (its input thread stops at end-of-file; the app stays, waiting for nothing). Here all of
them, and SIGHUP and SIGINT (Ctrl+C in the server's terminal reaches its whole process group),
call ``app.terminal_gone(reason, code)``: the session's logout is audited, then the app exits.
A write into pipes that are gone is dropped (and ends the session) instead of raising in the
app, and no write carries a bidi control or a lone surrogate (see carriertui.text).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any

from textual.drivers.web_driver import WebDriver

from carriertui.terminal import EXIT_HANGUP, EXIT_TERMINATED
from carriertui.text import without_display_hazards
from carriertui.web_address import SERVER_STOPPING

_SIGNALS = (
    (signal.SIGHUP, "hangup: SIGHUP", EXIT_HANGUP),
    (signal.SIGTERM, "terminated: SIGTERM", EXIT_TERMINATED),
    (signal.SIGINT, "interrupted: SIGINT", 128 + signal.SIGINT),
)


class BrowserDriver(WebDriver):
    """WebDriver that ends the session (audited) when the browser or the server goes away."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._gone_reported = False
        fileno = self.fileno

        def write(data: bytes) -> int:
            if self._gone_reported:
                return 0
            try:
                return os.write(fileno, data)
            except OSError as error:  # the server is gone (EPIPE)
                self._report_gone(f"the server's pipe closed: {error.strerror}")
                return 0

        self._write = write  # type: ignore[assignment]  # WebDriver types it as a partial

    @property
    def gone(self) -> bool:
        return self._gone_reported

    def _report_gone(self, reason: str, code: int = EXIT_HANGUP) -> None:
        """From any thread: tell the app, once, that its browser or server went away."""
        if self._gone_reported:
            return
        self._gone_reported = True
        gone = getattr(self._app, "terminal_gone", None)
        if gone is None:  # not a CarrierApp: just leave
            self._app.call_later(self._app.exit, None, code)
        else:
            self._app.call_later(gone, reason, code)

    def _signalled(self, reason: str, code: int) -> None:
        gone = getattr(self._app, "terminal_gone", None)
        if gone is None:
            self._app.exit(None, code)
        else:
            gone(reason, code)

    def write(self, data: str) -> None:
        super().write(without_display_hazards(data))

    def start_application_mode(self) -> None:
        super().start_application_mode()
        # After the web driver's own handlers (SIGINT, SIGTERM: exit without a logout).
        loop = asyncio.get_running_loop()
        for signum, reason, code in _SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self._signalled, reason, code)

    def run_input_thread(self) -> None:
        super().run_input_thread()
        if not self.exit_event.is_set():  # end of input: the server closed our pipes
            self._report_gone("the server closed the session")

    def on_meta(self, packet_type: str, payload: dict[str, object]) -> None:
        if packet_type == SERVER_STOPPING:  # the "quit" that follows is the server's
            self._report_gone("the server stopped")
            return
        if packet_type == "quit":  # the browser left (its websocket closed)
            self._report_gone("the browser left")
            return
        super().on_meta(packet_type, payload)
