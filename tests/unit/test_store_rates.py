"""Rate cards and deck import (store/rates.py), on SQLite and PostgreSQL: real CSV files, the
audit log, permissions, supersede by date, and rating against the brute-force oracle."""

from __future__ import annotations

import csv
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from carriertui.rating import CardKind, NoRateError, Rate
from carriertui.store import customers, rates
from carriertui.store.db.rate_tables import Rate as RateRow
from carriertui.store.db.tables import AuditEntry
from carriertui.store.errors import NotFoundError, PermissionDeniedError, ValidationError
from carriertui.store.rate_deck import DeckError
from tests.unit.test_rating import oracle_billed, oracle_charge, oracle_rate

HEADER = ("prefix", "destination", "rate", "connect_fee", "mcd", "pulse", "effective_from")
JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)


def write_deck(path: Path, rows, header=HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def audit_count(db) -> int:
    with db.read() as session:
        return session.exec(select(func.count()).select_from(AuditEntry)).one()[0]


def rate_rows(db) -> int:
    with db.read() as session:
        return session.exec(select(func.count()).select_from(RateRow)).one()[0]


UK = [
    ("44", "United Kingdom", "0.0100", "0", "1", "1", "2026-01-01"),
    ("447", "United Kingdom - Mobile", "0.0450", "0.01", "30", "6", "2026-01-01"),
    ("4420", "London", "0.008", "0", "60", "60", "2026-01-01"),
]


def test_a_deck_imports_with_its_header_in_any_order_and_is_audited_once(db, admin, tmp_path):
    order = (6, 5, 4, 3, 2, 1, 0)
    header = [HEADER[i] for i in order]
    path = write_deck(tmp_path / "uk.csv", [[row[i] for i in order] for row in UK], header)
    before = audit_count(db)
    report = rates.import_deck(db, admin, path, "Retail", currency="usd")
    assert (report.rows, report.card_created, report.superseded) == (3, True, 0)
    assert report.effective == JAN
    assert audit_count(db) == before + 2  # the new card, and the deck (one entry)
    card = rates.find_card(db, admin, "retail")
    assert (card.name, card.kind, card.currency, card.rates) == (
        "Retail",
        CardKind.CUSTOMER,
        "USD",
        3,
    )
    listed = rates.list_rates(db, admin, "Retail")
    assert [(r.prefix, r.rate, r.connect_fee, r.mcd, r.pulse) for r in listed] == [
        ("44", Decimal("0.01"), Decimal(0), 1, 1),
        ("4420", Decimal("0.008"), Decimal(0), 60, 60),
        ("447", Decimal("0.045"), Decimal("0.01"), 30, 6),
    ]
    assert [r.prefix for r in rates.list_rates(db, admin, "Retail", search="mobile")] == ["447"]
    assert [r.prefix for r in rates.list_rates(db, admin, "Retail", search="+442")] == ["4420"]

    test = rates.rate_number(db, admin, "Retail", "+447700900123", JAN + timedelta(hours=1), 31)
    assert test.call.rate is not None and test.call.rate.prefix == "447"
    assert test.call.billed_seconds == 36
    assert test.call.charge == Decimal("0.0370")  # 0.01 + 36/60 x 0.045
    with pytest.raises(NoRateError, match="no rate for 33123"):
        rates.rate_number(db, admin, "Retail", "33123", JAN, 10)
    with pytest.raises(NoRateError, match="no rate for 44123"):
        rates.rate_number(db, admin, "Retail", "44123", JAN - timedelta(seconds=1), 10)


HOSTILE = [
    ("=1+1", "Formula prefix", "0.01", "0", "1", "1", "2026-01-01"),  # line 2
    ("33", '=HYPERLINK("http://x")', "0.01", "0", "1", "1", "2026-01-01"),  # 3
    ("34", "[@click=app.quit]x[/]", "0.01", "0", "1", "1", "2026-01-01"),  # 4
    ("35", "Spain", "1e308", "0", "1", "1", "2026-01-01"),  # 5
    ("36", "Italy", "-0.01", "0", "1", "1", "2026-01-01"),  # 6
    ("37", "Greece", "99999999999999999999", "0", "1", "1", "2026-01-01"),  # 7
    ("38", "Malta", "0.0000001", "0", "1", "1", "2026-01-01"),  # 8
    ("39", "Vatican", "0.01", "0", "1", "0", "2026-01-01"),  # 9: pulse 0
    ("40", "Romania", "0.01", "0", "1", "1", "yesterday"),  # 10
    ("41", "Swiss\x1b]52;c;AAAA\x07", "0.01", "0", "1", "1", "2026-01-01"),  # 11
    ("49", "Germany", "0.01", "0", "1", "1", "2026-01-01"),  # 12
    ("49", "Germany again", "0.02", "0", "1", "1", "2026-01-15"),  # 13: overlaps 12
    ("42", "Czechia", "0.01", "0", "1", "1", "2026-01-01"),  # 14: a good row
]


def test_hostile_rows_are_each_named_by_line_and_nothing_is_imported(db, admin, tmp_path):
    path = write_deck(tmp_path / "hostile.csv", HOSTILE)
    before = audit_count(db)
    with pytest.raises(DeckError) as caught:
        rates.import_deck(db, admin, path, "Retail", currency="USD")
    reasons = {bad.line: bad.reason for bad in caught.value.errors}
    assert sorted(reasons) == [*range(2, 12), 13]  # line 12 is fine, 14 too
    assert "prefix" in reasons[2] and "'=1+1'" in reasons[2]
    assert "formula" in reasons[3]
    assert "markup" in reasons[4]
    assert "not a plain decimal" in reasons[5]
    assert "negative" in reasons[6]
    assert "not a plain decimal" in reasons[7]
    assert "decimal places" in reasons[8]
    assert "pulse" in reasons[9]
    assert "effective_from" in reasons[10]
    assert "control characters" in reasons[11]
    assert "overlap" in reasons[13] and "line 12" in reasons[13]
    assert caught.value.count == 11
    assert "11 bad lines" in str(caught.value)
    assert audit_count(db) == before and rate_rows(db) == 0
    with pytest.raises(NotFoundError):
        rates.find_card(db, admin, "Retail")  # not even the card


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (("prefix", "destination", "rate", "connect_fee", "mcd", "pulse"), "effective_from"),
        ((*HEADER, "price"), "unknown columns: 'price'"),
        ((*HEADER, "rate"), "repeated columns: rate"),
    ],
)
def test_a_bad_header_is_refused(db, admin, tmp_path, header, reason):
    path = write_deck(tmp_path / "bad.csv", [], header)
    with pytest.raises(DeckError, match=reason):
        rates.import_deck(db, admin, path, "Retail", currency="USD")


