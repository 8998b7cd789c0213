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
the reason it cannot: a reject reason naming the number, never a silent zero.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from carriertui.rating import BadNumberError, CardKind, dialled_digits, version_in_force

# (prefix, start, end, mcd, pulse, rate in 10**-6, connect fee in 10**-6), in load order.
RateRow = tuple[str, float, float, int, int, int, int]
Priced = tuple[int, int, int]  # billed seconds, charge and cost in 10**-4

FOREVER = float("inf")
_START = itemgetter(0)
# 10**-6 to 10**-4 and per minute to per second: (fee x 60 + billed x rate) / 6000.
_DIVISOR = 6000
_HALF = _DIVISOR // 2
_KINDS = (CardKind.CUSTOMER.value, CardKind.PROVIDER.value)
_MONEY = {CardKind.CUSTOMER.value: "a charge", CardKind.PROVIDER.value: "a cost"}


class PriceTable:
    """One card's rates for bulk rating (see the module's docstring)."""

    __slots__ = ("_lengths", "_versions", "name", "size")

    def __init__(self, name: str, rows: Iterable[RateRow]) -> None:
        versions: dict[str, Any] = {}
        several: set[str] = set()
        # A deck's rows share their dates and a few thousand prices: one tuple for each
        # distinct version, so the table (and its pickle for the child) is smaller.
        shared: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        count = 0
        for prefix, start, end, mcd, pulse, rate, fee in rows:
            count += 1
            version = (start, end, mcd, pulse, rate, fee)
            version = shared.setdefault(version, version)
            known = versions.get(prefix)
            if known is None:
                versions[prefix] = version
            elif prefix in several:
                known.append(version)
            else:
                versions[prefix] = [known, version]
                several.add(prefix)
        for prefix in several:
            versions[prefix].sort(key=_START)  # stable: the later loaded wins a tie
        self.name = name
        self.size = count
        self._versions = versions
        self._lengths = tuple(sorted({len(prefix) for prefix in versions}, reverse=True))

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.name, self.size, self._versions, self._lengths)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.name, self.size, self._versions, self._lengths = state

    def find(self, digits: str, at: float) -> tuple[Any, ...] | None:
        """The version ``(start, end, mcd, pulse, rate, fee)`` for ``digits`` at ``at``."""
        return version_in_force(self._versions, self._lengths, digits, at)


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

    def price_columns(
        self,
        customer_ids: Sequence[int],
        starts: Sequence[float],
        numbers: Sequence[str],
        durations: Sequence[int],
    ) -> tuple[list[int], list[int], list[int]] | None:
        """The billed seconds, charges and costs of many calls; None if any cannot be rated
        (the caller then goes row by row, to name each one)."""
        billed_seconds: list[int] = []
        charges: list[int] = []
        costs: list[int] = []
        add_billed, add_charge, add_cost = billed_seconds.append, charges.append, costs.append
        tables_of = self._tables_of
        tech = self.tech_prefix
        for customer_id, at, number, duration in zip(
            customer_ids, starts, numbers, durations, strict=True
        ):
            if duration <= 0:
                add_billed(0)
                add_charge(0)
                add_cost(0)
                continue
            digits = number.strip().removeprefix("+")
            if tech:
                digits = digits.removeprefix(tech)
            if not (digits.isdigit() and digits.isascii()):
                return None
            sold_table, bought_table = tables_of(customer_id)
            if isinstance(sold_table, str) or isinstance(bought_table, str):
                return None
            sold = sold_table.find(digits, at)
            bought = bought_table.find(digits, at)
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
