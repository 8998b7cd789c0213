"""The CDR import's child-process protocol, both ends of the pipe: the framing
(encode_message, read_message), the job, the child's main loop (child_main) and the parent's
driver (_ParsingProcess).

Light to import: the child runs this module (python -c, see _CHILD_CODE), so it imports only the
standard library, the ``carriertui`` package itself and store/cdrs' light modules (no SQLModel,
SQLAlchemy or models: the child starts in a few tens of milliseconds, not a second).
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import carriertui
from carriertui.store.cdrs.csvsource import ParsedBatch, _CsvSource, parsed_batches
from carriertui.store.cdrs.fields import CdrImportError, check_header
from carriertui.store.cdrs.rows import _RowParser

# -- the protocol -------------------------------------------------------------------------------
#
# For a big file, cdrs.import_cdr_file runs child_main() in a child process, which reads and
# validates the file while the parent inserts the rows it sent before: in one process the GIL
# would keep the two halves on one core.
#
# Both pipes carry pickles, each after its length (8 bytes, little-endian). Unpickling can run
# any code the pickle names, so it is safe only between two ends that trust each other, as
# here: the parent starts the child itself, from its own interpreter and package, and each end
# reads nothing but the pipe the other holds (no file, socket or other process writes into
# them). Do not reuse this protocol for data from anywhere else.
#
# parent -> child (stdin): the job (a dict, see _parse_job), then nothing. The parent closes
#     stdin when it is done or gives up; it closes by itself when the parent dies. Either way
#     the child exits at once.
# child -> parent (stdout): ("batch", ParsedBatch) for each batch, then ("done",), or
#     ("error", message) for a CdrImportError (the file cannot be read: the message is the
#     one the in-process import raises). Anything else that goes wrong in the child is a crash:
#     a traceback on its stderr, a non-zero exit, and the parent reports both.

# -- framing (both ends) ------------------------------------------------------------------------

_LENGTH = struct.Struct("<Q")
_QUEUED_MESSAGES = 4  # ready messages that wait for the parent (about 3 MB each)


def encode_message(message: Any) -> bytes:
    buffer = io.BytesIO()
    buffer.write(bytes(_LENGTH.size))
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    # Fast mode leaves out the memo (each string remembered in case it comes again): three
    # times faster for a batch of row tuples. It cannot pickle cycles; messages have none.
    pickler.fast = True
    pickler.dump(message)
    data = buffer.getbuffer()
    _LENGTH.pack_into(data, 0, len(data) - _LENGTH.size)
    return bytes(data)


def read_message(stream: Any) -> Any:
    """The next message on ``stream`` (see above: only from a process this one trusts).
    EOFError at the end of the stream, also in the middle of a message."""
    head = stream.read(_LENGTH.size)
    if len(head) != _LENGTH.size:
        raise EOFError("end of stream")
    (length,) = _LENGTH.unpack(head)
    data = stream.read(length)
    if len(data) != length:
        raise EOFError("end of stream in a message")
    return pickle.loads(data)  # noqa: S301 - our own child's or parent's pipe, see above


# -- the child's end ----------------------------------------------------------------------------


def _parse_job(job: dict[str, Any]) -> Iterator[ParsedBatch]:
    # The parent passed its open file (same file, whatever happened to its path since) and the
    # header it checked; the header is read again here to find where the rows start.
    with open(job["fd"], "rb") as raw:
        raw.seek(0)
        source = _CsvSource(
            raw, job["name"], chunk_bytes=job["chunk_bytes"], group_rows=job["group_rows"]
        )
        cells = source.header()
        if cells is None or check_header(cells) != job["header"]:
            raise CdrImportError(f"{job['name']} changed while it was read; nothing was imported")
        parser = _RowParser(job["header"], job["customers"], job["sqlite"], job.get("rater"))
        yield from parsed_batches(
            source,
            parser,
            refusing=job["refusing"],
            cap=job["cap"],
            batch_rows=job["batch_rows"],
            hours=job["hours"],
        )


def _exit_when_closed(fd: int) -> None:
    """Exit when the parent closes our stdin, or dies: nobody wants the rows any more."""
    # os.read, not sys.stdin: a daemon thread blocked in a buffered read at interpreter exit
    # holds the buffer's lock, and Python aborts.
    while os.read(fd, 4096):
        pass
    os._exit(1)


def _send(messages: queue.Queue[bytes | None], out: Any) -> None:
    try:
        while (data := messages.get()) is not None:
            out.write(data)
            out.flush()
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)


def child_main() -> None:
    """The child process: read the job from stdin, send the batches to stdout (see above)."""
    # With SIGPIPE's default action, a write to a parent that died ends this process.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    # Ctrl-C reaches the whole process group: the parent handles it (and then closes stdin).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.disable()  # as in the parent: a million row tuples, no cycles (see cdrs._collector_paused)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print() goes to stderr, not into the messages
    try:
        job = read_message(sys.stdin.buffer)
    except EOFError:
        return  # the parent gave up before sending the job
    threading.Thread(target=_exit_when_closed, args=(sys.stdin.fileno(),), daemon=True).start()
    # A thread writes while this one parses on: a pipe holds 64 KB and a message is megabytes.
    messages: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUED_MESSAGES)
    sender = threading.Thread(target=_send, args=(messages, out))
    sender.start()
    try:
        for batch in _parse_job(job):
            messages.put(encode_message(("batch", batch)))
        messages.put(encode_message(("done",)))
    except CdrImportError as error:
        messages.put(encode_message(("error", str(error))))
    finally:
        messages.put(None)
        sender.join()


# -- the parent's end ---------------------------------------------------------------------------

# How the child is started: python -c with this (tests swap in a child that fails).
_CHILD_CODE = "from carriertui.store.cdrs.protocol import child_main; child_main()"
_CHILD_STDERR_SHOWN = 2000  # characters of a crashed child's stderr put in the error message


class _ParsingProcess:
    """A child process that reads and validates the file (child_main, above) and hands over
    the stored rows through a pipe, while this process inserts them (see the protocol above).

    The child gets the open file itself, not its path. It ends when this process closes its
    stdin (here, in close()) or dies (the pipe closes with it): no orphan parses on. Its stderr
    goes to a temporary file (a pipe nobody reads could fill and block it) and into the error
    message if it fails.
    """

    @staticmethod
    def available() -> bool:
        return os.name == "posix" and bool(sys.executable)  # pass_fds; SIGPIPE in the child

    def __init__(self, raw: Any, name: str) -> None:
        self.name = name
        self.fd = raw.fileno()
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        # The child imports this very package, wherever it was imported from here.
        package_root = str(Path(carriertui.__file__).resolve().parents[1])
        python_path = os.pathsep.join([package_root, *filter(None, [os.environ.get("PYTHONPATH")])])
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our code
                # -P: no current directory on sys.path (a csv.py there must not be imported).
                [sys.executable, "-P", "-c", _CHILD_CODE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr,
                pass_fds=(self.fd,),
                env={**os.environ, "PYTHONPATH": python_path},
            )
        except OSError as error:
            self.stderr.close()
            raise CdrImportError(f"cannot start the CSV reader process: {error}") from error

    def __enter__(self) -> _ParsingProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send_job(self, **job: Any) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(encode_message({"fd": self.fd, "name": self.name, **job}))
            stdin.flush()
        except BrokenPipeError:
            pass  # the child is gone: batches() reports how
        # stdin stays open: closing it tells the child to stop.

    def batches(self) -> Iterator[ParsedBatch]:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            try:
                message = read_message(stdout)
            except EOFError:
                raise self._failed() from None
            if message[0] == "batch":
                yield message[1]
            elif message[0] == "error":
                raise CdrImportError(message[1])
            else:  # "done"
                break
        try:
            returncode = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            returncode = None
        if returncode != 0:
            raise self._failed()

    def _failed(self) -> CdrImportError:
        """The child died or misbehaved: what it said on stderr, and nothing imported."""
        try:
            returncode = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            returncode = self.process.wait()
        if returncode < 0:
            ended = f"was killed by {signal.Signals(-returncode).name}"
        else:
            ended = f"exited with status {returncode}"
        self.stderr.seek(0)
        said = self.stderr.read().decode("utf-8", "replace").strip()[-_CHILD_STDERR_SHOWN:]
        # The first line is the summary (the CLI shows only that): with the last thing the
        # child said, usually its exception. Then the rest of what it said (a traceback).
        last = f" ({said.splitlines()[-1].strip()})" if said else ""
        return CdrImportError(
            f"{self.name}: the CSV reader process {ended} before the end of the file; "
            f"nothing was imported{last}" + (f"\n{said}" if said else "")
        )

    def close(self) -> None:
        """Stop the child (if it still runs) and reap it: no zombie, no orphan."""
        with contextlib.suppress(OSError):
            self.process.stdin.close()  # type: ignore[union-attr]
        if self.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=1)  # it exits when its stdin closes
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        with contextlib.suppress(OSError):
            self.process.stdout.close()  # type: ignore[union-attr]
        self.stderr.close()
