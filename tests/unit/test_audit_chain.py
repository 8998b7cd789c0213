"""The audit log's storage guarantees: append-only in the database, and an HMAC chain that
``verify`` checks against a key and a head kept outside the database.

Tampering is done as an attacker with database access would: drop the triggers, change rows with
raw SQL, put the triggers back. Every test that takes ``db`` runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from carriertui import locations
from carriertui.store import audit, customers
from carriertui.store.context import Actor
from carriertui.store.db import chain
from carriertui.store.db.chain import AuditKeyError
from carriertui.store.db.database import Database
from carriertui.store.db.migrations import SCHEMA_VERSION
from carriertui.store.db.tables import AuditEntry, Customer
from carriertui.store.enums import AuditAction, HttpVerb, Role

HEX_KEY = "00112233445566778899aabbccddeeff" * 2
ACTOR = Actor(name="alice", role=Role.ADMIN, ip="10.0.0.7")


# -- helpers -----------------------------------------------------------------------------------


def write_entries(db: Database, count: int, *, start: int = 0, per_transaction: int = 1) -> None:
    """``count`` audit entries through audit.record, ``per_transaction`` to a transaction."""
    done = 0
    while done < count:
        with db.write() as session:
            for _ in range(min(per_transaction, count - done)):
                number = start + done
                audit.record(
                    session,
                    ACTOR,
                    action=AuditAction.UPDATE,
                    verb=HttpVerb.PUT,
                    table="customer",
                    key=number,
                    message=f"change {number}",
                    before={"n": number, "notes": "old"},
                    after={"n": number + 1, "notes": "new"},
                    customer_id=number % 7,
                )
                done += 1


def rows(db: Database) -> list[AuditEntry]:
    with db.read() as session:
        entries = list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))))
        session.expunge_all()
        return entries


def ids(db: Database) -> list[int]:
    return [entry.id for entry in rows(db)]


def execute(session: Session, sql: str, **params: Any) -> None:
    session.execute(text(sql), params)


@contextlib.contextmanager
def tampering(db: Database) -> Iterator[Session]:
    """A write transaction with the append-only triggers out of the way (put back at the end)."""
    with db.write() as session:
        chain.drop_append_only_guard(session)
        yield session
        chain.install_append_only_guard(session)


def head_of(db: Database) -> chain.ChainHead | None:
    with db.read() as session:
        return chain.read_head(chain.database_identity(session.connection()))


def verify(db: Database) -> chain.Verification:
    return chain.verify(db)


# -- append-only ---------------------------------------------------------------------------------


def test_the_audit_table_refuses_update(db) -> None:
    write_entries(db, 3)
    before = [(e.message, e.mac) for e in rows(db)]
    with pytest.raises(IntegrityError, match="append-only"), db.write() as session:
        execute(session, "UPDATE audit_entry SET message = 'nothing happened'")
    with pytest.raises(IntegrityError, match="append-only"), db.write() as session:
        execute(session, "UPDATE audit_entry SET mac = NULL WHERE id = :id", id=ids(db)[0])
    assert [(e.message, e.mac) for e in rows(db)] == before


def test_the_audit_table_refuses_delete(db, backend) -> None:
    write_entries(db, 3)
    with pytest.raises(IntegrityError, match="append-only"), db.write() as session:
        execute(session, "DELETE FROM audit_entry WHERE id = :id", id=ids(db)[-1])
    with pytest.raises(IntegrityError, match="append-only"), db.write() as session:
        execute(session, "DELETE FROM audit_entry")
    if backend.name == "postgresql":
        with pytest.raises(IntegrityError, match="append-only"), db.write() as session:
            execute(session, "TRUNCATE audit_entry")
    assert len(rows(db)) == 3
    assert verify(db).message == "OK 3 entries"


def test_the_guard_refuses_orm_changes_too(db) -> None:
    write_entries(db, 1)
    with pytest.raises(IntegrityError, match="append-only"), db.write() as session:
        entry = session.exec(select(AuditEntry)).one()
        entry.message = "rewritten"
        session.add(entry)
    with pytest.raises(IntegrityError, match="append-only"), db.write() as session:
        session.delete(session.exec(select(AuditEntry)).one())
    assert [e.message for e in rows(db)] == ["change 0"]


def test_inserting_is_still_allowed(db) -> None:
    write_entries(db, 2)
    assert [e.seq for e in rows(db)] == [1, 2]


# -- the chain -----------------------------------------------------------------------------------


def test_entries_are_chained_in_order(db) -> None:
    write_entries(db, 5, per_transaction=2)
    entries = rows(db)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert all(len(e.mac) == 64 and int(e.mac, 16) >= 0 for e in entries)
    assert len({e.mac for e in entries}) == 5
    result = verify(db)
    assert (result.ok, result.entries, result.message) == (True, 5, "OK 5 entries")
    assert result.warnings == ()


def test_the_mac_follows_the_documented_format(db, monkeypatch) -> None:
    """An independent computation from the module docstring's definition."""
    monkeypatch.setenv(chain.KEY_ENV, HEX_KEY)
    customers.create_customer(db, ACTOR, {"name": "Zürich Telecom \u202e", "account_code": "ZT"})
    write_entries(db, 1)
    key = bytes.fromhex(HEX_KEY)
    previous = "0" * 64
    for entry in rows(db):
        fields = {
            "seq": entry.seq,
            "created_at": entry.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": entry.actor,
            "ip": entry.ip,
            "action": entry.action,
            "verb": entry.verb,
            "table_name": entry.table_name,
            "primary_key": entry.primary_key,
            "customer_id": entry.customer_id,
            "message": entry.message,
            "comment": entry.comment,
            "before_json": entry.before_json,
            "after_json": entry.after_json,
        }
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))  # ASCII escapes
        expected = hmac.new(
            key, f"{previous}\n{canonical}".encode("ascii"), hashlib.sha256
        ).hexdigest()
        assert entry.mac == expected
        previous = entry.mac


