"""Switch CDR files imported through the native importer (store/feeds.py, `cdr import --format`):
the Summary afterwards equals a computation made here from the fixture's text and the rate
cards' rule; importing twice, or two overlapping rotated files, adds nothing; bad records are
refused or rejected with the switch file's own line numbers. SQLite and (when configured)
PostgreSQL."""

from __future__ import annotations

import csv
import json
import math
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from cdr_helpers import add_customers, cdr_count, stored_cdrs

from carriertui.cli import main
from carriertui.feeds.common import FeedOptions
from carriertui.store import rates, rollups, summary
from carriertui.store.cdrs import importer
from carriertui.store.cdrs.importer import CdrImportError
from carriertui.store.feeds import import_feed

FIXTURES = Path(__file__).parent / "feeds_fixtures"
DECK_HEADER = ("prefix", "destination", "rate", "connect_fee", "mcd", "pulse", "effective_from")
# (prefix, rate per minute, connect fee, mcd, pulse): the cards every customer here has.
SELL = [
    ("49", "0.0100", "0", 1, 1),
    ("4930", "0.0200", "0.0050", 30, 6),
    ("44", "0.0300", "0", 60, 60),
]
BUY = [("49", "0.0060", "0", 1, 1), ("44", "0.0150", "0", 1, 1)]


