"""Prices for CDRs that arrive without money: the rating rule of :mod:`carriertui.rating` in the
form the import's parser uses, light enough for the parsing child (stdlib only) and cheap to
send it through the pipe.

A :class:`PriceTable` is one card's rates as plain numbers: per prefix its versions
``(start, end, mcd, pulse, rate, connect fee)`` with POSIX timestamps (``inf`` for an open end)
and money in millionths (the rate table's own scale, so no Decimal is made). The lookup is
RateMatcher's: the number's prefixes from the longest length any rate has down, at each the
latest version started at or before the call that has not ended (of two with one start, the
one loaded later). The charge is ``connect fee + billed / 60 x rate`` worked out exactly in
integers and rounded once to 4 places half-up (the CDR's scale).

A :class:`RowRater` knows which card rates each customer's charge (its customer card) and cost
(the provider card assigned to it), and turns (customer, start, number, duration) into
(billed seconds, charge, cost), the money scaled by 10**4 as the CDR table stores it, or into
the reason it cannot: a reject reason naming the number, never a silent zero. Its bulk path
(``price_columns``) probes a customer's two cards in one pass (:class:`PairTable`).
"""

from __future__ import annotations

import pickle
from array import array
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from carriertui.rating import BadNumberError, CardKind, dialled_digits, version_in_force

# (start, end, mcd, pulse, rate in 10**-6, connect fee in 10**-6): start and end POSIX times.
Version = tuple[float, float, int, int, int, int]
Priced = tuple[int, int, int]  # billed seconds, charge and cost in 10**-4

FOREVER = float("inf")
_START = itemgetter(0)
# 10**-6 to 10**-4 and per minute to per second: (fee x 60 + billed x rate) / 6000.
_DIVISOR = 6000
_HALF = _DIVISOR // 2
_KINDS = (CardKind.CUSTOMER.value, CardKind.PROVIDER.value)
_MONEY = {CardKind.CUSTOMER.value: "a charge", CardKind.PROVIDER.value: "a cost"}
_UNKNOWN: Any = object()


class PriceTable:
    """One card's rates for bulk rating (see the module's docstring).

    Made from the rates as parallel columns, in load order: each rate's prefix, the number of
    its version in ``versions`` (a deck's rows share their dates and a few thousand prices:
    one tuple for each distinct version). It travels to the parsing child in that form (one
    string of prefixes, one array of numbers: copied, not walked, by pickle) and builds its
    prefix -> version dict where it is first used, which in the parent of a child is never.
    """

    __slots__ = ("_columns", "_lengths", "_versions", "name", "size")

    def __init__(
        self,
        name: str,
        prefixes: Sequence[str],
        version_ids: Sequence[int],
        versions: Sequence[tuple[Any, ...]],
    ) -> None:
        self.name = name
        self.size = len(prefixes)
        self._columns: tuple[Sequence[str], Sequence[int], Sequence[tuple[Any, ...]]] = (
            prefixes,
            version_ids,
            versions,
        )
        self._versions: dict[str, Any] | None = None
        self._lengths: tuple[int, ...] = ()

    def __getstate__(self) -> tuple[Any, ...]:
        prefixes, version_ids, versions = self._columns
        return (
            self.name,
            "\n".join(prefixes),  # digits only: no line break in any
            array("I", version_ids),
            list(versions),
        )

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        name, text, version_ids, versions = state
        self.__init__(name, text.split("\n") if text else [], version_ids, versions)  # type: ignore[misc]

    def versions(self) -> dict[str, Any]:
        """prefix -> its one version ``(start, end, mcd, pulse, rate, fee)``, or a list of them
        sorted by start (stable: of two with one start, the one loaded later is last)."""
        if self._versions is None:
            prefixes, version_ids, versions = self._columns
            each = list(map(versions.__getitem__, version_ids))
            table: dict[str, Any] = dict(zip(prefixes, each, strict=True))
            if len(table) != len(prefixes):  # some prefix has several versions
                counts = Counter(prefixes)
                several = {prefix for prefix, count in counts.items() if count > 1}
                lists: dict[str, list[tuple[Any, ...]]] = {prefix: [] for prefix in several}
                for prefix, version in zip(prefixes, each, strict=True):
                    if prefix in several:
                        lists[prefix].append(version)
                for prefix, found in lists.items():
                    found.sort(key=_START)  # stable: the later loaded wins a tie
                    table[prefix] = found
            self._versions = table
            self._lengths = tuple(sorted({len(prefix) for prefix in table}, reverse=True))
        return self._versions

    def lengths(self) -> tuple[int, ...]:
        """The prefix lengths of the card, longest first."""
        self.versions()
        return self._lengths

    def find(self, digits: str, at: float) -> tuple[Any, ...] | None:
        """The version ``(start, end, mcd, pulse, rate, fee)`` for ``digits`` at ``at``."""
        return version_in_force(self.versions(), self.lengths(), digits, at)


