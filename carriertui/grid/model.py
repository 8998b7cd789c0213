"""Columns, sort/filter/search queries, and the row source protocol every grid reads from.

Semantics (the SQL and the in-memory source both implement exactly these; tests compare them):

- **Sort**: by the query's sort keys in order, then by the row key as a final tie-breaker, so
  paging is deterministic. The row key runs in the direction of the last sort key (ascending when
  there is no sort): one index on a column (SQLite's holds the rowid after the value) then serves
  both directions without a sort step, and a descending sort is the exact reverse of the
  ascending one. ``None`` sorts first ascending and last descending.
  Text compares by code point (SQLite BINARY, PostgreSQL COLLATE "C").
- **Set filter**: a row passes when its value is one of ``Filter.values`` (``None`` may be one;
  an empty set passes nothing).
- **Range filter**: ``low <= value <= high`` (either bound optional); ``None`` never passes.
- **Search**: a row passes when any searchable column's *search text* contains the search text,
  ignoring ASCII case only (``A``-``Z`` = ``a``-``z``; ``É`` and ``é`` differ): SQLite's LIKE,
  PostgreSQL's ILIKE under COLLATE "C". ``%``, ``_`` and ``\\`` in the text match themselves.
  The search text of a TEXT column is its value, of an INTEGER column the decimal digits
  (``str(int)``, SQL ``CAST(.. AS TEXT)``); ``None`` never matches. Only these two types can be
  searchable (``search_text_columns`` rejects others: no SQL cast would agree with Python's
  ``str`` of a Decimal or a timestamp). An empty search passes everything.
- All filters and the search combine with AND.
- **Distinct**: ``search`` there matches a TEXT column's value, and any other column's
  ``display_text`` (so an operator finds ``1,234`` as shown), ignoring ASCII case.
- **Aggregate**: numeric columns only, ``None`` skipped; ints sum to an int, Decimals (with ints)
  to an exact Decimal; a float anywhere makes the sum a float (a Decimal cannot be added to one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, Protocol

RowKey = Any
Row = tuple[RowKey, tuple[Any, ...]]  # (key, values in column order)


class ColumnType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"
    PERCENT = "percent"
    DURATION = "duration"  # seconds
    TIMESTAMP = "timestamp"  # aware UTC datetime
    BOOLEAN = "boolean"


NUMERIC_TYPES = frozenset(
    {
        ColumnType.INTEGER,
        ColumnType.DECIMAL,
        ColumnType.MONEY,
        ColumnType.PERCENT,
        ColumnType.DURATION,
    }
)
RANGE_TYPES = NUMERIC_TYPES | {ColumnType.TIMESTAMP}
SEARCHABLE_TYPES = frozenset({ColumnType.TEXT, ColumnType.INTEGER})

Align = Literal["left", "right", "center"]


class Tone(StrEnum):
    """A cell's colour, by meaning: the theme decides the colour (``$success``, ``$warning``,
    ``$error``, ``$text-muted``). Colour only repeats what the text says; never the only cue."""

    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"
    MUTED = "muted"


def tones(mapping: dict[Any, Tone]) -> Callable[[Any], Tone | None]:
    """A Column.tone for values with a fixed tone each (a status column); others get none."""
    lookup = dict(mapping)
    return lambda value: lookup.get(value)


def negative_tone(value: Any) -> Tone | None:
    """A Column.tone for numbers: a value below zero (a loss, a debt) shows as an error."""
    return Tone.ERROR if value is not None and value < 0 else None


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    type: ColumnType = ColumnType.TEXT
    width: int | None = None  # cells; None: chosen from the title and type
    align: Align | None = None  # None: right for numbers, left otherwise
    formatter: Callable[[Any], str] | None = None  # value -> display text; None: by type
    sortable: bool = True
    filterable: bool = True
    searchable: bool | None = None  # None: text columns only
    group: str | None = None  # a group header above the titles, e.g. "Calls"
    empty: str = ""  # what a missing value (None) shows, e.g. "—" for a ratio with no denominator
    tone: Callable[[Any], Tone | None] | None = None  # value -> its cell's colour (none: plain)
    places: int | None = None  # decimals a MONEY/PERCENT/DECIMAL cell shows; None: by type
    # Takes a share of a wide screen's spare width, up to what its longest value needs;
    # None: text columns do (names, emails, messages), numbers, money, dates and flags keep
    # their width. A text column whose values fit its width (a status, a code) never grows.
    grow: bool | None = None

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def grows(self) -> bool:
        return self.type is ColumnType.TEXT if self.grow is None else self.grow

    @property
    def is_searchable(self) -> bool:
        return self.type is ColumnType.TEXT if self.searchable is None else self.searchable

    @property
    def alignment(self) -> Align:
        if self.align is not None:
            return self.align
        return "right" if self.is_numeric else "left"


@dataclass(frozen=True)
class SortKey:
    key: str
    descending: bool = False


@dataclass(frozen=True)
class Filter:
    """A set filter (``values``) or a range filter (``low``/``high``) on one column."""

    key: str
    values: frozenset[Any] | None = None
    low: Any = None
    high: Any = None

    @property
    def is_range(self) -> bool:
        return self.values is None


@dataclass(frozen=True)
class Query:
    sort: tuple[SortKey, ...] = ()
    filters: tuple[Filter, ...] = ()  # at most one per column
    search: str = ""

    def with_filter(self, new: Filter | None, key: str) -> Query:
        """This query with column ``key``'s filter replaced by ``new`` (None removes it)."""
        kept = tuple(f for f in self.filters if f.key != key)
        return replace(self, filters=(*kept, new) if new is not None else kept)

    def without_filter(self, key: str) -> Query:
        return self.with_filter(None, key)

    def filter_for(self, key: str) -> Filter | None:
        return next((f for f in self.filters if f.key == key), None)

    @property
    def key_descending(self) -> bool:
        """The row key's direction as the final tie-breaker: that of the last sort key."""
        return bool(self.sort) and self.sort[-1].descending

    def sort_direction(self, key: str) -> tuple[int, bool] | None:
        """(position, descending) of ``key`` among the sort keys, or None."""
        for index, sort in enumerate(self.sort):
            if sort.key == key:
                return index, sort.descending
        return None


