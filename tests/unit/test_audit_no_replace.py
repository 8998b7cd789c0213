"""An audit entry cannot be rewritten in place by an insert that resolves its conflict: SQLite's
``INSERT OR REPLACE`` / ``REPLACE`` (which delete the old row without firing DELETE triggers)
and ``ON CONFLICT DO UPDATE`` on both backends are refused by the database itself (issue 12.8),
on a new database and on one migrated from schema version 10. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from test_audit_chain import rows, verify, write_entries

from carriertui.store.db import chain
from carriertui.store.db.database import Database, open_database
from carriertui.store.db.migrations import SCHEMA_VERSION
from carriertui.store.db.tables import AuditEntry

COLUMNS = [column.name for column in AuditEntry.__table__.columns]  # type: ignore[attr-defined]


def _copy_of(entry_id: int, *, new_id: str = "id") -> str:
    """SELECT of entry ``entry_id``'s columns with its message rewritten (id as given)."""
    values = [
        "'rewritten by a replace'" if name == "message" else (new_id if name == "id" else name)
        for name in COLUMNS
    ]
    return f"SELECT {', '.join(values)} FROM audit_entry WHERE id = {entry_id}"  # noqa: S608 (test SQL, no input)


def _attacks(backend_name: str, entry_id: int) -> list[str]:
    names = ", ".join(COLUMNS)
    upserts = [
        f"INSERT INTO audit_entry ({names}) {_copy_of(entry_id)} "
        "ON CONFLICT (id) DO UPDATE SET message = excluded.message",
        f"INSERT INTO audit_entry ({names}) {_copy_of(entry_id, new_id='id + 100000')} "
        "ON CONFLICT (seq) DO UPDATE SET message = excluded.message",
    ]
    if backend_name == "postgresql":
        return upserts
    return [
        f"INSERT OR REPLACE INTO audit_entry ({names}) {_copy_of(entry_id)}",
        f"REPLACE INTO audit_entry ({names}) {_copy_of(entry_id)}",
        # a new id over an existing seq: REPLACE would delete the entry holding that seq
        f"INSERT OR REPLACE INTO audit_entry ({names}) {_copy_of(entry_id, new_id='id + 1000')}",
        *upserts,
    ]


def _assert_every_rewrite_is_refused(db: Database, backend_name: str) -> None:
    before = [(e.id, e.seq, e.message, e.mac) for e in rows(db)]
    target = before[1][0]
    for statement in _attacks(backend_name, target):
        with pytest.raises(IntegrityError, match="append-only"), db.write() as session:
            session.execute(text(statement))
        assert [(e.id, e.seq, e.message, e.mac) for e in rows(db)] == before, statement
    assert verify(db).message == f"OK {len(before)} entries"


def test_an_insert_over_an_existing_audit_entry_is_refused(db, backend) -> None:
    write_entries(db, 3)
    _assert_every_rewrite_is_refused(db, backend.name)
    write_entries(db, 1, start=3)  # plain inserts still work
    assert [e.seq for e in rows(db)] == [1, 2, 3, 4]


def _make_version_10(db: Database, backend_name: str) -> None:
    """Take the database back to schema version 10: the append-only guard as it was then."""
    with db.write() as session:
        if backend_name == "sqlite":
            session.execute(text("DROP TRIGGER audit_entry_no_replace"))
        session.execute(
            text("UPDATE carriertui_meta SET value = '10' WHERE key = 'schema_version'")
        )


def _sqlite_triggers(db: Database) -> set[str]:
    with db.read() as session:
        found = session.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
            {"t": "audit_entry"},
        )
        return {name for (name,) in found}


def test_a_database_migrated_from_version_10_refuses_it_too(backend) -> None:
    db = backend.open()
    write_entries(db, 3)
    _make_version_10(db, backend.name)
    db.dispose()
    old = Database(backend.url, connect_args=backend.connect_args)
    assert old.schema_version() == 10
    if backend.name == "sqlite":
        assert "audit_entry_no_replace" not in _sqlite_triggers(old)
    old.dispose()

    upgraded = backend.open()  # create_schema() migrates to the current version
    assert upgraded.schema_version() == SCHEMA_VERSION >= 11  # 11 added the guard
    if backend.name == "sqlite":
        assert {
            "audit_entry_no_update",
            "audit_entry_no_delete",
            "audit_entry_no_replace",
        } <= _sqlite_triggers(upgraded)
    _assert_every_rewrite_is_refused(upgraded, backend.name)
    assert upgraded.create_schema() == SCHEMA_VERSION  # idempotent


def test_dropping_the_guard_drops_the_replace_trigger_too(tmp_path) -> None:
    """Tests that play the attacker (and the version 2 migration) drop the whole guard. The
    replace trigger is SQLite's: PostgreSQL has no REPLACE."""
    db = open_database(f"sqlite:///{tmp_path / 'guard.sqlite'}")
    with db.write() as session:
        chain.drop_append_only_guard(session)
    assert not _sqlite_triggers(db) & {"audit_entry_no_replace"}
    with db.write() as session:
        chain.install_append_only_guard(session)
    assert "audit_entry_no_replace" in _sqlite_triggers(db)
