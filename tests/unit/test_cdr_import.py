"""CDR import: header rules, per-row validation with line numbers, all or nothing, --skip-bad and
its reject file, idempotent re-import, one audit entry, and a killed import leaving nothing.

Every test here runs twice: with the file parsed in the importing process and in the child
process a big file gets (cdrs.CHILD_MIN_BYTES forced to 0)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from cdr_helpers import (
    add_customers,
    cdr_count,
    child_pids,
    csv_row,
    dirty_count,
    stored_cdrs,
    wait_until_ended,
    write_csv_file,
)

from carriertui.store import rollups
from carriertui.store.cdrs import importer as cdrs
from carriertui.store.cdrs.importer import CSV_COLUMNS, CdrImportError, import_cdr_file
from carriertui.store.errors import PermissionDeniedError


@pytest.fixture(params=["in-process", "child"], autouse=True)
def parsing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where the file is parsed: here, or in the child process (for files of any size)."""
    monkeypatch.setattr(cdrs, "CHILD_MIN_BYTES", 0 if request.param == "child" else 1 << 62)
    monkeypatch.setattr(cdrs, "_CHILD_BACKENDS", frozenset({"sqlite", "postgresql"}))
    return request.param


@pytest.fixture
def acme(db, admin) -> dict[str, int]:
    return add_customers(db, admin, "ACME", "BETA")


def test_a_good_file_imports_every_row_in_utc_with_exact_money(
    db, admin, acme, tmp_path: Path, audit_log
) -> None:
    rows = [csv_row(i) for i in range(1, 31)]
    rows.append(
        csv_row(
            31,
            customer="BETA",
            start_time="2026-03-01T01:30:00.250+05:30",
            charge="12.3456",
            cost=".5",
            direction="inbound",
            source_ip="2001:db8::1",
        )
    )
    before = audit_log.count()
    report = import_cdr_file(db, admin, write_csv_file(tmp_path / "good.csv", rows))
    assert (report.rows, report.imported, report.duplicates, report.bad_rows) == (31, 31, 0, 0)
    stored = {cdr.call_id: cdr for cdr in stored_cdrs(db)}
    assert len(stored) == 31
    last = stored["call-000031"]
    assert last.customer_id == acme["BETA"]
    assert last.start_time == datetime(2026, 2, 28, 20, 0, 0, 250000, tzinfo=UTC)
    assert last.charge == Decimal("12.3456")
    assert last.cost == Decimal("0.5")
    assert last.direction == "inbound"
    assert last.source_ip == "2001:db8::1"
    assert stored["call-000002"].start_time == datetime(2026, 3, 1, 2, 2, tzinfo=UTC)
    # One audit entry for the whole file, naming it and the counts.
    entry = audit_log.only_new(before)
    assert entry.action == "CREATE"
    assert entry.table_name == "cdr"
    assert "good.csv" in entry.message and "Imported 31 CDRs" in entry.message
    assert audit_log.after(entry)["imported"] == 31
    # The touched hours are marked for the incremental roll-up.
    assert dirty_count(db) == report.hours_touched > 0


def test_columns_in_any_order_and_reject_columns_are_accepted(db, admin, acme, tmp_path) -> None:
    header = [*reversed(CSV_COLUMNS), "reject_line", "reject_reason"]
    path = write_csv_file(tmp_path / "shuffled.csv", [csv_row(1), csv_row(2)], header)
    assert import_cdr_file(db, admin, path).imported == 2


def test_unknown_and_missing_columns_are_refused_by_name(db, admin, acme, tmp_path) -> None:
    header = [c for c in CSV_COLUMNS if c != "pdd_ms"] + ["carrier", "Duration"]
    path = write_csv_file(tmp_path / "header.csv", [csv_row(1)], header)
    with pytest.raises(CdrImportError) as raised:
        import_cdr_file(db, admin, path)
    message = str(raised.value)
    assert "unknown columns: 'carrier', 'Duration'" in message
    assert "missing columns: pdd_ms" in message
    assert cdr_count(db) == 0


