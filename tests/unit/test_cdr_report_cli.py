"""The CDR report (service and `carriertui cdr export`) and the `carriertui summary` and
`carriertui rollup` commands."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from cdr_helpers import add_customers, csv_row, insert, values, write_csv_file

from carriertui.cli import main
from carriertui.grid.export import ExportCancelled
from carriertui.store.cdrs import importer as cdrs
from carriertui.store.cdrs.importer import CSV_COLUMNS
from carriertui.store.errors import ValidationError

WEEK_START = datetime(2026, 12, 28, tzinfo=UTC)  # ISO week 53 of 2026


@pytest.fixture
def week_of_cdrs(db, admin):
    ids = add_customers(db, admin, "ACME", "BETA")
    edge = [
        values("before", ids["ACME"], WEEK_START - timedelta(microseconds=1), duration=3),
        values("first", ids["ACME"], WEEK_START, duration=60, charge="0.0100"),
        values("formula", ids["ACME"], WEEK_START + timedelta(days=2), dest_number="+4930901234"),
        values("last", ids["ACME"], WEEK_START + timedelta(days=7, microseconds=-1)),
        values("after", ids["ACME"], WEEK_START + timedelta(days=7), duration=4),
        values("other", ids["BETA"], WEEK_START + timedelta(days=1), duration=5),
    ]
    inner = [
        values(
            f"mid-{i}",
            ids["ACME"],
            WEEK_START + timedelta(hours=i * 7, seconds=i),
            duration=i,
            charge=f"{i}.0{i % 10}",
            cost="0.5",
        )
        for i in range(20)
    ]
    insert(db, admin, edge + inner)
    return ids


def _parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_the_cdr_report_of_a_week_reparses_to_exactly_its_cdrs(
    db, admin, week_of_cdrs, tmp_path: Path
) -> None:
    progress: list[int] = []
    report = cdrs.export_cdr_report(
        db,
        admin,
        week_of_cdrs["ACME"],
        "weekly",
        date(2027, 1, 1),
        tmp_path,
        on_progress=progress.append,
    )
    assert report.path == tmp_path / "cdrs-ACME-weekly-2026-12-28.csv"
    assert (report.start, report.end) == (WEEK_START, WEEK_START + timedelta(days=7))
    text = report.path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    rows = _parse(text)
    assert report.rows == len(rows) == 23 and progress[-1] == 23
    ids = [row["call_id"] for row in rows]
    assert set(ids) == {"first", "formula", "last"} | {f"mid-{i}" for i in range(20)}
    starts = [datetime.fromisoformat(row["start_time"]) for row in rows]
    assert starts == sorted(starts) and all(s.tzinfo == UTC for s in starts)
    assert rows[-1]["start_time"] == "2027-01-03T23:59:59.999999Z"
    by_id = {row["call_id"]: row for row in rows}
    assert by_id["formula"]["dest_number"] == "'+4930901234"  # neutralised for spreadsheets
    assert Decimal(by_id["mid-7"]["charge"]) == Decimal("7.07")
    assert by_id["first"]["customer"] == "ACME"
    # The report is an import file: into an empty database it gives back the same CDRs.
    from carriertui.store.db.database import open_database

    other = open_database(f"sqlite:///{tmp_path / 'other.sqlite'}")
    add_customers(other, admin, "ACME")
    again = cdrs.import_cdr_file(other, admin, report.path)
    assert again.imported == 23
    from cdr_helpers import stored_cdrs

    original = {c.call_id: c for c in stored_cdrs(db) if c.call_id in by_id}
    copied = {c.call_id: c for c in stored_cdrs(other)}
    fields = (
        "start_time",
        "dest_number",
        "duration",
        "billed_duration",
        "charge",
        "cost",
        "sip_code",
        "pdd_ms",
        "source_ip",
        "source_cli",
    )
    for call_id, cdr in original.items():
        assert [getattr(cdr, f) for f in fields] == [getattr(copied[call_id], f) for f in fields]
    other.dispose()


def test_daily_and_monthly_reports_and_bad_periods(db, admin, week_of_cdrs, tmp_path) -> None:
    day = cdrs.export_cdr_report(
        db, admin, week_of_cdrs["ACME"], "daily", date(2026, 12, 28), tmp_path / "d.csv"
    )
    assert day.rows == 5  # "first" and mid-0..mid-3 (every 7 hours)
    month = cdrs.export_cdr_report(
        db, admin, week_of_cdrs["ACME"], "monthly", date(2026, 12, 15), tmp_path / "m.csv"
    )
    assert {r["call_id"] for r in _parse(month.path.read_text())} >= {"before", "first"}
    assert "after" not in {r["call_id"] for r in _parse(month.path.read_text())}
    with pytest.raises(ValidationError):
        cdrs.export_cdr_report(
            db, admin, week_of_cdrs["ACME"], "hourly", date(2026, 1, 1), tmp_path
        )


def test_a_cancelled_report_leaves_no_file(db, admin, week_of_cdrs, tmp_path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    target = folder / "c.csv"
    with pytest.raises(ExportCancelled):
        cdrs.export_cdr_report(
            db,
            admin,
            week_of_cdrs["ACME"],
            "weekly",
            date(2027, 1, 1),
            target,
            cancelled=lambda: True,
        )
    assert list(folder.iterdir()) == []


# -- the commands (SQLite through --db, as a cron job would run them) -----------------------------


@pytest.fixture
def cli_db(tmp_path: Path, capsys) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    for code in ("ACME", "BETA"):
        assert main(["--db", url, "customers", "add", "--name", code, "--code", code]) == 0
    capsys.readouterr()
    return url


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_import_refuses_a_bad_file_listing_its_lines(cli_db, tmp_path, capsys) -> None:
    path = write_csv_file(
        tmp_path / "in.csv", [csv_row(1), csv_row(2, duration="-1"), csv_row(3, customer="X")]
    )
    code, out, err = run(capsys, "--db", cli_db, "cdr", "import", str(path))
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert lines[0] == "line 3: duration: negative (-1)"
    assert lines[1] == "line 4: customer: unknown account code 'X'"
    assert lines[2].startswith("error: in.csv: 2 bad rows; nothing was imported")
    code, out, err = run(capsys, "--db", cli_db, "cdr", "import", str(path), "--skip-bad")
    assert code == 0, err
    assert "1 CDRs imported from in.csv" in out
    assert f"bad rows written to {tmp_path / 'in.rejects.csv'}" in out
    code, _, err = run(capsys, "--db", cli_db, "cdr", "import", str(path), "--rejects", "x.csv")
    assert code == 2 and "--rejects needs --skip-bad" in err


def test_cli_summary_json_and_csv(cli_db, tmp_path, capsys) -> None:
    rows = [
        csv_row(
            1,
            start_time="2026-03-02T10:00:00Z",
            duration="100",
            billed_duration="132",
            charge="1.2500",
            cost="1",
        ),
        csv_row(
            2,
            start_time="2026-03-02T11:00:00Z",
            duration="0",
            billed_duration="0",
            charge="0",
            cost="0",
        ),
        csv_row(3, start_time="2026-03-04T11:00:00Z", duration="20", charge="0.5", cost="0.75"),
    ]
    path = write_csv_file(tmp_path / "s.csv", rows)
    assert run(capsys, "--db", cli_db, "cdr", "import", str(path))[0] == 0
    code, out, _ = run(capsys, "--db", cli_db, "rollup")
    assert code == 0 and "incremental: 3 customer-hours recomputed" in out
    code, out, err = run(
        capsys,
        "--db",
        cli_db,
        "summary",
        "--customer",
        "ACME",
        "--view",
        "daily",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-04",
        "--format",
        "json",
    )
    assert code == 0, err
    document = json.loads(out)
    assert document["currency"] == "USD" and document["view"] == "daily"
    assert document["rolled_up_at"].endswith("Z")
    first, empty, third = document["rows"]
    assert first == {
        "period_start": "2026-03-02T00:00:00Z",
        "period": "2026-03-02",
        "partial": False,
        "attempts": 2,
        "connected": 1,
        "asr": 50.0,
        "acd": 100.0,
        "duration": 100,
        "billed_duration": 132,
        "charge": "1.2500",
        "cost": "1.0000",
        "profit": "0.2500",
        "profit_pct": 20.0,
    }
    assert (empty["attempts"], empty["asr"], empty["acd"], empty["profit_pct"]) == (
        0,
        None,
        None,
        None,
    )
    assert third["profit"] == "-0.2500" and third["profit_pct"] == -50.0

    target = tmp_path / "weekly.csv"
    code, out, err = run(
        capsys,
        "--db",
        cli_db,
        "summary",
        "--customer",
        "ACME",
        "--view",
        "weekly",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-08",
        "--format",
        "csv",
        "-o",
        str(target),
    )
    assert code == 0, err
    parsed = list(csv.DictReader(target.open(encoding="utf-8", newline="")))
    assert len(parsed) == 1
    assert parsed[0]["period"] == "Week 10 2026"
    assert (parsed[0]["attempts"], parsed[0]["charge"], parsed[0]["profit"]) == (
        "3",
        "1.7500",
        "-0.0000",
    ) or (parsed[0]["attempts"], parsed[0]["charge"]) == ("3", "1.7500")
    assert parsed[0]["asr"] == "66.67"

    code, out, _ = run(
        capsys,
        "--db",
        cli_db,
        "summary",
        "--customer",
        "ACME",
        "--view",
        "daily",
        "--from",
        "2026-03-03",
        "--to",
        "2026-03-03",
        "--format",
        "csv",
    )
    line = out.splitlines()[1]
    assert line == "2026-03-03T00:00:00Z,2026-03-03,false,0,0,,,0,0,0.0000,0.0000,0.0000,"

    code, _, err = run(
        capsys,
        "--db",
        cli_db,
        "summary",
        "--customer",
        "ACME",
        "--view",
        "24h",
        "--from",
        "2026-03-03",
        "--format",
        "json",
    )
    assert code == 2 and "24h view" in err
    code, _, err = run(capsys, "--db", cli_db, "summary", "--customer", "NOPE", "--view", "daily")
    assert code == 1 and "no customer" in err


def test_cli_cdr_export_and_rollup_rebuild(cli_db, tmp_path, capsys) -> None:
    rows = [csv_row(i, start_time=f"2026-03-0{1 + i % 3}T10:00:00Z") for i in range(1, 10)]
    path = write_csv_file(tmp_path / "e.csv", rows)
    assert run(capsys, "--db", cli_db, "cdr", "import", str(path))[0] == 0
    code, out, err = run(
        capsys,
        "--db",
        cli_db,
        "cdr",
        "export",
        "--customer",
        "ACME",
        "--period",
        "daily",
        "--date",
        "2026-03-02",
    )
    assert code == 0, err
    exported = _parse(out)
    assert sorted(r["call_id"] for r in exported) == ["call-000001", "call-000004", "call-000007"]
    target = tmp_path / "month.csv"
    code, out, err = run(
        capsys,
        "--db",
        cli_db,
        "cdr",
        "export",
        "--customer",
        "ACME",
        "--period",
        "monthly",
        "--date",
        "2026-03-31",
        "-o",
        str(target),
    )
    assert code == 0, err
    assert "exported 9 CDRs of ACME (monthly" in out
    assert len(_parse(target.read_text(encoding="utf-8"))) == 9
    code, out, _ = run(capsys, "--db", cli_db, "rollup", "--rebuild")
    assert code == 0 and "rebuild: 3 customer-hours" in out
    code, _, err = run(
        capsys,
        "--db",
        cli_db,
        "cdr",
        "export",
        "--customer",
        "ACME",
        "--period",
        "daily",
        "--date",
        "March 2",
    )
    assert code == 2 and "not a date" in err


def test_the_report_file_is_byte_for_byte_what_write_csv_makes_of_its_values(
    db, admin, tmp_path: Path
) -> None:
    """The report's cells are spelled by the database (the grid's export path, issue 16): the
    file must be exactly what write_csv writes from the values report_batches gives, on tricky
    text (quotes, line breaks, a leading = + - @ or TAB), money of every scale and sign, and
    times with and without microseconds."""
    from dataclasses import replace

    from carriertui.grid.export import write_csv

    ids = add_customers(db, admin, "ACME")
    day = datetime(2026, 3, 10, tzinfo=UTC)
    texts = ['=HYPERLINK("x")', "+4930901234", "-2+3", "@SUM(1)", "\tx", 'say "hi", twice']
    texts += ["line\nbreak", "cr\rhere", "'quoted", "É=😀", "plain"]
    money = ["0", "0.0100", "-0.5", "12345678.9999", "-0.0001", "7"]
    moments = [day, day + timedelta(microseconds=10), day + timedelta(hours=23, seconds=59.5)]
    rows = [
        replace(
            values(
                f"tricky-{i}",
                ids["ACME"],
                moments[i % 3] + timedelta(minutes=i),
                duration=i,
                charge=money[i % len(money)],
                cost=money[(i + 1) % len(money)],
                dest_number=text[:60],
            ),
            dest_name=text,
            release_reason=texts[(i + 3) % len(texts)],
            source_cli=texts[(i + 1) % len(texts)][:60],
        )
        for i, text in enumerate(texts)
    ]
    insert(db, admin, rows)
    report = cdrs.export_cdr_report(db, admin, ids["ACME"], "daily", day.date(), tmp_path / "r.csv")
    _report, batches = cdrs.report_batches(db, admin, ids["ACME"], "daily", day.date())
    expected = write_csv(tmp_path / "values.csv", cdrs.REPORT_COLUMNS, batches)
    assert report.rows == expected == len(texts)
    written = report.path.read_bytes()
    assert written == (tmp_path / "values.csv").read_bytes()
    assert b"'=HYPERLINK" in written and b'"say ""hi"", twice"' in written
    assert b"2026-03-10T00:00:00Z" in written and b"2026-03-10T00:01:00.000010Z" in written
