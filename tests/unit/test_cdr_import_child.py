"""The CDR import's child process: a big file is parsed in a child while the parent inserts.

The child must give exactly what the in-process parser gives (rows, bad rows, reject file,
errors), and every way it can fail must leave the database as it was, with no process left
behind. Killing the importing process itself is in test_cdr_import.py (both paths)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cdr_helpers import (
    add_customers,
    cdr_count,
    child_pids,
    csv_row,
    dirty_count,
    running,
    write_csv_file,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from carriertui.store.cdrs import child as cdr_parse
from carriertui.store.cdrs import csvsource, protocol
from carriertui.store.cdrs import importer as cdrs
from carriertui.store.cdrs.importer import CSV_COLUMNS, CdrImportError, import_cdr_file
from carriertui.store.db.tables import Cdr, CdrDirtyHour

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the child process is POSIX; /proc is Linux"
)

IN_PROCESS = 1 << 62


@pytest.fixture(autouse=True)
def child_on_every_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production uses the child on SQLite only (it gains nothing on PostgreSQL); it works on
    both, and these tests check that on both."""
    monkeypatch.setattr(cdrs, "_CHILD_BACKENDS", frozenset({"sqlite", "postgresql"}))


@pytest.fixture
def codes(db, admin) -> dict[str, int]:
    return add_customers(db, admin, "ACME", "BETA")


def _rows(db) -> tuple[list[tuple[object, ...]], set[tuple[object, ...]]]:
    """Every stored CDR column but the id, in id order (so in file order), and the hours
    marked for the roll-up."""
    table = Cdr.__table__
    columns = [c for c in table.c if c.name != "id"]
    with db.read() as session:
        connection = session.connection()
        rows = connection.execute(select(*columns).order_by(table.c.id))
        hours = connection.execute(select(CdrDirtyHour.__table__))
        return [tuple(row) for row in rows], {tuple(hour) for hour in hours}


def _forget_cdrs(db) -> None:
    """Empty the CDR tables, so that the same file imports again as if for the first time."""
    with db.write() as session:
        connection = session.connection()
        connection.execute(CdrDirtyHour.__table__.delete())
        connection.execute(Cdr.__table__.delete())
        if db.backend == "postgresql":  # the call ids stored (store/db/partitions.py)
            connection.exec_driver_sql("DELETE FROM cdr_call_id")


def _import(db, admin, path: Path, threshold: int, **options):
    """(report or the CdrImportError's text, errors, bad_rows) of one import, the stored rows,
    and the reject file's bytes."""
    saved = cdrs.CHILD_MIN_BYTES
    cdrs.CHILD_MIN_BYTES = threshold
    try:
        report = import_cdr_file(db, admin, path, **options)
        outcome = (
            (report.rows, report.imported, report.duplicates, report.bad_rows),
            [str(e) for e in report.errors],
            report.hours_touched,
        )
        rejects = report.rejects_path.read_bytes() if report.rejects_path else None
    except CdrImportError as error:
        outcome = (str(error), [str(e) for e in error.errors], error.bad_rows)
        rejects = None
    finally:
        cdrs.CHILD_MIN_BYTES = saved
    return outcome, _rows(db), rejects


def _bodies() -> dict[str, bytes]:
    header = ",".join(CSV_COLUMNS)
    good = [",".join(csv_row(i).values()) for i in range(1, 60)]
    bad = list(good)
    bad[10] = bad[10].replace("ACME", "NOPE")
    bad[40] = bad[40].replace(",200,", ",99,")
    quoted = [f'"{line.replace(",", chr(34) + "," + chr(34))}"' for line in good]
    quoted[5] = quoted[5].replace("Germany - Fixed", 'Germany ""Fixed""\r\nline two')
    return {
        "crlf": ("\r\n".join([header, *good]) + "\r\n").encode(),
        "lf": ("\n".join([header, *good]) + "\n").encode(),
        "bom": b"\xef\xbb\xbf" + ("\r\n".join([header, *good])).encode(),
        "quoted": ("\r\n".join([header, *quoted]) + "\r\n").encode(),
        "bad rows": ("\r\n".join([header, *bad]) + "\r\n").encode(),
        "blank lines and unicode": (
            "\r\n".join([header, good[0], "", good[1].replace("Germany", "Köln 東京"), *good[2:]])
        ).encode(),
        "wrong widths": ("\r\n".join([header, good[0], "a,b", *good[1:], "x"]) + "\r\n").encode(),
        "bad quote late": ("\r\n".join([header, *good, 'c,"ACME"x,1']) + "\r\n").encode(),
        "not utf-8 late": ("\r\n".join([header, *good]) + "\r\n").encode() + b"\xff,1\r\n",
        "header only": header.encode(),
    }


