"""Rating on import (issue 14): a CDR file without charge / cost (and billed_duration), or a row
with them empty, is rated with the customer's card (charge, billed seconds) and the provider
card (cost). A row that cannot be rated is a bad row with its line and the number; a row with
money keeps it; the import stays all or nothing and a second import adds nothing.

Every test runs with the file parsed in the importing process and in the child process, on
SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from cdr_helpers import add_customers, cdr_count, csv_row, stored_cdrs, write_csv_file

from carriertui.store import rates
from carriertui.store.cdrs import importer as cdrs
from carriertui.store.cdrs.importer import CSV_COLUMNS, CdrImportError, import_cdr_file

DECK_HEADER = ("prefix", "destination", "rate", "connect_fee", "mcd", "pulse", "effective_from")
# What a switch writes (the native CSV without money): FreeSWITCH/Asterisk transcoders too.
UNRATED_COLUMNS = tuple(c for c in CSV_COLUMNS if c not in ("billed_duration", "charge", "cost"))


@pytest.fixture(params=["in-process", "child"], autouse=True)
def parsing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(cdrs, "CHILD_MIN_BYTES", 0 if request.param == "child" else 1 << 62)
    monkeypatch.setattr(cdrs, "_CHILD_BACKENDS", frozenset({"sqlite", "postgresql"}))
    return request.param


def write_deck(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(DECK_HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture
def carded(db, admin, tmp_path) -> dict[str, int]:
    """ACME rated with Sell (customer) and Buy (provider); BETA has no card at all."""
    ids = add_customers(db, admin, "ACME", "BETA")
    sell = [
        ("49", "Germany", "0.0100", "0", "1", "1", "2026-01-01"),
        ("4930", "Germany - Berlin", "0.0200", "0.0050", "30", "6", "2026-01-01"),
        ("447", "UK - Mobile", "0.0450", "0", "60", "60", "2026-01-01"),
    ]
    buy = [
        ("49", "Germany", "0.0060", "0", "1", "1", "2026-01-01"),
        ("447", "UK - Mobile", "0.0300", "0", "1", "1", "2026-01-01"),
    ]
    rates.import_deck(db, admin, write_deck(tmp_path / "sell.csv", sell), "Sell", currency="EUR")
    rates.import_deck(
        db, admin, write_deck(tmp_path / "buy.csv", buy), "Buy", currency="EUR", kind="provider"
    )
    rates.assign_card(db, admin, "Sell", ids["ACME"])
    rates.assign_card(db, admin, "Buy", ids["ACME"])
    return ids


def money(stored) -> list[tuple[str, int, Decimal, Decimal]]:
    return [(c.call_id, c.billed_duration, c.charge, c.cost) for c in stored]


def switch_row(index: int, number: str, duration: int, **overrides: str) -> dict[str, str]:
    return csv_row(
        index,
        dest_number=number,
        duration=str(duration),
        sip_code="200" if duration else "486",
        **overrides,
    )


def test_a_file_without_money_columns_is_rated_with_both_cards(
    db, admin, carded, tmp_path, audit_log
) -> None:
    rows = [
        # Sell 4930 30/6 + 0.005 fee: 31 s -> 36 s, 0.005 + 36/60 x 0.02 = 0.0170; Buy 49 1/1:
        # 31 s x 0.006 / 60 = 0.0031. billed_duration is the customer card's.
        switch_row(1, "4930901234", 31),
        # Sell 49 1/1: 7 s x 0.01 / 60 = 0.0011666.. -> 0.0012 (half-up); Buy 0.0007.
        switch_row(2, "+4989123", 7),
        # Sell 447 60/60: 61 s -> 120 s, 0.09; Buy 1/1: 61 x 0.03 / 60 = 0.0305.
        switch_row(3, "447700900123", 61),
        switch_row(4, "33123", 0),  # not connected: costs nothing, even with no rate
    ]
    path = write_csv_file(tmp_path / "switch.csv", rows, UNRATED_COLUMNS)
    before = audit_log.count()
    report = import_cdr_file(db, admin, path)
    assert (report.imported, report.rated, report.bad_rows) == (4, 4, 0)
    assert money(stored_cdrs(db)) == [
        ("call-000001", 36, Decimal("0.0170"), Decimal("0.0031")),
        ("call-000002", 7, Decimal("0.0012"), Decimal("0.0007")),
        ("call-000003", 120, Decimal("0.0900"), Decimal("0.0305")),
        ("call-000004", 0, Decimal("0.0000"), Decimal("0.0000")),
    ]
    entry = audit_log.only_new(before)
    assert "4 rated with the rate cards" in entry.message
    assert "4 rated with the rate cards" in str(report)
    # Import twice adds nothing.
    again = import_cdr_file(db, admin, path)
    assert (again.imported, again.duplicates) == (0, 4)
    assert cdr_count(db) == 4


def test_rows_that_cannot_be_rated_refuse_the_file_naming_line_and_number(
    db, admin, carded, tmp_path
) -> None:
    rows = [
        switch_row(1, "4930901234", 31),
        switch_row(2, "33123456", 20),  # France: in neither card
        switch_row(3, "4930901234", 31, customer="BETA"),  # no card
        switch_row(4, "49x30", 10),  # not a number
    ]
    path = write_csv_file(tmp_path / "switch.csv", rows, UNRATED_COLUMNS)
    with pytest.raises(CdrImportError) as caught:
        import_cdr_file(db, admin, path)
    assert caught.value.bad_rows == 3
    assert [(bad.line, bad.reason) for bad in caught.value.errors] == [
        (3, "rating: no customer rate for 33123456 at 2026-03-01 02:02:00Z (card Sell)"),
        (4, "rating: customer BETA has no customer rate card to rate a call without a charge"),
        (5, "rating: not a dialled number: '49x30' (digits, optionally after '+')"),
    ]
    assert cdr_count(db) == 0


def test_skip_bad_imports_the_rated_rows_and_writes_the_unrated_to_the_rejects(
    db, admin, carded, tmp_path
) -> None:
    rows = [switch_row(1, "4930901234", 31), switch_row(2, "33123456", 20)]
    path = write_csv_file(tmp_path / "switch.csv", rows, UNRATED_COLUMNS)
    report = import_cdr_file(db, admin, path, skip_bad=True)
    assert (report.imported, report.bad_rows, report.rated) == (1, 1, 1)
    with report.rejects_path.open(encoding="utf-8", newline="") as handle:
        rejected = list(csv.DictReader(handle))
    assert [(r["reject_line"], r["dest_number"]) for r in rejected] == [("3", "33123456")]
    assert "no customer rate for 33123456" in rejected[0]["reject_reason"]
    # The fixed reject file (a rate added for France) imports as it is.
    rates.import_deck(
        db,
        admin,
        write_deck(tmp_path / "fr.csv", [("33", "France", "0.0300", "0", "1", "1", "2026-02-01")]),
        "Sell",
    )
    rates.import_deck(
        db,
        admin,
        write_deck(tmp_path / "fr2.csv", [("33", "France", "0.0100", "0", "1", "1", "2026-02-01")]),
        "Buy",
    )
    fixed = import_cdr_file(db, admin, report.rejects_path)
    assert (fixed.imported, fixed.rated) == (1, 1)
    assert money(stored_cdrs(db))[1] == ("call-000002", 20, Decimal("0.0100"), Decimal("0.0033"))


def test_a_row_with_money_keeps_it_and_an_empty_one_is_rated(db, admin, carded, tmp_path) -> None:
    rows = [
        # Money given (nothing like the cards'): kept as it is, not re-rated.
        switch_row(1, "4930901234", 31, billed_duration="40", charge="1.2345", cost="0.5"),
        # Both empty (billed_duration too): rated, in a file that has the columns.
        switch_row(2, "4930901234", 31, billed_duration="", charge="", cost=""),
        # billed_duration given, money empty: rated; the card's billed seconds replace it.
        switch_row(3, "447700900123", 61, billed_duration="61", charge="", cost=""),
    ]
    path = write_csv_file(tmp_path / "mixed.csv", rows)
    report = import_cdr_file(db, admin, path)
    assert (report.imported, report.rated) == (3, 2)
    assert money(stored_cdrs(db)) == [
        ("call-000001", 40, Decimal("1.2345"), Decimal("0.5000")),
        ("call-000002", 36, Decimal("0.0170"), Decimal("0.0031")),
        ("call-000003", 120, Decimal("0.0900"), Decimal("0.0305")),
    ]


def test_empty_money_that_cannot_be_rated_is_named_with_its_line(
    db, admin, carded, tmp_path
) -> None:
    rows = [
        switch_row(1, "4930901234", 31),
        switch_row(2, "33123456", 20, billed_duration="", charge="", cost=""),
        switch_row(3, "4930901234", 31, charge=""),  # cost given, charge not
    ]
    path = write_csv_file(tmp_path / "mixed.csv", rows)
    with pytest.raises(CdrImportError) as caught:
        import_cdr_file(db, admin, path)
    assert [(bad.line, bad.reason) for bad in caught.value.errors] == [
        (3, "rating: no customer rate for 33123456 at 2026-03-01 02:02:00Z (card Sell)"),
        (
            4,
            "charge: is empty while cost is given "
            "(give both, or leave both empty to rate the call with the rate cards)",
        ),
    ]
    assert cdr_count(db) == 0
    report = import_cdr_file(db, admin, path, skip_bad=True)
    assert (report.imported, report.bad_rows) == (1, 2)
    with report.rejects_path.open(encoding="utf-8", newline="") as handle:
        assert [r["reject_line"] for r in csv.DictReader(handle)] == ["3", "4"]


def test_a_header_with_charge_and_no_cost_is_refused(db, admin, carded, tmp_path) -> None:
    header = [c for c in CSV_COLUMNS if c != "cost"]
    path = write_csv_file(tmp_path / "half.csv", [switch_row(1, "4930901234", 31)], header)
    with pytest.raises(CdrImportError, match="charge without cost"):
        import_cdr_file(db, admin, path)
    header = [c for c in CSV_COLUMNS if c != "billed_duration"]
    path = write_csv_file(tmp_path / "nobilled.csv", [switch_row(1, "4930901234", 31)], header)
    with pytest.raises(CdrImportError, match="billed_duration"):
        import_cdr_file(db, admin, path)


def test_many_rows_take_the_column_path_and_rate_as_the_row_path_does(
    db, admin, carded, tmp_path
) -> None:
    """3,000 rows (several parser groups): the columnar fast path prices whole groups; one bad
    number in a group sends that group row by row. Both give the cards' prices."""
    numbers = ["4930901234", "+4989123", "447700900123"]
    rows = [switch_row(i, numbers[i % 3], i % 200) for i in range(1, 3001)]
    rows[1500] = switch_row(1501, "33123456", 20)
    path = write_csv_file(tmp_path / "many.csv", rows, UNRATED_COLUMNS)
    with pytest.raises(CdrImportError) as caught:
        import_cdr_file(db, admin, path)
    assert [bad.line for bad in caught.value.errors] == [1502]
    del rows[1500]
    path = write_csv_file(tmp_path / "many.csv", rows, UNRATED_COLUMNS)
    report = import_cdr_file(db, admin, path)
    assert (report.imported, report.rated) == (2999, 2999)
    sell = {
        "4930": ("0.02", "0.005", 30, 6),
        "49": ("0.01", "0", 1, 1),
        "447": ("0.045", "0", 60, 60),
    }
    buy = {"49": ("0.006", "0", 1, 1), "447": ("0.03", "0", 1, 1)}

    def priced(card, number, duration):
        digits = number.removeprefix("+")
        prefix = max((p for p in card if digits.startswith(p)), key=len)
        rate, fee, mcd, pulse = card[prefix]
        if duration == 0:
            return 0, Decimal("0.0000")
        billed = mcd if duration <= mcd else mcd + -(-(duration - mcd) // pulse) * pulse
        exact = Decimal(fee) + Decimal(billed) * Decimal(rate) / 60
        return billed, exact.quantize(Decimal("0.0001"), rounding="ROUND_HALF_UP")

    expected = []
    for row in rows:
        duration = int(row["duration"])
        billed, charge = priced(sell, row["dest_number"], duration)
        expected.append(
            (row["call_id"], billed, charge, priced(buy, row["dest_number"], duration)[1])
        )
    assert money(stored_cdrs(db)) == expected


def test_a_tech_prefix_is_taken_off_before_matching(db, admin, carded, tmp_path) -> None:
    rows = [switch_row(1, "+99124930901234", 31), switch_row(2, "4930901234", 31)]
    path = write_csv_file(tmp_path / "tech.csv", rows, UNRATED_COLUMNS)
    report = import_cdr_file(db, admin, path, tech_prefix="9912")
    assert report.rated == 2
    assert [c[1:] for c in money(stored_cdrs(db))] == [
        (36, Decimal("0.0170"), Decimal("0.0031")),
        (36, Decimal("0.0170"), Decimal("0.0031")),
    ]
