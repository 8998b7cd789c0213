"""CDRs: bulk import from CSV (validated; all or nothing, or skip bad rows) and the CDR report.

Throughput matters (issue 7: >= 200,000 rows/s into SQLite), so CDRs never pass through ORM
objects or SQLAlchemy's per-value type conversion: each row is validated into the stored form
(UTC text or an aware datetime, money as a scaled integer as FixedDecimal stores it) and written
with the driver's ``executemany`` inside the write transaction of :meth:`Database.write`.

One import is one transaction: the CDRs, the hours they touched (``cdr_dirty_hour``, for the
incremental roll-up) and one audit entry commit together, or nothing does, also when the process
is killed half-way. ``ON CONFLICT (call_id) DO NOTHING`` makes re-importing a file add nothing.

Parsing and inserting each take about half of an import's time. For a big file on SQLite a
child process parses (protocol.py; the parser is fields.py, rows.py and csvsource.py, which start
without SQLAlchemy) while this process inserts (writer.py; pg_copy.py on PostgreSQL), so the two
run on two cores; the transaction stays here, so the guarantees above hold.
"""

from __future__ import annotations

import contextlib
import gc
import operator
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from carriertui.store import audit
from carriertui.store.cdr_rating import CdrRater, load_rater
from carriertui.store.cdrs import csvsource
from carriertui.store.cdrs.csvsource import (  # noqa: F401 (cdrs.X for the callers)
    ParsedBatch,
    _CsvSource,
    parsed_batches,
    touched_hours,
)
from carriertui.store.cdrs.fields import (  # noqa: F401 (cdrs.X for the callers)
    _INSERT_COLUMNS,
    CSV_COLUMNS,
    MAX_CALL_ID,
    MAX_DEST_NAME,
    MAX_MONEY,
    MAX_NUMBER,
    MAX_PDD_MS,
    MAX_REASON,
    MAX_SECONDS,
    RATED_COLUMNS,
    REJECT_COLUMNS,
    CdrImportError,
    _sqlite_time,
    check_header,
    rates_every_row,
)
from carriertui.store.cdrs.protocol import _ParsingProcess
from carriertui.store.cdrs.reports import (  # noqa: F401 (cdrs.X for the callers)
    _REPORT_TYPES,
    REPORT_COLUMNS,
    REPORT_KINDS,
    CdrReport,
    cdr_source,
    default_report_name,
    export_cdr_report,
    report_batches,
    report_period,
)
from carriertui.store.cdrs.results import (
    BadRow,
    ImportReport,
    ProgressCallback,
    _refusal,
    _Rejects,
    default_rejects_path,
)
from carriertui.store.cdrs.rows import _RowParser
from carriertui.store.cdrs.writer import _BulkWriter
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.tables import Customer
from carriertui.store.db.types import MONEY_SCALE
from carriertui.store.enums import AuditAction, HttpVerb, Role

TABLE = "cdr"

DEFAULT_ERROR_CAP = 100
BATCH_ROWS = 20_000


def _writer_for(session: Any, backend: str) -> Any:
    """The import's writer: executemany on SQLite; COPY through a staging table on PostgreSQL
    (store/cdrs/pg_copy.py: the same interface, partitions and the call-id check). Before
    the first row takes an id the import holds the CDR ids' shared lock (locks.share_cdr_ids),
    so an alarm evaluation knows when every id below the highest is committed."""
    from carriertui.store.db import locks

    locks.share_cdr_ids(session)
    if backend == "postgresql":
        from carriertui.store.cdrs.pg_copy import PgCopyWriter

        return PgCopyWriter(session)
    return _BulkWriter(session, backend)


def _customer_codes(session: Any) -> dict[str, int]:
    rows = session.connection().execute(select(col(Customer.account_code), col(Customer.id)))
    return {code: customer_id for code, customer_id in rows if code}


