"""The CDR report: a customer's CDRs for a day, a week or a month, as a grid source and as a CSV
export."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import String, and_, literal

from carriertui.grid.export import write_csv_cells
from carriertui.grid.model import Column, ColumnType, Query, SortKey
from carriertui.store.cdrs.fields import CSV_COLUMNS
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.rowsource import SqlRowSource
from carriertui.store.db.tables import Cdr, Customer, table_of
from carriertui.store.enums import Role
from carriertui.store.errors import NotFoundError, ValidationError
from carriertui.store.periods import PeriodKind, period_bounds

# -- the CDR report -----------------------------------------------------------------------------

_REPORT_TYPES = {
    "start_time": ColumnType.TIMESTAMP,
    "duration": ColumnType.INTEGER,
    "billed_duration": ColumnType.INTEGER,
    "sip_code": ColumnType.INTEGER,
    "pdd_ms": ColumnType.INTEGER,
    "charge": ColumnType.MONEY,
    "cost": ColumnType.MONEY,
}
# Titles are the import's header names: a CDR report imports as it is.
REPORT_COLUMNS = tuple(
    Column(name, name, _REPORT_TYPES.get(name, ColumnType.TEXT)) for name in CSV_COLUMNS
)
REPORT_KINDS = (PeriodKind.DAILY, PeriodKind.WEEKLY, PeriodKind.MONTHLY)


@dataclass(frozen=True)
class CdrReport:
    path: Path | None
    rows: int
    customer_code: str
    kind: PeriodKind
    start: datetime
    end: datetime


def cdr_source(
    db: Database, actor: Actor, customer_id: int, start: datetime, end: datetime
) -> SqlRowSource:
    """One customer's CDRs with start_time in [start, end), columns as the import's header."""
    actor.require(Role.VIEWER, "read CDRs")
    with db.read() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFoundError(f"no customer with id {customer_id}")
        code = customer.account_code or str(customer_id)
    table = table_of(Cdr)
    expressions: dict[str, Any] = {
        name: table.c[name] for name in CSV_COLUMNS if name != "customer"
    }
    expressions["customer"] = literal(code, String())
    return SqlRowSource(
        db,
        name=f"cdrs-{code}",
        columns=REPORT_COLUMNS,
        selectable=table,
        expressions=expressions,
        key=table.c.id,
        where=and_(
            table.c.customer_id == customer_id,
            table.c.start_time >= start,
            table.c.start_time < end,
        ),
    )


def report_period(kind: PeriodKind | str, day: date) -> tuple[PeriodKind, datetime, datetime]:
    """The daily, weekly (ISO, Monday 00:00 UTC) or monthly period containing ``day``."""
    try:
        chosen = PeriodKind(kind)
    except ValueError:
        chosen = None
    if chosen is None or chosen not in REPORT_KINDS:
        raise ValidationError("period", "daily, weekly or monthly")
    start, end = period_bounds(chosen, day)
    return chosen, start, end


def report_batches(
    db: Database,
    actor: Actor,
    customer_id: int,
    kind: PeriodKind | str,
    day: date,
    *,
    batch: int = 5000,
) -> tuple[CdrReport, Iterator[list[Any]]]:
    """The report's description and its rows in batches (oldest call first), streamed."""
    report, source = _report_source(db, actor, customer_id, kind, day)
    return report, source.iter_rows(REPORT_ORDER, batch=batch)


REPORT_ORDER = Query(sort=(SortKey("start_time"),))


def _report_source(
    db: Database, actor: Actor, customer_id: int, kind: PeriodKind | str, day: date
) -> tuple[CdrReport, SqlRowSource]:
    kind, start, end = report_period(kind, day)
    source = cdr_source(db, actor, customer_id, start, end)
    code = source.name.removeprefix("cdrs-")
    return CdrReport(None, 0, code, kind, start, end), source


def default_report_name(report: CdrReport) -> str:
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in report.customer_code)
    return f"cdrs-{safe}-{report.kind.value}-{report.start:%Y-%m-%d}.csv"


def export_cdr_report(
    db: Database,
    actor: Actor,
    customer_id: int,
    kind: PeriodKind | str,
    day: date,
    path: Path,
    *,
    on_progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    overwrite: bool = True,
    within: Path | None = None,
) -> CdrReport:
    """Write the customer's CDRs of the period containing ``day`` to ``path`` as CSV (UTC times,
    every column, RFC 4180, formula-safe), through a temporary file renamed when complete.
    ``path`` may be a folder: the file is then named by :func:`default_report_name`.
    ``overwrite`` and ``within`` as for :func:`carriertui.grid.export.write_csv` (the TUI asks
    before it replaces a file and keeps to the export folder unless told otherwise)."""
    report, source = _report_source(db, actor, customer_id, kind, day)
    path = Path(path)
    if path.is_dir():
        path = path / default_report_name(report)
    # The grid's export path: the database spells each cell (UTC times, money in plain
    # notation, formulas neutralised) and batches of plain text are joined as they are, the
    # same file write_csv writes from the values (tests compare the two), at about six times
    # the speed (issue 16: converting to datetimes and Decimals, then formatting each value in
    # Python, took four fifths of the report).
    written = write_csv_cells(
        path,
        REPORT_COLUMNS,
        source.iter_csv_cells(REPORT_ORDER),
        on_progress=on_progress,
        cancelled=cancelled,
        overwrite=overwrite,
        within=within,
    )
    return CdrReport(path, written, report.customer_code, report.kind, report.start, report.end)