def test_hostile_and_unicode_content_verifies(db) -> None:
    hostile = "\x1b]52;c;ZXZpbA==\x07 \u202e RTL 𝔘𝔫𝔦 ☎ '\"\\ \u2028 =1+1 \x7f\x85"
    with db.write() as session:
        audit.record(
            session,
            ACTOR,
            action=AuditAction.UPDATE,
            verb=HttpVerb.PUT,
            table="customer",
            key=hostile,
            message=hostile,
            before={"notes": hostile, "nested": {"list": [hostile, 1, None]}},
            after={"notes": "é" * 300},
            comment=hostile,
        )
    assert verify(db).message == "OK 1 entries"


def test_verify_detects_an_edited_entry(db) -> None:
    write_entries(db, 6)
    target = ids(db)[2]
    with tampering(db) as session:
        execute(
            session, "UPDATE audit_entry SET message = 'nothing to see' WHERE id = :id", id=target
        )
    result = verify(db)
    assert not result.ok
    assert result.message == f"FAIL entry {target}: MAC mismatch (edited or inserted)"
    assert result.entry_id == target


def test_verify_detects_an_edited_record_inside_before_json(db) -> None:
    write_entries(db, 3)
    target = ids(db)[0]
    with tampering(db) as session:
        execute(
            session,
            "UPDATE audit_entry SET after_json = :value WHERE id = :id",
            value=json.dumps({"n": 999, "notes": "new"}, sort_keys=True),
            id=target,
        )
    assert verify(db).message == f"FAIL entry {target}: MAC mismatch (edited or inserted)"


def test_verify_detects_an_edited_timestamp(db) -> None:
    write_entries(db, 3)
    target = ids(db)[1]
    with tampering(db) as session:
        entry = session.get(AuditEntry, target)
        entry.created_at = entry.created_at.replace(microsecond=(entry.created_at.microsecond + 1))
        session.add(entry)
        session.flush()  # before the guard is back
    assert verify(db).message == f"FAIL entry {target}: MAC mismatch (edited or inserted)"


