"""Textual's Linux driver, made to notice that its terminal went away.

Textual 8.2.8's ``LinuxDriver.run_input_thread`` treats an empty read as "stdin is piped" and
goes on selecting: the descriptor stays readable at end-of-file, so the thread spins at a full
core and the app never exits (an SSH client gone, ``ssh -T``). An EIO from a hung-up pty ends
the thread through ``App.panic``, which then writes a traceback into the dead terminal. And a
SIGHUP or SIGTERM kills the process where it stands: no logout in the audit log, and a child
process (the CDR import's reader) left behind.

:class:`TerminalDriver` reads like Textual's driver, but end-of-file or a read error on the
terminal, SIGHUP and SIGTERM all call ``app.terminal_gone(reason, code)`` on the app's loop
(the app ends its session, audited, and exits), and its writes into a terminal that is gone are
dropped instead of killing the writer thread (whose queue would then block the app). Its writes
also never carry a bidi control or a lone surrogate (see carriertui.text), and in ASCII mode
no character above 0x7F (carriertui.charset).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import selectors
import signal
import sys
from codecs import getincrementaldecoder
from typing import Any, TextIO

from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

from carriertui import charset
from carriertui.ascii_screen import screen_text
from carriertui.terminal import EXIT_HANGUP, EXIT_TERMINATED
from carriertui.text import without_display_hazards

_SIGNALS = (
    (signal.SIGHUP, "hangup: SIGHUP", EXIT_HANGUP),
    (signal.SIGTERM, "terminated: SIGTERM", EXIT_TERMINATED),
)


class _TerminalOutput:
    """The terminal as the writer thread sees it; a write into a terminal that is gone (EIO,
    EPIPE) is dropped and reported once."""

    def __init__(self, stream: TextIO, on_gone: Any) -> None:
        self._stream = stream
        self._on_gone = on_gone
        self.gone = False

    def _failed(self, error: BaseException) -> None:
        if not self.gone:
            self.gone = True
            self._on_gone(f"terminal write error: {error}")

    def write(self, text: str) -> None:
        if self.gone:
            return
        try:
            # A last net under the sanitizer: an editable field (Input, TextArea) shows a stored
            # value as it is, and no bidi control may reach the terminal from there either.
            text = without_display_hazards(text)
            if charset.ascii_mode():  # a terminal that is not UTF-8: carriertui.charset
                text = screen_text(text)
            self._stream.write(text)
        except (OSError, ValueError) as error:
            self._failed(error)

    def flush(self) -> None:
        if self.gone:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError) as error:
            self._failed(error)

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        return True


def _output_stream() -> TextIO:
    """Textual draws on stderr; when only stdout is the terminal (``2>log``), draw there."""
    for stream in (sys.__stderr__, sys.__stdout__):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            if stream is not None and os.isatty(stream.fileno()):
                return stream
    assert sys.__stderr__ is not None
    return sys.__stderr__


class TerminalDriver(LinuxDriver):
    """LinuxDriver that ends the app when the terminal goes away (see the module's text)."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._file = _TerminalOutput(_output_stream(), self._report_gone)  # type: ignore[assignment]  # a file-like wrapper, not a TextIOWrapper
        self._gone_reported = False

    # -- reporting --------------------------------------------------------------------------

    def _report_gone(self, reason: str, code: int = EXIT_HANGUP) -> None:
        """From any thread: tell the app, once, that the terminal went away."""
        if self._gone_reported:
            return
        self._gone_reported = True
        gone = getattr(self._app, "terminal_gone", None)
        if gone is None:  # not a CarrierApp: just leave
            self._app.call_later(self._app.exit, None, code)
        else:
            self._app.call_later(gone, reason, code)

    def _signalled(self, reason: str, code: int) -> None:
        # On the loop (asyncio's signal handling), never inside an arbitrary bytecode.
        gone = getattr(self._app, "terminal_gone", None)
        if gone is None:
            self._app.exit(None, code)
        else:
            gone(reason, code)

    # -- application mode -------------------------------------------------------------------

    def start_application_mode(self) -> None:
        loop = asyncio.get_running_loop()
        for signum, reason, code in _SIGNALS:
            loop.add_signal_handler(signum, self._signalled, reason, code)
        super().start_application_mode()

    # -- input ------------------------------------------------------------------------------

    def run_input_thread(self) -> None:
        """Textual's input loop, except that end-of-file and read errors end it."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        # The locale's charset (a Latin-1 terminal types é as one byte); a byte that does not
        # decode is a replacement character, never an exception that ends the input thread.
        decode = getincrementaldecoder(charset.input_encoding())("replace").decode
        try:
            while not self.exit_event.is_set():
                if selector.select(0.1):
                    try:
                        data = os.read(self.fileno, 1024 * 4)
                    except InterruptedError:
                        continue
                    except OSError as error:
                        if error.errno == errno.EAGAIN:
                            continue
                        self._report_gone(f"terminal read error: {error.strerror}")
                        return
                    if not data:
                        self._report_gone("the terminal closed")
                        return
                    for event in parser.feed(decode(data)):
                        self.process_message(event)
                for event in parser.tick():
                    self.process_message(event)
        finally:
            selector.close()
            with contextlib.suppress(EOFError, ParseError):
                for _event in parser.feed(""):
                    pass
