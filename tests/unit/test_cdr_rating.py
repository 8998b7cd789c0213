"""CdrRater (store/cdr_rating.py): CDR rows without money rated with the customer's and the
provider card, on SQLite and PostgreSQL; a row that cannot be rated is a reason, not a zero."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from carriertui.store import customers, rates
from carriertui.store.cdr_rating import CdrRater
from carriertui.store.cdrs.importer import CdrValues, stored_row

HEADER = ("prefix", "destination", "rate", "connect_fee", "mcd", "pulse", "effective_from")
START = datetime(2026, 3, 1, 12, tzinfo=UTC)


def deck(tmp_path, name, rows):
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def cdr(customer_id, number, duration, at=START, call_id="c1"):
    return CdrValues(
        call_id=call_id,
        customer_id=customer_id,
        start_time=at,
        source_cli="100",
        dest_number=number,
        dest_name="",
        duration=duration,
        billed_duration=0,
        sip_code=200,
        release_reason="",
        pdd_ms=0,
        charge=Decimal(0),
        cost=Decimal(0),
        direction="outbound",
        source_ip="",
    )


def test_rows_are_rated_with_both_cards_or_rejected_by_name(db, admin, tmp_path):
    acme = customers.create_customer(db, admin, {"name": "Acme", "account_code": "ACME"})
    bare = customers.create_customer(db, admin, {"name": "Bare", "account_code": "BARE"})
    sell = [
        ("44", "UK", "0.0100", "0", "1", "1", "2026-01-01"),
        ("447", "UK Mobile", "0.0450", "0.01", "30", "6", "2026-01-01"),
    ]
    buy = [("44", "UK", "0.0060", "0", "1", "1", "2026-01-01")]
    rates.import_deck(db, admin, deck(tmp_path, "sell.csv", sell), "Sell", currency="USD")
    rates.import_deck(
        db, admin, deck(tmp_path, "buy.csv", buy), "Buy", currency="USD", kind="provider"
    )
    rates.assign_card(db, admin, "Sell", acme.id)
    rates.assign_card(db, admin, "Buy", acme.id)
    sqlite = db.backend == "sqlite"
    rows = [
        # The charge by the customer card's 30/6 (36 s: 0.01 + 0.6 x 0.045), the cost by the
        # provider card's own 1/1 (31 s x 0.006 / 60 = 0.0031); billed_duration is the customer's.
        stored_row(cdr(acme.id, "+447700900123", 31), sqlite),
        stored_row(cdr(acme.id, "4420", 0), sqlite),  # not connected: nothing
        stored_row(cdr(acme.id, "33123", 10), sqlite),  # no rate in either card
        stored_row(cdr(bare.id, "4420", 10), sqlite),  # no card
        stored_row(cdr(acme.id, "44", 10, START - timedelta(days=90)), sqlite),  # before 2026
    ]
    rated, rejects = CdrRater(db, admin).rate_rows(rows)
    assert [(row[7], row[11], row[12]) for row in rated] == [(36, 370, 31), (0, 0, 0)]
    assert rejects == [
        (2, "no customer rate for 33123 at 2026-03-01 12:00:00Z (card Sell)"),
        (3, "customer BARE has no customer rate card to rate a call without a charge"),
        (4, "no customer rate for 44 at 2025-12-01 12:00:00Z (card Sell)"),
    ]
    # Everything else in the row is as it was.
    assert rated[0][:7] == rows[0][:7] and rated[0][13:] == rows[0][13:]