def test_verify_detects_a_mac_recomputed_without_the_key(db) -> None:
    """Editing a row and 'fixing' its MAC with a guessed key breaks it, and so the next link."""
    write_entries(db, 4)
    entries = rows(db)
    target = entries[1]
    target.message = "rewritten"
    forged = chain.compute_mac(b"not the key at all!", entries[0].mac, chain.entry_fields(target))
    with tampering(db) as session:
        execute(
            session,
            "UPDATE audit_entry SET message = 'rewritten', mac = :mac WHERE id = :id",
            mac=forged,
            id=target.id,
        )
    assert verify(db).message == f"FAIL entry {target.id}: MAC mismatch (edited or inserted)"


def _insert_raw(session: Session, **values: Any) -> None:
    columns = ", ".join(values)
    params = ", ".join(f":{name}" for name in values)
    execute(session, f"INSERT INTO audit_entry ({columns}) VALUES ({params})", **values)  # noqa: S608


def _raw_values(entry: AuditEntry, **changes: Any) -> dict[str, Any]:
    values = {
        name: getattr(entry, name)
        for name in ("actor", "ip", "action", "verb", "table_name", "primary_key", "message")
    }
    values["created_at"] = entry.created_at
    values.update(changes)
    return values


def test_verify_detects_an_inserted_entry_at_the_end(db) -> None:
    write_entries(db, 4)
    last = rows(db)[-1]
    with db.write() as session:  # no tampering needed: INSERT is allowed
        _insert_raw(session, **_raw_values(last, message="forged", seq=5, mac="ab" * 32))
    forged_id = ids(db)[-1]
    assert forged_id != last.id
    assert verify(db).message == f"FAIL entry {forged_id}: MAC mismatch (edited or inserted)"


def test_verify_detects_an_entry_inserted_without_a_mac(db) -> None:
    write_entries(db, 2)
    with db.write() as session:
        _insert_raw(session, **_raw_values(rows(db)[0], message="forged"))
    forged_id = ids(db)[-1]
    assert verify(db).message == f"FAIL entry {forged_id}: no MAC (written outside carriertui)"


def test_verify_detects_an_entry_inserted_in_the_middle(db) -> None:
    write_entries(db, 5)
    entries = rows(db)
    third = entries[2]
    with tampering(db) as session:
        # Make room after the third entry, then slip a copy of it in with the next position.
        execute(session, "UPDATE audit_entry SET id = id + 1000 WHERE id > :id", id=third.id)
        execute(session, "UPDATE audit_entry SET seq = seq + 1000 WHERE seq > 3")
        _insert_raw(
            session,
            id=third.id + 1,
            **_raw_values(third, message="approved by the boss"),
            seq=4,
            mac=third.mac,
        )
        execute(session, "UPDATE audit_entry SET seq = seq - 999 WHERE seq > 1000")
    assert len(rows(db)) == 6
    assert verify(db).message == f"FAIL entry {third.id + 1}: MAC mismatch (edited or inserted)"


def _swap(session: Session, first: AuditEntry, second: AuditEntry, *, keep_seq: bool) -> None:
    fields = [*chain.CONTENT_FIELDS, "mac"] + ([] if keep_seq else ["seq"])
    execute(
        session, "UPDATE audit_entry SET seq = NULL WHERE id IN (:a, :b)", a=first.id, b=second.id
    )
    for target, source in ((first, second), (second, first)):
        assignments = ", ".join(f"{name} = :{name}" for name in fields)
        values = {name: getattr(source, name) for name in fields}
        if keep_seq:
            values["seq"] = target.seq
            assignments += ", seq = :seq"
        execute(
            session,
            f"UPDATE audit_entry SET {assignments} WHERE id = :target_id",  # noqa: S608
            target_id=target.id,
            **values,
        )