BAD_ROWS = [
    ({"start_time": "2026-03-01 25:00:00Z"}, "start_time: not an ISO 8601 date-time"),
    ({"start_time": "2026-03-01T10:00:00"}, "start_time: no UTC offset"),
    ({"start_time": "2026-03-01"}, "start_time: no UTC offset"),
    ({"duration": "-5"}, "duration: negative (-5)"),
    ({"billed_duration": "1.5"}, "billed_duration: not a whole number"),
    ({"customer": "NOPE"}, "customer: unknown account code 'NOPE'"),
    ({"call_id": ""}, "call_id: is empty"),
    ({"dest_number": ""}, "dest_number: is empty"),
    ({"sip_code": "99"}, "sip_code: 99 is not a SIP status"),
    ({"sip_code": "700"}, "sip_code: 700 is more than 699"),
    ({"pdd_ms": "fast"}, "pdd_ms: not a whole number"),
    ({"charge": "1,50"}, "charge: not a decimal number"),
    ({"charge": "0.12345"}, "charge: more than 4 decimal places"),
    ({"cost": "-0.10"}, "cost: negative (-0.10)"),
    ({"cost": "NaN"}, "cost: not a decimal number"),
    ({"charge": "1e3"}, "charge: not a decimal number"),
    ({"direction": "sideways"}, "direction: 'sideways' is not inbound or outbound"),
    ({"source_ip": "300.1.1.1"}, "source_ip: not an IP address"),
    ({"dest_name": "x" * 101}, "dest_name: longer than 100 characters"),
    ({"release_reason": "a\x00b"}, "release_reason: contains a NUL character"),
]


@pytest.mark.parametrize(("override", "reason"), BAD_ROWS, ids=[r for _, r in BAD_ROWS])
def test_each_bad_row_kind_is_refused_with_its_line_and_nothing_is_imported(
    db, admin, acme, tmp_path, audit_log, override, reason
) -> None:
    rows = [csv_row(1), csv_row(2), csv_row(3, **override), csv_row(4)]
    path = write_csv_file(tmp_path / "bad.csv", rows)
    before = audit_log.count()
    with pytest.raises(CdrImportError) as raised:
        import_cdr_file(db, admin, path)
    error = raised.value
    assert error.bad_rows == 1
    assert [(bad.line, bad.reason.startswith(reason)) for bad in error.errors] == [(4, True)], (
        error.errors
    )
    assert "nothing was imported" in str(error)
    assert cdr_count(db) == 0
    assert dirty_count(db) == 0
    assert audit_log.count() == before


def test_every_bad_line_is_listed_up_to_the_cap_with_all_its_reasons(
    db, admin, acme, tmp_path
) -> None:
    rows = [
        csv_row(i, duration="-1" if i % 2 else "1", customer="X" if i == 3 else "ACME")
        for i in range(1, 9)
    ]
    path = write_csv_file(tmp_path / "many.csv", rows)
    with pytest.raises(CdrImportError) as raised:
        import_cdr_file(db, admin, path, error_cap=3)
    error = raised.value
    assert error.bad_rows == 4
    assert [bad.line for bad in error.errors] == [2, 4, 6]
    assert error.errors[1].reason == ("customer: unknown account code 'X'; duration: negative (-1)")
    assert "4 bad rows (the first 3 listed)" in str(error)


def test_a_field_with_line_breaks_counts_its_lines(db, admin, acme, tmp_path) -> None:
    rows = [csv_row(1, dest_name="two\nlines"), csv_row(2, duration="x")]
    with pytest.raises(CdrImportError) as raised:
        import_cdr_file(db, admin, write_csv_file(tmp_path / "multi.csv", rows))
    assert [bad.line for bad in raised.value.errors] == [4]


