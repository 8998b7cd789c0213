"""Monthly range partitions of ``cdr`` on PostgreSQL (declarative, on ``start_time``, UTC months).

One partition per UTC calendar month, named ``cdr_yYYYYmMM``, holding ``[first of the month,
first of the next)``. There is no default partition: a CDR of a month with no partition cannot be
inserted, so the importer creates the months its rows fall in before it inserts them, and the
current month and the ``AHEAD`` months after it are created ahead (by the importer and by
``carriertui init``), so the hour a new month starts never waits for DDL.

PostgreSQL enforces a UNIQUE constraint of a partitioned table per partition, so it must hold the
partition key. A call id is unique across months through ``cdr_call_id`` (``CALL_IDS``), one
plain table of every call id stored, its primary key the call id (schema version 16; version 15
had a UNIQUE ``(call_id, start_time)`` on ``cdr``, dropped then): the importer claims each call
id there before it COPYs the CDR (store/cdrs/pg_copy.py). A prune leaves it as it is (a pruned
call id stays refused). SQLite has one plain table and none of this.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine

from carriertui.store.db.locks import xact_lock_sql

AHEAD = 2  # months created ahead of the current one
# pg_advisory_xact_lock key of "creating partitions": two imports may want the same new month.
PARTITION_LOCK = 0x43445250  # "CDRP"

# The wait for the lock creating a partition takes (a big import holds cdr for minutes).
LOCK_TIMEOUT = "10min"
PARENT = "cdr"
# Every call id in cdr, once: the constraint a partitioned cdr cannot have (see above).
CALL_IDS = "cdr_call_id"
# SQL for the UTC month of a timestamptz column, as a date (format with the column).
MONTH_OF = "(date_trunc('month', {} AT TIME ZONE 'UTC'))::date"


def lock_sql(key: int) -> str:
    """``SELECT pg_advisory_xact_lock`` of ``key`` and this schema's cdr table (its OID the
    second key, as every lock of store/db/locks.py), so carriertui databases in two schemas of
    one PostgreSQL database (the tests' xdist workers) do not wait for each other."""
    return xact_lock_sql(key, PARENT)


@dataclass(frozen=True)
class Partition:
    name: str
    month: date  # the first of its month

    @property
    def start(self) -> datetime:
        return datetime(self.month.year, self.month.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime(*_next_month(self.month.year, self.month.month), 1, tzinfo=UTC)


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def first_of_month(moment: date | datetime) -> date:
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return moment.replace(day=1)


def months_ahead(today: date, ahead: int = AHEAD) -> list[date]:
    """The month of ``today`` and the ``ahead`` months after it (firsts of the month)."""
    months = [first_of_month(today)]
    for _ in range(ahead):
        months.append(date(*_next_month(months[-1].year, months[-1].month), 1))
    return months


def partition_name(month: date) -> str:
    return f"{PARENT}_y{month.year:04d}m{month.month:02d}"


def is_partitioned(connection: Any) -> bool:
    """Whether ``cdr`` (in the search path) is a partitioned table."""
    return bool(
        connection.exec_driver_sql(
            "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table "
            "WHERE partrelid = to_regclass('cdr'))"
        ).scalar()
    )


def existing(connection: Any) -> list[Partition]:
    """The partitions ``cdr`` has, oldest first (only those named as this module names them)."""
    rows = connection.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass('cdr')"
    )
    found = []
    for (name,) in rows:
        if len(name) == len("cdr_y2026m01") and name.startswith(f"{PARENT}_y"):
            found.append(Partition(name, date(int(name[5:9]), int(name[10:12]), 1)))
    return sorted(found, key=lambda partition: partition.month)


def create_partitions(connection: Any, months: Iterable[date]) -> list[str]:
    """Create the partitions of ``months`` that do not exist yet; returns the names created.
    In the caller's transaction (creating one locks ``cdr`` until the commit)."""
    have = {partition.month for partition in existing(connection)}
    created = []
    for month in sorted({first_of_month(month) for month in months} - have):
        partition = Partition(partition_name(month), month)
        # Names and bounds are built here from dates, never from input text.
        connection.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {partition.name} PARTITION OF {PARENT} "
            f"FOR VALUES FROM ('{partition.start.isoformat()}') TO ('{partition.end.isoformat()}')"
        )
        created.append(partition.name)
    return created


def ensure_months(
    engine: Engine, months: Iterable[date], *, today: date | None = None
) -> list[str]:
    """The partitions of ``months`` and of the months ahead of ``today`` (default: now, UTC),
    in a short transaction of their own, committed at once; returns the names created.

    Its own transaction, so the import's long one never holds the exclusive lock that creating a
    partition takes (readers of ``cdr`` would wait for the whole import). The caller's
    transaction must not have touched ``cdr`` yet, or this waits for it forever.
    """
    wanted = {first_of_month(month) for month in months}
    wanted.update(months_ahead(today or datetime.now(UTC).date()))
    with engine.connect() as connection:
        have = {partition.month for partition in existing(connection)}
        connection.rollback()
        if wanted <= have:
            return []
        with connection.begin():
            # A caller whose own transaction holds a lock on cdr would wait here forever (two
            # connections of one process: no deadlock PostgreSQL can see); an error instead.
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            connection.exec_driver_sql(lock_sql(PARTITION_LOCK))
            return create_partitions(connection, wanted)