def _deck(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(DECK_HEADER)
        for prefix, rate, fee, mcd, pulse in rows:
            writer.writerow((prefix, f"dest {prefix}", rate, fee, mcd, pulse, "2000-01-01"))
    return path


@pytest.fixture
def carded(db, admin, tmp_path) -> dict[str, int]:
    return give_cards(db, admin, tmp_path)


def give_cards(db, admin, tmp_path: Path) -> dict[str, int]:
    """ACME and BETA, each rated with Sell (customer) and Buy (provider)."""
    ids = add_customers(db, admin, "ACME", "BETA")
    rates.import_deck(db, admin, _deck(tmp_path / "sell.csv", SELL), "Sell", currency="EUR")
    rates.import_deck(
        db, admin, _deck(tmp_path / "buy.csv", BUY), "Buy", currency="EUR", kind="provider"
    )
    for customer in ids.values():
        rates.assign_card(db, admin, "Sell", customer)
        rates.assign_card(db, admin, "Buy", customer)
    return ids


# -- the independent computation ------------------------------------------------------------------


def _rate(card, number: str, seconds: int) -> tuple[int, Decimal]:
    """The README's rule, written again here: longest prefix, MCD/pulse, fee + s/60 x rate."""
    if seconds == 0:
        return 0, Decimal(0)
    _prefix, rate, fee, mcd, pulse = max(
        (r for r in card if number.lstrip("+").startswith(r[0])), key=lambda r: len(r[0])
    )
    billed = mcd if seconds <= mcd else mcd + math.ceil((seconds - mcd) / pulse) * pulse
    charge = Decimal(fee) + Decimal(billed) / 60 * Decimal(rate)
    return billed, charge.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def expected_totals(calls: list[tuple[str, str, int]], customer: str) -> dict[str, object]:
    """(customer, number, talk seconds) of each attempt -> the Summary's totals for one."""
    mine = [(number, seconds) for code, number, seconds in calls if code == customer]
    billed = charge = cost = Decimal(0)
    for number, seconds in mine:
        b, c = _rate(SELL, number, seconds)
        billed += b
        charge += c
        cost += _rate(BUY, number, seconds)[1]
    return {
        "attempts": len(mine),
        "connected": sum(1 for _, s in mine if s > 0),
        "duration": sum(s for _, s in mine),
        "billed_duration": int(billed),
        "charge": charge,
        "cost": cost,
    }


def summary_totals(db, admin, customer_id: int) -> dict[str, object]:
    rollups.rollup_incremental(db)
    total = summary.customer_summary(db, admin, customer_id, "monthly").totals()
    return {
        "attempts": total.attempts,
        "connected": total.connected,
        "duration": total.duration,
        "billed_duration": total.billed_duration,
        "charge": total.charge,
        "cost": total.cost,
    }


def asterisk_calls(path: Path) -> list[tuple[str, str, int]]:
    """Master.csv's attempts read plainly: rows of one linkedid are one call (its best billsec)."""
    calls: dict[str, tuple[str, str, int]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for fields in csv.reader(handle):
            key = fields[19] if len(fields) == 21 else fields[16]
            seconds = int(fields[13]) if fields[14] == "ANSWERED" else 0
            known = calls.get(key)
            if known is None or seconds > known[2]:
                calls[key] = (fields[0], fields[2], seconds)
    return list(calls.values())


@pytest.fixture(params=["in-process", "child"], autouse=True)
def parsing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The native importer parses the converted file itself, or (a big file) in its child
    process: both give the same result."""
    monkeypatch.setattr(importer, "CHILD_MIN_BYTES", 0 if request.param == "child" else 1 << 62)
    monkeypatch.setattr(importer, "_CHILD_BACKENDS", frozenset({"sqlite", "postgresql"}))
    return request.param


def options(**overrides) -> FeedOptions:
    return FeedOptions(**{"zone": "Europe/Berlin", **overrides})


# -- the Summary after an import ------------------------------------------------------------------


def test_asterisk_forks_are_one_attempt_in_the_summary(db, admin, carded, tmp_path) -> None:
    source = tmp_path / "Master.csv"
    # the fixture without its GAMMA row (no such customer: tested below)
    lines = (FIXTURES / "asterisk_21.csv").read_text(encoding="utf-8").splitlines()
    source.write_text("\n".join(line for line in lines if "GAMMA" not in line) + "\n")
    result = import_feed(db, admin, source, "auto", options())
    assert result.format == "asterisk"
    assert result.report.imported == 2 and result.tally.merged == 1
    calls = asterisk_calls(source)
    assert len(calls) == 2
    for code in ("ACME", "BETA"):
        assert summary_totals(db, admin, carded[code]) == expected_totals(calls, code), code


def test_freeswitch_json_directory_summary(db, admin, carded, tmp_path) -> None:
    calls = []
    for path in sorted((FIXTURES / "json").iterdir()):
        document = json.loads(path.read_text(encoding="utf-8"))
        if document["channel_data"]["direction"] == "inbound":  # the A-legs
            variables = document["variables"]
            calls.append(
                (
                    variables["accountcode"],
                    variables["destination_number"],
                    int(variables["billsec"]),
                )
            )
    result = import_feed(db, admin, FIXTURES / "json", "freeswitch-json", options(zone=None))
    assert (result.report.imported, result.tally.b_legs) == (2, 1)
    for code in ("ACME", "BETA"):
        assert summary_totals(db, admin, carded[code]) == expected_totals(calls, code), code


def test_connexcs_money_is_kept_and_summed(db, admin, carded) -> None:
    with (FIXTURES / "connexcs_api.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    result = import_feed(db, admin, FIXTURES / "connexcs_api.csv", "auto", options())
    assert (result.format, result.report.imported) == ("connexcs", 4)
    for code in ("ACME", "BETA"):
        mine = [r for r in rows if r["customer_id"] == code]
        expected = {
            "attempts": len(mine),
            "connected": sum(1 for r in mine if Decimal(r["duration"]) > 0),
            "duration": sum(math.ceil(Decimal(r["duration"])) for r in mine),
            "billed_duration": sum(int(r["customer_duration"]) for r in mine),
            "charge": sum(
                Decimal(r["customer_charge"]).quantize(Decimal("0.0001"), ROUND_HALF_UP)
                for r in mine
            ),
            "cost": sum(Decimal(r["provider_charge"]) for r in mine),
        }
        assert summary_totals(db, admin, carded[code]) == expected, code


def test_kamailio_acc_in_utc(db, admin, carded) -> None:
    result = import_feed(
        db, admin, FIXTURES / "acc_kamailio.csv", "acc", options(zone=None, utc=True)
    )
    assert result.report.imported == 3
    stored = {c.call_id: c for c in stored_cdrs(db)}
    assert stored["a84b4c76e66710@pc33.example.com"].duration == 61
    calls = [("ACME", "4930901234", 61), ("ACME", "4930901235", 1), ("BETA", "4930901236", 60)]
    for code in ("ACME", "BETA"):
        assert summary_totals(db, admin, carded[code]) == expected_totals(calls, code), code


# -- de-duplication -------------------------------------------------------------------------------


def test_importing_twice_or_overlapping_rotated_files_adds_nothing(
    db, admin, carded, tmp_path
) -> None:
    lines = (FIXTURES / "freeswitch_example.csv").read_text(encoding="utf-8").splitlines()
    good = [line for n, line in enumerate(lines, 1) if n not in (4, 6)]  # no DST rejects
    first, second = tmp_path / "Master.csv.1", tmp_path / "Master.csv.2"
    first.write_text("\n".join(good[:4]) + "\n")
    second.write_text("\n".join(good[2:]) + "\n")  # two rows in both files
    report = import_feed(db, admin, first, "freeswitch-csv", options()).report
    assert (report.imported, report.duplicates) == (4, 0)
    again = import_feed(db, admin, first, "auto", options()).report
    assert (again.imported, again.duplicates) == (0, 4)
    overlap = import_feed(db, admin, second, "auto", options()).report
    assert (overlap.imported, overlap.duplicates) == (1, 2)
    assert cdr_count(db) == 5


# -- bad records ----------------------------------------------------------------------------------


def test_a_bad_record_refuses_the_file_with_its_line(db, admin, carded) -> None:
    with pytest.raises(CdrImportError) as caught:
        import_feed(db, admin, FIXTURES / "asterisk_18.csv", "asterisk", options())
    lines = [(bad.line, bad.reason.split(" ")[0]) for bad in caught.value.errors]
    assert lines == [(6, "2026-10-25"), (7, "2016-12-31")]
    assert "leap second" in caught.value.errors[1].reason
    assert "nothing was imported" in str(caught.value)
    assert cdr_count(db) == 0


def test_skip_bad_writes_one_reject_file_with_the_switch_lines(db, admin, tmp_path) -> None:
    # BETA has no rate card: its rows are refused by the rating, after the parser's rejects
    ids = add_customers(db, admin, "ACME", "BETA")
    rates.import_deck(db, admin, _deck(tmp_path / "sell.csv", SELL), "Sell", currency="EUR")
    rates.import_deck(
        db, admin, _deck(tmp_path / "buy.csv", BUY), "Buy", currency="EUR", kind="provider"
    )
    rates.assign_card(db, admin, "Sell", ids["ACME"])
    rates.assign_card(db, admin, "Buy", ids["ACME"])
    source = tmp_path / "Master.csv"
    shutil.copy(FIXTURES / "asterisk_18.csv", source)
    result = import_feed(db, admin, source, "asterisk", options(), skip_bad=True)
    report = result.report
    # lines 1, 2 and 5 are ACME's good calls; 3 and 4 BETA's (no card, but not connected: free)
    assert report.imported == 5 and report.bad_rows == 2
    assert [bad.line for bad in report.errors] == [6, 7]
    assert report.rejects_path == tmp_path / "Master.rejects.csv"
    with report.rejects_path.open(encoding="utf-8", newline="") as handle:
        rejected = list(csv.DictReader(handle))
    assert [r["reject_line"] for r in rejected] == ["6", "7"]
    assert "happened twice" in rejected[0]["reject_reason"]


def test_native_rejects_are_mapped_to_the_switch_lines(db, admin, tmp_path) -> None:
    ids = add_customers(db, admin, "ACME", "BETA")
    rates.import_deck(db, admin, _deck(tmp_path / "sell.csv", SELL), "Sell", currency="EUR")
    rates.assign_card(db, admin, "Sell", ids["ACME"])
    source = tmp_path / "Master.csv"
    lines = (FIXTURES / "asterisk_21.csv").read_text(encoding="utf-8").splitlines()
    source.write_text("\n".join(lines[:3]) + "\n")  # the fork (lines 1-2) and BETA's call (3)
    with pytest.raises(CdrImportError) as caught:
        import_feed(db, admin, source, "asterisk", options())
    reasons = {bad.line: bad.reason for bad in caught.value.errors}
    # ACME has no provider card; BETA no card at all: the rater's reasons, the switch's lines
    assert set(reasons) == {1, 3}
    assert "provider rate card" in reasons[1] and "BETA" in reasons[3]


def test_an_unknown_account_code_is_a_reject_with_the_reason(db, admin, carded) -> None:
    with pytest.raises(CdrImportError) as caught:
        import_feed(db, admin, FIXTURES / "asterisk_21.csv", "asterisk", options())
    assert [(b.line, b.reason) for b in caught.value.errors] == [
        (4, "no customer has the account code 'GAMMA'")
    ]


# -- the command ----------------------------------------------------------------------------------


def test_cli_import_says_the_format_and_the_summary_matches(admin, tmp_path, capsys) -> None:
    from carriertui.store.db.database import open_database

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    db = open_database(url)
    ids = give_cards(db, admin, tmp_path)
    source = tmp_path / "fs.csv"
    shutil.copy(FIXTURES / "freeswitch_default.csv", source)
    code = main(["--db", url, "cdr", "import", str(source), "--tz", "Europe/Berlin"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "format: freeswitch-csv (no header, 13 columns of the default template)" in captured.err
    assert "2 CDRs imported from fs.csv" in captured.out
    calls = [("ACME", "4930905000", 30), ("ACME", "4930905001", 0)]
    assert summary_totals(db, admin, ids["ACME"]) == expected_totals(calls, "ACME")
    code = main(["--db", url, "cdr", "import", str(source)])
    captured = capsys.readouterr()
    assert code == 1 and "--tz" in captured.err and "nothing was imported" in captured.err
    db.dispose()


def test_a_record_over_two_lines_keeps_every_line_number(db, admin, carded, tmp_path) -> None:
    source = tmp_path / "cx.csv"
    source.write_text(
        "dt,callid,customer_id,dest_number,duration,sip_code\n"
        "2026-03-01 09:00:00,cx-1,ACME,4930901,60,200\n"
        '2026-03-01 09:01:00,"cx-2\nsecond line",ACME,4930902,30,200\n'
        "2026-03-01 09:02:00,cx-3,NOBODY,4930903,30,200\n"
        "2026-03-01 09:03:00,cx-4,ACME,4930904,30,200\n",
        encoding="utf-8",
    )
    report = import_feed(db, admin, source, "connexcs", options(), skip_bad=True).report
    assert report.imported == 2
    assert [(bad.line, bad.reason) for bad in report.errors] == [
        (3, "a field holds a line break"),
        (5, "no customer has the account code 'NOBODY'"),
    ]
    assert sorted(c.call_id for c in stored_cdrs(db)) == ["cx-1", "cx-4"]
