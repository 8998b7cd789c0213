"""Rating through the import path (issue 14) against an independent oracle, on SQLite and
PostgreSQL, with the file parsed in the importing process and in the child.

Hypothesis draws a customer card and a provider card as a history of decks (each deck the whole
card from its date: it ends the card's rates still in force then, as the README says), a tech
prefix, and calls (numbers with or without ``+`` and the tech prefix, start times across the
decks' dates, durations); the calls go through ``cdr import`` as a switch's file (no money
columns) or as a file with the money columns where some rows are empty (rated) and some carry
their money (kept). The oracle is written here from the rule alone: the rates in force at the
start (``from <= start < to``), the longest matching prefix after ``+`` and the tech prefix are
taken off, MCD/pulse by counting pulses, connect fee + billed / 60 x rate as a Fraction rounded
to 4 places half-up by hand. A connected call with no rate must be a reject naming the number
on its line.

This file and tests/unit/test_rating.py split the work: that one checks RateMatcher and the
pure functions against the same kind of oracle; this one the import (store/cdrs/pricing.py,
the parser's row and column paths, the importer's pending rows, the deck import's history).
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from cdr_helpers import stored_cdrs
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from carriertui.store import customers, rates
from carriertui.store.cdrs import csvsource
from carriertui.store.cdrs import importer as cdrs
from carriertui.store.cdrs.importer import CSV_COLUMNS, import_cdr_file

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
DECK_HEADER = (
    "prefix",
    "destination",
    "rate",
    "connect_fee",
    "mcd",
    "pulse",
    "effective_from",
    "effective_to",
)
UNRATED = tuple(c for c in CSV_COLUMNS if c not in ("billed_duration", "charge", "cost"))
_names = itertools.count(1)


@pytest.fixture(params=["in-process", "child"])
def parsing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(cdrs, "CHILD_MIN_BYTES", 0 if request.param == "child" else 1 << 62)
    monkeypatch.setattr(cdrs, "_CHILD_BACKENDS", frozenset({"sqlite", "postgresql"}))
    # Groups of 3 rows: a group whose rows all rate goes through the column path
    # (RowRater.price_columns), one with a reject or with money given row by row.
    monkeypatch.setattr(csvsource, "_GROUP_ROWS", 3)
    return request.param


# -- the oracle -----------------------------------------------------------------------------


@dataclass
class OracleRate:
    prefix: str
    rate: Decimal
    fee: Decimal
    mcd: int
    pulse: int
    start: datetime
    end: datetime | None


def card_history(decks: list[tuple[datetime, list[OracleRate]]]) -> list[OracleRate]:
    """The card's rates after its decks, each imported at its date: a deck ends every rate
    still in force at (or starting after) its date there, then adds its own."""
    history: list[OracleRate] = []
    for date, rows in decks:
        for old in history:
            if old.end is None or old.end > date:
                old.end = max(old.start, date)
        history += [OracleRate(**row.__dict__) for row in rows]
    return history


def oracle_rate(card: list[OracleRate], digits: str, at: datetime) -> OracleRate | None:
    found = [
        r
        for r in card
        if r.start <= at and (r.end is None or at < r.end) and digits[: len(r.prefix)] == r.prefix
    ]
    return max(found, key=lambda r: len(r.prefix)) if found else None


def oracle_price(rate: OracleRate, duration: int) -> tuple[int, Decimal]:
    billed = rate.mcd
    while billed < duration:
        billed += rate.pulse
    exact = (Fraction(rate.fee) + Fraction(billed, 60) * Fraction(rate.rate)) * 10_000
    whole = exact.numerator // exact.denominator
    if exact - whole >= Fraction(1, 2):
        whole += 1
    return billed, Decimal(whole).scaleb(-4)


# -- what Hypothesis draws ------------------------------------------------------------------

prefixes = st.text(alphabet="0123", min_size=1, max_size=4)
prices = st.one_of(
    st.decimals(min_value=0, max_value=3, places=6, allow_nan=False, allow_infinity=False),
    # Prices whose charges often end in exactly half a unit of the 4th place (0.001 a minute
    # for 3 s is 0.00005): half-up and half-even part there.
    st.sampled_from(["0", "0.001", "0.003", "0.0001", "0.0009", "0.015"]).map(Decimal),
)
schemes = st.one_of(
    st.sampled_from([(1, 1), (6, 6), (30, 6), (60, 6), (60, 60), (0, 6), (6, 1)]),
    st.tuples(st.integers(0, 120), st.integers(1, 60)),
)


@st.composite
def deck_rows(draw, date: datetime, known: tuple[str, ...]) -> list[OracleRate]:
    """A deck's rows: prefixes of its own and, for a provider card, often the customer card's
    (so that both cards price the same calls)."""
    own = draw(st.sets(prefixes, min_size=1, max_size=8))
    if draw(st.booleans()):  # every number matches something (the longest prefix still counts)
        own |= {"0", "1", "2", "3"}
    shared = draw(st.sets(st.sampled_from(known), max_size=len(known))) if known else set()
    rows = []
    for prefix in sorted(own | shared):
        mcd, pulse = draw(schemes)
        start = date + draw(st.sampled_from([0, 0, 0, 1, 4])) * DAY
        length = draw(st.one_of(st.none(), st.none(), st.integers(1, 15)))
        end = None if length is None else start + length * DAY
        rows.append(OracleRate(prefix, draw(prices), draw(prices), mcd, pulse, start, end))
    return rows


@st.composite
def card_decks(draw, known: tuple[str, ...] = ()) -> list[tuple[datetime, list[OracleRate]]]:
    days = sorted(draw(st.sets(st.integers(0, 40), min_size=1, max_size=3)))
    return [(T0 + day * DAY, draw(deck_rows(T0 + day * DAY, known))) for day in days]


@dataclass
class Call:
    digits: str
    plus: bool
    with_tech: bool
    at: datetime
    duration: int
    money: tuple[str, str, str] | None  # given (billed, charge, cost), or None: rated


def calls(known: list[str], dates: list[datetime]) -> st.SearchStrategy[Call]:
    """Calls to numbers that mostly start with one of the cards' prefixes, mostly in the days
    after a deck's date (else few would match)."""
    # Often at midnight: where rates start and end (an end is exclusive).
    seconds = st.one_of(st.just(0), st.integers(0, 86_399), st.just(86_399))
    after_a_deck = st.tuples(st.sampled_from(dates), st.sampled_from(range(12)), seconds).map(
        lambda drawn: drawn[0] + timedelta(days=drawn[1], seconds=drawn[2])
    )
    # (Before a rate starts, after one ends, before the provider card's first deck: there is
    # still plenty of "no rate".)
    moments = after_a_deck
    digits = st.one_of(
        st.text(alphabet="0123", min_size=1, max_size=7),
        st.tuples(st.sampled_from(known), st.text(alphabet="0123", max_size=3)).map("".join),
    )
    return st.builds(
        Call,
        digits=digits,
        plus=st.booleans(),
        with_tech=st.booleans(),
        at=moments,
        duration=st.one_of(st.just(0), st.integers(1, 130), st.integers(131, 4000)),
        money=st.one_of(
            st.none(),
            st.tuples(
                st.integers(0, 5000).map(str),
                prices.map(lambda d: f"{d:.4f}"),
                prices.map(lambda d: f"{d:.4f}"),
            ),
        ),
    )