@dataclass(frozen=True)
class Aggregate:
    """Over the numeric cells of a selection: count, sum, plain average, min, max."""

    count: int = 0
    total: Decimal | int | float | None = None
    minimum: Any = None
    maximum: Any = None

    @property
    def average(self) -> Decimal | float | None:
        if not self.count or self.total is None:
            return None
        if isinstance(self.total, Decimal):
            return self.total / self.count
        return self.total / self.count


@dataclass(frozen=True)
class DistinctValue:
    value: Any
    count: int


class RowSource(Protocol):
    """What the grid reads. Implementations must be safe to call from worker threads."""

    columns: Sequence[Column]
    name: str  # a short name for export files, e.g. "audit-log"
    # The columns that name a row (Period, Name, Date / Time): pinned on the left of the grid
    # and carried as row labels; ``key_columns_for(columns)`` gives the default, the first one.
    key_columns: tuple[str, ...]

    def count(self, query: Query) -> int:
        """Rows passing the query's filters and search."""
        ...

    def total(self) -> int:
        """Rows with no filter or search."""
        ...

    def page(self, query: Query, offset: int, limit: int) -> list[Row]:
        """Rows ``offset`` .. ``offset + limit - 1`` of the sorted, filtered result."""
        ...

    def distinct(
        self, query: Query, key: str, *, search: str = "", limit: int = 1000
    ) -> list[DistinctValue]:
        """Values of column ``key`` with their counts, under the query's other filters and its
        search (not the column's own filter), most frequent first, then by value; ``search``
        narrows the values themselves (ASCII case ignored)."""
        ...

    def aggregate(self, query: Query, keys: Sequence[str], offset: int, limit: int) -> Aggregate:
        """Aggregate over the numeric cells of columns ``keys`` in rows ``offset`` ..
        ``offset + limit - 1`` of the result (non-numeric columns and None are skipped)."""
        ...

    def index_of(self, query: Query, key: RowKey) -> int | None:
        """Position of the row with ``key`` in the result; None when filtered out or gone."""
        ...

    def iter_rows(
        self, query: Query, offset: int = 0, limit: int | None = None, batch: int = 5000
    ) -> Iterator[list[Row]]:
        """The result in batches, for export: never the whole table in memory."""
        ...

    def iter_csv_cells(
        self,
        query: Query,
        offset: int = 0,
        limit: int | None = None,
        *,
        positions: Sequence[int] | None = None,
        batch: int = 5000,
    ) -> Iterator[list[Sequence[Any]]]:
        """As :meth:`iter_rows`, each row as its CSV cells (``grid.export.csv_cell`` of each
        value, without the key) for the columns at ``positions`` (all when None), for
        ``grid.export.write_csv_cells``. A SQL source lets the database do most of this."""
        ...

    def refresh(self) -> None:
        """Forget cached counts (and results): the next call sees the data as it is now."""
        ...


@dataclass
class ColumnSet:
    """Columns by key, for sources and the widget."""

    columns: Sequence[Column]
    by_key: dict[str, Column] = field(init=False)

    def __post_init__(self) -> None:
        self.by_key = {column.key: column for column in self.columns}

    def index(self, key: str) -> int:
        return [column.key for column in self.columns].index(key)


def key_columns_for(columns: Sequence[Column], keys: Sequence[str] = ()) -> tuple[str, ...]:
    """A source's ``key_columns``: ``keys`` that are columns of it, else its first column."""
    known = {column.key for column in columns}
    chosen = tuple(key for key in keys if key in known)
    return chosen or ((columns[0].key,) if columns else ())


def key_columns_of(source: Any) -> tuple[str, ...]:
    """The ``key_columns`` of any source (the first column for one that declares none)."""
    return key_columns_for(source.columns, getattr(source, "key_columns", ()))


def key_column_positions(source: Any) -> tuple[int, ...]:
    """Positions of the columns that name a row (Period, Name, Time), which a copy or export of
    a cell range carries along, in column order."""
    columns = list(getattr(source, "columns", ()))
    keys = set(key_columns_of(source)) if columns else set()
    return tuple(index for index, column in enumerate(columns) if column.key in keys)