BODIES = _bodies()


@pytest.mark.parametrize("skip_bad", [False, True], ids=["refuse", "skip-bad"])
@pytest.mark.parametrize("name", sorted(BODIES))
def test_the_child_imports_what_the_in_process_parser_imports(
    backend, admin, tmp_path, monkeypatch, name, skip_bad
) -> None:
    # Small chunks and batches: chunk ends fall inside records, and many messages are sent.
    monkeypatch.setattr(csvsource, "_CHUNK_BYTES", 700)
    monkeypatch.setattr(cdrs, "BATCH_ROWS", 7)
    path = tmp_path / "in.csv"
    path.write_bytes(BODIES[name])
    db = backend.open()
    add_customers(db, admin, "ACME", "BETA")
    in_process = _import(db, admin, path, IN_PROCESS, skip_bad=skip_bad, error_cap=5)
    _forget_cdrs(db)
    child = _import(db, admin, path, 0, skip_bad=skip_bad, error_cap=5)
    assert child == in_process
    assert child_pids(os.getpid()) == []  # reaped: no zombie


def test_the_child_path_is_taken_for_big_files_only(db, admin, codes, tmp_path, monkeypatch):
    started: list[str] = []

    class Spy(cdrs._ParsingProcess):
        def __init__(self, raw, name: str) -> None:
            started.append(name)
            super().__init__(raw, name)

    monkeypatch.setattr(cdrs, "_ParsingProcess", Spy)
    path = write_csv_file(tmp_path / "small.csv", [csv_row(i) for i in range(1, 50)])
    assert path.stat().st_size < cdrs.CHILD_MIN_BYTES
    import_cdr_file(db, admin, path)
    assert started == []
    monkeypatch.setattr(cdrs, "CHILD_MIN_BYTES", path.stat().st_size)
    path.write_bytes(path.read_bytes().replace(b"call-", b"again-"))
    assert import_cdr_file(db, admin, path).imported == 49
    assert started == ["small.csv"]
    assert cdr_count(db) == 98


VARIANTS = [
    {},
    {},
    {},
    {"start_time": "2026-03-01T10:11:12.123456+00:00"},
    {"start_time": "2026-03-01T01:30:00+05:30"},
    {"charge": "12", "cost": "0.5"},
    {"dest_name": 'two\nlines, "quoted"'},
    {"dest_name": "'=SUM(A1)"},
    {"source_ip": "2001:0db8::0001"},
    {"customer": "BETA", "direction": "Inbound"},
    {"customer": "NOPE"},
    {"duration": "-1"},
    {"start_time": "2026-02-30T10:11:12Z"},
    {"charge": "1.00001"},
]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    picks=st.lists(st.integers(0, len(VARIANTS) - 1), max_size=80),
    line_end=st.sampled_from(["\r\n", "\n"]),
    refusing=st.booleans(),
    sqlite=st.booleans(),
    chunk=st.sampled_from([64, 300, 4 << 20]),
    batch_rows=st.sampled_from([1, 5, 20_000]),
    hours=st.booleans(),
)
def test_the_child_sends_the_batches_the_in_process_parser_makes(
    tmp_path, picks, line_end, refusing, sqlite, chunk, batch_rows, hours
) -> None:
    """At the protocol level, without a database: the same ParsedBatch values, in order."""
    path = write_csv_file(
        tmp_path / "p.csv", [csv_row(i, **VARIANTS[v]) for i, v in enumerate(picks)]
    )
    if line_end == "\n":
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n"))
    customers = {"ACME": 1, "BETA": 2}
    job = {
        "customers": customers,
        "sqlite": sqlite,
        "refusing": refusing,
        "cap": 3,
        "batch_rows": batch_rows,
        "hours": hours,
        "chunk_bytes": chunk,
        "group_rows": min(batch_rows, 1000),
    }
    with path.open("rb") as raw:
        source = cdr_parse._CsvSource(
            raw, path.name, chunk_bytes=chunk, group_rows=job["group_rows"]
        )
        header = cdr_parse.check_header(source.header())
        parser = cdr_parse._RowParser(header, customers, sqlite)
        expected = list(
            cdr_parse.parsed_batches(
                source, parser, refusing=refusing, cap=3, batch_rows=batch_rows, hours=hours
            )
        )
    with path.open("rb") as raw, cdrs._ParsingProcess(raw, path.name) as child:
        child.send_job(header=header, **job)
        assert list(child.batches()) == expected