def test_a_row_with_the_wrong_number_of_fields_is_bad(db, admin, acme, tmp_path) -> None:
    path = write_csv_file(tmp_path / "short.csv", [csv_row(1)])
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write("call-9,ACME,2026-03-01T00:00:00Z\r\n")
    with pytest.raises(CdrImportError) as raised:
        import_cdr_file(db, admin, path)
    assert raised.value.errors[0].line == 3
    assert raised.value.errors[0].reason == "3 fields, the header has 15"


def test_skip_bad_imports_the_good_rows_and_writes_a_reimportable_reject_file(
    db, admin, acme, tmp_path
) -> None:
    rows = [
        csv_row(1),
        csv_row(2, duration="-3", dest_number="+4930901"),
        csv_row(3),
        csv_row(4, customer="NOPE", dest_name="=HYPERLINK(1)"),
    ]
    path = write_csv_file(tmp_path / "mixed.csv", rows)
    report = import_cdr_file(db, admin, path, skip_bad=True)
    assert (report.imported, report.bad_rows) == (2, 2)
    assert report.rejects_path == tmp_path / "mixed.rejects.csv"
    assert {cdr.call_id for cdr in stored_cdrs(db)} == {"call-000001", "call-000003"}
    with report.rejects_path.open(encoding="utf-8", newline="") as handle:
        rejected = list(csv.DictReader(handle))
    assert [(r["reject_line"], r["call_id"]) for r in rejected] == [
        ("3", "call-000002"),
        ("5", "call-000004"),
    ]
    assert rejected[0]["reject_reason"] == "duration: negative (-3)"
    # Neutralised against spreadsheet formulas, and read back as the original text.
    assert rejected[0]["dest_number"] == "'+4930901"
    assert rejected[0]["duration"] == "'-3"
    assert rejected[1]["dest_name"] == "'=HYPERLINK(1)"
    # Fixed in place, the reject file imports as it is.
    text = report.rejects_path.read_text(encoding="utf-8")
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(text.replace(",'-3,", ",3,").replace("NOPE", "BETA"), encoding="utf-8")
    again = import_cdr_file(db, admin, fixed)
    assert again.imported == 2
    stored = {cdr.call_id: cdr for cdr in stored_cdrs(db)}
    assert stored["call-000002"].dest_number == "+4930901"
    assert stored["call-000004"].dest_name == "=HYPERLINK(1)"
    assert not list(tmp_path.glob(".*.part"))


def test_skip_bad_with_an_explicit_reject_path(db, admin, acme, tmp_path) -> None:
    path = write_csv_file(tmp_path / "in.csv", [csv_row(1, duration="x")])
    target = tmp_path / "out" / "bad.csv"
    target.parent.mkdir()
    report = import_cdr_file(db, admin, path, skip_bad=True, rejects_path=target)
    assert report.bad_rows == 1 and report.imported == 0
    assert target.exists()


def test_reimporting_the_same_file_adds_nothing(db, admin, acme, tmp_path, audit_log) -> None:
    path = write_csv_file(tmp_path / "twice.csv", [csv_row(i) for i in range(1, 41)])
    first = import_cdr_file(db, admin, path)
    rollups.rollup_incremental(db)
    snapshot = [(c.call_id, c.start_time, c.charge) for c in stored_cdrs(db)]
    second = import_cdr_file(db, admin, path)
    assert (first.imported, second.imported, second.duplicates) == (40, 0, 40)
    assert [(c.call_id, c.start_time, c.charge) for c in stored_cdrs(db)] == snapshot
    # Nothing was added, so no hour needs rolling up again.
    assert dirty_count(db) == 0


def test_viewers_may_not_import(db, viewer, acme, tmp_path) -> None:
    path = write_csv_file(tmp_path / "v.csv", [csv_row(1)])
    with pytest.raises(PermissionDeniedError):
        import_cdr_file(db, viewer, path)


