"""Tamper evidence for the audit log: an HMAC chain, its key, its head, and the append-only guard.

**The chain.** Every audit entry carries ``seq``, its 1-based position in the log, and ``mac``::

    mac = HMAC-SHA256(key, previous_mac + "\\n" + canonical_json(entry)).hexdigest()

``previous_mac`` is the hex MAC of the entry at ``seq - 1``, or 64 zeros for the first entry.
``canonical_json`` is one JSON object of every stored field except ``id`` (the database assigns it
after the MAC is computed, and PostgreSQL sequences leave gaps) and ``mac`` itself: ``seq``,
``created_at``, ``actor``, ``ip``, ``action``, ``verb``, ``table_name``, ``primary_key``,
``customer_id``, ``message``, ``comment``, ``before_json``, ``after_json``. Keys sorted, no
whitespace (separators ``,`` and ``:``), ASCII only (``\\uXXXX`` escapes, so the bytes never depend
on an encoder's choices), NULL as ``null``; ``created_at`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``
(UTC, always six fraction digits: both backends keep microseconds); ``before_json`` and
``after_json`` as the stored strings, not re-parsed. An edited field breaks that entry's MAC; an
entry inserted, removed or moved breaks ``seq`` or the link to the previous MAC.

**The key** lives outside the database (store/audit_key.py: ``CARRIERTUI_AUDIT_KEY``, the configured
``[audit] key_file``, the host-wide ``/etc/carriertui/audit.key``, the account's own
``audit.key``). A key is created only for a log with no entries yet: a process that finds none
for a log already signed refuses to write. The key's id (a hash of an HMAC of a fixed string,
never the key) is recorded in ``carriertui_meta`` with the first entry; a process whose key has
another id refuses to write, and :func:`verify` with it reports "signed with another key"
instead of an edit.

**The head** (entry count, last MAC, and the first entry's MAC) is written after each committed
audit write, to ``audit-head-<hash>.json`` next to the key, where the hash is of the database's
redacted URL (for PostgreSQL also its schema). It is replaced atomically, under a lock file, and
never moved backwards within the same log: when two processes commit in one order and write their
heads in the other, the later entry's head stays. A head whose first MAC differs belongs to a new
log at the same URL (``carriertui demo --reset``) and is replaced. A head of the same log whose
entry is no longer in the log (entries deleted from the end, then new ones written) is kept as the
evidence instead of being replaced. :func:`verify` detects a log shorter than its head and a log
whose entry at the head's position is not the one the head recorded. A head moved or deleted on
purpose (after restoring a backup, say) is the operator's decision: ``verify`` then only warns
that a deleted tail cannot be detected.

**Linearity.** Two writers must not both chain onto the same entry. On SQLite every write
transaction starts with ``BEGIN IMMEDIATE``, which serialises writers; on PostgreSQL
:func:`seal` takes a transaction-level advisory lock keyed by the audit table's OID before it
reads the previous MAC, held until commit or rollback. The unique index on ``seq`` is the net
under both: a second entry at the same position fails its insert, and the change rolls back.

**Append-only.** Triggers refuse UPDATE and DELETE on the audit table (and TRUNCATE on
PostgreSQL), and on SQLite an insert over an existing entry (``INSERT OR REPLACE`` deletes the
old row without firing DELETE triggers; PostgreSQL's ``ON CONFLICT DO UPDATE`` fires the UPDATE
trigger); :func:`drop_append_only_guard` exists for the schema migration and for tests that
play the attacker.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, event, func, inspect, select, text, update
from sqlalchemy.orm import Session

from carriertui.store.db.audit_key import (  # noqa: F401 (the key's names, as chain.X too)
    KEY_ENV,
    AuditKey,
    AuditKeyError,
    _create_key_file,
    key_id,
    key_locations_text,
    load_key,
    resolve_key,
)
from carriertui.store.db.chain_head import (  # noqa: F401 (chain.X for the callers)
    HEAD_FORMAT,
    ChainHead,
    HeadUnreadable,
    database_identity,
    head_path,
    read_head,
    utc_text,
    write_head,
)
from carriertui.store.db.tables import AuditEntry, Meta, table_of

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: heads are still replaced atomically
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from carriertui.store.db.engine import BaseDatabase as Database

GENESIS_MAC = "0" * 64
APPEND_ONLY_MESSAGE = "audit_entry is append-only"
# The fields under the MAC besides seq, in the table's order (the JSON sorts them anyway).
CONTENT_FIELDS = (
    "created_at",
    "actor",
    "ip",
    "action",
    "verb",
    "table_name",
    "primary_key",
    "customer_id",
    "message",
    "comment",
    "before_json",
    "after_json",
)
CHAIN_FIELDS = ("seq", *CONTENT_FIELDS)
# carriertui_meta's row naming the key the chain is signed with (its key_id, not the key).
KEY_ID_META = "audit_key_id"

_PENDING_HEAD = "carriertui.audit_chain_head"
_PG_LOCK_CLASS = 0x63747569  # "ctui": the advisory lock's first key; the table's OID is the second
_BACKFILL_BATCH = 1000
_log = logging.getLogger(__name__)


# -- the MAC -----------------------------------------------------------------------------------


def entry_fields(entry: Any, *, seq: int | None = None) -> dict[str, Any]:
    """The chained fields of ``entry`` (an AuditEntry or a row with those attributes)."""
    fields = {name: getattr(entry, name) for name in CONTENT_FIELDS}
    fields["seq"] = entry.seq if seq is None else seq
    fields["created_at"] = utc_text(fields["created_at"])
    return fields


def canonical_json(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode(
        "ascii"
    )


def compute_mac(key: bytes, previous_mac: str, fields: Mapping[str, Any]) -> str:
    message = previous_mac.encode("utf-8") + b"\n" + canonical_json(fields)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# -- the head ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PendingHead:
    """The head a write transaction will leave, written once it commits."""

    database: str
    head: ChainHead
    # The recorded head contradicts the log (see _contradicts_head): keep it as the evidence.
    keep_recorded: bool = False
    # The key the transaction's first entry was checked with: the later ones use it as it is.
    key: bytes | None = field(default=None, repr=False)


@event.listens_for(Session, "after_commit")
def _write_pending_head(session: Session) -> None:
    pending: _PendingHead | None = session.info.pop(_PENDING_HEAD, None)
    if pending is None:
        return
    if pending.keep_recorded:
        _log.warning(
            "the audit log no longer holds the entry its chain head recorded: head %s kept; "
            "run 'carriertui audit verify'",
            head_path(pending.database),
        )
        return
    try:
        write_head(pending.database, pending.head)
    except Exception as error:  # the change is committed: a head left behind is only less proof
        _log.warning("the audit chain head was not written: %s", error)


@event.listens_for(Session, "after_transaction_end")
def _drop_pending_head(session: Session, transaction: Any) -> None:
    # A transaction that ends without committing (rollback, close) leaves no head. After a
    # commit, after_commit has already taken it.
    if transaction.parent is None:
        session.info.pop(_PENDING_HEAD, None)


# -- writing -----------------------------------------------------------------------------------


def _table() -> Any:
    return table_of(AuditEntry)


def _lock_chain(connection: Connection) -> str | None:
    """On PostgreSQL, wait for the chain's advisory lock (held until this transaction ends) and
    return the current schema. SQLite's BEGIN IMMEDIATE has serialised writers already."""
    if connection.dialect.name != "postgresql":
        return None
    row = connection.execute(
        text(
            "SELECT pg_advisory_xact_lock(:lock_class, "
            "(('audit_entry'::regclass)::oid::bigint - 2147483648)::integer), current_schema()"
        ),
        {"lock_class": _PG_LOCK_CLASS},
    ).one()
    return str(row[1])


