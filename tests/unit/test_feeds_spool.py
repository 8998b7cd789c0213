"""The CDR spool (store/spool.py, `cdr ingest DIR`, `cdr watch DIR`): complete files imported once
and moved to done/ or, with their reject file, to rejected/; files still being written left
alone; a watcher killed with SIGKILL in the middle of a big file, restarted, ends with each call
once (two real processes)."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from cdr_helpers import add_customers, cdr_count

from carriertui.cli import main
from carriertui.feeds.common import FeedOptions
from carriertui.store import spool
from carriertui.store.db.database import open_database

FIXTURES = Path(__file__).parent / "feeds_fixtures"
ROOT = Path(__file__).resolve().parents[2]
CONNEXCS_HEADER = (
    "dt,callid,customer_id,source_cli,dest_number,customer_card_dest_name,duration,"
    "customer_duration,sip_code,release_reason,pdd_in,customer_charge,provider_charge"
)


def options() -> FeedOptions:
    return FeedOptions(zone="Europe/Berlin")


def make_spool(tmp_path: Path) -> Path:
    directory = tmp_path / "spool"
    directory.mkdir()
    return directory


def test_ingest_moves_each_file_once(db, admin, tmp_path) -> None:
    add_customers(db, admin, "ACME", "BETA")
    directory = make_spool(tmp_path)
    shutil.copy(FIXTURES / "connexcs_api.csv", directory / "cx-1.csv")
    shutil.copy(FIXTURES / "asterisk_18.csv", directory / "Master.csv")  # DST, leap: rejects
    (directory / "odd.csv").write_text("1,2,3\n", encoding="utf-8")
    (directory / "cx-2.csv.part").write_text("still being written", encoding="utf-8")
    lines: list[str] = []
    outcomes = spool.ingest_once(
        db, admin, directory, "auto", options(), settle_s=0.05, report=lines.append
    )
    by_name = {o.name: o for o in outcomes}
    assert set(by_name) == {"cx-1.csv", "Master.csv", "odd.csv"}
    assert (by_name["cx-1.csv"].imported, by_name["cx-1.csv"].format) == (4, "connexcs")
    assert (directory / "done" / "cx-1.csv").exists()
    # Asterisk rows carry no money and nobody has a rate card: the connected ones are rejects
    master = by_name["Master.csv"]
    assert master.bad_rows > 0 and master.moved_to == directory / "rejected" / "Master.csv"
    with (directory / "rejected" / "Master.csv.rejects.csv").open(encoding="utf-8") as handle:
        rejected = {row["reject_line"]: row["reject_reason"] for row in csv.DictReader(handle)}
    assert "leap second" in rejected["7"] and "happened twice" in rejected["6"]
    assert (directory / "rejected" / "odd.csv").exists()
    with (directory / "rejected" / "odd.csv.rejects.csv").open(encoding="utf-8") as handle:
        (refusal,) = list(csv.DictReader(handle))
    assert "cannot tell the format" in refusal["reject_reason"]
    assert (directory / "cx-2.csv.part").exists()  # not complete: left alone
    assert any("cx-1.csv (connexcs) -> done/: 4 CDRs imported" in line for line in lines)
    before = cdr_count(db)
    # the same file rotated in again: imported, nothing added, moved beside the first
    shutil.copy(FIXTURES / "connexcs_api.csv", directory / "cx-1.csv")
    (again,) = spool.ingest_once(db, admin, directory, "auto", options(), settle_s=0.05)
    assert (again.imported, again.duplicates) == (0, 4)
    assert cdr_count(db) == before
    assert len(list((directory / "done").glob("cx-1.csv*"))) == 2
    status = spool.status(directory)
    assert (status["files"], status["imported"]) == (4, 4 + master.imported)
    assert status["rejects"] == master.bad_rows
    assert status["last_error"].startswith("odd.csv: ")


def test_a_file_open_for_writing_or_still_changing_waits(db, admin, tmp_path) -> None:
    add_customers(db, admin, "ACME", "BETA")
    directory = make_spool(tmp_path)
    watcher = spool.Spool(db, admin, directory, "auto", options())
    target = directory / "cx.csv"
    with target.open("w", encoding="utf-8") as handle:
        handle.write((FIXTURES / "connexcs_api.csv").read_text(encoding="utf-8"))
        handle.flush()
        assert watcher.complete() == []  # first look: only remembered
        assert watcher.complete() == []  # unchanged, but open for writing (by this process)
    assert watcher.complete() == ["cx.csv"]  # closed
    with target.open("a", encoding="utf-8") as handle:
        handle.write("")
    os.utime(target, ns=(time.time_ns(), time.time_ns()))
    assert watcher.complete() == []  # changed since the last look


def test_cli_ingest_and_status(tmp_path, capsys, admin) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    db = open_database(url)
    add_customers(db, admin, "ACME", "BETA")
    directory = make_spool(tmp_path)
    shutil.copy(FIXTURES / "connexcs_api.csv", directory / "cx.csv")
    assert main(["--db", url, "cdr", "ingest", str(directory)]) == 0
    out = capsys.readouterr().out
    assert "cx.csv (connexcs) -> done/: 4 CDRs imported" in out
    assert main(["feeds", "status", str(directory), "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert '"files": 1' in out and '"imported": 4' in out and '"waiting": 0' in out
    db.dispose()


# -- two real processes ---------------------------------------------------------------------------


def _big_connexcs(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(CONNEXCS_HEADER + "\n")
        for index in range(rows):
            handle.write(
                f"2026-03-01 {index // 3600 % 24:02d}:{index // 60 % 60:02d}:{index % 60:02d},"
                f"big-{index:07d},{'ACME' if index % 2 else 'BETA'},44207946{index % 10000:04d},"
                f"4930{index:07d},Germany,{index % 300}.5,{index % 300 + 1},200,Normal,"
                f"{index % 900},0.{index % 10000:04d},0.0001\n"
            )


def _watcher(url: str, directory: Path, temp: Path, *, nice: int = 0) -> subprocess.Popen[str]:
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONPATH": str(ROOT)}
    command = ["cdr", "watch", str(directory), "--interval", "0.2"]
    return subprocess.Popen(
        [sys.executable, "-m", "carriertui", "--db", url, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # A lower priority for the watcher to be killed (and its parsing child): on a busy
        # machine the test still sees its import under way long before it could commit.
        preexec_fn=(lambda: os.nice(nice)) if nice else None,
    )


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_kill_9_during_a_big_file_then_restart_stores_each_call_once(admin, tmp_path) -> None:
    rows = 150_000
    database = tmp_path / "spool.sqlite"
    url = f"sqlite:///{database}"
    db = open_database(url)
    add_customers(db, admin, "ACME", "BETA")
    directory = make_spool(tmp_path)
    temp = tmp_path / "tmp"
    temp.mkdir()
    staged = directory / ".big.csv.part"  # written under a name the spool ignores, then renamed
    _big_connexcs(staged, rows)
    first = _watcher(url, directory, temp, nice=15)
    try:
        os.rename(staged, directory / "big.csv")
        # The watcher has taken the file (its temporary folder, with the converted rows, is
        # there): kill it then. A kill later in the file raced the commit on a loaded machine
        # (SQLite writes most of a big transaction to the log only as it commits); a kill in
        # the middle of the inserts is tests/unit/test_cdr_import.py's killed-import test.
        _wait(lambda: any(temp.iterdir()), 120, "the import's temporary folder")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == -signal.SIGKILL
    assert (directory / "big.csv").exists()  # not moved: the import never committed
    assert cdr_count(db) == 0
    assert any(temp.iterdir())  # the killed import's temporary folder is left behind
    second = _watcher(url, directory, temp)
    try:
        _wait(lambda: (directory / "done" / "big.csv").exists(), 240, "the file in done/")
    finally:
        second.send_signal(signal.SIGINT)
        output, errors = second.communicate(timeout=30)
    assert "big.csv (connexcs) -> done/: 150000 CDRs imported" in output, errors
    assert cdr_count(db) == rows
    with db.read() as session:
        from sqlalchemy import text

        distinct = session.connection().execute(text("SELECT COUNT(DISTINCT call_id) FROM cdr"))
        assert distinct.scalar() == rows
    # the restarted watcher removed the dead one's temporary folder
    assert not [p for p in temp.iterdir() if p.name.startswith("carriertui-feed-")]
    db.dispose()
