"""The CDR import's PostgreSQL writer: COPY into a staging table, then one INSERT ... SELECT.

The parsed rows (the importer's stored form) stream through psycopg 3's binary ``COPY`` into a
temporary table of the import's own transaction (``ON COMMIT DROP``, no index, no WAL). At the
end the staged rows are checked and one INSERT ... SELECT moves them into ``cdr``:

- the first row of each call id in the file wins (the later ones are deleted from staging);
- a call id already stored is left alone, in any month: PostgreSQL can only make a call id
  unique per partition, so every stored call id is also in ``cdr_call_id`` (its primary key;
  store/db/partitions.py), and the insert claims each staged call id there first (``INSERT ...
  ON CONFLICT DO NOTHING RETURNING``): only the rows whose call id it claimed go into ``cdr``.
  One index probe and insert per new row, whatever the table holds;
- two imports at once: the second waits on the first's claim of a shared call id, and takes
  nothing the first committed; the claim and the insert run under a transaction advisory lock
  (``IMPORT_LOCK``), taken only for that statement after the COPY, so two imports claiming
  shared call ids in different orders cannot deadlock;
- the hours that received a CDR are marked for the incremental roll-up in the same statement.

Everything is in the import's transaction: killed half-way, nothing is left (the staging table
goes with the connection); imported twice, the second adds nothing. The months the rows fall in
get their partitions first, in a short transaction of their own (store/db/partitions.py).
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from carriertui.store.cdrs.fields import _INSERT_COLUMNS
from carriertui.store.db import partitions

STAGING = "cdr_staging"
# pg_advisory_xact_lock key of "the call-id claim and insert": any constant both imports share.
IMPORT_LOCK = 0x43445249  # "CDRI"
_QUEUED_BATCHES = 3


class PgCopyWriter:
    """The importer's writer on PostgreSQL (the interface of writer._BulkWriter): ``start``,
    ``write`` each batch, ``stop``, ``finish`` (the INSERT ... SELECT), ``close``; then
    ``inserted``, ``hours`` and ``customers`` say what it did."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.connection = session.connection()
        self.driver = self.connection.connection.driver_connection
        self.columns = tuple(_INSERT_COLUMNS)
        self.hours: set[tuple[int, Any]] = set()
        self.customers: set[int] = set()
        self.inserted = 0
        self.staged = 0
        self._failure: BaseException | None = None

    # The COPY runs on a thread of its own while the importer's thread parses the next batch:
    # psycopg sends without the GIL, so the two overlap (as the executemany writer did).

    def start(self) -> None:
        cursor = self.driver.cursor()
        # The staging columns take cdr's own types (whatever a migration made them), read from
        # the catalog: a query on cdr itself would hold a lock on it until the commit, and the
        # partitions for new months are created (in another transaction) before the insert.
        cursor.execute(
            "SELECT attname, format_type(atttypid, atttypmod), atttypid FROM pg_attribute "
            "WHERE attrelid = 'cdr'::regclass AND attnum > 0 AND NOT attisdropped"
        )
        found = {name: (spelled, oid) for name, spelled, oid in cursor.fetchall()}
        definition = ", ".join(f"{name} {found[name][0]}" for name in self.columns)
        cursor.execute(f"CREATE TEMP TABLE {STAGING} ({definition}) ON COMMIT DROP")
        types = [found[name][1] for name in self.columns]
        cursor.close()
        self._queue: queue.Queue[list[tuple[Any, ...]] | None] = queue.Queue(_QUEUED_BATCHES)
        self._thread = threading.Thread(
            target=self._run, args=(types,), name="cdr-copy", daemon=True
        )
        self._thread.start()

    def _run(self, types: list[int]) -> None:
        try:
            cursor = self.driver.cursor()
            statement = f"COPY {STAGING} ({', '.join(self.columns)}) FROM STDIN (FORMAT BINARY)"
            with cursor.copy(statement) as copy:
                copy.set_types(types)
                while (rows := self._queue.get()) is not None:
                    for row in rows:
                        copy.write_row(row)
                    self.staged += len(rows)
            cursor.close()
        except BaseException as error:  # handed to the parsing thread, raised there
            self._failure = error
            while self._queue.get() is not None:  # let the producer finish putting
                pass

    def write(self, rows: list[tuple[Any, ...]], hours: set[tuple[int, Any]] | None = None) -> None:
        """Queue ``rows`` (stored form, a list this writer now owns) for the COPY. ``hours`` is
        not needed: the marks come from the rows actually inserted, in SQL."""
        if self._failure is not None:
            raise self._failure
        if rows:
            self._queue.put(rows)

    def stop(self) -> None:
        """End the COPY; raise what the COPY thread raised."""
        self._queue.put(None)
        self._thread.join()
        if self._failure is not None:
            raise self._failure

    def finish(self) -> None:
        """Partitions for the staged months, then the staged rows into ``cdr`` (new call ids
        only) and their hours into ``cdr_dirty_hour``, in one statement."""
        if not self.staged:
            return
        cursor = self.driver.cursor()
        try:
            cursor.execute(
                f"SELECT DISTINCT {partitions.MONTH_OF.format('start_time')} "  # noqa: S608
                f"FROM {STAGING}"
            )
            months = [row[0] for row in cursor.fetchall()]
            partitions.ensure_months(self.connection.engine, months)
            for statement in _PREPARE:
                cursor.execute(statement)
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (IMPORT_LOCK,))
            cursor.execute(_move_sql(self.columns))
            for customer_id, hour, added in cursor.fetchall():
                self.hours.add((customer_id, hour))
                self.customers.add(customer_id)
                self.inserted += added
        finally:
            cursor.close()

    def close(self) -> None:
        """Nothing to give back: the staging table drops with the transaction."""


