"""Internal number blocks and the extensions that use their numbers.

SIP extensions are unique per account, not per customer (DOMAIN.md section 4). Each customer gets
its own block of numbers: block k covers ``[start + k*size, start + (k+1)*size - 1]`` with Start
and Size from Settings > Options. A customer may hold several blocks.

Rules, all enforced here and by the database:

- Allocation takes the lowest free block index, in one write transaction (``BEGIN IMMEDIATE`` on
  SQLite, an advisory lock on PostgreSQL); ``block_index`` is UNIQUE as the net under both.
- Every number in use (SIP user, conference, alias) has one row in ``extension_number``, whose
  ``number`` is UNIQUE account-wide: a second use is "Duplicate User Detected", whoever races.
- A customer with blocks may use only numbers inside them; a customer without any block may use
  any number not used anywhere on the account.
- A block is released only when none of its numbers is in use.

Every change writes its audit entry (with the customer's id) in the same transaction.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from carriertui.grid.export import csv_cell
from carriertui.grid.model import (
    Aggregate,
    Column,
    ColumnType,
    DistinctValue,
    Query,
    Row,
    RowKey,
    aggregate_values,
)
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.tables import ExtensionNumber, NumberBlock, table_of
from carriertui.store.enums import Role
from carriertui.store.numbers.blocks import (  # noqa: F401 (numbers.X for the callers)
    _block_audit,
    _block_record,
    _extensions_in,
    _list_numbers,
    _lowest_clear_index,
    _lowest_free_index,
    _used_in,
    allocate_next_block,
    blocks_of,
    list_blocks,
    release_block,
)
from carriertui.store.numbers.extensions import (  # noqa: F401 (numbers.X for the callers)
    EXTENSION_COLUMNS,
    _claim_number,
    _one_extension,
    _pin,
    _record_new_extension,
    create_alias,
    create_conference,
    create_sip_user,
    delete_extension,
    extensions_grid_source,
    list_extensions,
    resolve_dial,
)
from carriertui.store.numbers.records import (  # noqa: F401 (numbers.X for the callers)
    _LISTED_EXTENSIONS,
    DUPLICATE,
    MAX_DIGITS,
    MAX_NUMBER,
    PLAN_UNSET,
    BlockRecord,
    DialResult,
    ExtensionRecord,
    NewSipUser,
    NumberPlanUnsetError,
    _blocks,
    _customer,
    _extension_records,
    _extension_statement,
    _number_plan,
    _number_text,
    block_prefix,
    block_range,
    max_block_index,
    number_plan,
    parse_number,
)

PICKER_COLUMNS = (
    Column(
        "number",
        "Unused number",
        ColumnType.INTEGER,
        width=16,
        formatter=_number_text,
        sortable=False,
        filterable=False,
        searchable=False,
    ),
    Column("extension", "Ext.", width=8, sortable=False, filterable=False, searchable=False),
    Column("block", "Block", width=28, sortable=False, filterable=False, searchable=False),
)


@dataclass(frozen=True)
class _Span:
    """The part of one block a search keeps: numbers first..last, ``used`` of them in use, and
    ``before`` unused numbers in the spans ahead of it."""

    first: int
    last: int
    used: int
    before: int
    block: BlockRecord

    @property
    def unused(self) -> int:
        return self.last - self.first + 1 - self.used


def prefix_ranges(prefix: str, first: int, last: int) -> list[tuple[int, int]]:
    """The numbers in ``first..last`` whose decimal digits start with ``prefix``, as sorted,
    disjoint ranges (one per length: prefix 2 in 1..300 gives 2, 20-29, 200-299)."""
    if not prefix:
        return [(first, last)]
    base = int(prefix)
    ranges = []
    for extra in range(len(str(last)) - len(prefix) + 1):
        low, high = base * 10**extra, (base + 1) * 10**extra - 1
        low, high = max(low, first), min(high, last)
        if low <= high:
            ranges.append((low, high))
    return ranges


_CHUNK = 4096
_FIRST_CHUNK = 256
PRIMED_ROWS = 256  # callers pass the grid's page size (widgets.grid.view.PAGE_SIZE)
# Up to this many unused numbers into a span, a page is found by walking the used numbers from
# the span's start in chunks; further in (End, a long scroll), the span's used numbers are read
# once and the k-th unused number is found by binary search.
_WALK_LIMIT = 20_000


class UnusedNumberSource:
    """The unused numbers of a customer's blocks, as a grid row source, never materialised.

    Counts are COUNT queries per block (one indexed range each). The first pages walk the used
    numbers from the block's start in chunks, so the picker shows a 100,000-number block's first
    unused numbers after reading a few thousand rows at most; a page far into a block reads the
    block's used numbers once and finds the k-th unused number by binary search. The grid's
    search is the picker's type-ahead: digits that the number starts with (this source's search
    is a prefix match, not the grid's usual "contains"; its columns are neither sortable nor
    filterable).

    The numbers in use are read when asked: a number taken meanwhile may still be offered, and
    the service refuses it with "Duplicate User Detected".
    """

    columns: Sequence[Column] = PICKER_COLUMNS
    name = "unused-numbers"
    key_columns: tuple[str, ...] = ("number",)

    def __init__(
        self,
        blocks: Sequence[BlockRecord],
        *,
        count_used: Callable[[int, int], int],
        used_from: Callable[[int, int, int], list[int]],
    ) -> None:
        self.blocks = tuple(sorted(blocks, key=lambda block: block.range_start))
        self._count_used = count_used
        self._used_from = used_from
        self._lock = threading.Lock()
        self._spans: dict[str, tuple[_Span, ...]] = {}
        self._loaded: dict[tuple[int, int], list[int]] = {}
        self._primed: tuple[str, list[Row]] | None = None
        self._primed_pending: set[str] = set()
        self._block_counts_fresh = True  # BlockRecord.used as read with the blocks
        self._primed_rows = PRIMED_ROWS

    # -- the first answers, read in the service's worker ---------------------------------------

    def prime(self, search: str = "", rows: int = PRIMED_ROWS) -> None:
        """Read the count and the first ``rows`` rows for ``search`` now (call it in a worker).

        Until the grid has taken these answers (its first count and first page), the source says
        it is ``synchronous``: the grid asks for them on the UI thread and shows them in the
        first frame, without two thread hops. Every later answer needs SQL and comes through
        the grid's workers again.
        """
        search = search.strip()
        self._primed_rows = rows
        first_rows = self.page(Query(search=search), 0, rows)
        self.spans(search)
        self.spans("")  # total() is the count with no search
        with self._lock:
            self._primed = (search, first_rows)
            self._primed_pending = {"page", "count", "total"}

    @property
    def synchronous(self) -> bool:
        with self._lock:
            return bool(self._primed_pending)

    def _take_primed(self, what: str) -> None:
        with self._lock:
            self._primed_pending.discard(what)

    def _primed_page(self, query: Query, offset: int, limit: int) -> list[Row] | None:
        with self._lock:
            primed = self._primed
        if primed is None or offset != 0 or query.search.strip() != primed[0]:
            return None
        rows = primed[1]
        if limit <= len(rows) or len(rows) < self._primed_rows:
            self._take_primed("page")
            return rows[:limit]
        return None

    # -- arithmetic ---------------------------------------------------------------------------

    def spans(self, search: str) -> tuple[_Span, ...]:
        search = search.strip()
        with self._lock:
            cached = self._spans.get(search)
        if cached is not None:
            return cached
        spans: list[_Span] = []
        if not search or (search.isdigit() and search.isascii()):
            before = 0
            for block in self.blocks:
                for first, last in prefix_ranges(search, block.range_start, block.range_end):
                    whole = self._block_counts_fresh and (first, last) == (
                        block.range_start,
                        block.range_end,
                    )
                    # the block's count was read with the block: no second COUNT
                    used = block.taken if whole else self._count_used(first, last)
                    span = _Span(first, last, used, before, block)
                    before += span.unused
                    spans.append(span)
        result = tuple(span for span in spans if span.unused)
        with self._lock:
            if len(self._spans) > 64:
                self._spans.clear()
            self._spans[search] = result
        return result

    def _all_used(self, span: _Span) -> list[int]:
        key = (span.first, span.last)
        with self._lock:
            cached = self._loaded.get(key)
        if cached is None:
            cached = self._used_from(span.first, span.last, span.used + _CHUNK)
            with self._lock:
                self._loaded[key] = cached
        return cached

    def _nth_in(self, span: _Span, used: list[int], k: int) -> int:
        """The k-th (0-based) unused number of ``span``, whose used numbers are ``used``."""
        # the count c of used numbers u with (unused numbers before u) <= k; answer first + k + c
        low, high = 0, len(used)
        while low < high:
            middle = (low + high) // 2
            if used[middle] - span.first - middle <= k:
                low = middle + 1
            else:
                high = middle
        return span.first + k + low

    def _row(self, number: int, block: BlockRecord) -> Row:
        digits = block.extension_digits
        extension = str(number)[-digits:] if digits else ""
        label = f"{block.block_index}: {block.range_text}"
        return number, (number, extension, label)

    def _walk(self, span: _Span, skip: int) -> Iterator[Row]:
        """Unused numbers of ``span`` after the first ``skip``, reading used numbers in chunks."""
        cursor = span.first
        size = _FIRST_CHUNK  # a first page usually needs a few used numbers, not thousands
        while cursor <= span.last:
            chunk = self._used_from(cursor, span.last, size)
            complete = len(chunk) < size
            size = min(size * 4, _CHUNK)
            for stop in [*chunk, span.last + 1] if complete else chunk:
                if cursor < stop:
                    gap = stop - cursor
                    if skip >= gap:
                        skip -= gap
                    else:
                        for number in range(cursor + skip, stop):
                            yield self._row(number, span.block)
                        skip = 0
                cursor = stop + 1
            if complete:
                return

    def _jump(self, span: _Span, skip: int) -> Iterator[Row]:
        used = self._all_used(span)
        number = self._nth_in(span, used, skip)
        pointer = bisect.bisect_right(used, number)
        while number <= span.last:
            if pointer < len(used) and used[pointer] == number:
                pointer += 1
            else:
                yield self._row(number, span.block)
            number += 1

    def _iter_from(self, search: str, offset: int) -> Iterator[Row]:
        spans = self.spans(search)
        index = bisect.bisect_right([span.before for span in spans], offset) - 1
        if index < 0:
            return
        for span in spans[index:]:
            skip = max(offset - span.before, 0)
            if skip >= span.unused:
                continue
            if skip <= _WALK_LIMIT and (span.first, span.last) not in self._loaded:
                yield from self._walk(span, skip)
            else:
                yield from self._jump(span, skip)

    # -- the row source protocol ---------------------------------------------------------------

    def count(self, query: Query) -> int:
        counted = sum(span.unused for span in self.spans(query.search))
        if self._primed is not None and query.search.strip() == self._primed[0]:
            self._take_primed("count")
        return counted

    def total(self) -> int:
        counted = sum(span.unused for span in self.spans(""))
        self._take_primed("total")
        return counted

    def page(self, query: Query, offset: int, limit: int) -> list[Row]:
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must not be negative")
        primed = self._primed_page(query, offset, limit)
        if primed is not None:
            return primed
        rows: list[Row] = []
        if limit == 0:
            return rows
        for row in self._iter_from(query.search, offset):
            rows.append(row)
            if len(rows) >= limit:
                break
        return rows

    def distinct(
        self, query: Query, key: str, *, search: str = "", limit: int = 1000
    ) -> list[DistinctValue]:
        return []  # not filterable: a value list of 100,000 numbers helps nobody

    def aggregate(self, query: Query, keys: Sequence[str], offset: int, limit: int) -> Aggregate:
        if "number" not in keys:
            return Aggregate()
        return aggregate_values(row[1][0] for row in self.page(query, offset, limit))

    def index_of(self, query: Query, key: RowKey) -> int | None:
        if not isinstance(key, int) or isinstance(key, bool):
            return None
        for span in self.spans(query.search):
            if span.first <= key <= span.last:
                if self._count_used(key, key):
                    return None
                used_before = self._count_used(span.first, key - 1) if key > span.first else 0
                return span.before + (key - span.first) - used_before
        return None

    def iter_rows(
        self, query: Query, offset: int = 0, limit: int | None = None, batch: int = 5000
    ) -> Iterator[list[Row]]:
        chunk: list[Row] = []
        for produced, row in enumerate(self._iter_from(query.search, offset)):
            if limit is not None and produced >= limit:
                break
            chunk.append(row)
            if len(chunk) >= batch:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

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
        """Forget counts and loaded numbers: the next call reads the numbers in use again.
        A source whose first answers were just read (:meth:`prime`) keeps them for the
        grid's first load, which starts with a refresh."""
        with self._lock:
            if self._primed_pending:
                return
            self._primed = None
            self._block_counts_fresh = False
            self._spans.clear()
            self._loaded.clear()

    def first(self, search: str = "") -> int | None:
        rows = self.page(Query(search=search), 0, 1)
        return rows[0][0] if rows else None

    def is_unused(self, number: int) -> bool:
        return self.index_of(Query(), number) is not None


