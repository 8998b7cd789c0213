"""Schema version 12: the rate deck tables, on a new database and on one upgraded from 11."""

from __future__ import annotations

from sqlalchemy import inspect, text

from carriertui.store.db.migrations import RATE_TABLES, SCHEMA_VERSION


def test_a_version_11_database_gains_the_rate_tables_on_upgrade(backend):
    db = backend.open()
    assert set(RATE_TABLES) <= set(inspect(db.engine).get_table_names())
    with db.write() as session:
        connection = session.connection()
        for name in reversed(RATE_TABLES):  # dependants first
            connection.execute(text(f"DROP TABLE {name}"))
        connection.execute(text("UPDATE carriertui_meta SET value = '11'"))
    assert db.schema_version() == 11
    assert not set(RATE_TABLES) & set(inspect(db.engine).get_table_names())
    db.dispose()

    upgraded = backend.open(create=False)
    assert upgraded.ensure_schema(upgrade=True) == SCHEMA_VERSION
    names = set(inspect(upgraded.engine).get_table_names())
    assert set(RATE_TABLES) <= names
    indexes = {index["name"] for index in inspect(upgraded.engine).get_indexes("rate")}
    assert "ix_rate_card_prefix_from" in indexes