def test_a_new_deck_supersedes_from_its_date_and_keeps_history(db, admin, tmp_path):
    rates.import_deck(db, admin, write_deck(tmp_path / "v1.csv", UK), "Retail", currency="USD")
    v2 = [("44", "United Kingdom", "0.0200", "0", "1", "1", "")]
    report = rates.import_deck(
        db, admin, write_deck(tmp_path / "v2.csv", v2), "Retail", effective=FEB
    )
    assert (report.rows, report.superseded, report.effective) == (1, 3, FEB)
    assert rate_rows(db) == 4  # nothing deleted
    mid_jan = JAN + timedelta(days=14)
    assert rates.rate_number(db, admin, "Retail", "447700", mid_jan, 60).call.rate.prefix == "447"
    later = rates.rate_number(db, admin, "Retail", "447700", FEB, 60).call
    assert (later.rate.prefix, later.charge) == ("44", Decimal("0.0200"))
    assert rates.count_in_force(db, admin, "Retail", mid_jan) == 3
    assert rates.count_in_force(db, admin, "Retail", FEB) == 1
    in_force = rates.list_rates(db, admin, "Retail", at=FEB)
    assert [(r.prefix, r.rate) for r in in_force] == [("44", Decimal("0.02"))]
    old = [r for r in rates.list_rates(db, admin, "Retail") if r.rate == Decimal("0.045")]
    assert old[0].effective_to == FEB

    # The same date again (a corrected v2): v2 gets an empty period, still listed, and the
    # export (a deck the import reads back) leaves it out.
    v2b = [("44", "United Kingdom", "0.0190", "0", "1", "1", "2026-02-01")]
    report = rates.import_deck(db, admin, write_deck(tmp_path / "v2b.csv", v2b), "Retail")
    assert report.superseded == 1 and rate_rows(db) == 5
    assert rates.rate_number(db, admin, "Retail", "44", FEB, 60).call.charge == Decimal("0.0190")
    out = tmp_path / "export.csv"
    assert rates.export_rates(db, admin, "Retail", out) == 4
    copy = rates.import_deck(db, admin, out, "Copy", currency="USD")
    assert copy.rows == 4
    original = [
        (r.prefix, r.rate, r.effective_from, r.effective_to)
        for r in rates.list_rates(db, admin, "Retail")
        if r.effective_to != r.effective_from
    ]
    copied = [
        (r.prefix, r.rate, r.effective_from, r.effective_to)
        for r in rates.list_rates(db, admin, "Copy")
    ]
    assert copied == original


