"""The audit log's HMAC key: where it is looked for, its modes, its creation, and its id.

Order: ``CARRIERTUI_AUDIT_KEY`` (the key itself: hex of an even length is decoded, anything else
is taken as UTF-8 text; at least 16 bytes either way), else the first existing file of
:func:`carriertui.locations.audit_key_paths` (the configured ``[audit] key_file``; else the
host-wide ``/etc/carriertui/audit.key``, then the account's own ``audit.key``). An account's own
key is private (0600); a shared one may be read by its group (0640, group ``carriertui``).
A new key (32 random bytes as hex, 0600) is published atomically: written under a temporary
``O_CREAT|O_EXCL`` name, then hard-linked into place, so a second process either wins the race or
reads a complete key. Whether a key may be created at all is the chain's decision
(store/chain.py: never for a log that already has entries).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carriertui import locations
from carriertui.store.errors import StoreError

KEY_ENV = "CARRIERTUI_AUDIT_KEY"
MIN_KEY_BYTES = 16
KEY_ID_MESSAGE = b"carriertui audit key id v1"

_HEX = re.compile(r"[0-9a-fA-F]+")
_key_cache: dict[tuple[Any, ...], bytes] = {}


class AuditKeyError(StoreError):
    """The audit key is missing, unreadable, too weak, or not the one the log is signed with."""


def _key_from_text(raw: str, source: str) -> bytes:
    value = raw.strip()
    if not value:
        raise AuditKeyError(f"the audit key in {source} is empty")
    if _HEX.fullmatch(value) and len(value) % 2 == 0:
        key = bytes.fromhex(value)
    else:
        key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise AuditKeyError(
            f"the audit key in {source} is too short: it needs at least {MIN_KEY_BYTES} bytes "
            f"({2 * MIN_KEY_BYTES} hex digits)"
        )
    return key


@dataclass(frozen=True)
class AuditKey:
    """The key and where it came from (for messages; never the key itself)."""

    secret: bytes = field(repr=False)
    source: str
    shared: bool = False  # a host-wide or configured file: group-readable is allowed

    @property
    def key_id(self) -> str:
        return key_id(self.secret)


def key_id(secret: bytes) -> str:
    """A public name for a key: 16 hex digits of a hash of an HMAC of a fixed string. It tells
    two keys apart and says nothing about either."""
    tag = hmac.new(secret, KEY_ID_MESSAGE, hashlib.sha256).digest()
    return hashlib.sha256(tag).hexdigest()[:16]


def key_locations_text() -> str:
    return " or ".join(str(path) for path in locations.audit_key_paths())


def resolve_key(*, create: bool = True) -> AuditKey | None:
    """The audit key: ``CARRIERTUI_AUDIT_KEY``, else the first key file of
    :func:`locations.audit_key_paths` that exists (the configured ``key_file``; else the
    host-wide ``/etc/carriertui/audit.key``, then this account's own), else a new key created
    at the last of those places when ``create``. None only when ``create`` is False and there
    is none."""
    raw = os.environ.get(KEY_ENV)
    if raw is not None:
        return AuditKey(_key_from_text(raw, KEY_ENV), KEY_ENV)
    paths = locations.audit_key_paths()
    own = locations.audit_key_path()
    for path in paths:
        try:
            status = path.stat()
        except FileNotFoundError:
            continue
        except OSError as error:
            raise AuditKeyError(f"cannot read the audit key {path}: {error.strerror}") from error
        return _cached_key(path, status, shared=path != own)
    if not create:
        return None
    path = paths[-1]
    _create_key_file(path)
    return _cached_key(path, path.stat(), shared=path != own)


def _cached_key(path: Path, status: os.stat_result, *, shared: bool) -> AuditKey:
    # Read once per file version: record() asks for the key on every audit write.
    version = (str(path), status.st_ino, status.st_mtime_ns, status.st_size, status.st_mode)
    cached = _key_cache.get(version)
    if cached is None:
        cached = _read_key_file(path, shared=shared)
        _key_cache.clear()
        _key_cache[version] = cached
    return AuditKey(cached, str(path), shared)


def load_key(*, create: bool = True) -> bytes | None:
    """The audit key's bytes (see :func:`resolve_key`)."""
    key = resolve_key(create=create)
    return None if key is None else key.secret


def _read_key_file(path: Path, *, shared: bool = False) -> bytes:
    try:
        with path.open("rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            data = handle.read(4096)
    except OSError as error:
        raise AuditKeyError(f"cannot read the audit key {path}: {error.strerror}") from error
    # Its own key is private to the account; a shared one may be read by its group (never
    # written by it, never anything for others).
    if os.name == "posix" and mode & (0o037 if shared else 0o077):
        fix = f"chmod 640 {path} (owner root, group carriertui)" if shared else f"chmod 600 {path}"
        raise AuditKeyError(
            f"the audit key {path} is open to other users (mode {mode & 0o777:o}); "
            f"make it private with: {fix}"
        )
    return _key_from_text(data.decode("utf-8", errors="replace"), str(path))


def _write_new_file(path: Path, data: bytes) -> None:
    """Create ``path`` (it must not exist) with mode 0600 and ``data``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # the umask can only have taken bits away; make it exact
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_key_file(path: Path) -> None:
    locations.ensure_private_dir(path.parent)
    data = (secrets.token_hex(32) + "\n").encode("ascii")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
    _write_new_file(temporary, data)
    try:
        os.link(temporary, path)  # atomic, and fails if another process published a key first
    except FileExistsError:
        pass
    except OSError:
        # A file system without hard links: create it in place (O_EXCL still picks one winner).
        with contextlib.suppress(FileExistsError):
            _write_new_file(path, data)
    finally:
        temporary.unlink(missing_ok=True)
