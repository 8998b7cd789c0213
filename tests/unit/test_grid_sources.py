"""The grid's row sources against an oracle: plain Python over the same rows, written here.

Property tests draw small tables (text with None, integers with None, Decimals, timestamps,
characters LIKE treats specially, letters that differ in ASCII and non-ASCII case) and queries
(0-2 sort keys, 0-2 set or range filters, an optional search), and compare the in-memory source
and the SQL source (on SQLite and, when configured, PostgreSQL) with the oracle: count, pages,
distinct values, aggregates and positions.
"""

from __future__ import annotations

import csv
import functools
import io
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    BigInteger,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
    insert,
    literal_column,
)
from sqlalchemy import Column as SqlColumn

from carriertui.grid.export import csv_cell
from carriertui.grid.memory import InMemoryRowSource
from carriertui.grid.model import (
    Aggregate,
    Column,
    ColumnType,
    DistinctValue,
    Filter,
    Query,
    Row,
    SortKey,
    display_text,
)
from carriertui.store.db import rowsource
from carriertui.store.db.database import Database
from carriertui.store.db.rowsource import SqlRowSource, TrigramIndex, like_pattern
from carriertui.store.db.types import FixedDecimal, UTCDateTime

COLUMNS = (
    Column("name", "Name"),
    Column("code", "Code"),
    Column("qty", "Qty", ColumnType.INTEGER, searchable=True),
    Column("amount", "Amount", ColumnType.MONEY),
    Column("at", "At", ColumnType.TIMESTAMP),
)
KEYS = tuple(column.key for column in COLUMNS)
BY_KEY = {column.key: column for column in COLUMNS}
RANGE_KEYS = ("qty", "amount", "at")

# On PostgreSQL the text columns get a natural-language collation (ICU's root locale: "a" < "B",
# "é" between "e" and "f"), as a database created with en_US.UTF-8 has: the source must still sort
# by code point and fold only ASCII case. BIGINT, because PostgreSQL's SUM of it is a numeric.
NATURAL = "und-x-icu"
metadata = MetaData()
grid_rows = Table(
    "grid_rows",
    metadata,
    SqlColumn("id", Integer, primary_key=True, autoincrement=False),
    SqlColumn("name", Text().with_variant(Text(collation=NATURAL), "postgresql"), nullable=True),
    SqlColumn(
        "code",
        String(16).with_variant(String(16, collation=NATURAL), "postgresql"),
        nullable=False,
    ),
    SqlColumn("qty", BigInteger, nullable=True),
    SqlColumn("amount", FixedDecimal, nullable=True),
    SqlColumn("at", UTCDateTime, nullable=True),
)

PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Characters LIKE gives a meaning (% _ \), ASCII letters in both cases, and non-ASCII letters
# whose case a Unicode-aware ILIKE would fold (É/é, the two sigmas) but the grid's search must not.
ALPHABET = "aAbB%_\\ -zÉéΣσ€😀"
BASE_TIME = datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC)


# -- the oracle ---------------------------------------------------------------------------------