def _audit_import(
    session: Any, actor: Actor, report: ImportReport, customers: set[int], source: str
) -> None:
    audit.record(
        session,
        actor,
        action=AuditAction.CREATE,
        verb=HttpVerb.POST,
        table=TABLE,
        key=report.file_name,
        message=(
            f"Imported {report.imported} CDRs from {source} {report.file_name} "
            f"({report.duplicates} already present, {report.bad_rows} bad rows skipped"
            + (f", {report.rated} rated with the rate cards)" if report.rated else ")")
        ),
        after={
            "file": report.file_name,
            "rows": report.rows,
            "rated": report.rated,
            "imported": report.imported,
            "duplicates": report.duplicates,
            "bad_rows": report.bad_rows,
            "rejects": report.rejects_path.name if report.rejects_path else None,
        },
        customer_id=next(iter(customers)) if len(customers) == 1 else None,
    )


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a bulk load: a million new row tuples would trigger
    hundreds of collections that find nothing (reference counting frees the rows anyway)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def import_cdr_file(
    db: Database,
    actor: Actor,
    path: Path,
    *,
    skip_bad: bool = False,
    rejects_path: Path | None = None,
    on_progress: ProgressCallback | None = None,
    error_cap: int = DEFAULT_ERROR_CAP,
    tech_prefix: str = "",
) -> ImportReport:
    """Import the CDRs of CSV file ``path`` (the header names the columns, in any order).

    A row without money (no ``charge`` and ``cost`` columns, or both empty on the row) is rated
    with its customer's cards (store/cdrs/pricing.py): billed_duration and charge from the
    customer card, cost from the provider card, in force at the call's start; ``tech_prefix``
    is taken off dialled numbers that start with it. A row that cannot be rated (no card, no
    rate for the number) is a bad row like any other, its reason naming the number. A row
    with money keeps it.

    Default: a file with any bad row is refused whole (CdrImportError listing the first
    ``error_cap`` bad lines and reasons; nothing imported). ``skip_bad``: the good rows are
    imported and the bad ones written to ``rejects_path`` (default ``NAME.rejects.csv`` next to
    the file) with their line and reason. Rows whose call_id exists already are counted as
    duplicates and left alone. Audited as one entry.

    A file of CHILD_MIN_BYTES or more is parsed by a child process while this one inserts
    (:class:`_ParsingProcess`); a smaller one here, where a child's start would cost more than
    the overlap gains. Both read the file with the same code and give the same result.
    """
    actor.require(Role.OPERATOR, "import CDRs")
    path = Path(path)
    started = time.perf_counter()
    report = ImportReport(file_name=path.name)
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below, read by the text wrapper
    except OSError as error:
        raise CdrImportError(f"cannot read {path}: {error.strerror or error}") from error
    with raw, contextlib.ExitStack() as cleanup:
        size = os.fstat(raw.fileno()).st_size
        group_rows = min(csvsource._GROUP_ROWS, BATCH_ROWS)
        source = _CsvSource(raw, path.name, group_rows=group_rows)
        header_cells = source.header()
        if header_cells is None:
            raise CdrImportError(f"{path.name} is empty: expected a header row")
        header = check_header(header_cells)
        rejects: _Rejects | None = None
        if skip_bad:
            target = Path(rejects_path) if rejects_path else default_rejects_path(path)
            try:
                rejects = _Rejects(target, header)
            except OSError as error:
                raise CdrImportError(
                    f"cannot write the reject file {target}: {error.strerror or error}"
                ) from error
            cleanup.callback(rejects.discard)
            report.rejects_path = target
        # Started before the transaction: its start-up overlaps the wait for the write lock.
        child = (
            cleanup.enter_context(_ParsingProcess(raw, path.name))
            if size >= CHILD_MIN_BYTES
            and db.backend in _CHILD_BACKENDS
            and _ParsingProcess.available()
            else None
        )
        with _collector_paused(), db.write() as session:
            customers = _customer_codes(session)
            sqlite = db.backend == "sqlite"
            # A file without money is rated by the parser (in the child too); one with the
            # money columns but a row without has that row rated here (_PendingRater).
            rater = (
                load_rater(session, actor, tech_prefix=tech_prefix)
                if rates_every_row(header)
                else None
            )
            pending = _PendingRater(db, actor, tech_prefix, rater)
            if child is not None:
                child.send_job(
                    header=header,
                    customers=customers,
                    sqlite=sqlite,
                    refusing=not skip_bad,
                    cap=error_cap,
                    batch_rows=BATCH_ROWS,
                    hours=True,  # work the child does instead of this process
                    chunk_bytes=csvsource._CHUNK_BYTES,
                    group_rows=group_rows,
                    rater=rater,
                )
                batches = child.batches()
            else:
                batches = parsed_batches(
                    source,
                    _RowParser(header, customers, sqlite, rater),
                    refusing=not skip_bad,
                    cap=error_cap,
                    batch_rows=BATCH_ROWS,
                )
            writer = _writer_for(session, db.backend)
            try:
                writer.start()
                try:
                    _import_rows(
                        batches,
                        writer,
                        report,
                        rejects,
                        size,
                        on_progress,
                        cap=error_cap,
                        pending=pending,
                        refusing=not skip_bad,
                    )
                finally:
                    writer.stop()
                if report.bad_rows and not skip_bad:
                    raise CdrImportError(
                        _refusal(path.name, report), report.errors, report.bad_rows
                    )
                writer.finish()
            finally:
                writer.close()
            report.duplicates = report.rows - report.bad_rows - writer.inserted
            report.imported = writer.inserted
            report.hours_touched = len(writer.hours)
            _audit_import(session, actor, report, writer.customers, "file")
        if rejects is not None:
            rejects.commit()
    report.elapsed_s = time.perf_counter() - started
    return report


