"""The row source's streaming reads: every row of a query, in batches, as the values the
columns' types give (:meth:`RowStreams.iter_rows`: the CDR report, copies) or as CSV cells the
database has already spelled (:meth:`RowStreams.iter_csv_cells`: the grid's Export).

Mixed into :class:`carriertui.store.db.rowsource.SqlRowSource`, which owns the SQL (the
conditions, the order) and the columns' readers (store/db/cells.py); nothing here builds a
WHERE or an ORDER BY. Neither loads the result into memory: SQLite's cursor steps as rows are
fetched, PostgreSQL reads through a server-side cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, FromClause, select

from carriertui.grid.model import Column, Query, Row
from carriertui.store.db.cells import FORMULA_START_CHARACTERS, csv_text_cell
from carriertui.store.db.engine import BaseDatabase as Database

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import UnaryExpression


def check_range(offset: int, limit: int) -> None:
    if offset < 0 or limit < 0:
        raise ValueError(f"offset and limit must not be negative (got {offset}, {limit})")


class RowStreams:
    """SqlRowSource's iter_rows and iter_csv_cells (they use its SQL and readers)."""

    if TYPE_CHECKING:
        # What the streams use of SqlRowSource, declared for the type checker.
        columns: Sequence[Column]
        _db: Database
        _postgres: bool
        _selectable: FromClause
        _key: ColumnElement[Any]
        _raw_values: list[ColumnElement[Any]]
        _raw_converters: list[tuple[int, Callable[[Any], Any]]]
        _csv_readers: list[tuple[ColumnElement[Any], Callable[[Any], Any] | None]]

        def _conditions(self, query: Query) -> list[ColumnElement[bool]]: ...
        def _order_by(
            self, query: Query, *, reverse: bool = False
        ) -> list[UnaryExpression[Any]]: ...

    def iter_rows(
        self, query: Query, offset: int = 0, limit: int | None = None, batch: int = 5000
    ) -> Iterator[list[Row]]:
        check_range(offset, 0 if limit is None else limit)
        if batch <= 0:
            raise ValueError("batch must be positive")
        # The raw stored values, converted below a column at a time: SQLAlchemy's per-value
        # TypeDecorator calls would make this (and so every export) twice as slow.
        statement = (
            select(self._key, *self._raw_values)
            .select_from(self._selectable)
            .where(*self._conditions(query))
            .order_by(*self._order_by(query))
        )
        if offset:
            statement = statement.offset(offset)
        if limit is not None:
            statement = statement.limit(limit)
        statement = statement.execution_options(stream_results=True, yield_per=batch)
        converters = self._raw_converters
        with self._db.read() as session:
            result = session.connection().execute(statement)
            try:
                for part in result.partitions(batch):
                    if len(self._raw_values) == 0:
                        yield [(row[0], ()) for row in part]
                        continue
                    columns: list[Any] = list(zip(*part, strict=True))
                    for index, convert in converters:
                        columns[index] = [None if v is None else convert(v) for v in columns[index]]
                    yield list(zip(columns[0], zip(*columns[1:], strict=True), strict=True))
            finally:
                result.close()

    def iter_csv_cells(
        self,
        query: Query,
        offset: int = 0,
        limit: int | None = None,
        *,
        positions: Sequence[int] | None = None,
        batch: int = 5000,
    ) -> Iterator[list[Sequence[Any]]]:
        check_range(offset, 0 if limit is None else limit)
        if batch <= 0:
            raise ValueError("batch must be positive")
        chosen = range(len(self.columns)) if positions is None else tuple(positions)
        readers = [self._csv_readers[i] for i in chosen]
        cells: list[ColumnElement[Any]] = [
            cell.label(f"c{i}") for i, (cell, _convert) in enumerate(readers)
        ]
        statement = (
            select(*cells or [self._key])
            .select_from(self._selectable)
            .where(*self._conditions(query))
            .order_by(*self._order_by(query))
        )
        if offset:
            statement = statement.offset(offset)
        if limit is not None:
            statement = statement.limit(limit)
        if self._postgres:
            # A server-side cursor: the whole result never sits in memory.
            statement = statement.execution_options(stream_results=True, yield_per=batch)
        # Computed text is neutralised here, in place, in the few rows that need it; other
        # conversions rebuild the batch a column at a time.
        texts = [i for i, (_cell, convert) in enumerate(readers) if convert is csv_text_cell]
        converters = [
            (i, convert)
            for i, (_cell, convert) in enumerate(readers)
            if convert is not None and convert is not csv_text_cell
        ]
        with self._db.read() as session:
            result = session.connection().execute(statement)
            if self._postgres:
                # Any: a list of plain tuples on SQLite, a sequence of Rows on PostgreSQL.
                batches: Iterator[Any] = result.partitions(batch)
            else:
                # The DBAPI cursor's plain tuples (SQLite's cursor steps as rows are fetched):
                # the SQL gives each column's cell already (or the converters below, which
                # apply the column type's own result processing, do), and a Row per record
                # would cost a fifth of the export.
                cursor = result.cursor
                batches = iter(lambda: cursor.fetchmany(batch), [])
            try:
                for rows in batches:
                    if not cells:
                        yield [() for _ in rows]
                        continue
                    if converters:
                        columns: list[Any] = list(zip(*rows, strict=True))
                        for index, convert in converters:
                            columns[index] = [convert(v) for v in columns[index]]
                        rows = list(zip(*columns, strict=True))
                    elif texts:
                        rows = list(rows)
                    for index in texts:
                        for number, row in enumerate(rows):
                            value = row[index]
                            if value and value[0] in FORMULA_START_CHARACTERS:
                                rows[number] = (*row[:index], "'" + value, *row[index + 1 :])
                    yield rows
            finally:
                result.close()
