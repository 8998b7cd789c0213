"""The UIs need a terminal, and must not outlive it. Stdlib only: the CLI checks for a terminal
before it imports Textual or the store.

A client that connects without one (``ssh -T``, sftp, scp, a monitoring probe) would start the
UI on pipes, where Textual's input thread spins on end-of-file forever; so the UIs refuse to
start there (:func:`refuse_without_terminal`). When the terminal goes away later (a hangup,
SIGTERM, end-of-file or EIO on the terminal), the app ends its session and exits; on the way
out :func:`end_children` stops any child process it started (the CDR import's reader).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterable
from typing import TextIO

NEEDS_TERMINAL = "needs an interactive terminal: connect with ssh -t"
EXIT_NO_TERMINAL = 2
# How the app ended when its terminal went away: 128 + the signal, as a shell reports a process
# killed by it (end-of-file or EIO on the terminal counts as a hangup).
EXIT_HANGUP = 128 + signal.SIGHUP
EXIT_TERMINATED = 128 + signal.SIGTERM


def _is_terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and os.isatty(stream.fileno())
    except (AttributeError, ValueError, OSError):  # closed, or not a real file
        return False


def has_terminal() -> bool:
    """Standard input and standard output are both a terminal."""
    return _is_terminal(sys.stdin) and _is_terminal(sys.stdout)


def refuse_without_terminal() -> int | None:
    """None when the UI may start; else the exit code, after one line on stderr."""
    if has_terminal():
        return None
    with contextlib.suppress(OSError, ValueError, AttributeError):
        print(NEEDS_TERMINAL, file=sys.stderr, flush=True)
    return EXIT_NO_TERMINAL


def child_pids(parent: int | None = None) -> list[int]:
    """The processes whose parent is ``parent`` (this one by default), from /proc."""
    parent = os.getpid() if parent is None else parent
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:  # gone meanwhile
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == parent:
            found.append(int(entry))
    return found


def _reap(pids: Iterable[int]) -> set[int]:
    """Collect the exit status of those of ``pids`` that ended; returns the ones still running."""
    running = set()
    for pid in pids:
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere (by its Popen)
            continue
        if done == 0:
            running.add(pid)
    return running


def end_children(grace_s: float = 0.5) -> list[int]:
    """SIGTERM every child process, SIGKILL those still there after ``grace_s``, reap them all.
    Returns the children found."""
    pids = child_pids()
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    running = _reap(pids)
    while running and time.monotonic() < deadline:
        time.sleep(0.02)
        running = _reap(running)
    for pid in running:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 1.0
    while running and time.monotonic() < deadline:
        time.sleep(0.01)
        running = _reap(running)
    return pids


def leave_now(code: int) -> None:
    """Exit at once, without waiting for worker threads (a query or an import may still run;
    its transaction rolls back as if the process were killed) and without flushing into a
    terminal that is gone."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()
    os._exit(code)
