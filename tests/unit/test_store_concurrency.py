"""Two real processes against one database.

SQLite write transactions must start with BEGIN IMMEDIATE: a second writer then waits (up to its
busy timeout) for the first to commit, instead of reading a stale snapshot and either overlapping
or failing at once with "database is locked".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlmodel import col, select

from carriertui.store.db.database import Database
from carriertui.store.db.tables import AuditEntry, Customer, Meta
from carriertui.store.errors import DatabaseBusyError

HOLD_S = 1.5

# Opens a write transaction, reads, says so, sleeps inside the transaction, then writes and commits.
HOLDER = textwrap.dedent(
    """
    import json, sys, time
    from sqlmodel import select
    from carriertui.store.db.database import Database
    from carriertui.store.db.tables import Customer, Meta

    url, connect_args, hold = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
    db = Database(url, connect_args=connect_args)
    with db.write() as session:
        session.exec(select(Customer)).all()
        print("holding", flush=True)
        time.sleep(hold)
        session.add(Meta(key="holder", value="committed"))
    print("committed", flush=True)
    """
)

# Waits for the go file, then creates customers through the service, one transaction each.
CREATOR = textwrap.dedent(
    """
    import json, os, sys, time
    from carriertui.store import customers
    from carriertui.store.context import Actor
    from carriertui.store.db.database import Database
    from carriertui.store.enums import Role

    url, connect_args, prefix, go, count = sys.argv[1:6]
    db = Database(url, connect_args=json.loads(connect_args))
    actor = Actor(name=f"worker-{prefix}", role=Role.OPERATOR, ip="192.0.2.77")
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.005)
    for i in range(int(count)):
        customers.create_customer(
            db, actor, {"name": f"{prefix} customer {i}", "account_code": f"{prefix}-{i}"}
        )
    """
)

# Read-modify-write of one counter, many times: lost updates show up as a smaller total.
INCREMENTER = textwrap.dedent(
    """
    import os, sys, time
    from carriertui.store.db.database import Database
    from carriertui.store.db.tables import Meta

    url, go, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    db = Database(url)
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.005)
    for _ in range(count):
        with db.write() as session:
            row = session.get(Meta, "counter")
            value = int(row.value)
            time.sleep(0.002)  # widen the window between the read and the write
            row.value = str(value + 1)
            session.add(row)
    """
)


def start(script: str, *args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
    )


def expect_line(process: subprocess.Popen[str], wanted: str) -> None:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if line != wanted:
        process.kill()
        _, err = process.communicate(timeout=10)
        pytest.fail(f"child said {line!r}, expected {wanted!r}; stderr:\n{err}")


def finish(process: subprocess.Popen[str]) -> None:
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shared.sqlite'}"


def test_second_writer_waits_for_the_first_to_commit(sqlite_url: str, tmp_path: Path) -> None:
    db = Database(sqlite_url)
    db.create_schema()
    impatient = Database(sqlite_url, busy_timeout_s=0.05)
    holder = start(HOLDER, sqlite_url, "{}", str(HOLD_S), cwd=tmp_path)
    try:
        expect_line(holder, "holding")

        # With a tiny busy timeout the second writer gives up, with the store's own error.
        started = time.monotonic()
        with pytest.raises(DatabaseBusyError), impatient.write() as session:
            session.get(Meta, "holder")
        assert time.monotonic() - started < HOLD_S / 2

        # Readers are not blocked by the writer (WAL), and see the last committed state.
        with db.read() as session:
            assert session.get(Meta, "holder") is None

        # A patient writer blocks in BEGIN IMMEDIATE until the holder commits, then sees its row.
        # (A deferred BEGIN would have read the old snapshot at once and seen nothing.)
        started = time.monotonic()
        with db.write() as session:
            row = session.get(Meta, "holder")
            seen = None if row is None else row.value
        waited = time.monotonic() - started
        assert seen == "committed"
        assert waited > 0.3
    finally:
        finish(holder)
        db.dispose()
        impatient.dispose()


def test_read_modify_write_from_two_processes_loses_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    db = Database(sqlite_url)
    db.create_schema()
    with db.write() as session:
        session.add(Meta(key="counter", value="0"))
    go = tmp_path / "go"
    workers = [start(INCREMENTER, sqlite_url, str(go), "25", cwd=tmp_path) for _ in range(2)]
    for worker in workers:
        expect_line(worker, "ready")
    go.touch()
    for worker in workers:
        finish(worker)
    with db.read() as session:
        assert session.get(Meta, "counter").value == "50"
    db.dispose()


def test_two_processes_creating_customers_concurrently(backend, tmp_path: Path) -> None:
    db = backend.open()
    go = tmp_path / "go"
    args = (backend.url, json.dumps(backend.connect_args))
    workers = [
        start(CREATOR, *args, prefix, str(go), "20", cwd=tmp_path) for prefix in ("east", "west")
    ]
    for worker in workers:
        expect_line(worker, "ready")
    go.touch()
    for worker in workers:
        finish(worker)

    with db.read() as session:
        stored = list(session.exec(select(Customer).order_by(col(Customer.id))))
        entries = list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))))
        session.expunge_all()
    assert len(stored) == 40
    assert len({c.name for c in stored}) == 40
    creates = [e for e in entries if e.action == "CREATE" and e.table_name == "customer"]
    assert len(entries) == len(creates) == 40
    assert sorted(e.actor for e in creates) == ["worker-east"] * 20 + ["worker-west"] * 20
    assert sorted(e.primary_key for e in creates) == sorted(str(c.id) for c in stored)
    assert {e.customer_id for e in creates} == {c.id for c in stored}