class _PendingRater:
    """Rates the rows a parser handed over unrated (ParsedBatch.pending), with the cards read
    when the first such row comes: through a read session of its own, not the import's
    connection, which the insert thread (PostgreSQL) may be using at that moment."""

    def __init__(self, db: Database, actor: Actor, tech_prefix: str, rater: Any) -> None:
        self.db = db
        self.actor = actor
        self.tech_prefix = tech_prefix
        self._rater = None if rater is None else CdrRater.of(rater)
        self.rated = 0

    def rate(
        self, pending: Iterable[tuple[int, tuple[Any, ...], list[str] | None]]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[int, str, list[str] | None]]]:
        """The rated rows, and (line, reason, fields) of those that cannot be rated."""
        if self._rater is None:
            self._rater = CdrRater(self.db, self.actor, tech_prefix=self.tech_prefix)
        rows: list[tuple[Any, ...]] = []
        bad: list[tuple[int, str, list[str] | None]] = []
        for line, row, fields in pending:
            result = self._rater.rate_row(row)
            if isinstance(result, str):
                bad.append((line, f"rating: {result}", fields))
            else:
                rows.append(result)
        self.rated += len(rows)
        return rows, bad


def _import_rows(
    batches: Iterable[ParsedBatch],
    writer: _BulkWriter,
    report: ImportReport,
    rejects: _Rejects | None,
    size: int,
    on_progress: ProgressCallback | None,
    *,
    cap: int,
    pending: _PendingRater | None = None,
    refusing: bool = True,
) -> None:
    pending_bad = 0  # rows of ParsedBatch.pending that could not be rated
    for batch in batches:
        bad = batch.bad
        rated: list[tuple[Any, ...]] = []
        if batch.pending and pending is not None:
            rated, unrated = pending.rate(batch.pending)
            if unrated:
                pending_bad += len(unrated)
                bad = sorted([*bad, *unrated], key=_LINE)
        for line, reason, fields in bad:
            if len(report.errors) < cap:
                report.errors.append(BadRow(line, reason))
            if rejects is not None and fields is not None:
                rejects.add(line, reason, fields)
        report.rows = batch.rows_read
        report.bad_rows = batch.bad_rows + pending_bad
        report.rated = batch.rows_rated + (pending.rated if pending is not None else 0)
        # A refused file's batches hold no rows once a bad one is read (it will roll back).
        if not (refusing and report.bad_rows):
            writer.write(batch.rows, batch.hours)
            writer.write(rated)
        if on_progress is not None and not batch.last:
            on_progress(batch.rows_read, batch.bytes_read, size)
    report.errors.sort(key=_ERROR_LINE)
    if on_progress is not None:
        on_progress(report.rows, size, size)


_LINE = operator.itemgetter(0)
_ERROR_LINE = operator.attrgetter("line")


# -- the parsing process ------------------------------------------------------------------------

# Measured on 2 cores with benchmarks/summary_bench.py's rows: at 8 MB (48,000 rows) the
# child's start and the wait for its first batch cost what the overlap gains; at 16 MB it
# gains, and at 1M rows (165 MB) the import is 1.3-1.45x faster (more with the second core
# idle, less when other work takes it).
CHILD_MIN_BYTES = 16 << 20
# Not PostgreSQL: there the server is the bottleneck (about 15,000 rows/s here, child or not)
# and the insert thread already overlaps the parsing. The child works there too (tested).
_CHILD_BACKENDS = frozenset({"sqlite"})


# -- generated CDRs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CdrValues:
    """One CDR as a service caller (the demo, a test) hands it over: already valid."""

    call_id: str
    customer_id: int
    start_time: datetime  # aware
    source_cli: str
    dest_number: str
    dest_name: str
    duration: int
    billed_duration: int
    sip_code: int
    release_reason: str
    pdd_ms: int
    charge: Decimal
    cost: Decimal
    direction: str
    source_ip: str


def stored_row(values: CdrValues, sqlite: bool) -> tuple[Any, ...]:
    moment = values.start_time.astimezone(UTC)
    return (
        values.call_id,
        values.customer_id,
        _sqlite_time(moment) if sqlite else moment,
        values.source_cli,
        values.dest_number,
        values.dest_name,
        values.duration,
        values.billed_duration,
        values.sip_code,
        values.release_reason,
        values.pdd_ms,
        int(values.charge.scaleb(MONEY_SCALE)),
        int(values.cost.scaleb(MONEY_SCALE)),
        values.direction,
        values.source_ip,
    )


def insert_cdrs(
    db: Database,
    actor: Actor,
    batches: Iterable[Iterable[CdrValues]],
    *,
    source: str,
) -> ImportReport:
    """Add CDRs that are valid already (generated, not read from a file) in one transaction,
    marked for the roll-up and audited as one entry, as an import is. ``source`` names them
    in the audit log (e.g. "demo seed 20261126")."""
    actor.require(Role.OPERATOR, "import CDRs")
    started = time.perf_counter()
    report = ImportReport(file_name=source)
    sqlite = db.backend == "sqlite"
    with _collector_paused(), db.write() as session:
        writer = _writer_for(session, db.backend)
        try:
            writer.start()
            try:
                for batch in batches:
                    rows = [stored_row(values, sqlite) for values in batch]
                    report.rows += len(rows)
                    writer.write(rows)
            finally:
                writer.stop()
            writer.finish()
        finally:
            writer.close()
        report.imported = writer.inserted
        report.duplicates = report.rows - writer.inserted
        report.hours_touched = len(writer.hours)
        _audit_import(session, actor, report, writer.customers, "generator")
    report.elapsed_s = time.perf_counter() - started
    return report