def _longest_entry(table: dict[str, Any], lengths: tuple[int, ...], prefix: str) -> Any:
    """The entry of ``table``'s longest prefix of ``prefix`` (itself included), or None."""
    size = len(prefix)
    for length in lengths:
        if length <= size:
            found = table.get(prefix[:length])
            if found is not None:
                return found
    return None


class PairTable:
    """A customer card and a provider card probed in one pass: for every prefix of either,
    (the customer card's entry, the provider card's entry) of that card's longest prefix of it
    (a version, a list of versions, or None when the card has none).

    The longest prefix ``p`` of both cards' prefixes that a number starts with holds the
    answer of each card: a card's longest prefix of the number is a prefix of ``p``. So one
    look-up from the longest length down finds both, and when each entry is one version in
    force at the call, those are the rates; anything else (several versions, one not in force,
    a card without a prefix of it) asks each card on its own (PriceTable.find), as before.
    """

    __slots__ = ("bought", "get", "lengths", "sold")

    def __init__(self, sold: PriceTable, bought: PriceTable) -> None:
        mine, theirs = sold.versions(), bought.versions()
        if mine.keys() == theirs.keys():  # the same prefixes, as a carrier's two decks often have
            pairs = dict(
                zip(
                    mine,
                    zip(mine.values(), map(theirs.__getitem__, mine), strict=True),
                    strict=True,
                )
            )
        else:
            mine_lengths, their_lengths = sold.lengths(), bought.lengths()
            pairs = {
                prefix: (
                    _longest_entry(mine, mine_lengths, prefix),
                    _longest_entry(theirs, their_lengths, prefix),
                )
                for prefix in mine.keys() | theirs.keys()
            }
        self.sold, self.bought = sold, bought
        self.get = pairs.get
        self.lengths = tuple(sorted({len(prefix) for prefix in pairs}, reverse=True))