def test_verify_detects_a_reordered_pair(db) -> None:
    write_entries(db, 5)
    entries = rows(db)
    with tampering(db) as session:
        _swap(session, entries[1], entries[2], keep_seq=False)
    assert [e.message for e in rows(db)][1:3] == ["change 2", "change 1"]
    result = verify(db)
    assert result.message == (
        f"FAIL entry {entries[1].id}: sequence position 3, expected 2 "
        "(reordered, inserted or deleted)"
    )


def test_verify_detects_a_reordered_pair_with_positions_kept(db) -> None:
    write_entries(db, 5)
    entries = rows(db)
    with tampering(db) as session:
        _swap(session, entries[2], entries[3], keep_seq=True)
    assert [e.seq for e in rows(db)] == [1, 2, 3, 4, 5]
    assert verify(db).message == (f"FAIL entry {entries[2].id}: MAC mismatch (edited or inserted)")


def test_verify_detects_an_entry_deleted_in_the_middle(db) -> None:
    write_entries(db, 5)
    entries = rows(db)
    with tampering(db) as session:
        execute(session, "DELETE FROM audit_entry WHERE id = :id", id=entries[1].id)
    assert verify(db).message == (
        f"FAIL entry {entries[2].id}: sequence position 3, expected 2 "
        "(reordered, inserted or deleted)"
    )


def test_verify_detects_a_truncated_tail_against_the_head(db) -> None:
    write_entries(db, 8)
    assert head_of(db).count == 8
    doomed = ids(db)[-3:]
    with tampering(db) as session:
        for entry_id in doomed:
            execute(session, "DELETE FROM audit_entry WHERE id = :id", id=entry_id)
    result = verify(db)
    assert not result.ok
    assert result.message == "FAIL: the log ends at entry 5 but the head says 8 entries"


def test_a_truncation_stays_detected_after_new_writes(db) -> None:
    """The head never moves backwards within one log, so writing on top of a truncated log
    does not hide the truncation."""
    write_entries(db, 6)
    doomed = ids(db)[-3:]
    with tampering(db) as session:
        for entry_id in doomed:
            execute(session, "DELETE FROM audit_entry WHERE id = :id", id=entry_id)
    write_entries(db, 1, start=100)  # 4 entries now, the head still says 6
    assert head_of(db).count == 6
    assert verify(db).message == "FAIL: the log ends at entry 4 but the head says 6 entries"
    write_entries(db, 3, start=200)  # 7 entries: past the head, but entry 6 is not the one it knew
    result = verify(db)
    sixth = rows(db)[5]
    assert result.message == (
        f"FAIL entry {sixth.id}: not the entry the head recorded at position 6 "
        "(entries deleted from the end, and others written since)"
    )


def test_verify_without_a_head_passes_with_a_warning(db) -> None:
    write_entries(db, 2)
    with db.read() as session:
        path = chain.head_path(chain.database_identity(session.connection()))
    path.unlink()
    result = verify(db)
    assert result.ok
    assert result.message == "OK 2 entries"
    assert len(result.warnings) == 1
    assert "no chain head" in result.warnings[0]


def test_an_unreadable_head_fails(db) -> None:
    write_entries(db, 2)
    with db.read() as session:
        path = chain.head_path(chain.database_identity(session.connection()))
    path.write_text("{not json", encoding="utf-8")
    result = verify(db)
    assert not result.ok
    assert result.message.startswith("FAIL: the chain head is unreadable")


def test_verify_of_an_empty_log(db) -> None:
    result = verify(db)
    assert (result.ok, result.message, result.warnings) == (True, "OK 0 entries", ())
    assert not locations.audit_key_path().exists()  # verify never creates a key


def test_verify_needs_the_viewer_role_and_accepts_it(db, viewer) -> None:
    write_entries(db, 1)
    assert audit.verify(db, viewer).message == "OK 1 entries"