def display_text(column: Column, value: Any) -> str:
    """The cell text for ``value`` (not yet sanitized: the widget does that)."""
    if value is None:
        return column.empty
    if column.formatter is not None:
        return column.formatter(value)
    if column.type is ColumnType.TIMESTAMP and isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if column.type is ColumnType.BOOLEAN:
        return "yes" if value else "no"
    if column.type in (ColumnType.MONEY, ColumnType.DECIMAL) and isinstance(value, Decimal):
        if column.type is ColumnType.DECIMAL and column.places is None:
            return f"{value.normalize():f}"
        return f"{value:,.{shown_places(column)}f}"
    if column.type is ColumnType.PERCENT:
        return f"{value:.{shown_places(column)}f}%"
    if column.type is ColumnType.DURATION:
        seconds = int(value)
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    if column.type is ColumnType.INTEGER:
        return f"{value:,}"
    return str(value)


_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_ascii(text: str) -> str:
    """``text`` with ASCII letters lower-cased and every other character kept (as LIKE does)."""
    return text.translate(_ASCII_FOLD)


def search_text_columns(columns: Sequence[Column]) -> tuple[int, ...]:
    """Positions of the searchable columns; ValueError for a searchable column of a type whose
    text the SQL and the in-memory source could not agree on."""
    positions = []
    for index, column in enumerate(columns):
        if not column.is_searchable:
            continue
        if column.type not in SEARCHABLE_TYPES:
            raise ValueError(
                f"column {column.key!r}: a {column.type} column cannot be searchable "
                f"(only {', '.join(sorted(SEARCHABLE_TYPES))})"
            )
        positions.append(index)
    return tuple(positions)


def search_text(value: Any) -> str | None:
    """What the search looks in for a searchable cell's value (None: nothing to find)."""
    if value is None:
        return None
    return value if type(value) is str else str(value)


def distinct_label(column: Column, value: Any) -> str:
    """What ``RowSource.distinct``'s ``search`` matches for one value of ``column``."""
    if column.type is ColumnType.TEXT:
        return search_text(value) or ""
    return display_text(column, value)


def merge_aggregates(parts: Iterable[Aggregate]) -> Aggregate:
    """One Aggregate over several (e.g. one per column of a selection)."""
    count = 0
    totals: list[Any] = []
    minimums: list[Any] = []
    maximums: list[Any] = []
    for part in parts:
        if not part.count:
            continue
        count += part.count
        if part.total is not None:
            totals.append(part.total)
        if part.minimum is not None:
            minimums.append(part.minimum)
        if part.maximum is not None:
            maximums.append(part.maximum)
    if not count:
        return Aggregate()
    if any(isinstance(total, float) for total in totals):
        totals = [float(total) for total in totals]
    return Aggregate(
        count=count,
        total=sum(totals[1:], totals[0]) if totals else None,
        minimum=min(minimums) if minimums else None,
        maximum=max(maximums) if maximums else None,
    )


# Selection maths. Sums are exact (CDR charges have 4 decimal places; an invoice's subtotal is
# their exact sum), so a sum is shown with as many places as it needs, at least as many as its
# cells show, up to this; past it (a sum of ratios) it is rounded and marked with "≈".
MAX_EXACT_PLACES = 4


def shown_places(column: Column) -> int:
    """Decimal places the cells of a numeric column show."""
    if column.places is not None:
        return column.places
    return 2 if column.type in (ColumnType.MONEY, ColumnType.PERCENT) else 0


def exact_number_text(value: Decimal | int | float | None, places: int = 0) -> str:
    """A sum, min or max: ``places`` decimals, or as many as the value holds (a Decimal's own
    exponent: a sum of 4-place charges has 4) up to MAX_EXACT_PLACES; rounded past that, and
    then marked "≈". None is a dash."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,.{places}f}" if places else f"{value:,}"
    if isinstance(value, float):
        value = Decimal(repr(value))
    exponent = value.as_tuple().exponent  # as stored: 4 places for money from the database
    needed = max(0, -exponent) if isinstance(exponent, int) else 0
    shown = max(places, min(needed, MAX_EXACT_PLACES))
    text = f"{value:,.{shown}f}" if abs(value) < 10**15 else f"{value:.4E}"
    return ("≈" if needed > shown else "") + text


def average_text(value: Decimal | float | None, places: int = 0) -> str:
    """An average: at least 2 decimals, or as many as the cells show (it is rounded by nature)."""
    if value is None:
        return "—"
    return f"{value:,.{max(2, places)}f}"


def aggregate_values(values: Iterable[Any]) -> Aggregate:
    """Aggregate over plain numbers (None skipped, bools are not numbers)."""
    numbers = [v for v in values if v is not None and not isinstance(v, bool)]
    if not numbers:
        return Aggregate()
    if any(isinstance(v, float) for v in numbers):
        total: Any = sum(float(v) for v in numbers)
    else:
        total = sum(numbers[1:], numbers[0])
    return Aggregate(count=len(numbers), total=total, minimum=min(numbers), maximum=max(numbers))