@st.composite
def scenarios(draw):
    sell = draw(card_decks())
    buy = draw(card_decks(tuple(sorted({r.prefix for _, rows in sell for r in rows}))))
    known = sorted({r.prefix for _, rows in sell + buy for r in rows})
    dates = sorted({date for date, _ in sell})
    return sell, buy, draw(st.lists(calls(known, dates), min_size=3, max_size=30))


# -- writing the files ----------------------------------------------------------------------


def write_deck(path: Path, rows: list[OracleRate]) -> Path:
    def day(moment: datetime | None) -> str:
        return "" if moment is None else moment.strftime("%Y-%m-%d")

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(DECK_HEADER)
        for r in rows:
            writer.writerow(
                (
                    r.prefix,
                    "Somewhere",
                    f"{r.rate:f}",
                    f"{r.fee:f}",
                    r.mcd,
                    r.pulse,
                    day(r.start),
                    day(r.end),
                )
            )
    return path


def write_calls(path: Path, code: str, tech: str, drawn: list[Call], with_money: bool) -> Path:
    header = CSV_COLUMNS if with_money else UNRATED
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for index, call in enumerate(drawn):
            number = ("+" if call.plus else "") + (tech if call.with_tech else "") + call.digits
            billed, charge, cost = call.money if with_money and call.money else ("", "", "")
            row = {
                "call_id": f"{code}-{index}",
                "customer": code,
                "start_time": call.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "source_cli": "100",
                "dest_number": number,
                "dest_name": "",
                "duration": str(call.duration),
                "billed_duration": billed,
                "sip_code": "200" if call.duration else "487",
                "release_reason": "",
                "pdd_ms": "0",
                "charge": charge,
                "cost": cost,
                "direction": "outbound",
                "source_ip": "",
            }
            writer.writerow([row[name] for name in header])
    return path


