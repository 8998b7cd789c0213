"""A row source over SQL: the grid's sort, filters and search become WHERE / ORDER BY / LIMIT.

Nothing here loads a table into Python: a page is one query, a count is one query (cached per
filter set until :meth:`SqlRowSource.refresh`), an export is one streaming query
(store/db/rowstreams.py, mixed in).

Both backends give the results :mod:`carriertui.grid.model` defines:

- NULL placement is explicit (``NULLS FIRST`` ascending, ``NULLS LAST`` descending; omitted for
  NOT NULL columns, where it changes nothing and would stop PostgreSQL using a plain index).
- Text sorts by code point: SQLite compares BINARY already, PostgreSQL gets ``COLLATE "C"``.
- The search is ``LIKE`` on SQLite (which folds ASCII case only) and ``ILIKE`` under
  ``COLLATE "C"`` on PostgreSQL, which also folds ASCII only whatever the database's locale
  (a plain ILIKE in a UTF-8 locale would match ``É`` to ``é`` and disagree with SQLite).

Indexes, for the budgets in issue 3: index every sortable column. On PostgreSQL an index serves
these ORDER BYs only if it matches them: ``(col COLLATE "C")`` for text, and ``NULLS FIRST``
for a nullable column (``CREATE INDEX ... (name COLLATE "C" NULLS FIRST, id)``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR
from typing import Any

from sqlalchemy import Column as SqlColumn
from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    Text,
    and_,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from carriertui.grid.model import (
    Aggregate,
    Column,
    ColumnType,
    DistinctValue,
    Filter,
    Query,
    Row,
    RowKey,
    distinct_label,
    fold_ascii,
    key_columns_for,
    merge_aggregates,
    search_text_columns,
)
from carriertui.store.db.cells import (
    bound,
    csv_reader,
    is_integer,
    is_text,
    nullable,
    raw_reader,
    storable,
)
from carriertui.store.db.engine import BaseDatabase as Database
from carriertui.store.db.like import (  # noqa: F401 (rowsource.X for the callers)
    LIKE_ESCAPE,
    REPLACEMENT_CHARACTER,
    TrigramIndex,
    check_search,
    like_pattern,
    sqlite_like,
)
from carriertui.store.db.rowstreams import RowStreams
from carriertui.store.db.rowstreams import check_range as _check_range

_COUNT_CACHE_SIZE = 32
# A search whose index candidates are at most this many is answered from them (read, test,
# sort: about 3 µs each on SQLite), not by reading the sort column's index in order.
FEW_CANDIDATES = 30_000
# Below this offset a plain OFFSET is cheap; above it, and past the middle of the result, the page
# is read backwards from the end (which needs the count, usually cached by then).
DEFAULT_REVERSE_MIN_OFFSET = 1000


class SqlRowSource(RowStreams):
    """Rows of ``selectable`` (a table or a join), one value per column from ``expressions``.

    ``expressions`` maps each column key to its SQL expression (normally the table's column, so
    TypeDecorators such as UTCDateTime and FixedDecimal convert the values); ``key`` is the unique,
    non-null row key (the primary key); ``where`` an optional fixed condition (the audit entries
    of one customer).

    Counts are cached per filter set and search (the grid asks for them on every page): rows
    added or removed since show in counts only after :meth:`refresh` (the grid's ``r``).
    ``reverse_min_offset``: pages from this offset on, past the middle of the result, are read
    backwards from its end.
    """

    def __init__(
        self,
        db: Database,
        *,
        name: str,
        columns: Sequence[Column],
        selectable: FromClause,
        expressions: Mapping[str, ColumnElement[Any]],
        key: ColumnElement[Any],
        where: ColumnElement[bool] | None = None,
        reverse_min_offset: int = DEFAULT_REVERSE_MIN_OFFSET,
        search_index: TrigramIndex | None = None,
        key_columns: Sequence[str] = (),
    ) -> None:
        self.columns: Sequence[Column] = tuple(columns)
        self.name = name
        self.key_columns = key_columns_for(self.columns, key_columns)
        missing = [column.key for column in self.columns if column.key not in expressions]
        if missing:
            raise ValueError(f"{name}: no SQL expression for columns {missing}")
        self._db = db
        self._postgres = db.backend == "postgresql"
        self._selectable = selectable
        self._key = key
        self._where = where
        self._expressions = {column.key: expressions[column.key] for column in self.columns}
        self._by_key = {column.key: column for column in self.columns}
        searchable = [
            self._expressions[self.columns[i].key] for i in search_text_columns(self.columns)
        ]
        # Table columns first: the database stops at the first LIKE that matches, and a
        # computed one (a concatenation, a subquery per row) costs more to test.
        self._searchable = sorted(searchable, key=lambda e: not isinstance(e, SqlColumn))
        self._labeled = [
            self._expressions[column.key].label(f"c{index}")
            for index, column in enumerate(self.columns)
        ]
        self._raw_values: list[ColumnElement[Any]] = []
        self._raw_converters: list[tuple[int, Callable[[Any], Any]]] = []
        for index, column in enumerate(self.columns):
            raw, convert = raw_reader(self._expressions[column.key], self._postgres)
            self._raw_values.append(raw.label(f"c{index}"))
            if convert is not None:
                self._raw_converters.append((index + 1, convert))  # + 1: the key comes first
        dialect = db.engine.dialect
        self._csv_readers = [
            csv_reader(self._expressions[column.key], self._postgres, dialect)
            for column in self.columns
        ]
        self.reverse_min_offset = reverse_min_offset
        self._search_index = search_index
        self._candidate_counts: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()
        self._counts: OrderedDict[Any, int] = OrderedDict()
        # Counts a first page of a search is computing (see page): count() waits for them.
        self._counts_coming: dict[Any, threading.Event] = {}

    # -- the protocol ---------------------------------------------------------------------------

    def count(self, query: Query) -> int:
        cache_key = (frozenset(query.filters), query.search)
        with self._lock:
            if cache_key in self._counts:
                self._counts.move_to_end(cache_key)
                return self._counts[cache_key]
            coming = self._counts_coming.get(cache_key)
        if coming is not None and coming.wait(timeout=60):
            with self._lock:
                if cache_key in self._counts:
                    return self._counts[cache_key]
        statement = select(func.count()).select_from(self._selectable)
        statement = statement.where(*self._conditions(query))
        with self._db.read() as session:
            result = int(session.connection().execute(statement).scalar_one())
        with self._lock:
            self._counts[cache_key] = result
            while len(self._counts) > _COUNT_CACHE_SIZE:
                self._counts.popitem(last=False)
        return result

    def total(self) -> int:
        return self.count(Query())

    def refresh(self) -> None:
        with self._lock:
            self._counts.clear()
            # The candidate counts stay: they only choose a plan, and a stale one only costs
            # time, while the grid refreshes at every change of sort, filter or search.

    def page(self, query: Query, offset: int, limit: int) -> list[Row]:
        _check_range(offset, limit)
        if limit == 0:
            return []
        if offset >= self.reverse_min_offset:
            count = self.count(query)
            if offset >= count:
                return []
            if offset > count / 2:
                # OFFSET walks past every skipped row: from the end, the walk is short.
                start = count - offset - limit
                statement = self._rows_statement(query, reverse=True)
                statement = statement.offset(max(start, 0)).limit(limit + min(start, 0))
                rows = self._fetch(statement)
                rows.reverse()
                return rows
        index = self._search_index
        if offset == 0 and len(query.search) >= 3 and index is not None and index.sqlite_table:
            # A search answered from its few candidates reads every match to sort them: its
            # count comes in the same pass (a window count) and goes to count(), which waits
            # for it rather than run the FTS match and the LIKEs a second time (issue 21:
            # the grid asks for both at once). Announced before the plan is chosen, as the
            # grid's count starts at the same moment.
            cache_key = (frozenset(query.filters), query.search)
            with self._lock:
                ready = self._counts_coming.setdefault(cache_key, threading.Event())
            try:
                if self._few_candidates(query):
                    statement = self._rows_statement(query).add_columns(func.count().over())
                    with self._db.read() as session:
                        fetched = list(session.connection().execute(statement.limit(limit)))
                    with self._lock:
                        self._counts[cache_key] = int(fetched[0][-1]) if fetched else 0
                        while len(self._counts) > _COUNT_CACHE_SIZE:
                            self._counts.popitem(last=False)
                    return [(row[0], tuple(row[1:-1])) for row in fetched]
            finally:
                with self._lock:
                    if self._counts_coming.get(cache_key) is ready:
                        del self._counts_coming[cache_key]
                ready.set()
        return self._fetch(self._rows_statement(query).offset(offset).limit(limit))

    def distinct(
        self, query: Query, key: str, *, search: str = "", limit: int = 1000
    ) -> list[DistinctValue]:
        column = self._column(key)
        expression = self._expressions[key]
        number = func.count().label("n")
        conditions = self._conditions(query.without_filter(key))
        by_text = column.type is ColumnType.TEXT
        check_search(search)
        if search and by_text:
            conditions.append(self._like(expression, search))
        statement = (
            select(expression.label("v"), number)
            .select_from(self._selectable)
            .where(*conditions)
            .group_by(expression)
            .order_by(number.desc(), *self._order(expression, descending=False))
        )
        limit = max(limit, 0)
        if not search or by_text:
            statement = statement.limit(limit)
            with self._db.read() as session:
                return [DistinctValue(v, n) for v, n in session.connection().execute(statement)]
        # Any other type is searched by its display text, which SQL cannot compute: stream the
        # groups in order and keep the first ``limit`` that match.
        needle = fold_ascii(search)
        found: list[DistinctValue] = []
        with self._db.read() as session:
            result = session.connection().execute(
                statement.execution_options(stream_results=True, yield_per=1000)
            )
            for value, n in result:
                if len(found) >= limit:
                    break
                if value is not None and needle in fold_ascii(distinct_label(column, value)):
                    found.append(DistinctValue(value, n))
            result.close()
        return found

    def aggregate(self, query: Query, keys: Sequence[str], offset: int, limit: int) -> Aggregate:
        _check_range(offset, limit)
        numeric = [key for key in keys if self._column(key).is_numeric]
        if not numeric or limit == 0:
            return Aggregate()
        values = [self._expressions[key].label(f"a{i}") for i, key in enumerate(numeric)]
        inner = select(*values).select_from(self._selectable).where(*self._conditions(query))
        if offset > 0 or limit < self.count(query):
            inner = inner.order_by(*self._order_by(query)).offset(offset).limit(limit)
        rows = inner.subquery()
        parts = []
        for i in range(len(numeric)):
            cell = rows.c[f"a{i}"]
            parts += [func.count(cell), func.sum(cell), func.min(cell), func.max(cell)]
        with self._db.read() as session:
            result = session.connection().execute(select(*parts)).one()
        aggregates = []
        for i, key in enumerate(numeric):
            count, total, minimum, maximum = result[4 * i : 4 * i + 4]
            if is_integer(self._expressions[key]):
                # PostgreSQL's SUM(bigint) is numeric; the column holds integers.
                total = None if total is None else int(total)
            aggregates.append(Aggregate(int(count), total, minimum, maximum))
        return merge_aggregates(aggregates)

    def index_of(self, query: Query, key: RowKey) -> int | None:
        conditions = self._conditions(query)
        sorts = [(self._expressions[s.key], s.descending) for s in query.sort]
        # The row itself, if the query keeps it: its sort values place it.
        probe = (
            select(literal_column("1"), *[expression for expression, _ in sorts])
            .select_from(self._selectable)
            .where(self._key == key, *conditions)
        )
        with self._db.read() as session:
            connection = session.connection()
            found = connection.execute(probe).first()
            if found is None:
                return None
            tie_breaker = ((self._key, query.key_descending), key)
            before = self._before([*zip(sorts, found[1:], strict=True), tie_breaker])
            statement = (
                select(func.count()).select_from(self._selectable).where(*conditions, before)
            )
            return int(connection.execute(statement).scalar_one())

    # -- SQL building ---------------------------------------------------------------------------

    def _column(self, key: str) -> Column:
        try:
            return self._by_key[key]
        except KeyError:
            raise KeyError(f"{self.name}: no column {key!r}") from None

    def _fetch(self, statement: Select[Any]) -> list[Row]:
        with self._db.read() as session:
            return [(row[0], row[1:]) for row in session.connection().execute(statement)]

    def _rows_statement(self, query: Query, *, reverse: bool = False) -> Select[Any]:
        return (
            select(self._key, *self._labeled)
            .select_from(self._selectable)
            .where(*self._conditions(query))
            .order_by(*self._order_by(query, reverse=reverse))
        )

    def _collated(self, expression: ColumnElement[Any]) -> ColumnElement[Any]:
        if self._postgres and is_text(expression):
            return expression.collate("C")
        return expression

    def _operand(self, expression: ColumnElement[Any], value: Any) -> Any:
        """``value`` to compare with ``_collated(expression)``: on PostgreSQL a bare TEXT
        parameter, as one typed like the column would carry the column's COLLATE and clash with
        the explicit "C" ("collation mismatch between explicit collations")."""
        if self._postgres and is_text(expression):
            return literal(value, Text())
        return value

    def _order(
        self, expression: ColumnElement[Any], *, descending: bool, unindexed: bool = False
    ) -> list[UnaryExpression[Any]]:
        collated = self._collated(expression)
        if unindexed:
            # SQLite's unary + : the same value, but no index can give this order, so the
            # planner drives the query from the WHERE clause (the search's few candidates).
            collated = UnaryExpression(collated, operator=custom_op("+"), type_=collated.type)
        term = collated.desc() if descending else collated.asc()
        if not nullable(expression):
            return [term]
        return [term.nulls_last() if descending else term.nulls_first()]

    def _order_by(self, query: Query, *, reverse: bool = False) -> list[UnaryExpression[Any]]:
        unindexed = self._few_candidates(query)
        terms: list[UnaryExpression[Any]] = []
        for sort in query.sort:
            self._column(sort.key)
            expression = self._expressions[sort.key]
            terms += self._order(
                expression, descending=sort.descending != reverse, unindexed=unindexed
            )
        # The row key last, so that equal sort values still come in one fixed order; in the last
        # sort key's direction, so that an index on that column (SQLite's index entries end with
        # the rowid) gives the whole order read forwards or backwards, with no sort step.
        key_descending = query.key_descending != reverse
        return terms + self._order(self._key, descending=key_descending, unindexed=unindexed)

    def _few_candidates(self, query: Query) -> bool:
        """SQLite, a search the index narrows: whether its candidates are few enough that
        reading them and sorting beats reading the sort column's index in order and testing
        every row (which the planner, blind to the search text, prefers: 250 ms for a search
        with few matches in 1M rows, 12 ms from the candidates). Counted once per search text
        (20-40 ms at 1M rows), and remembered across refresh()."""
        index = self._search_index
        if (
            self._postgres
            or index is None
            or index.sqlite_table is None
            or len(query.search) < 3
            or not self._searchable
        ):
            return False
        with self._lock:
            known = self._candidate_counts.get(query.search)
        if known is None:
            limit = FEW_CANDIDATES + 1
            statement = select(func.count()).select_from(
                self._fts_candidates(index, query.search).limit(limit).subquery()
            )
            with self._db.read() as session:
                known = int(session.connection().execute(statement).scalar_one())
            with self._lock:
                self._candidate_counts[query.search] = known
                while len(self._candidate_counts) > _COUNT_CACHE_SIZE:
                    self._candidate_counts.popitem(last=False)
        return known <= FEW_CANDIDATES

    def _fts_candidates(self, index: TrigramIndex, search: str) -> Select[Any]:
        check_search(search)  # a NUL would end the MATCH string: "unterminated string"
        table_name = index.sqlite_table
        assert table_name is not None
        terms = " AND ".join('"' + gram.replace('"', '""') + '"' for gram in index.trigrams(search))
        fts = sql_table(table_name, sql_column("rowid"))
        return select(fts.c.rowid).where(
            literal_column(table_name).op("MATCH")(literal(terms, Text()))
        )

    def _conditions(self, query: Query) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self._where is not None:
            conditions.append(self._where)
        for spec in query.filters:
            conditions.append(self._filter(spec))
        if query.search:
            check_search(query.search)
            if self._searchable:
                matches = or_(*[self._like(e, query.search) for e in self._searchable])
                candidates = self._candidates(query.search)
                conditions.append(matches if candidates is None else and_(candidates, matches))
            else:
                conditions.append(false())
        return conditions

    def _candidates(self, search: str) -> ColumnElement[bool] | None:
        """The search index's candidate rows for ``search`` (None: no narrowing)."""
        index = self._search_index
        if index is None or len(search) < 3:
            return None
        if self._postgres:
            if index.postgres_document is None:
                return None
            found = self._like(index.postgres_document, search)
        else:
            if index.sqlite_table is None:
                return None
            found = self._key.in_(self._fts_candidates(index, search))
        if index.also is not None:
            found = or_(found, index.also(lambda e: self._like(e, search)))
        return found

    def _filter(self, spec: Filter) -> ColumnElement[bool]:
        self._column(spec.key)
        expression = self._expressions[spec.key]
        if not spec.is_range:
            values = [v for v in spec.values or () if storable(expression, v)]
            terms = [expression.in_([v for v in values if v is not None])] if values else []
            if None in (spec.values or ()):
                terms.append(expression.is_(None))
            return or_(*terms) if terms else false()
        terms = [expression.is_not(None)]
        if spec.low is not None:
            low = bound(expression, spec.low, ROUND_CEILING)
            terms.append(self._collated(expression) >= self._operand(expression, low))
        if spec.high is not None:
            high = bound(expression, spec.high, ROUND_FLOOR)
            terms.append(self._collated(expression) <= self._operand(expression, high))
        return and_(*terms)

    def _like(self, expression: ColumnElement[Any], search: str) -> ColumnElement[bool]:
        pattern = literal(like_pattern(search), Text())
        if not is_text(expression):
            expression = cast(expression, Text)
        if self._postgres:
            # ILIKE under "C" folds ASCII letters only, exactly as SQLite's LIKE does.
            return expression.collate("C").ilike(pattern, escape=LIKE_ESCAPE)
        return sqlite_like(expression, search, pattern)

    def _before(
        self, places: Sequence[tuple[tuple[ColumnElement[Any], bool], Any]]
    ) -> ColumnElement[bool]:
        """Rows sorting before the row whose sort values are ``places`` (in the ORDER BY's
        terms: None first ascending, last descending)."""
        alternatives: list[ColumnElement[bool]] = []
        equal: list[ColumnElement[bool]] = []
        for (expression, descending), value in places:
            collated = self._collated(expression)
            if value is None:
                earlier: ColumnElement[bool] = expression.is_not(None) if descending else false()
                same = expression.is_(None)
            elif descending:
                earlier = collated > self._operand(expression, value)
                same = expression == value
            else:
                earlier = collated < self._operand(expression, value)
                if nullable(expression):
                    earlier = or_(expression.is_(None), earlier)
                same = expression == value
            alternatives.append(and_(*equal, earlier) if equal else earlier)
            equal.append(same)
        return or_(*alternatives) if alternatives else true()


def table_source(
    db: Database, *, name: str, table: FromClause, columns: Sequence[Column]
) -> SqlRowSource:
    """The common case: every row of one table, each column read from the table column of the
    same key, the ``id`` primary key as the row key."""
    return SqlRowSource(
        db,
        name=name,
        columns=columns,
        selectable=table,
        expressions={column.key: table.c[column.key] for column in columns},
        key=table.c.id,
    )