def test_an_empty_file_and_a_missing_file_are_refused(db, admin, tmp_path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(CdrImportError, match="is empty"):
        import_cdr_file(db, admin, empty)
    with pytest.raises(CdrImportError, match="cannot read"):
        import_cdr_file(db, admin, tmp_path / "missing.csv")


def test_a_file_that_is_not_utf8_is_refused_with_nothing_imported(
    db, admin, acme, tmp_path
) -> None:
    path = write_csv_file(tmp_path / "latin1.csv", [csv_row(i) for i in range(1, 4)])
    with path.open("ab") as handle:
        handle.write(
            b"call-x,ACME,2026-03-01T00:00:00Z,1,2,M\xfcnchen,1,1,200,,1,0,0,outbound,\r\n"
        )
    with pytest.raises(CdrImportError, match="utf-8"):
        import_cdr_file(db, admin, path)
    assert cdr_count(db) == 0


def test_progress_is_reported_up_to_the_whole_file(db, admin, acme, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cdrs, "BATCH_ROWS", 10)
    path = write_csv_file(tmp_path / "p.csv", [csv_row(i) for i in range(1, 36)])
    seen: list[tuple[int, int, int]] = []
    import_cdr_file(db, admin, path, on_progress=lambda *a: seen.append(a))
    assert [rows for rows, _, _ in seen] == [10, 20, 30, 35]
    assert seen[-1][1] == seen[-1][2] == path.stat().st_size


def _subprocess_db_url(backend) -> str:
    if backend.name == "sqlite":
        return backend.url
    schema = backend.connect_args["options"].removeprefix("-csearch_path=")
    return f"{backend.url}?options=-csearch_path%3D{schema}"


def test_a_killed_import_leaves_the_database_as_it_was(backend, admin, tmp_path, parsing) -> None:
    """SIGKILL a real `carriertui cdr import` process after its first batch is inserted: no
    rows, and its parsing child (when it has one) ends with it."""
    db = backend.open()
    add_customers(db, admin, "ACME")
    path = write_csv_file(tmp_path / "big.csv", (csv_row(i) for i in range(60_000)))
    script = textwrap.dedent(
        f"""
        import sys
        from carriertui.store.cdrs import importer as cdrs
        from carriertui.cli import main

        cdrs.BATCH_ROWS = 2000
        cdrs.CHILD_MIN_BYTES = {cdrs.CHILD_MIN_BYTES}
        cdrs._CHILD_BACKENDS = {cdrs._CHILD_BACKENDS!r}
        insert = cdrs._BulkWriter._insert

        def observed(self, rows):
            insert(self, rows)
            print("INSERTED", flush=True)

        cdrs._BulkWriter._insert = observed
        # PostgreSQL: the first batch has gone into the COPY (then the import waits to be
        # killed; tests/unit/test_cdr_pg_copy.py kills one after the INSERT ... SELECT).
        import time
        from carriertui.store.cdrs import pg_copy

        write = pg_copy.PgCopyWriter.write

        def copied(self, rows, hours=None):
            write(self, rows, hours)
            print("INSERTED", flush=True)
            time.sleep(60)

        pg_copy.PgCopyWriter.write = copied
        sys.exit(main(sys.argv[1:]))
        """
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            script,
            "--db",
            _subprocess_db_url(backend),
            "cdr",
            "import",
            str(path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    children: list[int] = []
    try:
        line = process.stdout.readline()
        assert line.strip() == "INSERTED", process.stderr.read()
        children = child_pids(process.pid)
        assert len(children) == (1 if parsing == "child" else 0)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    # The orphaned child notices (its stdin closed) and exits at once.
    assert wait_until_ended(children) == []
    fresh = backend.open()
    assert cdr_count(fresh) == 0
    assert dirty_count(fresh) == 0
    # And the database is usable at once: the same file imports completely.
    assert import_cdr_file(fresh, admin, path).imported == 60_000
