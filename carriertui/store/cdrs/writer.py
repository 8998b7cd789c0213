"""The CDR import's SQLite writer: the driver's executemany inside the import's write transaction,
and the hours its rows touched marked for the incremental roll-up (cdr_dirty_hour).
PostgreSQL's writer, with the same interface, is store/cdrs/pg_copy.py.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from datetime import datetime, timedelta
from typing import Any

from carriertui.store.cdrs.csvsource import touched_hours
from carriertui.store.cdrs.fields import _INSERT_COLUMNS, _sqlite_time


class _BulkWriter:
    """executemany on the driver's connection, inside the session's write transaction."""

    def __init__(self, session: Any, backend: str) -> None:
        self.sqlite = backend == "sqlite"
        self.connection = session.connection()
        self.driver = self.connection.connection.driver_connection
        mark = "?" if self.sqlite else "%s"
        # Column names and placeholders only: the values are bound.
        self.insert_sql = (
            f"INSERT INTO cdr ({', '.join(_INSERT_COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join([mark] * len(_INSERT_COLUMNS))}) "
            "ON CONFLICT (call_id) DO NOTHING"
        )
        self.dirty_sql = (
            "INSERT INTO cdr_dirty_hour (customer_id, hour_start, hour_end) "  # noqa: S608
            f"VALUES ({mark}, {mark}, {mark}) "
            "ON CONFLICT (customer_id, hour_start) DO NOTHING"
        )
        self.hours: set[tuple[int, Any]] = set()
        self.inserted = 0
        self.customers: set[int] = set()
        if self.sqlite:
            # A bigger page cache for this connection: the call_id index takes random inserts.
            self.driver.execute("PRAGMA cache_size=-262144")

    # PostgreSQL: the driver does the inserts on a thread of its own while this one parses the
    # next batch; psycopg waits for the server without the GIL, so the two overlap.
    # SQLite: the inserts run on this thread, between batches. sqlite3's executemany takes the
    # GIL back after every row's step, and while the parser holds it (its column checks are
    # long C calls) the insert thread waits up to the switch interval per row: measured, the
    # thread made the import a quarter slower, not faster.

    def start(self) -> None:
        self._failure: BaseException | None = None
        if self.sqlite:
            return
        self._queue: queue.Queue[tuple[list[tuple[Any, ...]], Any] | None] = queue.Queue(maxsize=3)
        self._thread = threading.Thread(target=self._run, name="cdr-insert", daemon=True)
        self._thread.start()

    def write(self, rows: list[tuple[Any, ...]], hours: set[tuple[int, Any]] | None = None) -> None:
        """Insert ``rows`` (a list this writer now owns), or queue them for the insert thread.
        ``hours``: their touched_hours() when the caller has them already."""
        if self._failure is not None:
            raise self._failure
        if not rows:
            return
        if self.sqlite:
            self._insert_and_mark(rows, hours)
        else:
            self._queue.put((rows, hours))

    def _run(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                if self._failure is None:
                    self._insert_and_mark(*item)
        except BaseException as error:  # handed to the parsing thread, raised there
            self._failure = error
            while self._queue.get() is not None:  # let the producer finish putting
                pass

    def stop(self) -> None:
        """Wait until every queued row is inserted; raise what the insert thread raised."""
        if not self.sqlite:
            self._queue.put(None)
            self._thread.join()
        if self._failure is not None:
            raise self._failure

    def _insert_and_mark(
        self, rows: list[tuple[Any, ...]], hours: set[tuple[int, Any]] | None
    ) -> None:
        before = self.inserted
        self._insert(rows)
        if self.inserted > before:  # only batches that added something can have changed an hour
            self.hours.update(hours if hours is not None else touched_hours(rows, self.sqlite))

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        cursor = self.driver.cursor()
        try:
            cursor.executemany(self.insert_sql, rows)
            added = cursor.rowcount
        finally:
            cursor.close()
        self.inserted += max(added, 0)

    def finish(self) -> None:
        """Mark the touched hours for the incremental roll-up."""
        marks = []
        bounds: dict[str, tuple[str, str]] = {}  # customers share hours: convert each once
        for customer_id, hour in sorted(self.hours):
            self.customers.add(customer_id)
            if self.sqlite:
                if hour not in bounds:
                    start = datetime.fromisoformat(hour + ":00:00")
                    bounds[hour] = (_sqlite_time(start), _sqlite_time(start + _HOUR))
                marks.append((customer_id, *bounds[hour]))
            else:
                marks.append((customer_id, hour, hour + _HOUR))
        if marks:
            cursor = self.driver.cursor()
            try:
                cursor.executemany(self.dirty_sql, marks)
            finally:
                cursor.close()

    def close(self) -> None:
        """Give the pooled connection its usual page cache back (also after a failure)."""
        if self.sqlite:
            with contextlib.suppress(sqlite3.Error):
                self.driver.execute("PRAGMA cache_size=-2000")


_HOUR = timedelta(hours=1)