def test_verify_of_ten_thousand_entries(db) -> None:
    started = time.perf_counter()
    write_entries(db, 10_000, per_transaction=2_500)
    written = time.perf_counter() - started
    started = time.perf_counter()
    result = verify(db)
    verified = time.perf_counter() - started
    assert result.message == "OK 10000 entries"
    assert head_of(db).count == 10_000
    print(f"10k entries: written in {written:.2f} s, verified in {verified:.2f} s")
    assert verified < 10  # streaming and an HMAC per row: well under a second here


def test_verify_streams_instead_of_loading_every_row(db, monkeypatch) -> None:
    write_entries(db, 50, per_transaction=50)
    seen: list[int] = []
    original = chain.compute_mac

    def counting(key: bytes, previous: str, fields: Any) -> str:
        seen.append(fields["seq"])
        return original(key, previous, fields)

    monkeypatch.setattr(chain, "compute_mac", counting)
    assert chain.verify(db, batch=7).message == "OK 50 entries"
    assert seen == list(range(1, 51))


# -- the head ------------------------------------------------------------------------------------


def test_the_head_is_written_after_each_write_transaction(db) -> None:
    write_entries(db, 3, per_transaction=3)
    head = head_of(db)
    entries = rows(db)
    assert (head.count, head.mac, head.first_mac) == (3, entries[-1].mac, entries[0].mac)
    write_entries(db, 1, start=3)
    assert head_of(db).count == 4


def test_a_rolled_back_transaction_leaves_the_head_alone(db) -> None:
    write_entries(db, 2)
    with pytest.raises(RuntimeError), db.write() as session:
        audit.record(
            session,
            ACTOR,
            action=AuditAction.SEND,
            verb=HttpVerb.POST,
            table="x",
            key=1,
            message="m",
        )
        raise RuntimeError("the service failed after writing its audit entry")
    assert head_of(db).count == 2
    assert verify(db).message == "OK 2 entries"


def test_the_head_never_moves_backwards_within_one_log(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'x.sqlite'}"
    assert chain.write_head(database, chain.ChainHead(5, "e" * 64, "a" * 64))
    assert not chain.write_head(database, chain.ChainHead(4, "d" * 64, "a" * 64))
    assert not chain.write_head(database, chain.ChainHead(5, "f" * 64, "a" * 64))
    assert chain.read_head(database) == chain.ChainHead(5, "e" * 64, "a" * 64)
    # A new log at the same place (a rebuilt demo database) starts a new head.
    assert chain.write_head(database, chain.ChainHead(2, "c" * 64, "b" * 64))
    assert chain.read_head(database) == chain.ChainHead(2, "c" * 64, "b" * 64)
    path = chain.head_path(database)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.parent == locations.config_dir()


def test_each_database_has_its_own_head(tmp_path: Path) -> None:
    first = Database(f"sqlite:///{tmp_path / 'one.sqlite'}")
    second = Database(f"sqlite:///{tmp_path / 'two.sqlite'}")
    try:
        for database in (first, second):
            database.create_schema()
        write_entries(first, 3)
        write_entries(second, 1)
        assert (head_of(first).count, head_of(second).count) == (3, 1)
        heads = sorted(locations.config_dir().glob("audit-head-*.json"))
        assert len(heads) == 2
        assert verify(first).message == "OK 3 entries"
        assert verify(second).message == "OK 1 entries"
    finally:
        first.dispose()
        second.dispose()


def test_a_rebuilt_database_at_the_same_path_starts_a_new_head(tmp_path: Path) -> None:
    """As ``carriertui demo --reset`` does: the file is removed and built again, shorter."""
    path = tmp_path / "demo.sqlite"
    db = Database(f"sqlite:///{path}")
    db.create_schema()
    write_entries(db, 5)
    db.dispose()
    for leftover in tmp_path.glob("demo.sqlite*"):
        leftover.unlink()
    db = Database(f"sqlite:///{path}")
    try:
        db.create_schema()
        write_entries(db, 2)
        assert head_of(db).count == 2
        assert verify(db).message == "OK 2 entries"
    finally:
        db.dispose()