def _mac_at(connection: Connection, seq: int) -> str:
    table = _table()
    mac = connection.execute(select(table.c.mac).where(table.c.seq == seq)).scalar()
    return mac or ""


def seal(session: Session, entry: AuditEntry) -> None:
    """Give ``entry`` (not yet flushed) its place in the chain and its MAC.

    Called by ``audit.record`` inside the service's write transaction; any error here rolls the
    whole change back. The head is written once the transaction commits. The first entry of a
    transaction takes the lock and reads the previous link; later ones in the same transaction
    follow on from the one before (the lock is still held, and audit entries are written
    nowhere but here).
    """
    pending: _PendingHead | None = session.info.get(_PENDING_HEAD)
    if pending is not None:
        key = pending.key if pending.key is not None else load_key(create=False)
        assert key is not None
        entry.seq = pending.head.count + 1
        entry.mac = compute_mac(key, pending.head.mac, entry_fields(entry))
        head = ChainHead(entry.seq, entry.mac, pending.head.first_mac)
        session.info[_PENDING_HEAD] = _PendingHead(
            pending.database, head, pending.keep_recorded, key
        )
        return
    connection = session.connection()
    schema = _lock_chain(connection)
    table = _table()
    last = connection.execute(
        select(table.c.seq, table.c.mac)
        .where(table.c.seq.is_not(None))
        .order_by(table.c.seq.desc())
        .limit(1)
    ).first()
    previous_seq, previous_mac = (0, GENESIS_MAC) if last is None else (last[0], last[1] or "")
    # A new key only for a log with no entries yet: a second key for a log others signed
    # would make every entry it writes fail their `audit verify`.
    audit_key = resolve_key(create=previous_seq == 0)
    if audit_key is None:
        raise AuditKeyError(
            f"not saved: no audit key at {key_locations_text()}, and the database already has "
            f"{previous_seq} entries signed with one; install the key the other accounts use "
            "there (or set [audit] key_file or CARRIERTUI_AUDIT_KEY); a new key would make them "
            "fail 'audit verify'"
        )
    _check_signing_key(connection, audit_key, previous_seq, previous_mac)
    key = audit_key.secret
    entry.seq = previous_seq + 1
    entry.mac = compute_mac(key, previous_mac, entry_fields(entry))
    database = database_identity(connection, schema)
    first_mac = entry.mac if entry.seq == 1 else _mac_at(connection, 1)
    keep = _contradicts_head(connection, database, first_mac, previous_seq)
    head = ChainHead(entry.seq, entry.mac, first_mac)
    session.info[_PENDING_HEAD] = _PendingHead(database, head, keep, key)