def ascii_lower(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def oracle_passes(values: dict[str, Any], query: Query) -> bool:
    for spec in query.filters:
        value = values[spec.key]
        if spec.values is not None:
            if value is None:
                if None not in spec.values:
                    return False
            elif not any(v is not None and v == value for v in spec.values):
                return False
        else:
            if value is None:
                return False
            if spec.low is not None and not spec.low <= value:
                return False
            if spec.high is not None and not value <= spec.high:
                return False
    if query.search:
        needle = ascii_lower(query.search)
        texts = [values["name"], values["code"]]
        texts.append(None if values["qty"] is None else str(values["qty"]))
        if not any(t is not None and needle in ascii_lower(t) for t in texts):
            return False
    return True


def compare_values(a: Any, b: Any, descending: bool) -> int:
    if a is None and b is None:
        return 0
    if a is None:
        result = -1
    elif b is None:
        result = 1
    else:
        result = -1 if a < b else (1 if a > b else 0)
    return -result if descending else result


def oracle_result(rows: Sequence[Row], query: Query) -> list[Row]:
    def named(row: Row) -> dict[str, Any]:
        return dict(zip(KEYS, row[1], strict=True))

    def compare(x: Row, y: Row) -> int:
        for sort in query.sort:
            result = compare_values(named(x)[sort.key], named(y)[sort.key], sort.descending)
            if result:
                return result
        # The row key breaks ties in the direction of the last sort key (ascending unsorted).
        return compare_values(x[0], y[0], bool(query.sort) and query.sort[-1].descending)

    passing = [row for row in rows if oracle_passes(named(row), query)]
    return sorted(passing, key=functools.cmp_to_key(compare))


def oracle_distinct(
    rows: Sequence[Row], query: Query, key: str, search: str, limit: int
) -> list[DistinctValue]:
    column = BY_KEY[key]
    others = Query(filters=tuple(f for f in query.filters if f.key != key), search=query.search)
    position = KEYS.index(key)
    counts: Counter[Any] = Counter(row[1][position] for row in oracle_result(rows, others))

    def shown(value: Any) -> str:
        return value if column.type is ColumnType.TEXT else display_text(column, value)

    items = [
        (value, n)
        for value, n in counts.items()
        if not search or (value is not None and ascii_lower(search) in ascii_lower(shown(value)))
    ]

    def order(x: tuple[Any, int], y: tuple[Any, int]) -> int:
        if x[1] != y[1]:
            return y[1] - x[1]
        return compare_values(x[0], y[0], False)

    items.sort(key=functools.cmp_to_key(order))
    return [DistinctValue(value, n) for value, n in items[:limit]]


def oracle_aggregate(
    rows: Sequence[Row], query: Query, keys: Sequence[str], offset: int, limit: int
) -> Aggregate:
    chosen = oracle_result(rows, query)[offset : offset + limit]
    cells = [
        row[1][KEYS.index(key)]
        for row in chosen
        for key in keys
        if BY_KEY[key].is_numeric and row[1][KEYS.index(key)] is not None
    ]
    if not cells:
        return Aggregate()
    total: Any = 0
    for cell in cells:
        total += cell
    return Aggregate(len(cells), total, min(cells), max(cells))


# -- strategies ---------------------------------------------------------------------------------

short_text = st.text(alphabet=ALPHABET, max_size=3)
times = st.one_of(
    st.sampled_from(
        [BASE_TIME, BASE_TIME + timedelta(microseconds=1), BASE_TIME.replace(year=1999)]
    ),
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
)
row_values = st.tuples(
    st.none() | short_text,
    short_text,
    st.none() | st.integers(-3, 12),
    st.none() | st.integers(-400, 400).map(lambda n: Decimal(n).scaleb(-2)),
    st.none() | times,
)


@st.composite
def tables(draw: st.DrawFn, max_rows: int = 40) -> list[Row]:
    # The size first, uniformly: hypothesis's own lists are mostly a few elements long.
    size = draw(st.integers(0, max_rows))
    values = draw(st.lists(row_values, min_size=size, max_size=size))
    keys = draw(st.lists(st.integers(-10_000, 10_000), min_size=size, max_size=size, unique=True))
    return list(zip(keys, values, strict=True))


@st.composite
def queries(draw: st.DrawFn, rows: Sequence[Row]) -> Query:
    sort_keys = draw(st.lists(st.sampled_from(KEYS), max_size=2, unique=True))
    sort = tuple(SortKey(key, draw(st.booleans())) for key in sort_keys)
    filters = []
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=2, unique=True)):
        present = [row[1][KEYS.index(key)] for row in rows]
        seen = st.sampled_from(present) if present else st.none()
        if key in RANGE_KEYS and draw(st.booleans()):
            low, high = draw(st.none() | seen), draw(st.none() | seen)
            filters.append(Filter(key, low=low, high=high))
        else:
            values = draw(st.lists(seen | st.none(), max_size=4))
            filters.append(Filter(key, values=frozenset(values)))
    search = draw(st.just("") | searches(rows, ("name", "code", "qty")))
    return Query(sort=sort, filters=tuple(filters), search=search)


def swap_ascii_case(text: str, flips: list[bool]) -> str:
    return "".join(
        c.swapcase() if c.isascii() and flip else c for c, flip in zip(text, flips, strict=False)
    )


