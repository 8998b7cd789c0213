"""Database errors are told apart: connection, busy, a limit hit by the input, internal (issue 19).

Each error here is a real one, raised by the real driver, on both backends where they differ.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from carriertui.cli import main
from carriertui.store import errors


def _raised(db, statement: str, **params) -> Exception:
    with pytest.raises(Exception) as caught, db.read() as session:
        session.execute(text(statement), params).all()
    return caught.value


def test_a_limit_of_the_input_is_named_as_such(db) -> None:
    if db.url.startswith("sqlite"):
        error = _raised(db, "SELECT 'a' LIKE :pattern", pattern="%" * 60_000)
        kind, detail = errors.database_failure(error)
        assert kind == errors.LIMIT
        assert "a search pattern over 50,000 bytes" in detail
    else:
        error = _raised(db, "SELECT repeat('x', 1100000000)")
        kind, detail = errors.database_failure(error)
        assert kind == errors.LIMIT
        assert "requested length too large" in detail
    line = errors.describe_database_failure(kind, detail, "db")
    assert line.startswith("the input is too large for the database: ")
    assert line.endswith("nothing was changed")


def test_a_defect_is_internal_and_points_at_the_log(db) -> None:
    error = _raised(db, "SELECT * FROM no_such_table_here")
    kind, detail = errors.database_failure(error)
    assert kind == errors.INTERNAL
    line = errors.describe_database_failure(kind, detail, "db", "/var/log/x.log")
    assert line.startswith("internal database error on db: ")
    assert line.endswith("(details in /var/log/x.log)")


def test_a_locked_sqlite_database_is_busy_not_cannot_connect(tmp_path: Path) -> None:
    from carriertui.store.db.database import Database

    path = tmp_path / "locked.sqlite"
    database = Database(f"sqlite:///{path}", busy_timeout_s=0.05)
    database.create_schema()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(Exception) as caught, database.write() as session:
            session.execute(text("UPDATE option SET id = id"))
        kind, detail = errors.database_failure(caught.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        database.dispose()
    assert kind == errors.BUSY
    assert "try again" in errors.describe_database_failure(kind, detail, "db")


def test_an_unreachable_server_is_a_connection_failure() -> None:
    from carriertui.store.db.database import Database

    database = Database("postgresql://noc@127.0.0.1:1/carrier")
    try:
        with pytest.raises(Exception) as caught, database.read() as session:
            session.execute(text("SELECT 1")).all()
    finally:
        database.dispose()
    kind, _ = errors.database_failure(caught.value)
    assert kind == errors.CONNECTION


def test_what_is_not_a_database_error_is_not_classified() -> None:
    assert errors.database_failure(ValueError("x")) is None


def test_cli_refuses_a_search_term_past_the_documented_cap(
    isolated_environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from carriertui.store.validation import MAX_SEARCH_CHARS

    assert main(["customers", "add", "--name", "Northwind Telecom"]) == 0
    capsys.readouterr()
    code = main(["customers", "list", "--search", "x%" * 30_000])
    err = capsys.readouterr().err
    assert code == 2
    assert err == "error: search: must be at most 1,000 characters (it has 60,000)\n"
    # At the cap itself a search still runs (and finds nothing).
    code = main(["customers", "list", "--search", "%" * MAX_SEARCH_CHARS])
    captured = capsys.readouterr()
    assert code == 0, captured.err


def test_an_unexpected_error_is_one_line_and_the_traceback_goes_to_the_log(
    isolated_environment: Path,
) -> None:
    """A defect in a command: one line naming the log file, the traceback in that file."""
    script = (
        "import sys, carriertui.cli as cli, carriertui.cli.config as config\n"
        "def broken(args):\n"
        "    raise RuntimeError('boom in a command')\n"
        "config.cmd_config_path = broken\n"
        "sys.exit(cli.main(['config', 'path']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    log = isolated_environment / "logs" / "carriertui.log"
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        f"error: internal error: RuntimeError: boom in a command (details in {log})\n"
    )
    written = log.read_text()
    assert "Traceback" in written and "boom in a command" in written
    assert log.stat().st_mode & 0o077 == 0  # the owner's alone