def _meta() -> Any:
    return table_of(Meta)


def recorded_key_id(connection: Connection) -> str | None:
    """The key id the chain is signed with, as carriertui_meta records it (None before the
    first entry, or for a log older than the record)."""
    meta = _meta()
    value = connection.execute(select(meta.c.value).where(meta.c.key == KEY_ID_META)).scalar()
    return None if value is None else str(value)


def _wrong_key(audit_key: AuditKey, count: int, recorded: str | None) -> AuditKeyError:
    signed = f"key {recorded}" if recorded else "another key"
    return AuditKeyError(
        f"not saved: the audit key {audit_key.source} (key {audit_key.key_id}) is not the one "
        f"the database's {count} audit entries are signed with ({signed}); put the key the "
        f"other accounts use at {key_locations_text()} (or set [audit] key_file)"
    )


def _check_signing_key(
    connection: Connection, audit_key: AuditKey, previous_seq: int, previous_mac: str
) -> None:
    """Refuse to chain onto a log signed with another key (an account with its own key file
    on a shared database), and record the key id with the first entry. A log from before the
    record is adopted when this key signed its last entry."""
    recorded = recorded_key_id(connection)
    if recorded is not None:
        if recorded != audit_key.key_id:
            raise _wrong_key(audit_key, previous_seq, recorded)
        return
    if previous_seq and previous_mac:  # (an entry with no MAC is verify's to report)
        table = _table()
        row = connection.execute(
            select(*(table.c[name] for name in CHAIN_FIELDS)).where(table.c.seq == previous_seq)
        ).one()
        before = GENESIS_MAC if previous_seq == 1 else _mac_at(connection, previous_seq - 1)
        expected = compute_mac(audit_key.secret, before, entry_fields(row))
        if not hmac.compare_digest(expected, previous_mac):
            raise _wrong_key(audit_key, previous_seq, None)
    connection.execute(_meta().insert().values(key=KEY_ID_META, value=audit_key.key_id))


def _contradicts_head(connection: Connection, database: str, first_mac: str, count: int) -> bool:
    """Whether the recorded head belongs to this log (same first entry) but the log no longer
    holds the entry it recorded: entries were deleted from the end and others written since.

    Such a head is kept rather than replaced, or enough new writes would hide the deletion from
    :func:`verify`. (A log shorter than its head needs no check here: write_head never moves a
    head backwards within one log.)
    """
    try:
        recorded = read_head(database)
    except HeadUnreadable:
        return False
    if recorded is None or recorded.first_mac != first_mac or recorded.count > count:
        return False
    return recorded.count > 0 and _mac_at(connection, recorded.count) != recorded.mac


# -- the append-only guard ---------------------------------------------------------------------

