"""The CDR spool: a directory the switches rotate their CDR files into. Each file that is
complete is imported once (store/feeds.py, rows with a bad record written to a reject file)
and then moved to ``DIR/done/``, or with its reject file to ``DIR/rejected/``.

Complete: renamed into the directory (how switches and logrotate rotate), or no process has it
open for writing (where /proc shows it) and its size and time have not changed for one look.
Names starting with ``.`` or ending in ``.part``, ``.tmp`` or ``~`` are files still being
written and are left alone.

Exactly once: an import is one transaction that skips call ids already stored, and the move
follows its commit. Killed during an import, nothing of the file was stored and the file is
still in DIR: the next run imports it from scratch. Killed between the commit and the move,
the next run imports it again, adds nothing, and moves it. One watcher per directory (a lock
file, ``DIR/.carriertui-spool.lock``); ``DIR/.carriertui-spool.json`` holds its counters
(files, rows, rejects, the last error) for a status line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from carriertui.feeds.common import FeedOptions, Tally
from carriertui.store.cdrs.importer import CdrImportError
from carriertui.store.cdrs.results import _Rejects
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.enums import Role
from carriertui.store.errors import StoreError
from carriertui.store.feeds import import_feed

DONE = "done"
REJECTED = "rejected"
LOCK_NAME = ".carriertui-spool.lock"
STATUS_NAME = ".carriertui-spool.json"
_BEING_WRITTEN = (".part", ".tmp", "~")
Report = Callable[[str], None]


class SpoolError(StoreError):
    """The spool cannot run (no such directory, another watcher holds it)."""


@dataclass
class Outcome:
    name: str
    moved_to: Path | None = None
    format: str = ""
    imported: int = 0
    duplicates: int = 0
    bad_rows: int = 0
    error: str = ""
    retry: bool = False  # left in DIR (a database error): tried again on the next look

    def __str__(self) -> str:
        if self.retry:
            return f"{self.name}: not imported, will retry: {self.error}"
        where = self.moved_to.parent.name if self.moved_to else "?"
        if self.error:
            return f"{self.name} -> {where}/: {self.error}"
        return (
            f"{self.name} ({self.format}) -> {where}/: {self.imported} CDRs imported, "
            f"{self.duplicates} already present, {self.bad_rows} bad rows"
        )


@dataclass
class SpoolStatus:
    files: int = 0
    rows: int = 0
    imported: int = 0
    rejects: int = 0
    last_file: str = ""
    last_error: str = ""
    updated_at: str = ""

    @classmethod
    def read(cls, directory: Path) -> SpoolStatus:
        try:
            data = json.loads((directory / STATUS_NAME).read_text(encoding="utf-8"))
            known = {f.name for f in dataclasses.fields(cls)}
            return cls(**{k: v for k, v in data.items() if k in known})
        except (OSError, ValueError, TypeError):
            return cls()

    def write(self, directory: Path) -> None:
        self.updated_at = datetime.now(UTC).isoformat(timespec="seconds")
        temporary = directory / (STATUS_NAME + ".part")
        temporary.write_text(json.dumps(dataclasses.asdict(self)), encoding="utf-8")
        os.replace(temporary, directory / STATUS_NAME)


@contextlib.contextmanager
def _watching(directory: Path) -> Iterator[None]:
    """The directory's lock: one watcher (or ingest) at a time."""
    if not directory.is_dir():
        raise SpoolError(f"{directory} is not a directory")
    for sub in (DONE, REJECTED):
        (directory / sub).mkdir(exist_ok=True)
    lock = open(directory / LOCK_NAME, "a+")  # noqa: SIM115 - closed below
    try:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                lock.seek(0)
                holder = lock.read().strip() or "another process"
                raise SpoolError(f"{directory} is being ingested by {holder}") from None
            raise
        lock.seek(0)
        lock.truncate()
        lock.write(f"carriertui pid {os.getpid()}")
        lock.flush()
        yield
    finally:
        lock.close()


def _candidates(directory: Path) -> dict[str, tuple[int, int]]:
    """Regular files of the spool (not the ones still being written): name -> (size, mtime)."""
    found = {}
    with os.scandir(directory) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith(".") or name.endswith(_BEING_WRITTEN):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            found[name] = (stat.st_size, stat.st_mtime_ns)
    return found


