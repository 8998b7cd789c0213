"""The NOC alarm tables' migration: a database from before them gains them on upgrade, with
the partial UNIQUE index that allows one active alarm per rule and customer."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from carriertui.store.db.migrations import ALARM_TABLES, SCHEMA_VERSION


def test_an_older_database_gains_the_alarm_tables_on_upgrade(backend):
    db = backend.open()
    with db.write() as session:
        connection = session.connection()
        for name in ("alarm_event", "alarm", "alarm_watermark", "alarm_rule"):  # dependants first
            connection.execute(text(f"DROP TABLE {name}"))
        connection.execute(
            text("UPDATE carriertui_meta SET value = :v"), {"v": str(SCHEMA_VERSION - 1)}
        )
    assert not set(ALARM_TABLES) & set(inspect(db.engine).get_table_names())
    db.dispose()

    upgraded = backend.open(create=False)
    assert upgraded.ensure_schema(upgrade=True) == SCHEMA_VERSION
    assert set(ALARM_TABLES) <= set(inspect(upgraded.engine).get_table_names())
    with upgraded.write() as session:
        connection = session.connection()
        connection.execute(
            text(
                "INSERT INTO customer (name, name_folded, status, currency, tax_percent, balance,"
                " debit_limit, channels, invoice_schedule, invoice_due_days, created_at, version)"
                " VALUES ('A', 'a', 'Active', 'EUR', 0, 0, 0, 0, 'none', 0, CURRENT_TIMESTAMP, 1)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO alarm_rule (name, metric, window_kind, window_size, min_attempts,"
                " trigger, reset, short_seconds, severity, notify_contact_types, penalty_minutes,"
                " enabled, created_by, created_at) VALUES ('r', 'asr', 'minutes', 15, 10, 30, 31,"
                " 6, 'warning', '', 0, true, 't', CURRENT_TIMESTAMP)"
            )
        )
    insert = text(
        "INSERT INTO alarm (rule_id, customer_id, state, rule_name, metric, severity, threshold,"
        " value, last_value, attempts, raised_at) SELECT r.id, c.id, :state, 'r', 'asr',"
        " 'warning', 30, 10, 10, 20, CURRENT_TIMESTAMP FROM alarm_rule r, customer c"
    )
    with upgraded.write() as session:  # history: any number of cleared ones
        session.connection().execute(insert, {"state": "cleared"})
        session.connection().execute(insert, {"state": "cleared"})
        session.connection().execute(insert, {"state": "raised"})
    with pytest.raises(IntegrityError), upgraded.write() as session:
        session.connection().execute(insert, {"state": "acknowledged"})
