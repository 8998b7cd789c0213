"""A real `carriertui serve` for the tests: its own process group on a free loopback port,
started with pipes (a server needs no terminal), stopped with its sessions and nothing left."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carriertui.store import audit
from tests.functional.harness import open_db
from tests.functional.portal_harness import ADMIN
from tests.unit.terminal_harness import app_env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _group_of(pid: int) -> int | None:
    """The process group of a live process (a zombie runs nothing: None)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return None if fields[0] in (b"Z", b"X") else int(fields[2])


def group_processes(group: int) -> list[int]:
    """Live processes of process group ``group``."""
    return [
        int(entry)
        for entry in os.listdir("/proc")
        if entry.isdigit() and _group_of(int(entry)) == group
    ]


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] not in (b"Z", b"X"):
            found.append(int(entry))
    return found


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def audit_entries(url: str) -> list[Any]:
    db = open_db(url)
    try:
        return audit.list_entries(db, ADMIN)
    finally:
        db.dispose()


@dataclass
class Served:
    """A running `carriertui serve`: its process (the leader of its own group) and log."""

    process: subprocess.Popen[bytes]
    port: int
    url: str
    log: Path
    sessions_seen: set[int] = field(default_factory=set)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sessions(self) -> list[int]:
        """The session processes the server runs now (one per browser tab)."""
        found = children_of(self.process.pid)
        self.sessions_seen.update(found)
        return found

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def session_log(self) -> str:
        """What the sessions (and the server) wrote into carriertui's log file."""
        path = self.log.parent / "serve-home" / "logs" / "carriertui.log"
        return path.read_text(errors="replace") if path.exists() else "(no log file)"

    def stop(self, timeout: float = 10.0) -> list[int]:
        """SIGTERM the server, as a service manager does; returns what was still running
        (its group, and any session it ever had) after ``timeout``. Then kills the rest."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while (left := self.left()) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.kill()
        return left

    def left(self) -> list[int]:
        alive = group_processes(self.process.pid)
        alive += [pid for pid in self.sessions_seen if _group_of(pid) is not None]
        return sorted(set(alive))

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in self.sessions_seen:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


@contextlib.contextmanager
def serving(
    tmp_path: Path, url: str, *options: str, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """`carriertui serve --db URL --port P OPTIONS` on loopback until the block ends; nothing
    of it is left running afterwards, whatever happened."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    environment = app_env(tmp_path / "serve-home", **(env or {}))
    with log.open("wb") as output:
        command = [sys.executable, "-m", "carriertui", "serve", "--db", url, "--port", f"{port}"]
        process = subprocess.Popen(
            [*command, *options],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
    served = Served(process, port, url, log)
    try:

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"carriertui serve exited: {served.log_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                return True
            return False

        wait_until(answers, 30, "carriertui serve to listen")
        yield served
    finally:
        served.kill()


# -- a websocket client that speaks textual-serve's protocol, without a browser ----------------


class Session:
    """One session over textual-serve's websocket: keys in as ``["stdin", text]``, the app's
    output collected (raw terminal bytes)."""

    def __init__(self, served: Served, headers: dict[str, str] | None = None) -> None:
        self.served = served
        self.headers = headers or {}
        self.output = bytearray()
        self.status: int | None = None
        self._focused = False
        self._loop = asyncio.new_event_loop()
        self._client: Any = None
        self._socket: Any = None
        self._reader: asyncio.Task[None] | None = None

    def __enter__(self) -> Session:
        self._loop.run_until_complete(self._open())
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    async def _open(self) -> None:
        import aiohttp

        self._client = aiohttp.ClientSession()
        try:
            self._socket = await self._client.ws_connect(
                f"{self.served.base}/ws?width=80&height=24", headers=self.headers
            )
        except aiohttp.WSServerHandshakeError as error:
            self.status = error.status
            return
        self.status = 101
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        import aiohttp

        async for message in self._socket:
            if message.type == aiohttp.WSMsgType.BINARY:
                self.output.extend(message.data)

    def _pump(self, seconds: float) -> None:
        self._loop.run_until_complete(asyncio.sleep(seconds))

    def focus(self) -> None:
        """As xterm.js does when its terminal gets the focus: the web driver starts the app
        blurred, and a blurred app has no focused field to take keys."""
        self._loop.run_until_complete(self._socket.send_str(json.dumps(["focus"])))
        self._focused = True
        self._pump(0.2)

    def type(self, text: str) -> None:
        if not self._focused:
            self.focus()
        self._loop.run_until_complete(self._socket.send_str(json.dumps(["stdin", text])))
        self._pump(0.05)

    def wait_for(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.output:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the session's output")
            self._pump(0.05)

    def idle(self, seconds: float) -> None:
        self._pump(seconds)

    def close(self) -> None:
        async def close() -> None:
            if self._socket is not None:
                await self._socket.close()
            if self._reader is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._reader, 5)
            if self._client is not None:
                await self._client.close()

        if not self._loop.is_closed():
            self._loop.run_until_complete(close())
            self._loop.close()