@settings(
    # 25 examples in each of the four variants (two backends, parsed in-process and in the
    # child): 100 random card histories a run, and the suite stays within its 15 minutes.
    max_examples=25,
    deadline=None,
    # Each example imports decks and a file: shrinking a failure took minutes. The failing
    # example is printed as drawn.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios(), tech=st.sampled_from(["", "99", "7"]), with_money=st.booleans())
def test_rating_on_import_equals_the_oracle(
    db, admin, tmp_path, parsing, scenario, tech, with_money
) -> None:
    sell, buy, drawn = scenario
    n = next(_names)
    code = f"P{n}"
    customer = customers.create_customer(
        db, admin, {"name": f"Property {n}", "account_code": code, "currency": "EUR"}
    )
    for kind, name, decks in (("customer", f"S{n}", sell), ("provider", f"B{n}", buy)):
        for index, (date, rows) in enumerate(decks):
            path = write_deck(tmp_path / f"{name}-{index}.csv", rows)
            new = {"currency": "EUR", "kind": kind} if index == 0 else {}
            rates.import_deck(db, admin, path, name, effective=date, **new)
        rates.assign_card(db, admin, name, customer.id)
    sold, bought = card_history(sell), card_history(buy)

    expected: dict[str, tuple[int, Decimal, Decimal]] = {}
    rejected: dict[int, str] = {}  # line -> the number the reason must name
    for index, call in enumerate(drawn):
        call_id, line = f"{code}-{index}", index + 2
        if with_money and call.money is not None:  # money given: kept
            billed, charge, cost = call.money
            expected[call_id] = (int(billed), Decimal(charge), Decimal(cost))
            continue
        if call.duration == 0:
            expected[call_id] = (0, Decimal("0.0000"), Decimal("0.0000"))
            continue
        sell_rate = oracle_rate(sold, call.digits, call.at)
        buy_rate = oracle_rate(bought, call.digits, call.at)
        if sell_rate is None or buy_rate is None:
            rejected[line] = call.digits
            continue
        billed, charge = oracle_price(sell_rate, call.duration)
        expected[call_id] = (billed, charge, oracle_price(buy_rate, call.duration)[1])

    path = write_calls(tmp_path / f"{code}.csv", code, tech, drawn, with_money)
    report = import_cdr_file(db, admin, path, skip_bad=True, tech_prefix=tech)
    got = {
        c.call_id: (c.billed_duration, c.charge, c.cost)
        for c in stored_cdrs(db)
        if c.customer_id == customer.id
    }
    assert got == expected
    assert report.bad_rows == len(rejected)
    if rejected:
        with report.rejects_path.open(encoding="utf-8", newline="") as handle:
            rejects = {int(r["reject_line"]): r["reject_reason"] for r in csv.DictReader(handle)}
        assert rejects.keys() == rejected.keys()
        for line, digits in rejected.items():
            assert rejects[line].startswith("rating: no ")
            assert f" rate for {digits} at " in rejects[line]