def test_the_head_names_no_password(tmp_path: Path) -> None:
    engine_url = "postgresql+psycopg://noc:hunter2secret@db.example.net/carrier"
    from sqlalchemy import create_engine

    engine = create_engine(engine_url)
    try:

        class FakeConnection:
            pass

        connection = FakeConnection()
        connection.engine = engine  # type: ignore[attr-defined]
        identity = chain.database_identity(connection, "public")  # type: ignore[arg-type]
    finally:
        engine.dispose()
    assert "hunter2secret" not in identity
    assert identity == "postgresql+psycopg://noc:***@db.example.net/carrier#schema=public"


# -- the key -------------------------------------------------------------------------------------


def test_the_key_file_is_created_private_on_first_use(db) -> None:
    path = locations.audit_key_path()
    assert not path.exists()
    previous = os.umask(0)  # the most permissive umask: the file must still be 0600
    try:
        write_entries(db, 1)
    finally:
        os.umask(previous)
    assert path.parent == locations.config_dir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text_key = path.read_text(encoding="ascii").strip()
    assert len(bytes.fromhex(text_key)) == 32
    write_entries(db, 1, start=1)
    assert path.read_text(encoding="ascii").strip() == text_key  # created once, then reused
    assert verify(db).message == "OK 2 entries"


def test_two_keys_created_at_once_agree(tmp_path: Path) -> None:
    path = locations.audit_key_path()
    chain._create_key_file(path)
    first = path.read_bytes()
    chain._create_key_file(path)  # a second process losing the race keeps the first key
    assert path.read_bytes() == first
    assert [p.name for p in path.parent.iterdir()] == ["audit.key"]


def test_the_environment_key_overrides_the_file(db, monkeypatch) -> None:
    monkeypatch.setenv(chain.KEY_ENV, HEX_KEY)
    write_entries(db, 3)
    assert not locations.audit_key_path().exists()
    assert verify(db).message == "OK 3 entries"
    first = rows(db)[0]
    expected = chain.compute_mac(
        bytes.fromhex(HEX_KEY), chain.GENESIS_MAC, chain.entry_fields(first)
    )
    assert first.mac == expected
    # Another key (a text one this time) cannot vouch for these entries, and says so: a
    # wrong key, not an edit (issue 20.2).
    other = "a different pass phrase of a key"
    monkeypatch.setenv(chain.KEY_ENV, other)
    result = verify(db)
    assert not result.ok
    assert result.message == (
        f"FAIL entry {first.id}: signed with another key: the log is signed with key "
        f"{chain.key_id(bytes.fromhex(HEX_KEY))}, this process has key "
        f"{chain.key_id(other.encode())} (CARRIERTUI_AUDIT_KEY): the wrong key, not evidence "
        "of tampering; verify with the key the log was signed with"
    )
    # Without the variable and without a file there is nothing to check with.
    monkeypatch.delenv(chain.KEY_ENV)
    with pytest.raises(AuditKeyError, match="no audit key"):
        verify(db)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (HEX_KEY, bytes.fromhex(HEX_KEY)),
        (HEX_KEY.upper() + "\n", bytes.fromhex(HEX_KEY)),
        ("correct horse battery staple", b"correct horse battery staple"),
        ("0123456789abcdef0123456789abcdeX", b"0123456789abcdef0123456789abcdeX"),
    ],
)
def test_environment_keys_in_hex_or_text(monkeypatch, value: str, expected: bytes) -> None:
    monkeypatch.setenv(chain.KEY_ENV, value)
    assert chain.load_key() == expected


@pytest.mark.parametrize("value", ["", "   ", "short", "00112233445566778899aabbccddee"])
def test_weak_environment_keys_are_refused(monkeypatch, value: str) -> None:
    monkeypatch.setenv(chain.KEY_ENV, value)
    with pytest.raises(AuditKeyError):
        chain.load_key()