@st.composite
def searches(draw: st.DrawFn, rows: Sequence[Row], keys: Sequence[str]) -> str:
    """Random text, or a piece of a value in the table with some ASCII letters' case swapped
    (so that searches find something, and case folding matters)."""
    pieces = [
        str(row[1][KEYS.index(key)]) for row in rows for key in keys if row[1][KEYS.index(key)]
    ]
    if not pieces or draw(st.booleans()):
        return draw(st.text(alphabet=ALPHABET + "0123,.:", min_size=1, max_size=2))
    piece = draw(st.sampled_from(pieces))
    start = draw(st.integers(0, len(piece) - 1))
    end = draw(st.integers(start + 1, len(piece)))
    flips = draw(st.lists(st.booleans(), min_size=end - start, max_size=end - start))
    return swap_ascii_case(piece[start:end], flips)


# -- the sources ----------------------------------------------------------------------------------


@pytest.fixture
def sql_table(db: Database) -> Database:
    metadata.create_all(db.engine)
    return db


def fill(db: Database, rows: Sequence[Row]) -> None:
    with db.engine.begin() as connection:
        connection.execute(grid_rows.delete())
        if rows:
            connection.execute(
                insert(grid_rows),
                [{"id": key, **dict(zip(KEYS, values, strict=True))} for key, values in rows],
            )


def sql_source(db: Database, **kwargs: Any) -> SqlRowSource:
    return SqlRowSource(
        db,
        name="grid-rows",
        columns=COLUMNS,
        selectable=grid_rows,
        expressions={key: grid_rows.c[key] for key in KEYS},
        key=grid_rows.c.id,
        **kwargs,
    )


def check_against_oracle(source: Any, rows: list[Row], query: Query, data: st.DataObject) -> None:
    expected = oracle_result(rows, query)
    assert source.total() == len(rows)
    assert source.count(query) == len(expected)
    assert source.page(query, 0, len(rows) + 5) == expected
    offset = data.draw(st.integers(0, len(rows) + 2), label="offset")
    limit = data.draw(st.integers(0, 12), label="limit")
    assert source.page(query, offset, limit) == expected[offset : offset + limit]
    middle = len(expected) // 3
    assert source.page(query, middle, 5) == expected[middle : middle + 5]
    assert [r for batch in source.iter_rows(query, batch=7) for r in batch] == expected
    # The export's cells write as csv_cell of the values as the source gives them (a stored
    # Decimal has the column's four places, so compare with the page's values, not the oracle's).
    cells = [row for batch in source.iter_csv_cells(query, batch=7) for row in batch]
    paged = source.page(query, 0, len(rows) + 5)
    assert csv_lines(cells) == csv_lines([[csv_cell(v) for v in vs] for _key, vs in paged])

    for key in KEYS:
        search = data.draw(st.just("") | searches(rows, (key,)))
        limit = data.draw(st.sampled_from([1, 3, 1000]))
        got = source.distinct(query, key, search=search, limit=limit)
        assert got == oracle_distinct(rows, query, key, search, limit), (key, search)

    keys = data.draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3, unique=True))
    offset = data.draw(st.integers(0, len(rows)), label="aggregate offset")
    limit = data.draw(st.integers(0, len(rows) + 1), label="aggregate limit")
    got_aggregate = source.aggregate(query, keys, offset, limit)
    expected_aggregate = oracle_aggregate(rows, query, keys, offset, limit)
    assert got_aggregate == expected_aggregate
    assert type(got_aggregate.total) is type(expected_aggregate.total)

    positions = {row[0]: index for index, row in enumerate(expected)}
    for key, _values in rows:
        assert source.index_of(query, key) == positions.get(key), key
    assert source.index_of(query, 99_999) is None


@PROPERTY_SETTINGS
@given(data=st.data())
def test_in_memory_source_matches_the_oracle(data: st.DataObject) -> None:
    rows = data.draw(tables(), label="rows")
    query = data.draw(queries(rows), label="query")
    check_against_oracle(InMemoryRowSource(COLUMNS, rows, "grid-rows"), rows, query, data)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_sql_source_matches_the_oracle(sql_table: Database, data: st.DataObject) -> None:
    rows = data.draw(tables(), label="rows")
    query = data.draw(queries(rows), label="query")
    fill(sql_table, rows)
    # reverse_min_offset=0: pages past the middle take the read-from-the-end path here too.
    check_against_oracle(sql_source(sql_table, reverse_min_offset=0), rows, query, data)


