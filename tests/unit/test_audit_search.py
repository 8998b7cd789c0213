"""The audit log's search index (schema version 4): the same results as the plain LIKE search.

The grid's search over the audit table is answered from a trigram index (FTS5 on SQLite, pg_trgm
on PostgreSQL) that narrows it to candidates, and the LIKE conditions decide. These tests compare
its results with a Python computation of the search semantics (substring, ASCII case only) over
entries written through the real service path, on both backends; and check that a version 3
database migrates to the same structure a new database gets.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from carriertui.grid.model import Filter, Query, SortKey, fold_ascii
from carriertui.store import audit, customers
from carriertui.store.context import Actor
from carriertui.store.db import chain, rowsource
from carriertui.store.db import search as audit_search
from carriertui.store.db.database import Database, open_database
from carriertui.store.db.migrations import SCHEMA_VERSION
from carriertui.store.enums import AuditAction, HttpVerb, Role

ADMIN = Actor("root", Role.ADMIN, "127.0.0.1")
WORDS = ["Orca", "ÉCLAIR", "éclair", "Σίγμα", "naïve", "50%_off", 'say "hi"', "back\\slash"]
WORDS += ["=HYPERLINK(1)", "[/", "ACC-1234", "acc-99", "😀 emoji", "tab\there", "line\nbreak"]


def write_entries(db: Database, count: int, seed: int = 5) -> list[int]:
    """Entries through audit.record (the services' path: chained, redacted), with texts that
    exercise case, non-ASCII case, LIKE's special characters, reasons and records."""
    rng = random.Random(seed)
    names = ["Orca Networks", "Globex ÉTÉ", "acme_50%", "+14155550100 Ltd"]
    ids = [customers.create_customer(db, ADMIN, {"name": name}).id for name in names]
    with db.write() as session:
        for i in range(count):
            word = rng.choice(WORDS)
            actor = Actor(rng.choice(["alice", "Bob", "API", "Portal"]), Role.ADMIN, f"10.0.{i}.7")
            before = None if i % 5 == 0 else {"account_code": f"{word}-{i}", "n": i}
            after = None if i % 7 == 0 else {"account_code": f"{rng.choice(WORDS)}", "n": i + 1}
            audit.record(
                session,
                actor,
                action=rng.choice(list(AuditAction)),
                verb=rng.choice(list(HttpVerb)),
                table=rng.choice(["customer", "contact", "number_block"]),
                key=rng.randint(1, 500),
                message=f"{rng.choice(WORDS)} changed {i}",
                before=before,
                after=after,
                customer_id=rng.choice([None, *ids]),
                comment=rng.choice([None, None, f"ticket {word}"]),
            )
    return ids


def expected_ids(
    db: Database, search: str, query: Query, customer_id: int | None = None
) -> list[int]:
    """The search semantics in Python over the grid's own column values (a page of everything
    without the search), in the query's order."""
    source = audit.grid_source(db, ADMIN, customer_id=customer_id)
    keys = [column.key for column in source.columns]
    searchable = [column.key for column in source.columns if column.is_searchable]
    everything = source.page(Query(sort=query.sort, filters=query.filters), 0, 100_000)
    needle = fold_ascii(search)
    found = []
    for key, values in everything:
        named = dict(zip(keys, values, strict=True))
        if any(named[k] is not None and needle in fold_ascii(str(named[k])) for k in searchable):
            found.append(key)
    return found


@pytest.fixture
def logged(db: Database) -> Iterator[Database]:
    db.customer_ids = write_entries(db, 160)  # type: ignore[attr-defined]
    yield db


SEARCHES = [
    "orca",
    "ÉCLAIR",
    "éclair",
    "ΣΊΓΜΑ",
    "σίγμα",
    "50%_",
    "%",
    "_o",
    'y "h',
    "k\\s",
    "=hyper",
    "[/",
    "acc-12",
    "ACC-9",
    "(reason: ticket",
    "reason",
    "ticket =",
    "} {",
    '"n": 1',
    "e 1",
    "alice",
    "BOB",
    "10.0.1",
    "0.12.",
    "number_b",
    "globex été",
    "ACME_50%",
    "😀",
    "\t",
    "\nb",
    "zzzz",
    "a",
    "ab",
    "ch",
    "changed 1",
    "d 15",
]


@pytest.mark.parametrize("few", [True, False], ids=["from-candidates", "index-order"])
def test_the_indexed_search_finds_exactly_what_the_search_semantics_say(
    logged: Database, few: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both plans on SQLite: read the candidates and sort, or read the sort index in order.
    monkeypatch.setattr(rowsource, "FEW_CANDIDATES", 10**9 if few else -1)
    source = audit.grid_source(logged, ADMIN)
    assert source._search_index is not None  # the index is there and in use
    newest = Query(sort=(SortKey("created_at", descending=True),))
    by_table = Query(
        sort=(SortKey("table_name"),), filters=(Filter("verb", values=frozenset({"PUT", "POST"})),)
    )
    for base in (newest, by_table):
        for search in SEARCHES:
            query = Query(sort=base.sort, filters=base.filters, search=search)
            expected = expected_ids(logged, search, query)
            got = [key for key, _values in source.page(query, 0, 100_000)]
            assert got == expected, search
            assert source.count(query) == len(expected), search
    # Searches that find something, so that the comparison is not between two empty lists.
    assert all(expected_ids(logged, s, newest) for s in ("orca", "(reason: ticket", "} {"))


def test_the_customer_tab_search_uses_the_index_too(logged: Database) -> None:
    for customer_id in logged.customer_ids:  # type: ignore[attr-defined]
        mine = audit.grid_source(logged, ADMIN, customer_id=customer_id)
        assert mine._search_index is not None
        for search in ("orca", "ACC-1", "(reason: ticket", "ÉCLAIR", "changed 1"):
            query = Query(search=search)
            expected = expected_ids(logged, search, query, customer_id)
            assert [key for key, _ in mine.page(query, 0, 100_000)] == expected
            assert mine.count(query) == len(expected)


def test_new_entries_are_found_and_the_chain_still_verifies(logged: Database) -> None:
    source = audit.grid_source(logged, ADMIN)
    query = Query(search="Unmistakable Wombat")
    assert source.count(query) == 0
    customers.create_customer(logged, ADMIN, {"name": "Unmistakable Wombat Ltd"})
    source.refresh()
    assert source.count(query) == 1
    assert audit.verify(logged, ADMIN).message.startswith("OK ")


def test_the_audit_exports_cells_are_csv_cell_of_the_values(logged: Database) -> None:
    """The Message, Data and Customer columns are computed: their cells are neutralised in
    Python, in place (a message starting with =, a customer named +1415...), the others by SQL."""
    from carriertui.grid.export import csv_cell

    def csv_lines(rows: list[Any]) -> str:  # the CSV text the rows give
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(rows)
        return buffer.getvalue()

    source = audit.grid_source(logged, ADMIN)
    query = Query(sort=(SortKey("created_at", descending=True),))
    expected = [[csv_cell(v) for v in values] for _k, values in source.page(query, 0, 10**5)]
    cells = [row for batch in source.iter_csv_cells(query, batch=7) for row in batch]
    assert csv_lines(cells) == csv_lines(expected)
    flat = [cell for row in cells for cell in row]
    assert "'+14155550100 Ltd" in flat
    assert any(isinstance(cell, str) and cell.startswith("'=HYPERLINK(1) changed") for cell in flat)


# -- migration ---------------------------------------------------------------------------------


def structure(db: Database) -> list[tuple[Any, ...]]:
    """The schema objects on the audit table as the database describes them."""
    with db.read() as session:
        connection = session.connection()
        if db.backend == "postgresql":
            rows = connection.execute(
                text(
                    "SELECT indexname, regexp_replace(indexdef, ' ON \\S+\\.', ' ON ') "
                    "FROM pg_indexes WHERE tablename = 'audit_entry' "
                    "AND schemaname = ANY (current_schemas(false)) ORDER BY indexname"
                )
            )
        else:
            rows = connection.execute(
                text(
                    "SELECT type, name, sql FROM sqlite_master "
                    "WHERE name LIKE 'audit_entry%' OR tbl_name = 'audit_entry' ORDER BY name"
                )
            )
        return [tuple(row) for row in rows]


def make_version_3(db: Database) -> None:
    """Back to what schema version 3 had: no search index, no triggers keeping one."""
    with db.write() as session:
        connection = session.connection()
        if db.backend == "postgresql":
            connection.exec_driver_sql(f"DROP INDEX {audit_search.PG_INDEX}")
        else:
            for name in ("insert", "update", "delete"):
                connection.exec_driver_sql(f"DROP TRIGGER audit_entry_search_{name}")
            connection.exec_driver_sql(f"DROP TABLE {audit_search.FTS_TABLE}")
        connection.exec_driver_sql(
            "UPDATE carriertui_meta SET value = '3' WHERE key = 'schema_version'"
        )


def test_a_version_3_database_migrates_to_the_structure_of_a_new_one(backend) -> None:
    db = backend.open()
    write_entries(db, 60)
    new_structure = structure(db)
    assert any(
        audit_search.PG_INDEX in str(row) or audit_search.FTS_TABLE in str(row)
        for row in new_structure
    )
    before_search = expected_ids(db, "orca", Query())
    make_version_3(db)
    assert db.schema_version() == 3
    with db.read() as session:  # asked afresh: the Database remembers what it found at first
        assert audit_search.index_for(session.connection()) is None
    db.dispose()

    upgraded = backend.open()  # create_schema() migrates
    assert upgraded.schema_version() == SCHEMA_VERSION
    assert structure(upgraded) == new_structure
    source = audit.grid_source(upgraded, ADMIN)
    assert source._search_index is not None
    # The entries already there are in the index, and so are new ones.
    assert [key for key, _ in source.page(Query(search="orca"), 0, 1000)] == before_search
    customers.create_customer(upgraded, ADMIN, {"name": "After The Upgrade"})
    source.refresh()
    assert source.count(Query(search="after the upgrade")) == 1
    assert audit.verify(upgraded, ADMIN).message.startswith("OK ")
    with pytest.raises(Exception, match="append-only"), upgraded.write() as session:
        session.connection().exec_driver_sql("DELETE FROM audit_entry")
    assert upgraded.create_schema() == SCHEMA_VERSION  # idempotent


def test_a_version_8_database_without_the_index_gets_it(backend) -> None:
    """Versions 5 to 8 were built beside version 4's index: a database that reached 8 without
    it gets it at version 9; one that has it keeps it as it is."""
    db = backend.open()
    write_entries(db, 30)
    new_structure = structure(db)
    expected = expected_ids(db, "orca", Query())
    make_version_3(db)
    with db.write() as session:
        session.connection().exec_driver_sql(
            "UPDATE carriertui_meta SET value = '8' WHERE key = 'schema_version'"
        )
    db.dispose()

    upgraded = backend.open()
    assert upgraded.schema_version() == SCHEMA_VERSION
    assert structure(upgraded) == new_structure
    source = audit.grid_source(upgraded, ADMIN)
    assert [key for key, _ in source.page(Query(search="orca"), 0, 1000)] == expected


def test_the_sqlite_index_stays_right_when_the_guard_is_dropped_and_rows_change(
    tmp_path: Path,
) -> None:
    """Entries edited or deleted behind the append-only guard (tampering; verify catches it)
    are still searched by what they hold now (the FTS table is kept by triggers)."""
    db = open_database(f"sqlite:///{tmp_path / 'tampered.sqlite'}")
    write_entries(db, 30)
    with db.write() as session:
        chain.drop_append_only_guard(session)
        connection = session.connection()
        connection.exec_driver_sql(
            "UPDATE audit_entry SET message = 'Edited Platypus' WHERE id = 5"
        )
        connection.exec_driver_sql("DELETE FROM audit_entry WHERE id = 6")
    source = audit.grid_source(db, ADMIN)
    assert source._search_index is not None
    assert [key for key, _ in source.page(Query(search="platypus"), 0, 10)] == [5]
    for search in ("changed 5", "changed 6", "orca"):
        expected = expected_ids(db, search, Query())
        assert [key for key, _ in source.page(Query(search=search), 0, 100)] == expected
    db.dispose()


def test_the_search_index_is_looked_up_once_per_database(backend) -> None:
    """Opening an audit tab asks the catalog once per Database, not on every open."""
    db = backend.open()
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        first = audit.grid_source(db, ADMIN)._search_index
        asked = len(statements)
        assert asked >= 1
        again = audit.grid_source(db, ADMIN)._search_index
        assert len(statements) == asked  # the second open ran no query at all
        assert first is not None and again is not None
        assert (again.sqlite_table, again.postgres_document) == (
            first.sqlite_table,
            first.postgres_document,
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    db.dispose()
