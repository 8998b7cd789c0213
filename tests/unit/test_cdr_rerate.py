"""Re-rating a period (store/cdrs/rerate.py, ``carriertui cdr rerate``): after a deck change it
moves exactly the affected calls, in one transaction, the roll-ups (and so the Summary) equal a
rebuild, an invoiced period is refused naming the invoice, a call that cannot be rated refuses
the whole re-rate, and the audit entry holds the totals before and after. SQLite and
PostgreSQL (the db fixture)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from cdr_helpers import add_customers, hourly_rows, stored_cdrs, write_csv_file

from carriertui.cli import main
from carriertui.store import invoices, rates, rollups, summary
from carriertui.store.cdrs.importer import CSV_COLUMNS, import_cdr_file
from carriertui.store.cdrs.rerate import PeriodInvoicedError, RerateError, rerate_period
from carriertui.store.errors import PermissionDeniedError, ValidationError

DECK_HEADER = ("prefix", "destination", "rate", "connect_fee", "mcd", "pulse", "effective_from")
UNRATED = tuple(c for c in CSV_COLUMNS if c not in ("billed_duration", "charge", "cost"))
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)
SELL = [
    ("49", "Germany", "0.0100", "0", "1", "1"),
    ("4930", "Germany - Berlin", "0.0200", "0.0050", "30", "6"),
    ("447", "UK - Mobile", "0.0450", "0", "60", "60"),
]
BUY = [("49", "Germany", "0.0060", "0", "1", "1"), ("447", "UK - Mobile", "0.0300", "0", "1", "1")]


def deck(path: Path, rows, effective: str) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(DECK_HEADER)
        writer.writerows((*row, effective) for row in rows)
    return path


def call(index: int, customer: str, number: str, day: int, duration: int) -> dict[str, str]:
    return {
        "call_id": f"{customer}-{index:04d}",
        "customer": customer,
        "start_time": f"2026-03-{day:02d}T{index % 24:02d}:{index % 60:02d}:00Z",
        "source_cli": "442079460000",
        "dest_number": number,
        "dest_name": "",
        "duration": str(duration),
        "sip_code": "200" if duration else "486",
        "release_reason": "",
        "pdd_ms": "900",
        "direction": "outbound",
        "source_ip": "",
    }


@pytest.fixture
def march(db, admin, tmp_path) -> dict[str, int]:
    """ACME and BETA on the same cards; a month of their calls to three destinations."""
    ids = add_customers(db, admin, "ACME", "BETA")
    rates.import_deck(
        db, admin, deck(tmp_path / "s.csv", SELL, "2026-01-01"), "Sell", currency="EUR"
    )
    rates.import_deck(
        db,
        admin,
        deck(tmp_path / "b.csv", BUY, "2026-01-01"),
        "Buy",
        currency="EUR",
        kind="provider",
    )
    for code in ("ACME", "BETA"):
        rates.assign_card(db, admin, "Sell", ids[code])
        rates.assign_card(db, admin, "Buy", ids[code])
    numbers = ("4930901234", "4989123456", "447700900123")
    rows = [
        call(i, code, numbers[i % 3], 1 + i % 28, (i * 7) % 300)
        for code in ("ACME", "BETA")
        for i in range(240)
    ]
    import_cdr_file(db, admin, write_csv_file(tmp_path / "march.csv", rows, UNRATED))
    rollups.rollup_incremental(db)
    return ids


def money_by_call(db) -> dict[str, tuple[int, Decimal, Decimal]]:
    return {c.call_id: (c.billed_duration, c.charge, c.cost) for c in stored_cdrs(db)}


def test_a_rerate_after_a_deck_change_moves_exactly_the_affected_calls(
    db, admin, march, tmp_path, audit_log
) -> None:
    before = money_by_call(db)
    # From 10 March, Berlin costs the customer 0.03 a minute and 6/6; nothing else changes.
    changed_sell = [SELL[0], ("4930", "Germany - Berlin", "0.0300", "0.0050", "6", "6"), SELL[2]]
    rates.import_deck(db, admin, deck(tmp_path / "s2.csv", changed_sell, "2026-03-10"), "Sell")
    count = audit_log.count()
    report = rerate_period(db, admin, march["ACME"], MARCH, APRIL)
    after = money_by_call(db)

    affected = {
        c.call_id
        for c in stored_cdrs(db)
        if c.call_id.startswith("ACME")
        and c.dest_number.startswith("4930")
        and c.start_time >= datetime(2026, 3, 10, tzinfo=UTC)
        and c.duration > 0
    }
    moved = {call_id for call_id in before if before[call_id] != after[call_id]}
    assert affected and moved == affected
    assert report.changed == len(affected)
    for call_id in affected:  # 6/6 at 0.03 + 0.005 fee, per call, half-up
        duration = next(c.duration for c in stored_cdrs(db) if c.call_id == call_id)
        billed = 6 if duration <= 6 else 6 + -(-(duration - 6) // 6) * 6
        charge = (Decimal("0.005") + Decimal(billed) * Decimal("0.03") / 60).quantize(
            Decimal("0.0001"), rounding="ROUND_HALF_UP"
        )
        assert after[call_id][:2] == (billed, charge)
        assert after[call_id][2] == before[call_id][2]  # the provider card did not change

    acme = [before[k] for k in before if k.startswith("ACME")]
    assert report.before.calls == report.after.calls == 240
    assert report.before.charge == sum(m[1] for m in acme)
    assert report.after.charge == sum(after[k][1] for k in after if k.startswith("ACME"))
    assert report.after.charge > report.before.charge
    assert report.before.cost == report.after.cost

    # The roll-ups were updated in the same transaction: the Summary equals a rebuild's.
    def month_view():
        return summary.customer_summary(
            db, admin, march["ACME"], "daily", first=date(2026, 3, 1), last=date(2026, 3, 31)
        ).rows

    rolled, shown = hourly_rows(db), month_view()
    assert sum(row.charge for row in shown) == report.after.charge
    rollups.rollup_rebuild(db)
    assert hourly_rows(db) == rolled
    assert month_view() == shown

    entry = audit_log.only_new(count)
    assert entry.table_name == "cdr" and entry.customer_id == march["ACME"]
    assert json.loads(entry.before_json) == {
        "calls": 240,
        "billed_seconds": report.before.billed_seconds,
        "charge": str(report.before.charge),
        "cost": str(report.before.cost),
    }
    assert json.loads(entry.after_json)["charge"] == str(report.after.charge)
    assert json.loads(entry.after_json)["changed"] == len(affected)
    assert f"{report.before.charge} -> {report.after.charge}" in entry.message

    # A second re-rate with the same cards changes nothing.
    again = rerate_period(db, admin, march["ACME"], MARCH, APRIL)
    assert again.changed == 0 and again.after == report.after


def test_an_invoiced_period_is_refused_naming_the_invoice(db, admin, march, tmp_path) -> None:
    (invoice,) = invoices.generate_invoices(
        db,
        admin,
        march["ACME"],
        "daily",
        [datetime(2026, 3, 5, tzinfo=UTC)],
        now=datetime(2026, 4, 2, tzinfo=UTC),
    )
    rates.import_deck(
        db,
        admin,
        deck(tmp_path / "s2.csv", [(*r[:2], "0.5", *r[3:]) for r in SELL], "2026-03-01"),
        "Sell",
    )
    before = money_by_call(db)
    with pytest.raises(PeriodInvoicedError) as caught:
        rerate_period(db, admin, march["ACME"], MARCH, APRIL)
    assert caught.value.numbers == [invoice.number]
    assert invoice.number in str(caught.value) and "2026-03-05" in str(caught.value)
    assert money_by_call(db) == before
    # The days after the invoice are not invoiced: they re-rate; BETA has no invoice at all.
    later = rerate_period(db, admin, march["ACME"], datetime(2026, 3, 6, tzinfo=UTC), APRIL)
    assert later.changed > 0
    assert rerate_period(db, admin, march["BETA"], MARCH, APRIL).changed > 0


def test_a_call_that_cannot_be_rated_refuses_the_whole_rerate(db, admin, march, tmp_path) -> None:
    # The new deck drops UK mobiles: those calls would have no rate.
    rates.import_deck(db, admin, deck(tmp_path / "s2.csv", SELL[:2], "2026-03-15"), "Sell")
    rates.import_deck(db, admin, deck(tmp_path / "s3.csv", SELL[:1], "2026-03-20"), "Sell")
    before, rolled = money_by_call(db), hourly_rows(db)
    with pytest.raises(RerateError) as caught:
        rerate_period(db, admin, march["ACME"], MARCH, APRIL)
    assert "nothing was changed" in str(caught.value)
    assert caught.value.count > 0
    call_id, reason = caught.value.problems[0]
    assert call_id.startswith("ACME-")
    assert reason.startswith("no customer rate for 447700900123 at 2026-03-")
    assert money_by_call(db) == before and hourly_rows(db) == rolled


def test_only_operators_rerate_and_the_period_must_make_sense(db, admin, march, viewer) -> None:
    with pytest.raises(PermissionDeniedError):
        rerate_period(db, viewer, march["ACME"], MARCH, APRIL)
    with pytest.raises(ValidationError, match="ends before it starts"):
        rerate_period(db, admin, march["ACME"], APRIL, MARCH)


def test_the_rerate_command_prints_the_totals_before_and_after(
    db, backend, admin, march, tmp_path, capsys, monkeypatch
) -> None:
    if "options" in backend.connect_args:  # PostgreSQL: the test's own schema, through libpq
        monkeypatch.setenv("PGOPTIONS", backend.connect_args["options"])
    changed_sell = [SELL[0], ("4930", "Germany - Berlin", "0.0300", "0.0050", "6", "6"), SELL[2]]
    rates.import_deck(db, admin, deck(tmp_path / "s2.csv", changed_sell, "2026-03-10"), "Sell")
    argv = ["--db", db.url, "cdr", "rerate", "--customer", "ACME", "--from", "2026-03-01"]
    code = main([*argv, "--to", "2026-03-31"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("re-rated 240 CDRs of ACME from 2026-03-01 to 2026-03-31 (UTC)")
    assert lines[1].split() == ["calls", "billed", "s", "charge", "EUR", "cost", "EUR"]
    assert lines[3].split()[:2] == ["before", "240"] and lines[4].split()[:2] == ["after", "240"]
    assert lines[3].split()[-1] == lines[4].split()[-1]  # the cost did not change
    assert "customer-hours recomputed" in lines[5]
    assert main([*argv, "--to", "2026-02-01"]) == 2
    assert "--to 2026-02-01 is before --from 2026-03-01" in capsys.readouterr().err