_SQLITE_GUARD = (
    "CREATE TRIGGER IF NOT EXISTS audit_entry_no_update BEFORE UPDATE ON audit_entry "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_entry_no_delete BEFORE DELETE ON audit_entry "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
    # INSERT OR REPLACE (and REPLACE) resolves a conflict by deleting the old row without
    # firing DELETE triggers (unless a connection turns recursive_triggers on): an insert over
    # an existing id or seq is refused before the conflict is resolved, whatever its OR clause.
    "CREATE TRIGGER IF NOT EXISTS audit_entry_no_replace BEFORE INSERT ON audit_entry "  # noqa: S608
    "WHEN EXISTS (SELECT 1 FROM audit_entry WHERE id = NEW.id OR seq = NEW.seq) "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
)
_SQLITE_UNGUARD = (
    "DROP TRIGGER IF EXISTS audit_entry_no_update",
    "DROP TRIGGER IF EXISTS audit_entry_no_delete",
    "DROP TRIGGER IF EXISTS audit_entry_no_replace",
)
# restrict_violation (SQLSTATE 23001) makes it an IntegrityError, as SQLite's RAISE(ABORT) is.
_PG_GUARD = (
    "CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'restrict_violation'; END $$",
    "DROP TRIGGER IF EXISTS audit_entry_no_update_delete ON audit_entry",
    "CREATE TRIGGER audit_entry_no_update_delete BEFORE UPDATE OR DELETE ON audit_entry "
    "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()",
    "DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry",
    "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()",
)
_PG_UNGUARD = (
    "DROP TRIGGER IF EXISTS audit_entry_no_update_delete ON audit_entry",
    "DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry",
)


def _connection(where: Session | Connection) -> Connection:
    return where.connection() if isinstance(where, Session) else where


def install_append_only_guard(where: Session | Connection) -> None:
    """Triggers that refuse UPDATE and DELETE (and TRUNCATE) on the audit table. Idempotent."""
    connection = _connection(where)
    postgres = connection.dialect.name == "postgresql"
    for statement in _PG_GUARD if postgres else _SQLITE_GUARD:
        connection.exec_driver_sql(statement)


def drop_append_only_guard(where: Session | Connection) -> None:
    """Remove the triggers (the migration rewrites old rows; tests tamper). Idempotent."""
    connection = _connection(where)
    postgres = connection.dialect.name == "postgresql"
    for statement in _PG_UNGUARD if postgres else _SQLITE_UNGUARD:
        connection.exec_driver_sql(statement)


# -- the schema migration (version 1 -> 2) -----------------------------------------------------


def upgrade_schema(session: Session) -> None:
    """Add ``seq`` and ``mac`` where missing, chain the entries already there (oldest id first),
    index ``seq`` uniquely and install the append-only guard.

    A new database (whose table create_all() made with both columns) only gets the guard.
    """
    connection = session.connection()
    columns = {column["name"] for column in inspect(connection).get_columns("audit_entry")}
    if "seq" not in columns:
        connection.exec_driver_sql("ALTER TABLE audit_entry ADD COLUMN seq INTEGER")
    if "mac" not in columns:
        connection.exec_driver_sql("ALTER TABLE audit_entry ADD COLUMN mac VARCHAR(64)")
    drop_append_only_guard(connection)
    _chain_existing_entries(session, connection)
    connection.exec_driver_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS ux_audit_entry_seq ON audit_entry (seq)"
    )
    install_append_only_guard(connection)


def _chain_existing_entries(session: Session, connection: Connection) -> None:
    table = _table()
    if not connection.execute(select(func.count()).select_from(table)).scalar_one():
        return
    key = load_key(create=True)
    assert key is not None
    schema = _lock_chain(connection)
    connection.execute(update(table).values(seq=None, mac=None))
    statement = (
        update(table)
        .where(table.c.id == bindparam("entry_id"))
        .values(seq=bindparam("new_seq"), mac=bindparam("new_mac"))
    )
    content = [table.c[name] for name in CONTENT_FIELDS]
    position, previous, first_mac, last_id = 0, GENESIS_MAC, "", None
    while True:
        query = select(table.c.id, *content).order_by(table.c.id).limit(_BACKFILL_BATCH)
        if last_id is not None:
            query = query.where(table.c.id > last_id)
        rows = connection.execute(query).all()
        if not rows:
            break
        changes = []
        for row in rows:
            position += 1
            mac = compute_mac(key, previous, entry_fields(row, seq=position))
            changes.append({"entry_id": row.id, "new_seq": position, "new_mac": mac})
            previous = mac
            first_mac = first_mac or mac
        connection.execute(statement, changes)
        last_id = rows[-1].id
    # Every entry is signed with this key now: the record says so.
    meta = _meta()
    connection.execute(meta.delete().where(meta.c.key == KEY_ID_META))
    connection.execute(meta.insert().values(key=KEY_ID_META, value=key_id(key)))
    head = ChainHead(position, previous, first_mac)
    session.info[_PENDING_HEAD] = _PendingHead(database_identity(connection, schema), head)


