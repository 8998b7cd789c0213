"""What the Rate Cards screen and Customer Main read (store/rate_cards.py), on SQLite and
PostgreSQL: a card's rates as a grid source (every version, or in force at a moment; searched
by prefix and name; sorted by rate), the names of a customer's cards, and the deck import's
progress (read_deck's on_progress, estimate_rows)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from carriertui.grid.model import Filter, Query, SortKey
from carriertui.rating import CardKind
from carriertui.store import customers, rate_cards, rates
from carriertui.store.rate_deck import PROGRESS_EVERY, DeckError, estimate_rows, read_deck
from tests.unit.test_store_rates import write_deck

OLD = [
    ("44", "United Kingdom", "0.0100", "0", "1", "1", "2026-01-01"),
    ("447", "United Kingdom - Mobile", "0.0450", "0.01", "30", "6", "2026-01-01"),
    ("49", "Germany", "0.0080", "0", "60", "60", "2026-01-01"),
]
NEW = [
    ("44", "United Kingdom", "0.0110", "0", "1", "1", "2026-03-01"),
    ("447", "United Kingdom - Mobile", "0.000125", "0.01", "30", "6", "2026-03-01"),
]


@pytest.fixture
def card(db, admin, tmp_path: Path):
    rates.import_deck(db, admin, write_deck(tmp_path / "a.csv", OLD), "Retail", currency="EUR")
    rates.import_deck(db, admin, write_deck(tmp_path / "b.csv", NEW), "Retail")
    return rates.find_card(db, admin, "Retail")


BY_PREFIX = Query(sort=(SortKey("prefix"),))


def _rows(source, query: Query = BY_PREFIX) -> list[tuple]:
    return [values for _key, values in source.page(query, 0, 100)]


def test_the_grid_source_gives_every_version_or_those_in_force(db, viewer, card) -> None:
    every = rate_cards.rates_grid_source(db, viewer, card.id)
    assert every.count(Query()) == 5
    feb = rate_cards.rates_grid_source(db, viewer, card.id, at=datetime(2026, 2, 1, tzinfo=UTC))
    rows = _rows(feb)
    assert [row[0] for row in rows] == ["44", "447", "49"]
    assert rows[1] == (
        "447",
        "United Kingdom - Mobile",
        Decimal("0.045"),
        Decimal("0.01"),
        30,
        6,
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 3, 1, tzinfo=UTC),
    )
    # at the new deck's midnight: its rates (an end is exclusive); Germany ended there too
    march = rate_cards.rates_grid_source(db, viewer, card.id, at=datetime(2026, 3, 1, tzinfo=UTC))
    rows = _rows(march)
    assert [(row[0], row[2], row[7]) for row in rows] == [
        ("44", Decimal("0.011"), None),
        ("447", Decimal("0.000125"), None),
    ]
    before = rate_cards.rates_grid_source(db, viewer, card.id, at=datetime(2025, 1, 1, tzinfo=UTC))
    assert before.count(Query()) == 0


def test_the_grid_source_searches_prefix_and_name_and_sorts_by_rate(
    db, admin, viewer, card
) -> None:
    source = rate_cards.rates_grid_source(db, viewer, card.id)
    assert {row[0] for row in _rows(source, Query(search="447"))} == {"447"}
    assert {row[0] for row in _rows(source, Query(search="germ"))} == {"49"}
    by_rate = _rows(source, Query(sort=(SortKey("rate"),)))
    assert [row[2] for row in by_rate] == sorted(row[2] for row in by_rate)
    assert by_rate[0][2] == Decimal("0.000125")
    # the 6-place rate survives a filter of its exact value
    exact = Query(filters=(Filter("rate", values=frozenset({Decimal("0.000125")})),))
    assert [row[0] for row in _rows(source, exact)] == ["447"]
    # another card's rates never show
    other = rates.create_card(db, admin, "Other", "customer", "EUR")
    assert rate_cards.rates_grid_source(db, viewer, other.id).count(Query()) == 0


def test_assigned_card_names(db, admin, viewer, card, tmp_path: Path) -> None:
    customer = customers.create_customer(db, admin, {"name": "Acme", "currency": "EUR"})
    assert rate_cards.assigned_card_names(db, viewer, customer.id) == {
        CardKind.CUSTOMER: None,
        CardKind.PROVIDER: None,
    }
    rates.import_deck(
        db, admin, write_deck(tmp_path / "p.csv", OLD), "Wholesale", currency="EUR", kind="provider"
    )
    rates.assign_card(db, admin, "Retail", customer.id)
    assert rate_cards.assigned_card_names(db, viewer, customer.id) == {
        CardKind.CUSTOMER: "Retail",
        CardKind.PROVIDER: None,
    }
    rates.assign_card(db, admin, "Wholesale", customer.id)
    assert rate_cards.assigned_card_names(db, viewer, customer.id) == {
        CardKind.CUSTOMER: "Retail",
        CardKind.PROVIDER: "Wholesale",
    }


def test_read_deck_reports_progress_and_a_cancel_stops_it(tmp_path: Path) -> None:
    rows = [(f"33{n:05d}", "France", "0.01", "0", "1", "1", "2026-01-01") for n in range(25_001)]
    path = write_deck(tmp_path / "fr.csv", rows)
    assert estimate_rows(path) == 25_001
    seen: list[tuple[int, bool]] = []
    deck = read_deck(path, on_progress=lambda done, last: seen.append((done, last)))
    assert len(deck.rows) == 25_001
    assert seen == [(PROGRESS_EVERY, False), (2 * PROGRESS_EVERY, False), (25_001, True)]

    class Stop(Exception):
        pass

    def stop(done: int, last: bool) -> None:
        raise Stop

    with pytest.raises(Stop):
        read_deck(path, on_progress=stop)
    # a bad deck still reports its end, then refuses
    bad = write_deck(tmp_path / "bad.csv", [("x", "France", "0.01", "0", "1", "1", "2026-01-01")])
    ends: list[bool] = []
    with pytest.raises(DeckError):
        read_deck(bad, on_progress=lambda done, last: ends.append(last))
    assert ends == [True]
    assert estimate_rows(tmp_path / "missing.csv") == 0