def test_roles_viewers_read_operators_import_and_assign(
    db, admin, operator_actor, viewer, tmp_path
):
    path = write_deck(tmp_path / "uk.csv", UK)
    with pytest.raises(PermissionDeniedError):
        rates.import_deck(db, viewer, path, "Retail", currency="USD")
    with pytest.raises(PermissionDeniedError):
        rates.create_card(db, viewer, "Cost", "provider", "USD")
    rates.import_deck(db, operator_actor, path, "Retail", currency="USD")
    assert [card.name for card in rates.list_cards(db, viewer)] == ["Retail"]
    assert rates.rate_number(db, viewer, "Retail", "44", JAN, 1).call.charge == Decimal("0.0002")
    customer = customers.create_customer(db, admin, {"name": "Acme", "account_code": "ACME"})
    with pytest.raises(PermissionDeniedError):
        rates.assign_card(db, viewer, "Retail", customer.id)
    rates.assign_card(db, operator_actor, "Retail", customer.id)
    assert rates.assigned_card(db, viewer, customer.id, "customer").name == "Retail"


def test_assigning_a_card_checks_the_currency_and_is_audited(db, admin, tmp_path):
    acme = customers.create_customer(db, admin, {"name": "Acme", "account_code": "ACME"})
    euro = rates.create_card(db, admin, "Euro retail", CardKind.CUSTOMER, "EUR")
    assert euro.rates == 0
    with pytest.raises(ValidationError, match="is in EUR but customer ACME is billed in USD"):
        rates.assign_card(db, admin, "Euro retail", acme.id)
    rates.create_card(db, admin, "Retail", "customer", "USD")
    rates.create_card(db, admin, "Carrier A", "provider", "USD")
    with pytest.raises(ValidationError, match="exists already"):
        rates.create_card(db, admin, "RETAIL", "customer", "USD")
    before = audit_count(db)
    rates.assign_card(db, admin, "Retail", acme.id)
    rates.assign_card(db, admin, "Carrier A", acme.id)
    assert audit_count(db) == before + 2
    assert rates.assigned_card(db, admin, acme.id, CardKind.PROVIDER).name == "Carrier A"
    assert rates.find_card(db, admin, "Retail").customers == ("ACME",)
    rates.create_card(db, admin, "Wholesale", "customer", "USD")
    rates.assign_card(db, admin, "Wholesale", acme.id)  # replaces the customer card
    assert rates.assigned_card(db, admin, acme.id, CardKind.CUSTOMER).name == "Wholesale"
    assert rates.find_card(db, admin, "Retail").customers == ()
    with db.read() as session:
        entry = session.exec(select(AuditEntry).order_by(AuditEntry.id.desc())).first()[0]
        assert entry.message == "Assigned customer rate card Wholesale to customer ACME"
        assert entry.customer_id == acme.id and entry.action == "UPDATE"


# -- rating from the database against the oracle ------------------------------------------------

_cards = itertools.count()


@st.composite
def decks(draw):
    """Prefixes with one or more consecutive versions: a deck with no overlaps."""
    prefixes = draw(st.lists(st.text("0123", min_size=1, max_size=4), unique=True, max_size=12))
    deck = []
    for prefix in prefixes:
        cuts = sorted(draw(st.sets(st.integers(0, 20), min_size=1, max_size=4)))
        open_end = draw(st.booleans())
        bounds = [*cuts, None] if open_end else cuts
        for start, end in itertools.pairwise(bounds):
            deck.append(
                Rate(
                    prefix,
                    f"dest {prefix}",
                    draw(st.decimals(0, 5, places=6)),
                    draw(st.decimals(0, 1, places=6)),
                    draw(st.integers(0, 120)),
                    draw(st.integers(1, 60)),
                    JAN + timedelta(days=start),
                    None if end is None else JAN + timedelta(days=end),
                )
            )
        if len(bounds) == 1:  # one cut and closed: a single open version instead
            deck.append(
                Rate(prefix, "d", Decimal(1), Decimal(0), 1, 1, JAN + timedelta(days=cuts[0]))
            )
    return deck


