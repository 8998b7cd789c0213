"""The CDR import's PostgreSQL writer: each batch's call ids claimed, then its new rows COPYed.

For each batch of parsed rows (the importer's stored form), on a thread of its own:

1. the batch's call ids are claimed in ``cdr_call_id`` (every call id stored, its primary key;
   store/db/partitions.py) with one ``INSERT ... SELECT unnest(...) ON CONFLICT DO NOTHING
   RETURNING call_id``: what it returns are the call ids not stored before, in any month and in
   no earlier batch of this import. PostgreSQL can only make a call id unique per partition of
   ``cdr``; this table is the constraint across months, one index probe and insert per row
   whatever ``cdr`` holds;
2. the batch's rows whose call id was claimed (the first row of a call id repeated in the file)
   go into ``cdr`` through psycopg 3's binary ``COPY``, straight into the partitions;
3. the hours they fall in are kept, and marked for the incremental roll-up at the end.

Everything is in the import's transaction: killed half-way, nothing is left (claims, CDRs and
marks roll back together); imported twice, the second claims nothing and adds nothing. Two
imports at once: the first claim takes a transaction advisory lock (``IMPORT_LOCK``), so a second
import's claims wait until the first commits (it then finds the first's call ids claimed; two
imports claiming shared call ids in different orders cannot deadlock).

The months the rows fall in get their partitions before the first COPY, in a short transaction
of their own (store/db/partitions.py). A later batch of a month with no partition yet (a file
reaching back before every month seen so far) creates it in the import's own transaction: the
import then holds ``cdr``'s exclusive lock until it commits, and readers of ``cdr`` wait.
"""

from __future__ import annotations

import queue
import threading
from datetime import date, timedelta
from typing import Any

from carriertui.store.cdrs.fields import _INSERT_COLUMNS
from carriertui.store.db import partitions

# pg_advisory_xact_lock key of "claiming call ids": any constant every import shares.
IMPORT_LOCK = 0x43445249  # "CDRI"
_QUEUED_BATCHES = 3
_HOUR = timedelta(hours=1)
# Constants only: the call ids are bound as one array.
_CLAIM = (
    f"INSERT INTO {partitions.CALL_IDS} (call_id) SELECT unnest(%s::text[]) "
    "ON CONFLICT (call_id) DO NOTHING RETURNING call_id"
)
_MARK = (
    "INSERT INTO cdr_dirty_hour (customer_id, hour_start, hour_end) VALUES (%s, %s, %s) "
    "ON CONFLICT (customer_id, hour_start) DO NOTHING"
)


class PgCopyWriter:
    """The importer's writer on PostgreSQL (the interface of writer._BulkWriter): ``start``,
    ``write`` each batch, ``stop``, ``finish`` (the roll-up marks), ``close``; then
    ``inserted``, ``hours`` and ``customers`` say what it did."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.connection = session.connection()
        self.driver = self.connection.connection.driver_connection
        self.columns = tuple(_INSERT_COLUMNS)
        self._call = self.columns.index("call_id")
        self._customer = self.columns.index("customer_id")
        self._start = self.columns.index("start_time")
        self.hours: set[tuple[int, Any]] = set()
        self.customers: set[int] = set()
        self.inserted = 0
        self.staged = 0
        self._months: set[date] | None = None  # the partitions known, once cdr is written
        self._failure: BaseException | None = None

    # The claims and COPYs run on a thread of their own while the importer's thread parses the
    # next batch: psycopg waits for the server without the GIL, so the two overlap.

    def start(self) -> None:
        cursor = self.driver.cursor()
        # cdr's own column types (whatever a migration made them), read from the catalog: a
        # query on cdr itself would lock it until the commit, and the partitions for new months
        # are created (in another transaction) before the first COPY.
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute "
            "WHERE attrelid = 'cdr'::regclass AND attnum > 0 AND NOT attisdropped"
        )
        found = dict(cursor.fetchall())
        cursor.close()
        types = [found[name] for name in self.columns]
        self._queue: queue.Queue[list[tuple[Any, ...]] | None] = queue.Queue(_QUEUED_BATCHES)
        self._thread = threading.Thread(
            target=self._run, args=(types,), name="cdr-copy", daemon=True
        )
        self._thread.start()

    def _run(self, types: list[int]) -> None:
        try:
            cursor = self.driver.cursor()
            statement = f"COPY cdr ({', '.join(self.columns)}) FROM STDIN (FORMAT BINARY)"
            while (rows := self._queue.get()) is not None:
                self.staged += len(rows)
                fresh = self._claim(cursor, rows)
                if not fresh:
                    continue
                with cursor.copy(statement) as copy:
                    copy.set_types(types)
                    for row in fresh:
                        copy.write_row(row)
                self.inserted += len(fresh)
                at, of = self._start, self._customer
                for row in fresh:
                    self.hours.add((row[of], row[at].replace(minute=0, second=0, microsecond=0)))
            cursor.close()
        except BaseException as error:  # handed to the parsing thread, raised there
            self._failure = error
            while self._queue.get() is not None:  # let the producer finish putting
                pass

    def _claim(self, cursor: Any, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The rows of call ids new to cdr (the first of a call id repeated in the batch), after
        their months' partitions are made."""
        months = {partitions.first_of_month(row[self._start]) for row in rows}
        if self._months is None:
            partitions.ensure_months(self.connection.engine, months)
            cursor.execute(partitions.lock_sql(IMPORT_LOCK))
            self._months = set(months)
        elif not months <= self._months:
            cursor.execute(f"SET LOCAL lock_timeout = '{partitions.LOCK_TIMEOUT}'")
            cursor.execute(partitions.lock_sql(partitions.PARTITION_LOCK))
            partitions.create_partitions(self.connection, months)
        self._months.update(months)
        call = self._call
        cursor.execute(_CLAIM, ([row[call] for row in rows],))
        claimed = {found for (found,) in cursor.fetchall()}
        fresh = []
        for row in rows:
            if row[call] in claimed:
                claimed.discard(row[call])  # a later row of the same call id is a duplicate
                fresh.append(row)
        return fresh

    def write(self, rows: list[tuple[Any, ...]], hours: set[tuple[int, Any]] | None = None) -> None:
        """Queue ``rows`` (stored form, a list this writer now owns). ``hours`` is not needed:
        the marks come from the rows actually inserted."""
        if self._failure is not None:
            raise self._failure
        if rows:
            self._queue.put(rows)

    def stop(self) -> None:
        """Wait for the queued batches; raise what the COPY thread raised."""
        self._queue.put(None)
        self._thread.join()
        if self._failure is not None:
            raise self._failure

    def finish(self) -> None:
        """The hours that received a CDR, marked for the incremental roll-up."""
        marks = []
        for customer_id, hour in sorted(self.hours):
            self.customers.add(customer_id)
            marks.append((customer_id, hour, hour + _HOUR))
        if marks:
            cursor = self.driver.cursor()
            try:
                cursor.executemany(_MARK, marks)
            finally:
                cursor.close()

    def close(self) -> None:
        """Nothing to give back."""