def _open_for_writing() -> set[tuple[int, int]]:
    """(device, inode) of the files some process (that /proc lets us see) has open for writing."""
    held: set[tuple[int, int]] = set()
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return held
    for pid in pids:
        base = f"/proc/{pid}"
        try:
            fds = os.listdir(f"{base}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                with open(f"{base}/fdinfo/{fd}", encoding="ascii") as info:
                    flags = next((ln for ln in info if ln.startswith("flags:")), "")
                mode = int(flags.split()[1], 8) & os.O_ACCMODE if flags else os.O_RDONLY
                if mode == os.O_RDONLY:
                    continue
                stat = os.stat(f"{base}/fd/{fd}")
            except (OSError, ValueError, IndexError):
                continue
            held.add((stat.st_dev, stat.st_ino))
    return held


class Spool:
    """One directory's looks: which files are complete, and their import and move."""

    def __init__(
        self,
        db: Database,
        actor: Actor,
        directory: Path,
        fmt: str,
        options: FeedOptions,
        report: Report | None = None,
    ) -> None:
        actor.require(Role.OPERATOR, "import CDRs")
        self.db = db
        self.actor = actor
        self.directory = Path(directory)
        self.fmt = fmt
        self.options = options
        self.report = report or (lambda line: None)
        self.seen: dict[str, tuple[int, int]] = {}
        self.status = SpoolStatus.read(self.directory)

    def complete(self) -> list[str]:
        """The files unchanged since the previous look and open for writing by nobody, oldest
        first. The first look only remembers what it saw (a file may be half-written)."""
        now = _candidates(self.directory)
        stable = [name for name, state in now.items() if self.seen.get(name) == state]
        self.seen = now
        if not stable:
            return []
        held = _open_for_writing()
        ready = []
        for name in stable:
            try:
                stat = os.stat(self.directory / name)
            except OSError:
                continue
            if (stat.st_dev, stat.st_ino) not in held:
                ready.append((stat.st_mtime_ns, name))
        return [name for _, name in sorted(ready)]

    def ingest(self, name: str) -> Outcome:
        path = self.directory / name
        outcome = Outcome(name)
        rejected = self.directory / REJECTED
        rejects_path = rejected / f"{name}.rejects.csv"
        options = dataclasses.replace(self.options, tally=Tally(), customers=None, rules=None)
        try:
            result = import_feed(
                self.db,
                self.actor,
                path,
                self.fmt,
                options,
                skip_bad=True,
                rejects_path=rejects_path,
            )
        except CdrImportError as error:
            outcome.error = str(error).splitlines()[0]
            _refusal_file(rejects_path, outcome.error)
            outcome.moved_to = _move(path, rejected)
        except (SQLAlchemyError, OSError) as error:
            outcome.error = (
                f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            )
            outcome.retry = True
            self.seen.pop(name, None)
        else:
            report = result.report
            outcome.format = result.format
            outcome.imported = report.imported
            outcome.duplicates = report.duplicates
            outcome.bad_rows = report.bad_rows
            outcome.moved_to = _move(path, rejected if report.bad_rows else self.directory / DONE)
            self.status.rows += report.rows
            self.status.imported += report.imported
            self.status.rejects += report.bad_rows
        if not outcome.retry:
            self.status.files += 1
            self.seen.pop(name, None)
        self.status.last_file = name
        if outcome.error:
            self.status.last_error = f"{name}: {outcome.error}"
        self.status.write(self.directory)
        self.report(str(outcome))
        return outcome

    def look(self) -> list[Outcome]:
        return [self.ingest(name) for name in self.complete()]


def _refusal_file(target: Path, reason: str) -> None:
    """The reject file of a file refused whole: one row, line 0, the reason."""
    rejects = _Rejects(target, ["reject_file"])
    try:
        rejects.add(0, reason, [target.name.removesuffix(".rejects.csv")])
        rejects.commit()
    finally:
        rejects.discard()


def _move(path: Path, folder: Path) -> Path:
    target = folder / path.name
    if target.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        target = folder / f"{path.name}.{stamp}"
    os.replace(path, target)
    return target


def ingest_once(
    db: Database,
    actor: Actor,
    directory: Path,
    fmt: str,
    options: FeedOptions,
    *,
    settle_s: float = 0.5,
    report: Report | None = None,
    on_imported: Callable[[], object] | None = None,
) -> list[Outcome]:
    """One pass (cron): two looks ``settle_s`` apart, then every complete file imported.
    ``on_imported`` runs once after a pass that stored CDRs (the alarms' evaluation)."""
    with _watching(Path(directory)):
        spool = Spool(db, actor, directory, fmt, options, report)
        spool.complete()
        time.sleep(settle_s)
        outcomes = spool.look()
        if on_imported is not None and any(outcome.imported for outcome in outcomes):
            on_imported()
        return outcomes


def watch(
    db: Database,
    actor: Actor,
    directory: Path,
    fmt: str,
    options: FeedOptions,
    *,
    interval: float = 0.5,
    report: Report | None = None,
    stop: Callable[[], bool] | None = None,
    on_imported: Callable[[], object] | None = None,
) -> None:
    """Look at ``directory`` every ``interval`` seconds until ``stop()`` (or forever);
    ``on_imported`` runs after each look that stored CDRs (the alarms' evaluation)."""
    with _watching(Path(directory)):
        spool = Spool(db, actor, directory, fmt, options, report)
        spool.report(f"watching {directory} (format {fmt})")
        while stop is None or not stop():
            outcomes = spool.look()
            if on_imported is not None and any(outcome.imported for outcome in outcomes):
                on_imported()
            time.sleep(interval)


def status(directory: Path) -> dict[str, Any]:
    return dataclasses.asdict(SpoolStatus.read(Path(directory)))


def waiting(directory: Path) -> int:
    """Files in the spool not yet ingested."""
    try:
        return len(_candidates(Path(directory)))
    except OSError:
        return 0