def price(version: tuple[Any, ...], duration: int) -> tuple[int, int]:
    """(billed seconds, charge in 10**-4) of a connected call of ``duration`` seconds."""
    _start, _end, mcd, pulse, rate, fee = version
    billed = mcd if duration <= mcd else mcd + -(-(duration - mcd) // pulse) * pulse
    whole, rest = divmod(fee * 60 + billed * rate, _DIVISOR)
    return billed, whole + 1 if rest >= _HALF else whole


def _moment(at: float) -> str:
    return f"{datetime.fromtimestamp(at, UTC):%Y-%m-%d %H:%M:%S}Z"


class RowRater:
    """Which card prices each customer's calls, and the pricing of one call.

    ``cards``: (customer id, kind) -> card name; ``tables``: card name -> PriceTable;
    ``labels``: customer id -> account code (for the reasons). ``tech_prefix``: taken off a
    dialled number that starts with it (after its ``+``), as ``rates test --tech-prefix`` does.
    """

    def __init__(
        self,
        cards: dict[tuple[int, str], str],
        tables: dict[str, PriceTable],
        labels: dict[int, str],
        tech_prefix: str = "",
    ) -> None:
        self.tables = tables
        self.labels = labels
        self.tech_prefix = tech_prefix
        # customer id -> (customer table or why not, provider table or why not)
        self._by_customer: dict[int, tuple[PriceTable | str, PriceTable | str]] = {}
        self._cards = cards
        # customer id -> its cards' PairTable (None: it lacks one); one PairTable per two cards
        self._pair_by_customer: dict[int, PairTable | None] = {}
        self._pairs: dict[tuple[str, str], PairTable] = {}

    def __getstate__(self) -> bytes:
        # Pickled on its own, with a memo: the pipe's pickler keeps none (fast mode), and the
        # tables' shared versions and dates would be copied once per use, and unpickled so.
        return pickle.dumps(
            (self._cards, self.tables, self.labels, self.tech_prefix),
            protocol=pickle.HIGHEST_PROTOCOL,
        )

    def __setstate__(self, state: bytes) -> None:
        self.__init__(*pickle.loads(state))  # type: ignore[misc]  # noqa: S301 - our own child's pipe

    def _tables_of(self, customer_id: int) -> tuple[PriceTable | str, PriceTable | str]:
        pair = self._by_customer.get(customer_id)
        if pair is None:
            found: list[PriceTable | str] = []
            for kind in _KINDS:
                name = self._cards.get((customer_id, kind))
                table = self.tables.get(name) if name is not None else None
                if table is None:
                    label = self.labels.get(customer_id, str(customer_id))
                    found.append(
                        f"customer {label} has no {kind} rate card "
                        f"to rate a call without {_MONEY[kind]}"
                    )
                else:
                    found.append(table)
            pair = self._by_customer[customer_id] = (found[0], found[1])
        return pair

    def price_call(self, customer_id: int, at: float, number: str, duration: int) -> Priced | str:
        """(billed seconds, charge, cost) of one call, or the reason it cannot be rated. A call
        that was not connected (duration 0) costs nothing, whatever the number."""
        if duration <= 0:
            return (0, 0, 0)
        try:
            digits = dialled_digits(number, self.tech_prefix)
        except BadNumberError as error:
            return str(error)
        customer_table, provider_table = self._tables_of(customer_id)
        if isinstance(customer_table, str):
            return customer_table
        if isinstance(provider_table, str):
            return provider_table
        sold = customer_table.find(digits, at)
        if sold is None:
            return f"no customer rate for {digits} at {_moment(at)} (card {customer_table.name})"
        bought = provider_table.find(digits, at)
        if bought is None:
            return f"no provider rate for {digits} at {_moment(at)} (card {provider_table.name})"
        billed, charge = price(sold, duration)
        return billed, charge, price(bought, duration)[1]

    def _pair_of(self, customer_id: int) -> PairTable | None:
        """The customer's two cards as one PairTable (None: it lacks one; price_call says so)."""
        pair = self._pair_by_customer.get(customer_id, _UNKNOWN)
        if pair is _UNKNOWN:
            sold, bought = self._tables_of(customer_id)
            if isinstance(sold, str) or isinstance(bought, str):
                pair = None
            else:
                key = (sold.name, bought.name)
                pair = self._pairs.get(key)
                if pair is None:
                    pair = self._pairs[key] = PairTable(sold, bought)
            self._pair_by_customer[customer_id] = pair
        return pair

    def price_columns(
        self,
        customer_ids: Sequence[int],
        starts: Sequence[float],
        numbers: Sequence[str],
        durations: Sequence[int],
    ) -> tuple[list[int], list[int], list[int]] | None:
        """The billed seconds, charges and costs of many calls; None if any cannot be rated
        (the caller then goes row by row, to name each one). The same as price_call for each
        row: the customer's two cards probed in one pass (PairTable)."""
        billed_seconds: list[int] = []
        charges: list[int] = []
        costs: list[int] = []
        add_billed, add_charge, add_cost = billed_seconds.append, charges.append, costs.append
        tech = self.tech_prefix
        joined = "".join(numbers)
        plain = not tech and joined.isdigit() and joined.isascii()  # digits as they are
        pair_of = self._pair_of
        last_customer: int | None = None
        get: Any = None
        lengths: tuple[int, ...] = ()
        pair: PairTable | None = None
        for customer_id, at, number, duration in zip(
            customer_ids, starts, numbers, durations, strict=True
        ):
            if duration <= 0:
                add_billed(0)
                add_charge(0)
                add_cost(0)
                continue
            if plain:
                digits = number
            else:
                digits = number.strip().removeprefix("+")
                if tech:
                    digits = digits.removeprefix(tech)
                if not (digits.isdigit() and digits.isascii()):
                    return None
            if customer_id != last_customer:
                pair = pair_of(customer_id)
                if pair is None:
                    return None
                get, lengths, last_customer = pair.get, pair.lengths, customer_id
            size = len(digits)
            entry = None
            for length in lengths:
                if length <= size:
                    entry = get(digits[:length])
                    if entry is not None:
                        break
            if entry is None:
                return None
            sold, bought = entry
            if (
                type(sold) is not tuple
                or type(bought) is not tuple
                or not sold[0] <= at < sold[1]
                or not bought[0] <= at < bought[1]
            ):
                assert pair is not None
                sold = pair.sold.find(digits, at)
                bought = pair.bought.find(digits, at)
                if sold is None or bought is None:
                    return None
            _s, _e, mcd, pulse, rate, fee = sold
            billed = mcd if duration <= mcd else mcd + -(-(duration - mcd) // pulse) * pulse
            whole, rest = divmod(fee * 60 + billed * rate, _DIVISOR)
            add_billed(billed)
            add_charge(whole + 1 if rest >= _HALF else whole)
            _s, _e, mcd, pulse, rate, fee = bought
            cost_billed = mcd if duration <= mcd else mcd + -(-(duration - mcd) // pulse) * pulse
            whole, rest = divmod(fee * 60 + cost_billed * rate, _DIVISOR)
            add_cost(whole + 1 if rest >= _HALF else whole)
        return billed_seconds, charges, costs