def test_a_key_file_open_to_others_is_refused_and_the_change_rolls_back(db) -> None:
    write_entries(db, 1)
    path = locations.audit_key_path()
    path.chmod(0o644)
    with pytest.raises(AuditKeyError, match="chmod 600"):
        customers.create_customer(db, ACTOR, {"name": "Never Saved"})
    with db.read() as session:
        assert session.exec(select(Customer)).all() == []
    assert len(rows(db)) == 1
    path.chmod(0o600)
    assert verify(db).message == "OK 1 entries"


def test_a_failing_mac_rolls_the_whole_change_back(db, monkeypatch) -> None:
    customers.create_customer(db, ACTOR, {"name": "Kept"})

    def broken(*args: Any) -> str:
        raise RuntimeError("HMAC unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(chain, "compute_mac", broken)
        with pytest.raises(RuntimeError, match="HMAC unavailable"):
            customers.create_customer(db, ACTOR, {"name": "Not Kept"})
    assert [c.name for c in customers.list_customers(db, ACTOR)] == ["Kept"]
    assert len(rows(db)) == 1
    assert verify(db).message == "OK 1 entries"


def test_a_second_entry_at_the_same_position_is_refused(db) -> None:
    """The unique index on seq: the net under the locks."""
    write_entries(db, 1)
    first = rows(db)[0]
    with pytest.raises(IntegrityError), db.write() as session:
        _insert_raw(session, **_raw_values(first), seq=1, mac=first.mac)


# -- two real processes --------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import json, os, sys, time
    from carriertui.store import audit
    from carriertui.store.context import Actor
    from carriertui.store.db.database import Database
    from carriertui.store.enums import AuditAction, HttpVerb, Role

    url, connect_args, name, go, count = sys.argv[1:6]
    db = Database(url, connect_args=json.loads(connect_args), busy_timeout_s=60)
    actor = Actor(name=name, role=Role.OPERATOR, ip="192.0.2.80")
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.002)
    for i in range(int(count)):
        with db.write() as session:
            audit.record(
                session, actor, action=AuditAction.UPDATE, verb=HttpVerb.PUT,
                table="customer", key=i, message=f"{name} {i}", after={"i": i},
            )
    db.dispose()
    print("done", flush=True)
    """
)


def _start(script: str, *args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
    )


def test_two_processes_writing_at_once_keep_one_chain(backend, tmp_path: Path) -> None:
    db = backend.open()
    go = tmp_path / "go"
    args = (backend.url, json.dumps(backend.connect_args))
    workers = [
        _start(WRITER, *args, name, str(go), "500", cwd=tmp_path) for name in ("east", "west")
    ]
    try:
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready", worker.stderr.read()
        assert not locations.audit_key_path().exists()  # both race to create it, too
        started = time.perf_counter()
        go.touch()
        for worker in workers:
            out, err = worker.communicate(timeout=180)
            assert worker.returncode == 0, err
            assert out.strip() == "done"
        elapsed = time.perf_counter() - started
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    entries = rows(db)
    assert len(entries) == 1000
    assert [e.seq for e in entries] == list(range(1, 1001))
    authors = [e.actor for e in entries]
    assert sorted(set(authors)) == ["east", "west"]
    switches = sum(1 for a, b in itertools.pairwise(authors) if a != b)
    assert switches > 1, "the two writers never interleaved: the test proved nothing"
    assert verify(db).message == "OK 1000 entries"
    assert head_of(db).count == 1000
    print(f"{backend.name}: 2 x 500 entries in {elapsed:.2f} s, {switches} switches")


# -- the migration from schema version 1 ---------------------------------------------------------


def make_version_1(db: Database) -> None:
    """Take a current database back to schema version 1: no seq/mac, no index, no triggers,
    and no key or head outside it."""
    with db.write() as session:
        chain.drop_append_only_guard(session)
        execute(session, "DROP INDEX ux_audit_entry_seq")
        execute(session, "ALTER TABLE audit_entry DROP COLUMN mac")
        execute(session, "ALTER TABLE audit_entry DROP COLUMN seq")
        execute(session, "UPDATE carriertui_meta SET value = '1' WHERE key = 'schema_version'")
    for path in locations.config_dir().glob("audit*"):
        path.unlink()


def columns_of(db: Database) -> set[str]:
    from sqlalchemy import inspect

    with db.read() as session:
        return {
            column["name"] for column in inspect(session.connection()).get_columns("audit_entry")
        }


def test_a_version_1_database_gets_macs_and_triggers(backend) -> None:
    db = backend.open()
    customers.create_customer(db, ACTOR, {"name": "Before The Upgrade", "account_code": "BTU"})
    write_entries(db, 40, per_transaction=10)
    messages = [e.message for e in rows(db)]
    make_version_1(db)
    db.dispose()
    assert db.schema_version() == 1
    assert {"seq", "mac"}.isdisjoint(columns_of(db))
    with db.write() as session:  # version 1: nothing stops an UPDATE yet
        execute(session, "UPDATE audit_entry SET comment = 'fixed by hand' WHERE id = 2")

    upgraded = backend.open()  # create_schema() migrates
    assert upgraded.schema_version() == SCHEMA_VERSION
    assert {"seq", "mac"} <= columns_of(upgraded)
    entries = rows(upgraded)
    assert [e.message for e in entries] == messages
    assert [e.seq for e in entries] == list(range(1, 42))
    assert all(e.mac and len(e.mac) == 64 for e in entries)
    assert verify(upgraded).message == "OK 41 entries"
    assert head_of(upgraded).count == 41
    assert stat.S_IMODE(locations.audit_key_path().stat().st_mode) == 0o600
    with pytest.raises(IntegrityError, match="append-only"), upgraded.write() as session:
        execute(session, "UPDATE audit_entry SET comment = 'again' WHERE id = 2")
    with pytest.raises(IntegrityError, match="append-only"), upgraded.write() as session:
        execute(session, "DELETE FROM audit_entry")
    # The chain goes on from the migrated entries.
    customers.create_customer(upgraded, ACTOR, {"name": "After The Upgrade"})
    assert verify(upgraded).message == "OK 42 entries"
    assert upgraded.create_schema() == SCHEMA_VERSION  # idempotent


def test_an_empty_version_1_database_migrates(backend) -> None:
    db = backend.open()
    make_version_1(db)
    upgraded = backend.open()
    assert upgraded.schema_version() == SCHEMA_VERSION
    assert not locations.audit_key_path().exists()  # no entries: no key needed yet
    write_entries(upgraded, 2)
    assert verify(upgraded).message == "OK 2 entries"
    with pytest.raises(IntegrityError, match="append-only"), upgraded.write() as session:
        execute(session, "DELETE FROM audit_entry")


def test_a_new_database_has_the_triggers_from_create_schema(backend) -> None:
    fresh = backend.open(create=False)
    assert fresh.create_schema() == SCHEMA_VERSION
    write_entries(fresh, 1)
    with pytest.raises(IntegrityError, match="append-only"), fresh.write() as session:
        execute(session, "DELETE FROM audit_entry")


def test_create_schema_on_a_current_database_writes_nothing(backend) -> None:
    db = backend.open()
    write_entries(db, 1)
    head = head_of(db)
    # A holder of the write lock would make any write wait (and fail after a short timeout);
    # create_schema() must not even try.
    connect_args = dict(backend.connect_args)
    if backend.name == "postgresql":
        connect_args["options"] += " -c lock_timeout=500"
    other = Database(backend.url, connect_args=connect_args, busy_timeout_s=0.2)
    try:
        with db.write() as session:
            execute(
                session, "UPDATE carriertui_meta SET value = value WHERE key = 'schema_version'"
            )
            if backend.name == "postgresql":  # DDL on the audit table would wait, then fail
                execute(session, "LOCK TABLE audit_entry IN EXCLUSIVE MODE")
            assert other.create_schema() == SCHEMA_VERSION
    finally:
        other.dispose()
    assert head_of(db) == head
    assert verify(db).message == "OK 1 entries"
