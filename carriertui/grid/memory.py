"""A row source over a list in memory, for small tables (contacts, options: a few hundred rows).

It implements the semantics in :mod:`carriertui.grid.model` exactly and is the reference the SQL
source is compared with. The rows are copied once and never change, so every method is safe to call
from several worker threads; the sorted result of the last few queries is cached.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from carriertui.grid.export import csv_cell
from carriertui.grid.model import (
    Aggregate,
    Column,
    ColumnSet,
    DistinctValue,
    Filter,
    Query,
    Row,
    RowKey,
    aggregate_values,
    distinct_label,
    fold_ascii,
    key_columns_for,
    merge_aggregates,
    search_text,
    search_text_columns,
)

_RESULT_CACHE_SIZE = 8


def _nulls_first(value: Any) -> tuple[bool, Any]:
    """Sort key placing None before every value (and, reversed, after every value)."""
    return (value is not None, value)


def _sort_key(position: int) -> Callable[[Row], tuple[bool, Any]]:
    """The sort key of a row by the value at ``position``, None first."""
    return lambda row: _nulls_first(row[1][position])


class InMemoryRowSource:
    """Rows ``(key, values)`` in memory; ``values`` in the order of ``columns``."""

    # The grid may query this source on the UI thread: every call answers in microseconds for
    # the few hundred rows it is meant for.
    synchronous = True

    def __init__(
        self,
        columns: Sequence[Column],
        rows: Sequence[Row],
        name: str,
        *,
        key_columns: Sequence[str] = (),
    ) -> None:
        self.columns: Sequence[Column] = tuple(columns)
        self.name = name
        self.key_columns = key_columns_for(self.columns, key_columns)
        self._column_set = ColumnSet(self.columns)
        if len(self._column_set.by_key) != len(self.columns):
            raise ValueError(f"{name}: duplicate column keys")
        self._positions = {column.key: index for index, column in enumerate(self.columns)}
        self._searchable = search_text_columns(self.columns)
        width = len(self.columns)
        copied: list[Row] = []
        for key, values in rows:
            values = tuple(values)
            if len(values) != width:
                raise ValueError(
                    f"{name}: row {key!r} has {len(values)} values for {width} columns"
                )
            copied.append((key, values))
        # Key order once: every result is a stable sort of this, so the key breaks ties.
        copied.sort(key=lambda row: row[0])
        self._rows: tuple[Row, ...] = tuple(copied)
        self._lock = threading.Lock()
        self._results: OrderedDict[Query, tuple[Row, ...]] = OrderedDict()

    # -- the protocol ---------------------------------------------------------------------------

    def count(self, query: Query) -> int:
        return len(self._result(query))

    def total(self) -> int:
        return len(self._rows)

    def page(self, query: Query, offset: int, limit: int) -> list[Row]:
        _check_range(offset, limit)
        return list(self._result(query)[offset : offset + limit])

    def distinct(
        self, query: Query, key: str, *, search: str = "", limit: int = 1000
    ) -> list[DistinctValue]:
        position = self._position(key)
        column = self.columns[position]
        passing = self._filtered(query.without_filter(key))
        counts = Counter(values[position] for _key, values in passing)
        items = list(counts.items())
        if search:
            needle = fold_ascii(search)
            items = [
                (value, n)
                for value, n in items
                if value is not None and needle in fold_ascii(distinct_label(column, value))
            ]
        # Most frequent first, then by value in ascending sort order (None first).
        items.sort(key=lambda item: _nulls_first(item[0]))
        items.sort(key=lambda item: item[1], reverse=True)
        return [DistinctValue(value, n) for value, n in items[: max(limit, 0)]]

    def aggregate(self, query: Query, keys: Sequence[str], offset: int, limit: int) -> Aggregate:
        _check_range(offset, limit)
        positions = [self._position(key) for key in keys]
        numeric = [p for p in positions if self.columns[p].is_numeric]
        if not numeric or limit == 0:
            return Aggregate()
        rows = self._result(query)[offset : offset + limit]
        return merge_aggregates(
            aggregate_values(values[p] for _key, values in rows) for p in numeric
        )

    def index_of(self, query: Query, key: RowKey) -> int | None:
        for index, (row_key, _values) in enumerate(self._result(query)):
            if row_key == key:
                return index
        return None

    def iter_rows(
        self, query: Query, offset: int = 0, limit: int | None = None, batch: int = 5000
    ) -> Iterator[list[Row]]:
        _check_range(offset, 0 if limit is None else limit)
        if batch <= 0:
            raise ValueError("batch must be positive")
        result = self._result(query)
        end = len(result) if limit is None else min(len(result), offset + limit)
        for start in range(offset, end, batch):
            yield list(result[start : min(start + batch, end)])

    def iter_csv_cells(
        self,
        query: Query,
        offset: int = 0,
        limit: int | None = None,
        *,
        positions: Sequence[int] | None = None,
        batch: int = 5000,
    ) -> Iterator[list[Sequence[Any]]]:
        chosen = range(len(self.columns)) if positions is None else tuple(positions)
        for rows in self.iter_rows(query, offset, limit, batch):
            yield [tuple(csv_cell(values[i]) for i in chosen) for _key, values in rows]

    def refresh(self) -> None:
        # The rows never change; dropping the cache is all there is to do.
        with self._lock:
            self._results.clear()

    # -- evaluation -----------------------------------------------------------------------------

    def _position(self, key: str) -> int:
        try:
            return self._positions[key]
        except KeyError:
            raise KeyError(f"{self.name}: no column {key!r}") from None

    def _result(self, query: Query) -> tuple[Row, ...]:
        with self._lock:
            cached = self._results.get(query)
            if cached is not None:
                self._results.move_to_end(query)
                return cached
        result = self._sorted(self._filtered(query), query)
        with self._lock:
            self._results[query] = result
            self._results.move_to_end(query)
            while len(self._results) > _RESULT_CACHE_SIZE:
                self._results.popitem(last=False)
        return result

    def _filtered(self, query: Query) -> list[Row]:
        tests = [self._filter_test(f) for f in query.filters]
        if query.search:
            tests.append(self._search_test(query.search))
        if not tests:
            return list(self._rows)
        return [row for row in self._rows if all(test(row[1]) for test in tests)]

    def _sorted(self, rows: list[Row], query: Query) -> tuple[Row, ...]:
        # Stable sorts from the last key to the first; rows arrive in key order, which breaks
        # the remaining ties (in the last sort key's direction, so reversed first when that is
        # descending). reverse=True keeps a sort stable, and reverses the None-first key into
        # None-last, as descending requires.
        if query.key_descending:
            rows.reverse()
        for sort in reversed(query.sort):
            position = self._position(sort.key)
            rows.sort(key=_sort_key(position), reverse=sort.descending)
        return tuple(rows)

    def _filter_test(self, spec: Filter) -> Callable[[tuple[Any, ...]], bool]:
        position = self._position(spec.key)
        if not spec.is_range:
            allowed = spec.values or frozenset()
            return lambda values: values[position] in allowed
        low, high = spec.low, spec.high

        def in_range(values: tuple[Any, ...]) -> bool:
            value = values[position]
            if value is None:
                return False
            if low is not None and value < low:
                return False
            return not (high is not None and value > high)

        return in_range

    def _search_test(self, search: str) -> Callable[[tuple[Any, ...]], bool]:
        needle = fold_ascii(search)
        positions = self._searchable

        def matches(values: tuple[Any, ...]) -> bool:
            for position in positions:
                text = search_text(values[position])
                if text is not None and needle in fold_ascii(text):
                    return True
            return False

        return matches


def _check_range(offset: int, limit: int) -> None:
    if offset < 0 or limit < 0:
        raise ValueError(f"offset and limit must not be negative (got {offset}, {limit})")
