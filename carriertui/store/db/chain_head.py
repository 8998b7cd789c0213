"""The audit chain's head file: the count and last MAC of the log, kept outside the database so
that a deleted tail of the log is detected (see chain.py). Written atomically, under a lock,
never replaced by an earlier head of the same log."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, text

from carriertui import locations

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: heads are still replaced atomically
    fcntl = None  # type: ignore[assignment]

HEAD_FORMAT = 1


def utc_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class ChainHead:
    count: int
    mac: str
    first_mac: str


class HeadUnreadable(Exception):
    pass


def database_identity(connection: Connection, schema: str | None = None) -> str:
    """The database behind ``connection`` without secrets: the head file is keyed by it."""
    url = connection.engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            database = str(Path(database).expanduser().resolve())
        return f"sqlite:///{database}"
    if schema is None:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    return f"{url.render_as_string(hide_password=True)}#schema={schema}"


def head_path(database: str) -> Path:
    return locations.audit_head_path(database)


def read_head(database: str) -> ChainHead | None:
    """The recorded head of ``database``'s chain; None when there is none.

    Raises :class:`HeadUnreadable` for a file that exists but is not a head.
    """
    path = head_path(database)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise HeadUnreadable(f"{path}: {error.strerror}") from error
    try:
        data = json.loads(raw)
        head = ChainHead(int(data["count"]), str(data["mac"]), str(data["first_mac"]))
    except (ValueError, TypeError, KeyError) as error:
        raise HeadUnreadable(f"{path}: not a chain head ({error})") from error
    if head.count < 0:
        raise HeadUnreadable(f"{path}: not a chain head (negative count)")
    return head


@contextlib.contextmanager
def _head_lock(path: Path) -> Iterator[None]:
    fd = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def write_head(database: str, head: ChainHead) -> bool:
    """Record ``head`` unless the file already holds a later head of the same log.

    Returns whether the file was replaced.
    """
    path = head_path(database)
    locations.ensure_private_dir(path.parent)
    with _head_lock(path):
        try:
            current = read_head(database)
        except HeadUnreadable:
            current = None
        if (
            current is not None
            and current.first_mac == head.first_mac
            and current.count >= head.count
        ):
            return False
        payload = {
            "format": HEAD_FORMAT,
            "database": database,
            "count": head.count,
            "mac": head.mac,
            "first_mac": head.first_mac,
            "written_at": utc_text(datetime.now(UTC)),
        }
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
            raise
    return True