# Run in this order in the import's transaction, before the move (under IMPORT_LOCK). Constants
# only: no value is interpolated.
_PREPARE = (
    # Memory for hashing the staged call ids (the default 4 MB spills 200,000 to disk).
    "SET LOCAL work_mem = '256MB'",
    # The planner's row count for the staging table, for its choice below.
    f"ANALYZE {STAGING}",
    # A call id repeated within the file: the first row (in file order) stays. A hash of the
    # staged call ids; it usually finds none.
    f"DELETE FROM {STAGING} s USING (SELECT call_id, MIN(ctid) AS first FROM {STAGING} "  # noqa: S608
    "GROUP BY call_id HAVING COUNT(*) > 1) r WHERE s.call_id = r.call_id AND s.ctid <> r.first",
)

def _move_sql(columns: tuple[str, ...]) -> str:
    names = ", ".join(columns)
    hour = "(date_trunc('hour', start_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
    # Column names are constants; no value is interpolated.
    staged = ", ".join(f"s.{name}" for name in columns)
    return (
        f"WITH claimed AS (INSERT INTO {partitions.CALL_IDS} (call_id) "  # noqa: S608
        f"SELECT call_id FROM {STAGING} ON CONFLICT (call_id) DO NOTHING RETURNING call_id), "
        f"fresh AS (INSERT INTO cdr ({names}) SELECT {staged} FROM {STAGING} s "
        "JOIN claimed c ON c.call_id = s.call_id "
        "RETURNING customer_id, start_time), "
        f"touched AS (SELECT customer_id, {hour} AS hour_start, COUNT(*) AS added "
        "FROM fresh GROUP BY 1, 2), "
        "marked AS (INSERT INTO cdr_dirty_hour (customer_id, hour_start, hour_end) "
        "SELECT customer_id, hour_start, hour_start + interval '1 hour' FROM touched "
        "ON CONFLICT (customer_id, hour_start) DO NOTHING) "
        "SELECT customer_id, hour_start, added FROM touched"
    )