def csv_lines(rows: Sequence[Sequence[Any]]) -> list[str]:
    """Each row as the csv writer writes it: iter_csv_cells's cells may be text where csv_cell
    gives a number or None, as long as the CSV is the same."""
    lines = []
    for row in rows:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow(row)
        lines.append(buffer.getvalue())
    return lines


def grid_document(prefix: str = "") -> str:
    """The search texts of a row in one string, as a trigram index over grid_rows holds them."""
    return (
        f"coalesce({prefix}name, '') || ' ' || {prefix}code || ' ' "
        f"|| coalesce(CAST({prefix}qty AS TEXT), '')"
    )


@pytest.fixture
def indexed_table(sql_table: Database) -> tuple[Database, TrigramIndex]:
    """grid_rows with a trigram index: an FTS5 table kept by triggers on SQLite, the document
    expression on PostgreSQL (the GIN index would only change the plan, not the rows)."""
    if sql_table.backend == "postgresql":
        return sql_table, TrigramIndex(postgres_document=literal_column(f"({grid_document()})"))
    insert_new = (
        f"INSERT INTO grid_rows_search (rowid, document) VALUES (new.id, {grid_document('new.')})"  # noqa: S608
    )
    delete_old = f"INSERT INTO grid_rows_search (grid_rows_search, rowid, document) VALUES ('delete', old.id, {grid_document('old.')})"  # noqa: S608, E501
    with sql_table.engine.begin() as connection:
        for statement in (
            "CREATE VIRTUAL TABLE grid_rows_search USING fts5(document, content='', "
            "tokenize='trigram', detail='none')",
            "CREATE TRIGGER grid_rows_search_insert AFTER INSERT ON grid_rows "
            f"BEGIN {insert_new}; END",
            "CREATE TRIGGER grid_rows_search_delete AFTER DELETE ON grid_rows "
            f"BEGIN {delete_old}; END",
        ):
            connection.exec_driver_sql(statement)
    return sql_table, TrigramIndex(sqlite_table="grid_rows_search")


@st.composite
def long_searches(draw: st.DrawFn, rows: Sequence[Row]) -> str:
    """Three to six characters of one row's search texts joined by spaces (as the index's
    document holds them), ASCII case swapped here and there: matches, and texts spanning two
    columns that the index offers as candidates but the search must not find."""
    if not rows:
        return draw(st.text(alphabet=ALPHABET, min_size=3, max_size=4))
    values = draw(st.sampled_from(rows))[1]
    document = " ".join("" if v is None else str(v) for v in (values[0], values[1], values[2]))
    if len(document) < 3:
        return draw(st.text(alphabet=ALPHABET, min_size=3, max_size=4))
    start = draw(st.integers(0, len(document) - 3))
    end = draw(st.integers(start + 3, min(len(document), start + 6)))
    flips = draw(st.lists(st.booleans(), min_size=end - start, max_size=end - start))
    return swap_ascii_case(document[start:end], flips)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_sql_source_with_a_trigram_index_matches_the_oracle(
    indexed_table: tuple[Database, TrigramIndex], data: st.DataObject
) -> None:
    db, index = indexed_table
    rows = data.draw(tables(), label="rows")
    query = data.draw(queries(rows), label="query")
    search = data.draw(long_searches(rows) | st.just(query.search), label="search")
    query = Query(sort=query.sort, filters=query.filters, search=search)
    fill(db, rows)
    # Both SQLite plans: from the index's candidates, or the sort order tested row by row.
    few = data.draw(st.sampled_from([-1, 10**9]), label="few candidates")
    original = rowsource.FEW_CANDIDATES
    rowsource.FEW_CANDIDATES = few
    try:
        source = sql_source(db, reverse_min_offset=0, search_index=index)
        check_against_oracle(source, rows, query, data)
    finally:
        rowsource.FEW_CANDIDATES = original


# -- deterministic cases ------------------------------------------------------------------------


def test_a_searched_first_page_hands_count_its_count(
    indexed_table: tuple[Database, TrigramIndex],
) -> None:
    """The first page of a search from its few candidates counts the matches in the same pass
    and count() takes that count (waiting for it when asked at the same time, as the grid
    asks): the answers are the oracle's either way."""
    db, index = indexed_table
    rows = numbered_rows(301)
    fill(db, rows)
    oracle = InMemoryRowSource(COLUMNS, rows, "grid-rows")
    source = sql_source(db, search_index=index)
    for query in (
        Query(sort=(SortKey("name"),), search="c10"),  # c10, c100 ... c109
        Query(search="c29"),  # c29, c290 ... c299
        Query(search="zzz"),  # none
    ):
        expected = oracle.count(query)
        first = source.page(query, 0, 5)
        assert first == oracle.page(query, 0, 5)
        assert source.count(query) == expected
        source.refresh()
        with ThreadPoolExecutor(2) as pool:
            page = pool.submit(source.page, query, 0, 5)
            count = pool.submit(source.count, query)
            assert (page.result(), count.result()) == (first, expected)
        source.refresh()