def partition_cdr_table(connection: Any, *, today: date | None = None) -> int:
    """Turn an unpartitioned ``cdr`` into the partitioned one, keeping every row (and its id);
    returns the rows moved. In the caller's transaction: all of it or none of it happens.

    The new table is ``LIKE`` the old one (columns, NOT NULL, the id's sequence as default);
    ``id`` becomes a BIGINT (a year at carrier volume passes 2**31); the primary key becomes
    ``(id, start_time)`` and the call id's UNIQUE ``(call_id, start_time)``, as a partitioned
    table requires. The months the rows fall in and the months ahead get their partitions.
    """
    if is_partitioned(connection):
        return 0
    old = f"{PARENT}_unpartitioned"
    sequence = connection.exec_driver_sql(
        f"SELECT pg_get_serial_sequence('{PARENT}', 'id')"
    ).scalar()
    connection.exec_driver_sql(f"ALTER TABLE {PARENT} RENAME TO {old}")
    # Index names are unique in a schema: the old ones make room for the new table's.
    for (index,) in connection.exec_driver_sql(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = to_regclass('cdr_unpartitioned')"
    ).fetchall():
        connection.exec_driver_sql(f'ALTER INDEX "{index}" RENAME TO "{index}_old"')
    connection.exec_driver_sql(
        f"CREATE TABLE {PARENT} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE (start_time)"
    )
    connection.exec_driver_sql(f"ALTER TABLE {PARENT} ALTER COLUMN id TYPE BIGINT")
    connection.exec_driver_sql(
        f"ALTER TABLE {PARENT} ADD CONSTRAINT {PARENT}_pkey PRIMARY KEY (id, start_time), "
        "ADD CONSTRAINT uq_cdr_call_id UNIQUE (call_id, start_time), "
        f"ADD CONSTRAINT {PARENT}_customer_id_fkey FOREIGN KEY (customer_id) "
        "REFERENCES customer (id)"
    )
    connection.exec_driver_sql(
        f"CREATE INDEX ix_cdr_customer_start ON {PARENT} (customer_id, start_time, id)"
    )
    if sequence:
        connection.exec_driver_sql(f"ALTER SEQUENCE {sequence} AS BIGINT OWNED BY {PARENT}.id")
    months = [
        row[0]
        for row in connection.exec_driver_sql(
            f"SELECT DISTINCT {MONTH_OF.format('start_time')} FROM {old}"  # noqa: S608
        )
    ]
    create_partitions(connection, [*months, *months_ahead(today or datetime.now(UTC).date())])
    moved = connection.exec_driver_sql(
        f"INSERT INTO {PARENT} SELECT * FROM {old}"  # noqa: S608 - constants only
    ).rowcount
    connection.exec_driver_sql(f"DROP TABLE {old}")
    connection.exec_driver_sql(f"ANALYZE {PARENT}")
    return max(moved, 0)


def create_call_ids(connection: Any) -> int:
    """``cdr_call_id`` (the call id, its primary key; the type of cdr's) filled with the call
    ids of ``cdr``; returns the call ids added. In the caller's transaction. The index is built
    after the fill (one sort, not a random insert per row). ``cdr``'s own UNIQUE (call_id,
    start_time) goes: this table is the call id's constraint, and nothing reads ``cdr`` by
    call id (an index less to write per CDR)."""
    spelled = connection.exec_driver_sql(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = to_regclass('cdr') AND attname = 'call_id'"
    ).scalar()
    if connection.exec_driver_sql(f"SELECT to_regclass('{CALL_IDS}')").scalar() is not None:
        return 0
    # A type from the catalog, names constants: no value is interpolated.
    connection.exec_driver_sql(f"CREATE TABLE {CALL_IDS} (call_id {spelled} NOT NULL)")
    connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
    added = connection.exec_driver_sql(
        f"INSERT INTO {CALL_IDS} (call_id) SELECT DISTINCT call_id FROM {PARENT}"  # noqa: S608
    ).rowcount
    connection.exec_driver_sql(
        f"ALTER TABLE {CALL_IDS} ADD CONSTRAINT {CALL_IDS}_pkey PRIMARY KEY (call_id)"
    )
    connection.exec_driver_sql(f"ANALYZE {CALL_IDS}")
    connection.exec_driver_sql(f"ALTER TABLE {PARENT} DROP CONSTRAINT IF EXISTS uq_cdr_call_id")
    return max(added, 0)


def ensure_ahead(database: Any, *, today: date | None = None) -> list[str]:
    """``carriertui init``'s step: the current month's and the next ``AHEAD`` months'
    partitions on PostgreSQL (nothing on SQLite); returns the names created."""
    if database.backend != "postgresql":
        return []
    with database.engine.connect() as connection:
        partitioned = is_partitioned(connection)
    return ensure_months(database.engine, [], today=today) if partitioned else []
