"""Schema creation and upgrade, URLs, and the SQLite connection settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import func, select

from carriertui.store import customers
from carriertui.store.db.database import Database, open_database
from carriertui.store.db.engine import normalize_url, redacted_url
from carriertui.store.db.migrations import SCHEMA_VERSION
from carriertui.store.db.tables import Meta
from carriertui.store.errors import DatabaseURLError


def test_fresh_database_has_schema_version_0(backend) -> None:
    fresh = backend.open(create=False)
    assert fresh.schema_version() == 0


def test_schema_version_of_an_initialised_database(db) -> None:
    # Database.schema_version() reads the Meta row after db.read() has rolled back (and so
    # expired it): DetachedInstanceError unless the value is read inside the session.
    assert db.schema_version() == SCHEMA_VERSION


def test_create_schema_is_idempotent(backend, admin) -> None:
    db = backend.open(create=False)
    assert db.create_schema() == SCHEMA_VERSION
    assert db.schema_version() == SCHEMA_VERSION >= 1
    record = customers.create_customer(db, admin, {"name": "Survivor"})
    assert db.create_schema() == SCHEMA_VERSION
    assert db.schema_version() == SCHEMA_VERSION
    assert customers.list_customers(db, admin) == [record]
    with db.read() as session:
        # One version row (the audit log's key id is the other row since issue 20.2).
        versions = select(func.count()).select_from(Meta).where(Meta.key == "schema_version")
        assert session.exec(versions).one() == 1


def test_schema_from_a_newer_carriertui_is_refused(db) -> None:
    with db.write() as session:
        row = session.get(Meta, "schema_version")
        row.value = str(SCHEMA_VERSION + 1)
        session.add(row)
    with pytest.raises(DatabaseURLError, match="newer"):
        db.create_schema()
    assert db.schema_version() == SCHEMA_VERSION + 1


def test_open_database_creates_the_schema(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'new.sqlite'}")
    try:
        assert db.schema_version() == SCHEMA_VERSION
        assert (tmp_path / "nested" / "dir" / "new.sqlite").exists()
    finally:
        db.dispose()


def test_sqlite_connection_settings(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite'}", busy_timeout_s=2.5)
    try:
        with db.read() as session:
            pragma = {
                name: session.exec(text(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            }
        assert pragma == {"journal_mode": "wal", "busy_timeout": 2500, "foreign_keys": 1}
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgresql://noc@db.example.net/carrier",
            "postgresql+psycopg://noc@db.example.net/carrier",
        ),
        ("postgres://noc@db/carrier", "postgresql+psycopg://noc@db/carrier"),
        ("postgresql+psycopg://noc@db/carrier", "postgresql+psycopg://noc@db/carrier"),
        ("sqlite:////var/lib/x.sqlite", "sqlite:////var/lib/x.sqlite"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


def test_a_plain_path_is_a_sqlite_file(tmp_path: Path) -> None:
    assert normalize_url(str(tmp_path / "a.sqlite")) == f"sqlite:///{tmp_path / 'a.sqlite'}"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "://x",
        "mysql://root@localhost/x",
        # A bad port makes SQLAlchemy raise ValueError, which must become DatabaseURLError too
        # (the CLI shows DatabaseURLError as a one-line error).
        "postgresql://noc@db.example.net:notaport/carrier",
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(DatabaseURLError):
        normalize_url(url)


def test_redacted_url_hides_the_password() -> None:
    shown = redacted_url("postgresql+psycopg://noc:hunter2secret@db/carrier")
    assert "hunter2secret" not in shown
    assert shown == "postgresql+psycopg://noc:***@db/carrier"


def test_redacted_url_of_an_unparseable_url_neither_raises_nor_shows_the_password() -> None:
    # Error messages about a bad --db URL go through redacted_url; a bad port makes SQLAlchemy
    # raise ValueError, and the fallback must not echo the password either.
    shown = redacted_url("postgresql://noc:hunter2secret@db.example.net:notaport/carrier")
    assert "hunter2secret" not in shown


def test_the_audit_grid_columns_are_indexed(db) -> None:
    from sqlalchemy import inspect

    from carriertui.store.db.migrations import AUDIT_GRID_INDEXES

    indexed = {
        column
        for index in inspect(db.engine).get_indexes("audit_entry")
        for column in index["column_names"]
        if len(index["column_names"]) == 1
    }
    assert set(AUDIT_GRID_INDEXES) <= indexed
