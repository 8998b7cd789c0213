"""The real ``carriertui`` on a pseudo-terminal, as an SSH session runs it: start it, read what it
draws, type into it, hang up, and look at what is left in /proc."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from pathlib import Path

# CSI (with private and intermediate bytes), OSC, charset selection and two-byte escapes.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78DEHMc]"
)


def carriertui_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "carriertui", *args]


def app_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: its own CARRIERTUI_HOME, an xterm, and no CARRIERTUI_* of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARRIERTUI_", "TEXTUAL"))}
    # The test seeds its database in this process, under the test's own CARRIERTUI_HOME: the
    # app must sign the audit log with the same key, as the accounts of a shared host do.
    from carriertui import locations

    env["CARRIERTUI_AUDIT_KEY_FILE"] = str(locations.audit_key_path())
    env.update(
        CARRIERTUI_HOME=str(home),
        TERM="xterm-256color",
        LANG="C.UTF-8",
        COLUMNS="80",
        LINES="24",
        # The app's package from this checkout, whatever the current directory.
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    env.update(extra)
    return env


def proc_stat(pid: int) -> list[bytes] | None:
    """/proc/PID/stat's fields after the command name (state is [0], ppid [1], session [3]),
    or None when the process is gone (a zombie counts as gone: it runs nothing)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()
    return None if fields[0] in (b"Z", b"X") else fields


def processes_where(index: int, value: int) -> list[int]:
    """Live processes whose stat field ``index`` (1: parent, 3: session) is ``value``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = proc_stat(int(entry))
            if fields is not None and int(fields[index]) == value:
                found.append(int(entry))
    return found


def _set_size(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


class PtyApp:
    """One process on a new pseudo-terminal. ``controlling``: the pty is its controlling
    terminal (os.forkpty, as sshd does), so closing the master also sends it SIGHUP; otherwise
    the process only sees EIO on the terminal."""

    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        controlling: bool = True,
        size: tuple[int, int] = (80, 24),
    ) -> None:
        self.output = ""
        self.status: int | None = None  # the wait status once reaped
        self.popen: subprocess.Popen[bytes] | None = None
        if controlling:
            program, arguments = argv[0], list(argv)
            pid, master = os.forkpty()
            if pid == 0:  # the child: nothing but exec (the parent may hold threads)
                try:
                    os.execve(program, arguments, env)  # noqa: S606
                finally:
                    os._exit(127)
            self.pid, self.master = pid, master
            _set_size(master, *size)
        else:
            master, slave = os.openpty()
            _set_size(slave, *size)
            self.popen = subprocess.Popen(
                list(argv),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                start_new_session=True,  # a session without a controlling terminal
            )
            os.close(slave)
            self.pid, self.master = self.popen.pid, master
        self.session = self.pid  # forkpty and start_new_session both make it a session leader

    # -- the screen -------------------------------------------------------------------------

    def _drain(self, timeout: float) -> bool:
        """Read what the app wrote within ``timeout``; False once the terminal is closed."""
        if self.master < 0:
            time.sleep(timeout)
            return False
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the slave side is closed (the app exited)
            return False
        if not data:
            return False
        self.output += data.decode("utf-8", "replace")
        return True

    @property
    def text(self) -> str:
        return _ANSI.sub(" ", self.output)

    def wait_for_text(self, *needles: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not all(needle in self.text for needle in needles):
            if time.monotonic() > deadline or not self._drain(0.05):
                if all(needle in self.text for needle in needles):
                    return
                tail = self.text[-1500:]
                raise AssertionError(f"{needles!r} never appeared; the screen ended with {tail!r}")

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode("utf-8"))

    # -- the process ------------------------------------------------------------------------

    def cpu_seconds(self) -> float:
        fields = proc_stat(self.pid)
        assert fields is not None, "the app is gone"
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime

    def idle_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._drain(0.05)

    def children(self) -> list[int]:
        return processes_where(1, self.pid)

    def session_members(self) -> list[int]:
        """Every live process of the app's session (the app, its children, their children)."""
        return processes_where(3, self.session)

    def close_master(self) -> None:
        if self.master >= 0:
            os.close(self.master)
            self.master = -1

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def _reap(self) -> bool:
        if self.status is not None:
            return True
        if self.popen is not None:
            code = self.popen.poll()
            if code is None:
                return False
            self.status = code << 8 if code >= 0 else -code
            return True
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return False
        self.status = status
        return True

    def wait_exit(self, timeout: float) -> float | None:
        """Seconds until the app exited (reading its output meanwhile), or None if it did not."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self._reap():
                return time.monotonic() - started
            self._drain(0.02)
        return time.monotonic() - started if self._reap() else None

    @property
    def exit_code(self) -> int | None:
        """The exit status, or None while running or when a signal killed it."""
        if self.status is None or not os.WIFEXITED(self.status):
            return None
        return os.WEXITSTATUS(self.status)

    def cleanup(self) -> None:
        """Kill whatever is left of the session (a failed test must not leave it running)."""
        for pid in self.session_members():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        self.close_master()
        if self.status is None:
            try:
                if self.popen is not None:
                    self.popen.wait(timeout=5)
                else:
                    os.waitpid(self.pid, 0)
            except (ChildProcessError, subprocess.TimeoutExpired):
                pass