# -- verification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify`: ``message`` is the one line the CLI prints."""

    ok: bool
    entries: int  # entries checked (all of them when ok)
    message: str
    entry_id: int | None = None  # the first entry that fails, when one does
    warnings: tuple[str, ...] = ()


def _failed(entries: int, entry_id: int | None, reason: str) -> Verification:
    where = f"FAIL entry {entry_id}" if entry_id is not None else "FAIL"
    return Verification(False, entries, f"{where}: {reason}", entry_id)


def verify(db: Database, *, batch: int = 2000) -> Verification:
    """Walk the audit log in id order, streaming, and check every link of the chain and the head.

    Raises :class:`AuditKeyError` when there are entries but no key to check them with.
    """
    table = _table()
    audit_key = resolve_key(create=False)
    key = None if audit_key is None else audit_key.secret
    columns = [table.c.id, table.c.seq, table.c.mac, *(table.c[n] for n in CONTENT_FIELDS)]
    statement = (
        select(*columns)
        .order_by(table.c.id)
        .execution_options(stream_results=True, yield_per=batch)
    )
    with db.read() as session:
        connection = session.connection()
        database = database_identity(connection)
        # The head is read before the entries: whatever it counts was committed before the
        # entries' snapshot, so a writer busy meanwhile cannot make a sound log look truncated.
        try:
            head = read_head(database)
        except HeadUnreadable as error:
            return _failed(0, None, f"the chain head is unreadable: {error}")
        recorded = recorded_key_id(connection)
        position, previous = 0, GENESIS_MAC
        at_head: tuple[int, str] | None = None
        result = connection.execute(statement)
        try:
            for row in result:
                position += 1
                if key is None:
                    raise AuditKeyError(
                        f"no audit key to check the log with: set {KEY_ENV} or restore "
                        f"{key_locations_text()}"
                    )
                if row.mac is None:
                    return _failed(position - 1, row.id, "no MAC (written outside carriertui)")
                if row.seq != position:
                    return _failed(
                        position - 1,
                        row.id,
                        f"sequence position {row.seq}, expected {position} "
                        "(reordered, inserted or deleted)",
                    )
                expected = compute_mac(key, previous, entry_fields(row))
                if not hmac.compare_digest(expected, row.mac):
                    assert audit_key is not None
                    if recorded is not None and recorded != audit_key.key_id:
                        return _failed(
                            position - 1,
                            row.id,
                            f"signed with another key: the log is signed with key {recorded}, "
                            f"this process has key {audit_key.key_id} ({audit_key.source}): "
                            "the wrong key, not evidence of tampering; verify with the key "
                            "the log was signed with",
                        )
                    return _failed(position - 1, row.id, "MAC mismatch (edited or inserted)")
                previous = row.mac
                if head is not None and position == head.count:
                    at_head = (row.id, row.mac)
        finally:
            result.close()
    if position and audit_key is not None and recorded not in (None, audit_key.key_id):
        return _failed(
            position,
            None,
            f"every entry verifies with key {audit_key.key_id}, but carriertui_meta says the "
            f"log is signed with key {recorded}: that record was changed",
        )
    warnings: tuple[str, ...] = ()
    if head is None:
        if position:
            warnings = (
                f"no chain head at {head_path(database)}: entries deleted from the end of the "
                "log cannot be detected",
            )
    elif head.count > position:
        return _failed(
            position,
            None,
            f"the log ends at entry {position} but the head says {head.count} entries",
        )
    elif at_head is not None and at_head[1] != head.mac:
        return _failed(
            position,
            at_head[0],
            f"not the entry the head recorded at position {head.count} "
            "(entries deleted from the end, and others written since)",
        )
    return Verification(True, position, f"OK {position} entries", None, warnings)