def _kill_the_child_on_first_progress() -> tuple[list[int], object]:
    killed: list[int] = []

    def on_progress(rows: int, done: int, size: int) -> None:
        if not killed:
            (pid,) = child_pids(os.getpid())
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    return killed, on_progress


def test_a_child_killed_mid_file_fails_the_import_and_nothing_is_imported(
    db, admin, codes, tmp_path, monkeypatch, audit_log
) -> None:
    monkeypatch.setattr(cdrs, "CHILD_MIN_BYTES", 0)
    monkeypatch.setattr(cdrs, "BATCH_ROWS", 100)
    path = write_csv_file(tmp_path / "big.csv", [csv_row(i) for i in range(5000)])
    before = audit_log.count()
    killed, on_progress = _kill_the_child_on_first_progress()
    with pytest.raises(CdrImportError) as raised:
        import_cdr_file(db, admin, path, on_progress=on_progress)
    assert str(raised.value) == (
        "big.csv: the CSV reader process was killed by SIGKILL before the end of the file; "
        "nothing was imported"
    )
    assert len(killed) == 1 and not running(killed[0])
    assert child_pids(os.getpid()) == []
    assert cdr_count(db) == 0
    assert dirty_count(db) == 0
    assert audit_log.count() == before


def test_a_child_that_crashes_reports_its_stderr(db, admin, codes, tmp_path, monkeypatch) -> None:
    """A bug in the child (here: the parser raises after a few batches) is a clear error with
    the child's traceback, not a hang or a partial import; --skip-bad's reject file is not
    left behind either."""
    crashing = textwrap.dedent(
        """
        from carriertui.store.cdrs import protocol, rows
        parse_batch = rows._RowParser.parse_batch
        calls = []

        def failing(self, records):
            calls.append(1)
            if len(calls) == 3:
                raise RuntimeError("parser bug on purpose")
            return parse_batch(self, records)

        rows._RowParser.parse_batch = failing
        protocol.child_main()
        """
    )
    monkeypatch.setattr(protocol, "_CHILD_CODE", crashing)
    monkeypatch.setattr(cdrs, "CHILD_MIN_BYTES", 0)
    monkeypatch.setattr(cdrs, "BATCH_ROWS", 10)
    monkeypatch.setattr(csvsource, "_GROUP_ROWS", 10)
    path = write_csv_file(tmp_path / "c.csv", [csv_row(i) for i in range(100)])
    with pytest.raises(CdrImportError) as raised:
        import_cdr_file(db, admin, path, skip_bad=True)
    summary, _, said = str(raised.value).partition("\n")
    assert summary == (
        "c.csv: the CSV reader process exited with status 1 before the end of the file; "
        "nothing was imported (RuntimeError: parser bug on purpose)"
    )
    assert "Traceback (most recent call last)" in said
    assert "in failing" in said
    assert cdr_count(db) == 0
    assert not (tmp_path / "c.rejects.csv").exists()
    assert list(tmp_path.glob(".*.part")) == []
    assert child_pids(os.getpid()) == []


def test_a_child_that_cannot_start_is_a_clear_error(db, admin, codes, tmp_path, monkeypatch):
    monkeypatch.setattr(protocol, "_CHILD_CODE", "raise SystemExit('no such parser')")
    monkeypatch.setattr(cdrs, "CHILD_MIN_BYTES", 0)
    path = write_csv_file(tmp_path / "s.csv", [csv_row(1)])
    with pytest.raises(CdrImportError) as raised:
        import_cdr_file(db, admin, path)
    assert str(raised.value) == (
        "s.csv: the CSV reader process exited with status 1 before the end of the file; "
        "nothing was imported (no such parser)\nno such parser"
    )
    assert cdr_count(db) == 0


def test_the_parser_module_starts_without_sqlalchemy() -> None:
    """The child imports cdr_parse only: no SQLAlchemy, SQLModel or models (each costs a large
    part of a second). import-linter checks the imports; this checks what actually loads."""
    code = (
        "import sys; import carriertui.store.cdrs.child; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'sqlmodel', "
        "'pydantic', 'textual', 'rich'}), 'carriertui.store.db.tables' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["[]", "False"]


def test_a_message_from_the_pipe_reads_back_and_a_cut_one_is_an_error() -> None:
    import io

    batch = cdr_parse.ParsedBatch([("a", 1)], [(3, "why", ["x"])], 2, 1, 99, False)
    data = cdr_parse.encode_message(("batch", batch))
    assert cdr_parse.read_message(io.BytesIO(data)) == ("batch", batch)
    with pytest.raises(EOFError):
        cdr_parse.read_message(io.BytesIO(data[:-1]))
    with pytest.raises(EOFError):
        cdr_parse.read_message(io.BytesIO(data[:3]))