def unused_numbers(
    db: Database,
    actor: Actor,
    customer_id: int,
    *,
    prime: str | None = None,
    prime_rows: int = PRIMED_ROWS,
) -> UnusedNumberSource:
    """The number picker's source over the customer's blocks (read now) and the numbers used in
    them by anyone on the account (read as the picker pages). Empty when it holds no block.
    With ``prime`` (the digits typed so far), the count and first rows for it are read now too
    (see :meth:`UnusedNumberSource.prime`)."""
    actor.require(Role.VIEWER, "list unused numbers")
    numbers = table_of(ExtensionNumber)

    def count_used(first: int, last: int) -> int:
        statement = select(func.count()).where(numbers.c.number.between(first, last))
        with db.read() as session:
            return int(session.connection().execute(statement).scalar_one())

    def used_from(first: int, last: int, limit: int) -> list[int]:
        statement = (
            select(numbers.c.number)
            .where(numbers.c.number.between(first, last))
            .order_by(numbers.c.number)
            .limit(limit)
        )
        with db.read() as session:
            return list(session.connection().execute(statement).scalars())

    with db.read() as session:
        blocks = _blocks(session, customer_id)
    source = UnusedNumberSource(blocks, count_used=count_used, used_from=used_from)
    if prime is not None:
        source.prime(prime, prime_rows)
    return source


def customer_has_blocks(db: Database, actor: Actor, customer_id: int) -> bool:
    actor.require(Role.VIEWER, "list number blocks")
    with db.read() as session:
        query = select(col(NumberBlock.id)).where(col(NumberBlock.customer_id) == customer_id)
        return session.scalars(query).first() is not None