def numbered_rows(count: int) -> list[Row]:
    rows = []
    for i in range(count):
        name = None if i % 7 == 0 else f"n{i % 13:02d}"
        qty = None if i % 5 == 0 else i % 11
        amount = Decimal(i % 17).scaleb(-1)
        at = BASE_TIME + timedelta(minutes=i % 9)
        rows.append((i + 1, (name, f"c{i}", qty, amount, at)))
    return rows


@pytest.fixture
def filled(sql_table: Database) -> Iterator[tuple[Database, list[Row]]]:
    rows = numbered_rows(301)
    fill(sql_table, rows)
    yield sql_table, rows


def both_sources(db: Database, rows: list[Row]) -> list[Any]:
    return [InMemoryRowSource(COLUMNS, rows, "grid-rows"), sql_source(db)]


@pytest.mark.parametrize(
    "sort",
    [
        (),
        (SortKey("name"),),
        (SortKey("name", descending=True), SortKey("qty")),
        (SortKey("qty", descending=True),),
        (SortKey("at"), SortKey("amount", descending=True)),
    ],
)
def test_pages_read_from_the_end_equal_pages_read_from_the_start(
    filled: tuple[Database, list[Row]], sort: tuple[SortKey, ...]
) -> None:
    db, rows = filled
    query = Query(sort=sort, filters=(Filter("qty", low=1),))
    forward = sql_source(db, reverse_min_offset=10**9)
    backward = sql_source(db, reverse_min_offset=0)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        count = forward.count(query)
        assert count == len(oracle_result(rows, query))
        for offset in (0, 1, count // 2, count // 2 + 1, count - 20, count - 7, count - 1, count):
            for limit in (1, 7, 20, 50):
                expected = forward.page(query, offset, limit)
                assert backward.page(query, offset, limit) == expected, (offset, limit)
                assert expected == oracle_result(rows, query)[offset : offset + limit]
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    # The backward path ran: a page query whose ORDER BY ends with the key descending.
    assert any("grid_rows.id DESC" in s for s in statements)


def test_nulls_sort_first_ascending_and_last_descending(sql_table: Database) -> None:
    rows: list[Row] = [
        (1, ("b", "x", 2, None, None)),
        (2, (None, "x", None, Decimal(1), BASE_TIME)),
        (3, ("a", "x", 1, Decimal(-1), None)),
        (4, (None, "x", 3, None, BASE_TIME)),
    ]
    fill(sql_table, rows)
    for source in both_sources(sql_table, rows):

        def keys(*sort: SortKey, source: Any = source) -> list[int]:
            return [key for key, _ in source.page(Query(sort=sort), 0, 10)]

        assert keys(SortKey("name")) == [2, 4, 3, 1]
        # Ties (the two None names) in the last sort key's direction: 4 before 2 descending.
        assert keys(SortKey("name", descending=True)) == [1, 3, 4, 2]
        assert keys(SortKey("qty")) == [2, 3, 1, 4]
        assert keys(SortKey("qty", descending=True)) == [4, 1, 3, 2]
        assert keys(SortKey("amount")) == [1, 4, 3, 2]
        assert keys(SortKey("at", descending=True), SortKey("qty", descending=True)) == [
            4,
            2,
            1,
            3,
        ]
        query = Query(sort=(SortKey("name", descending=True),))
        assert [source.index_of(query, key) for key in (1, 2, 3, 4)] == [0, 3, 1, 2]


def test_a_descending_sort_is_the_exact_reverse_of_the_ascending_one(sql_table: Database) -> None:
    # Ties everywhere (few distinct values, None in every column but code): the row key must
    # follow the sort's direction for the reverse to hold, as one index read backwards gives it.
    rows: list[Row] = [
        (
            key,
            (
                None if key % 4 == 0 else "ab"[key % 2],
                "xy"[key % 3 % 2],
                None if key % 5 == 0 else key % 3,
                None if key % 3 == 0 else Decimal(key % 2),
                None if key % 2 == 0 else BASE_TIME,
            ),
        )
        for key in range(1, 31)
    ]
    fill(sql_table, rows)
    for source in both_sources(sql_table, rows):
        for key in KEYS:
            up = source.page(Query(sort=(SortKey(key),)), 0, 100)
            down = source.page(Query(sort=(SortKey(key, descending=True),)), 0, 100)
            assert down == up[::-1], (source, key)
            assert up == oracle_result(rows, Query(sort=(SortKey(key),)))
        two = Query(sort=(SortKey("code"), SortKey("qty", descending=True)))
        assert source.page(two, 0, 100) == oracle_result(rows, two)
        assert [k for k, _ in source.page(two, 0, 100)][:3] == [29, 26, 23]


def test_text_sorts_by_code_point(sql_table: Database) -> None:
    names = ["b", "B", "a", "É", "é", "Z", "_", "aa", "😀", "€"]
    rows: list[Row] = [(i, (name, "x", None, None, None)) for i, name in enumerate(names)]
    fill(sql_table, rows)
    for source in both_sources(sql_table, rows):
        page = source.page(Query(sort=(SortKey("name"),)), 0, 20)
        assert [values[0] for _, values in page] == sorted(names)


def test_search_escapes_like_characters_and_folds_only_ascii_case(sql_table: Database) -> None:
    names = ["100%", "1000", "a_b", "axb", "back\\slash", "backxslash", "ABC", "É", "é"]
    rows: list[Row] = [(i, (name, "-", None, None, None)) for i, name in enumerate(names)]
    fill(sql_table, rows)

    for source in both_sources(sql_table, rows):

        def found(search: str, source: Any = source) -> list[str]:
            query = Query(sort=(SortKey("name"),), search=search)
            return [values[0] for _, values in source.page(query, 0, 20)]

        assert found("%") == ["100%"]
        assert found("0%") == ["100%"]
        assert found("_") == ["a_b"]
        assert found("\\") == ["back\\slash"]
        assert found("k\\s") == ["back\\slash"]
        assert found("abc") == ["ABC"]
        assert found("aBc") == ["ABC"]
        assert found("é") == ["é"]
        assert found("É") == ["É"]
        assert found("%%") == []


def test_like_pattern() -> None:
    assert like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"


def test_integer_columns_are_searched_by_their_digits(sql_table: Database) -> None:
    rows: list[Row] = [
        (1, ("x", "x", 120, None, None)),
        (2, ("x", "x", -12, None, None)),
        (3, ("x", "x", 3, None, None)),
    ]
    fill(sql_table, rows)
    for source in both_sources(sql_table, rows):
        assert [k for k, _ in source.page(Query(search="12"), 0, 9)] == [1, 2]
        assert [k for k, _ in source.page(Query(search="-1"), 0, 9)] == [2]


def test_a_searchable_decimal_column_is_refused(sql_table: Database) -> None:
    columns = (Column("amount", "Amount", ColumnType.MONEY, searchable=True),)
    with pytest.raises(ValueError, match="amount"):
        InMemoryRowSource(columns, [], "x")
    with pytest.raises(ValueError, match="amount"):
        SqlRowSource(
            sql_table,
            name="x",
            columns=columns,
            selectable=grid_rows,
            expressions={"amount": grid_rows.c.amount},
            key=grid_rows.c.id,
        )


def test_aggregate_sums_decimals_exactly(sql_table: Database) -> None:
    tenths = [Decimal("0.1"), Decimal("0.1"), Decimal("0.1"), None, Decimal("-0.0001")]
    rows: list[Row] = [(i, ("x", "x", i, v, None)) for i, v in enumerate(tenths)]
    fill(sql_table, rows)
    for source in both_sources(sql_table, rows):
        first_three = source.aggregate(Query(), ["amount", "name", "at"], 0, 3)
        assert first_three == Aggregate(3, Decimal("0.3"), Decimal("0.1"), Decimal("0.1"))
        assert isinstance(first_three.total, Decimal)
        assert first_three.average == Decimal("0.1")
        everything = source.aggregate(Query(), ["amount", "qty"], 0, 100)
        assert everything.count == 4 + 5
        assert everything.total == Decimal("0.2999") + 10
        assert isinstance(everything.total, Decimal)
        assert everything.minimum == Decimal("-0.0001")
        assert everything.maximum == 4
        assert source.aggregate(Query(), ["name"], 0, 100) == Aggregate()
        integers = source.aggregate(Query(sort=(SortKey("qty", descending=True),)), ["qty"], 1, 2)
        assert integers == Aggregate(2, 5, 2, 3)
        assert type(integers.total) is int


def test_index_of_is_none_for_a_filtered_out_or_missing_row(
    filled: tuple[Database, list[Row]],
) -> None:
    db, rows = filled
    query = Query(sort=(SortKey("name"),), filters=(Filter("qty", values=frozenset({3})),))
    for source in both_sources(db, rows):
        expected = oracle_result(rows, query)
        assert source.index_of(query, expected[-1][0]) == len(expected) - 1
        excluded = next(key for key, values in rows if values[2] != 3)
        assert source.index_of(query, excluded) is None
        assert source.index_of(query, 10**6) is None


def test_range_bounds_finer_than_the_column_keep_their_meaning(sql_table: Database) -> None:
    rows: list[Row] = [
        (1, ("x", "x", 1, Decimal("1.0000"), None)),
        (2, ("x", "x", 2, Decimal("1.0001"), None)),
        (3, ("x", "x", 3, Decimal("1.0002"), None)),
    ]
    fill(sql_table, rows)
    fine = Query(filters=(Filter("amount", low=Decimal("1.00005"), high=Decimal("1.00015")),))
    half = Query(filters=(Filter("qty", low=Decimal("1.5"), high=Decimal("2.5")),))
    exact_only = Query(filters=(Filter("amount", values=frozenset({Decimal("1.00005")})),))
    for source in both_sources(sql_table, rows):
        assert [k for k, _ in source.page(fine, 0, 9)] == [2]
        assert [k for k, _ in source.page(half, 0, 9)] == [2]
        assert source.page(exact_only, 0, 9) == []


def test_count_is_cached_until_refresh(sql_table: Database) -> None:
    rows = numbered_rows(10)
    fill(sql_table, rows)
    source = sql_source(sql_table)
    query = Query(search="n0")
    before = source.count(query)
    assert source.total() == 10
    fill(sql_table, numbered_rows(20))
    assert source.count(query) == before
    assert source.total() == 10
    source.refresh()
    assert source.count(query) == len(oracle_result(numbered_rows(20), query))
    assert source.total() == 20


def test_fixed_where_limits_every_query(filled: tuple[Database, list[Row]]) -> None:
    db, rows = filled
    source = sql_source(db, where=grid_rows.c.qty == 4)
    mine = [row for row in rows if row[1][2] == 4]
    query = Query(sort=(SortKey("amount", descending=True),))
    assert source.total() == len(mine)
    assert source.page(query, 0, 1000) == oracle_result(mine, query)
    assert source.distinct(Query(), "qty") == [DistinctValue(4, len(mine))]
    outside = next(key for key, values in rows if values[2] != 4)
    assert source.index_of(query, outside) is None


def test_distinct_searches_display_text_of_other_types(filled: tuple[Database, list[Row]]) -> None:
    db, rows = filled
    for source in both_sources(db, rows):
        # MONEY shows as 1.50: the search finds what the operator sees.
        values = source.distinct(Query(), "amount", search="1.50")
        assert values == [DistinctValue(Decimal("1.5"), len([r for r in rows if r[1][3] == 1.5]))]
        stamps = source.distinct(Query(), "at", search="01:05:03", limit=5)
        assert [v.value for v in stamps] == [BASE_TIME + timedelta(minutes=3)]


def test_iter_rows_streams_in_batches(filled: tuple[Database, list[Row]]) -> None:
    db, rows = filled
    query = Query(sort=(SortKey("code"),))
    for source in both_sources(db, rows):
        batches = list(source.iter_rows(query, offset=5, limit=250, batch=100))
        assert [len(b) for b in batches] == [100, 100, 50]
        assert [r for b in batches for r in b] == oracle_result(rows, query)[5:255]


def test_negative_offsets_are_refused(filled: tuple[Database, list[Row]]) -> None:
    db, rows = filled
    for source in both_sources(db, rows):
        with pytest.raises(ValueError):
            source.page(Query(), -1, 5)


def test_distinct_search_ignores_ascii_case_and_the_columns_own_filter(
    sql_table: Database,
) -> None:
    names = ["Alpha", "ALPHA", "alpha", "alpha", "Beta", "ÄLPHA", None]
    rows: list[Row] = [(i, (name, "x", i, None, None)) for i, name in enumerate(names)]
    fill(sql_table, rows)
    own = Query(filters=(Filter("name", values=frozenset({"Beta"})), Filter("qty", high=4)))
    for source in both_sources(sql_table, rows):
        found = source.distinct(own, "name", search="aLP")
        assert found == [
            DistinctValue("alpha", 2),
            DistinctValue("ALPHA", 1),
            DistinctValue("Alpha", 1),
        ]
        assert source.distinct(own, "name", search="lp", limit=2) == found[:2]
        assert source.distinct(own, "name", search="äLP") == []
        assert source.distinct(own, "name")[-1] == DistinctValue("Beta", 1)


def test_iter_rows_values_are_exactly_those_of_page(sql_table: Database) -> None:
    """iter_rows converts the stored values itself (for speed): the same types, the same
    Decimal exponents (CSV writes ``str(d)``), the same UTC tzinfo as the column types give."""
    rows: list[Row] = [
        (1, ("a", "x", 0, Decimal(0), BASE_TIME)),
        (2, ("b", "x", -1, Decimal("-0.0001"), BASE_TIME + timedelta(microseconds=10))),
        (3, (None, "x", None, Decimal("12345678901.5"), datetime(1999, 12, 31, tzinfo=UTC))),
        (4, ("d", "x", 7, None, None)),
        (
            5,
            (
                "e",
                "x",
                2**40,
                Decimal("-3.25"),
                BASE_TIME.astimezone(timezone(timedelta(hours=-5))),
            ),
        ),
    ]
    fill(sql_table, rows)
    source = sql_source(sql_table)
    paged = source.page(Query(), 0, 10)
    streamed = [row for batch in source.iter_rows(Query(), batch=2) for row in batch]
    assert [repr(row) for row in streamed] == [repr(row) for row in paged]
    assert streamed == rows
    for _key, values in streamed:
        assert values[4] is None or values[4].tzinfo is UTC


def test_iter_csv_cells_are_csv_cell_of_every_value(sql_table: Database) -> None:
    """The SQL source has the database neutralise text and spell money and timestamps for the
    export: every cell must be exactly what grid.export.csv_cell makes of the row's value."""
    hostile = ['=HYPERLINK("x")', "+14155550100", "-2+3", "@SUM(1)", "\tx", "\rx", "\nx", "'q"]
    hostile += ["", "a,b", 'say "hi"', "line\nbreak", "[/", "É=", "😀"]
    amounts = [Decimal(0), Decimal("-0.0001"), Decimal("12345678901.5"), Decimal("-3.25"), None]
    amounts += [Decimal("0.01"), Decimal("-1000"), Decimal("7.0009")]
    times = [BASE_TIME, BASE_TIME + timedelta(microseconds=10), datetime(1999, 12, 31, tzinfo=UTC)]
    times += [None, BASE_TIME.replace(microsecond=500000)]
    rows: list[Row] = [
        (
            index,
            (
                None if index % 5 == 4 else text,
                text,
                None if index % 3 == 2 else index - 7,
                amounts[index % len(amounts)],
                times[index % len(times)],
            ),
        )
        for index, text in enumerate(hostile)
    ]
    fill(sql_table, rows)
    for source in both_sources(sql_table, rows):
        for query in (Query(), Query(sort=(SortKey("amount", descending=True),), search="x")):
            expected = [[csv_cell(v) for v in values] for _k, values in source.page(query, 0, 99)]
            cells = [row for batch in source.iter_csv_cells(query, batch=4) for row in batch]
            assert csv_lines(cells) == csv_lines(expected), source
            assert len(cells) == len(expected) > 3
            picked = source.iter_csv_cells(query, 2, 5, positions=[4, 0], batch=2)
            assert csv_lines([row for batch in picked for row in batch]) == csv_lines(
                [[row[4], row[0]] for row in expected[2:7]]
            )
    assert csv_cell("-2+3") == "'-2+3" and csv_cell(Decimal("-3.2500")) == "-3.2500"