def calls(deck):
    """Calls to numbers that mostly start with one of the deck's prefixes."""
    digits = st.text("0123", min_size=1, max_size=6)
    if deck:
        known = st.sampled_from(sorted({r.prefix for r in deck}))
        extended = st.tuples(known, st.text("0123", max_size=3)).map("".join)
        digits = st.one_of(extended, extended, extended, digits)
    return st.lists(
        st.tuples(
            digits,
            st.integers(0, 22 * 86400).map(lambda s: JAN + timedelta(seconds=s)),
            st.integers(0, 4000),
        ),
        min_size=1,
        max_size=8,
    )


def _cell(moment):
    return "" if moment is None else moment.isoformat()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(deck=decks(), data=st.data())
def test_rating_from_the_database_equals_the_oracle(db, admin, tmp_path, deck, data):
    call_list = data.draw(calls(deck))
    name = f"card {next(_cards)}"
    if deck:
        path = write_deck(
            tmp_path / f"{name}.csv",
            [
                (
                    r.prefix,
                    r.destination,
                    r.rate,
                    r.connect_fee,
                    r.mcd,
                    r.pulse,
                    _cell(r.effective_from),
                    _cell(r.effective_to),
                )
                for r in deck
            ],
            (*HEADER, "effective_to"),
        )
        rates.import_deck(db, admin, path, name, currency="USD")
    else:
        rates.create_card(db, admin, name, "customer", "USD")
    matcher = rates.load_matcher(db, admin, name)
    for number, at, duration in call_list:
        expected = oracle_rate(deck, number, at)
        if expected is None:
            if duration > 0:
                with pytest.raises(NoRateError):
                    rates.rate_number(db, admin, name, number, at, duration)
            assert matcher.match_digits(number, at.timestamp()) is None
            continue
        billed = oracle_billed(duration, expected.mcd, expected.pulse)
        want = oracle_charge(expected.rate, expected.connect_fee, billed)
        tested = rates.rate_number(db, admin, name, number, at, duration).call
        bulk = matcher.rate(number, at, duration)
        for result in (tested, bulk):
            assert (result.billed_seconds, result.charge) == (billed, want)
            if duration > 0:
                assert result.rate == expected


def test_effective_date_bom_blank_lines_and_a_card_of_another_kind(db, admin, tmp_path):
    path = tmp_path / "bom.csv"
    path.write_text(
        "\ufeff" + ",".join(HEADER) + "\r\n"
        "44,United Kingdom,0.01,0,1,1,\r\n"
        "\r\n"
        "33,France,0.02,0,1,1,2026-01-15\r\n"
        "34,Spain,0.02,0,1,1,2025-12-31\r\n",
        encoding="utf-8",
    )
    with pytest.raises(DeckError) as caught:
        rates.import_deck(db, admin, path, "Retail", effective=JAN, currency="USD")
    assert [str(bad) for bad in caught.value.errors] == [
        "line 5: effective_from 2025-12-31 00:00Z is before the deck's --effective "
        "2026-01-01 00:00Z"
    ]
    path.write_text(path.read_text(encoding="utf-8").replace("2025-12-31", ""), encoding="utf-8")
    report = rates.import_deck(db, admin, path, "Retail", effective=JAN, currency="USD")
    assert report.rows == 3 and report.effective == JAN
    starts = {r.prefix: r.effective_from for r in rates.list_rates(db, admin, "Retail")}
    assert starts == {"44": JAN, "33": JAN + timedelta(days=14), "34": JAN}
    with pytest.raises(ValidationError, match="is in USD, not EUR"):
        rates.import_deck(db, admin, path, "Retail", effective=JAN, currency="EUR")
    with pytest.raises(ValidationError, match="is a customer card"):
        rates.import_deck(db, admin, path, "Retail", effective=JAN, kind="provider")
