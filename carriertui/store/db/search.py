"""The audit log's search index (schema version 4): the grid's search over a million entries.

The grid's search is a substring match, ASCII case ignored, over the searchable columns
(carriertui/grid/model.py). ``LIKE '%x%'`` over every column reads the whole table (0.3-0.9 s at
1M entries); a trigram index narrows it to candidate rows first, and the same LIKE conditions then
decide, so the result is exactly the LIKE result (see ``TrigramIndex`` in rowsource.py).

The index covers one *document* per entry that contains every searchable column's search text
verbatim: the Message column's ``message (reason: comment)``, the Data column's
``before_json after_json``, and user, IP, action, verb, table, primary key. Any text inside a
column's search text is then inside the document, so the candidates never miss a match. (The
Customer column lives in another table: the audit source adds its own candidates for it.)

- SQLite: an FTS5 table with the trigram tokenizer (SQLite 3.34 or newer), contentless
  (``content=''``: the document is not stored twice) and ``detail=none`` (a third of the size of a
  full index; the query asks for all the search text's trigrams instead of a phrase). Triggers
  keep it: AFTER INSERT adds an entry; UPDATE and DELETE are refused on the audit table, but a
  tampered database (the triggers dropped) still keeps a correct index through AFTER UPDATE and
  AFTER DELETE triggers. The HMAC chain does not see any of this: it covers audit_entry only.
- PostgreSQL: a pg_trgm GIN index on the document under ``COLLATE "C"``, used by
  ``document COLLATE "C" ILIKE pattern``. Where pg_trgm cannot be installed (no privilege), there
  is no index and the search stays a plain LIKE scan: slower, the same results.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import Connection, literal_column, text
from sqlalchemy.exc import DBAPIError

from carriertui.store.db.engine import BaseDatabase as Database
from carriertui.store.db.rowsource import TrigramIndex

FTS_TABLE = "audit_entry_search"
PG_INDEX = "ix_audit_entry_search"
# FTS5's trigram tokenizer arrived in SQLite 3.34.0.
_TRIGRAM_SQLITE = (3, 34, 0)


def document_sql(prefix: str = "") -> str:
    """The document of one entry in SQL (both backends), its columns as ``prefix`` + name."""

    def column(name: str) -> str:
        return f"coalesce({prefix}{name}, '')"

    parts = [
        " || ' ' || ".join(
            column(name)
            for name in ("actor", "ip", "action", "verb", "table_name", "primary_key", "message")
        ),
        # As in audit.grid_source's Message and Data columns, so that their texts are inside
        # (the reason only where there is one: every entry would hold "reason" otherwise).
        f"coalesce(' (reason: ' || {prefix}comment || ')', '')",
        "' '",
        f"{column('before_json')} || ' ' || {column('after_json')}",
    ]
    return " || ".join(parts)


def _sqlite_statements() -> list[str]:
    # Every piece is a constant of this module: no outside text reaches these statements.
    new, old = document_sql("new."), document_sql("old.")
    table = FTS_TABLE
    delete_old = f"INSERT INTO {table} ({table}, rowid, document) VALUES ('delete', old.id, {old});"  # noqa: S608
    insert_new = f"INSERT INTO {table} (rowid, document) VALUES (new.id, {new});"  # noqa: S608
    backfill = f"INSERT INTO {table} (rowid, document) SELECT id, {document_sql()} FROM audit_entry"  # noqa: S608
    return [
        # Rebuilt from scratch: a migration run again (a test's downgraded database) must not
        # index an entry twice.
        f"DROP TABLE IF EXISTS {table}",
        f"CREATE VIRTUAL TABLE {table} USING fts5(document, content='', "
        "tokenize='trigram', detail='none')",
        backfill,
        "DROP TRIGGER IF EXISTS audit_entry_search_insert",
        "CREATE TRIGGER audit_entry_search_insert AFTER INSERT ON audit_entry "
        f"BEGIN {insert_new} END",
        "DROP TRIGGER IF EXISTS audit_entry_search_update",
        "CREATE TRIGGER audit_entry_search_update AFTER UPDATE ON audit_entry "
        f"BEGIN {delete_old} {insert_new} END",
        "DROP TRIGGER IF EXISTS audit_entry_search_delete",
        "CREATE TRIGGER audit_entry_search_delete AFTER DELETE ON audit_entry "
        f"BEGIN {delete_old} END",
    ]


def sqlite_has_trigram() -> bool:
    return sqlite3.sqlite_version_info >= _TRIGRAM_SQLITE


def install(connection: Connection) -> None:
    """Version 4: create (or rebuild) the search index and what keeps it. Idempotent."""
    if connection.dialect.name == "postgresql":
        schema = _pg_trgm_schema(connection)
        if schema is None:
            return  # no pg_trgm: the search stays a LIKE scan
        opclass = f"{_quote(schema)}.gin_trgm_ops"
        connection.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON audit_entry "
            f'USING gin (({document_sql()}) COLLATE "C" {opclass})'
        )
        return
    if not sqlite_has_trigram():
        return
    for statement in _sqlite_statements():
        connection.exec_driver_sql(statement)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


_FIND_PG_TRGM = text(
    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
    "WHERE e.extname = 'pg_trgm'"
)


def _pg_trgm_schema(connection: Connection) -> str | None:
    """The schema pg_trgm lives in, installing it (in the current schema) when it is missing
    and allowed (a trusted extension since PostgreSQL 13: CREATE on the database suffices)."""
    found = connection.execute(_FIND_PG_TRGM).scalar()
    if found is not None:
        return str(found)
    try:
        with connection.begin_nested():
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError:
        pass  # not available or not allowed; or another process installed it just now
    found = connection.execute(_FIND_PG_TRGM).scalar()
    return None if found is None else str(found)


def index_for_database(db: Database) -> TrigramIndex | None:
    """:func:`index_for` on a read connection of ``db``, asked once per Database (a catalog
    query each time an audit tab opened cost the UI thread about a millisecond)."""
    facts = db.schema_facts
    if "audit_search_index" not in facts:
        with db.read() as session:
            facts["audit_search_index"] = index_for(session.connection())
    return facts["audit_search_index"]


def index_for(connection: Connection) -> TrigramIndex | None:
    """The audit table's search index for the grid's row source, or None where this database
    has none (an old SQLite, PostgreSQL without pg_trgm)."""
    if connection.dialect.name == "postgresql":
        present = connection.execute(
            text(
                "SELECT 1 FROM pg_indexes WHERE indexname = :name "
                "AND schemaname = ANY (current_schemas(false))"
            ),
            {"name": PG_INDEX},
        ).first()
        if present is None:
            return None
        return TrigramIndex(postgres_document=literal_column(f"({document_sql()})"))
    present = connection.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"),
        {"name": FTS_TABLE},
    ).first()
    if present is None or not sqlite_has_trigram():
        return None
    return TrigramIndex(sqlite_table=FTS_TABLE)
