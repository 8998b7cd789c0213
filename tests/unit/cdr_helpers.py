"""Shared helpers for the CDR, roll-up and summary tests: customers, CDR rows and CSV files."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from carriertui.store import customers
from carriertui.store.cdrs import importer as cdrs
from carriertui.store.cdrs.importer import CSV_COLUMNS, CdrValues
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.tables import Cdr, CdrDirtyHour, CdrHourly


def add_customers(db: Database, actor: Actor, *codes: str) -> dict[str, int]:
    return {
        code: customers.create_customer(
            db, actor, {"name": f"Customer {code}", "account_code": code, "currency": "EUR"}
        ).id
        for code in codes
    }


def csv_row(index: int, **overrides: Any) -> dict[str, str]:
    answered = index % 3 != 0
    row = {
        "call_id": f"call-{index:06d}",
        "customer": "ACME",
        "start_time": f"2026-03-01T{index % 24:02d}:{index % 60:02d}:00Z",
        "source_cli": "442079460000",
        "dest_number": f"4930901{index:05d}",
        "dest_name": "Germany - Fixed",
        "duration": str(60 + index if answered else 0),
        "billed_duration": str(66 + index if answered else 0),
        "sip_code": "200" if answered else "486",
        "release_reason": "Normal Clearing" if answered else "User Busy",
        "pdd_ms": str(1000 + index),
        "charge": f"{Decimal(index) / 100:.4f}" if answered else "0",
        "cost": f"{Decimal(index) / 125:.4f}" if answered else "0",
        "direction": "outbound",
        "source_ip": "192.0.2.10",
    }
    row.update(overrides)
    return row


def write_csv_file(
    path: Path, rows: Iterable[dict[str, str]], header: Sequence[str] = CSV_COLUMNS
) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(name, "") for name in header])
    return path


def count(db: Database, model: type) -> int:
    with db.read() as session:
        return int(session.connection().execute(select(func.count()).select_from(model)).scalar())


def cdr_count(db: Database) -> int:
    return count(db, Cdr)


def dirty_count(db: Database) -> int:
    return count(db, CdrDirtyHour)


def hourly_rows(db: Database) -> dict[tuple[int, datetime], tuple[Any, ...]]:
    with db.read() as session:
        rows = session.execute(select(CdrHourly)).scalars().all()
        return {
            (row.customer_id, row.hour_start): (
                row.attempts,
                row.connected,
                row.duration,
                row.billed_duration,
                row.charge,
                row.cost,
                row.pdd_sum_ms,
            )
            for row in rows
        }


def stored_cdrs(db: Database) -> list[Cdr]:
    with db.read() as session:
        rows = list(session.execute(select(Cdr).order_by(Cdr.id)).scalars().all())
        session.expunge_all()
        return rows


def values(
    call_id: str,
    customer_id: int,
    start: datetime,
    *,
    duration: int = 0,
    billed: int | None = None,
    charge: str = "0",
    cost: str = "0",
    pdd_ms: int = 1500,
    dest_number: str = "4930901234",
) -> CdrValues:
    return CdrValues(
        call_id=call_id,
        customer_id=customer_id,
        start_time=start.astimezone(UTC),
        source_cli="+442079460000",
        dest_number=dest_number,
        dest_name="Germany - Fixed",
        duration=duration,
        billed_duration=duration if billed is None else billed,
        sip_code=200 if duration else 486,
        release_reason="Normal Clearing" if duration else "User Busy",
        pdd_ms=pdd_ms,
        charge=Decimal(charge),
        cost=Decimal(cost),
        direction="outbound",
        source_ip="192.0.2.10",
    )


def insert(db: Database, actor: Actor, rows: Sequence[CdrValues]) -> cdrs.ImportReport:
    return cdrs.insert_cdrs(db, actor, [rows], source="test")


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name: [state, ppid, ...]; None when there is no such
    process (Linux)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rpartition(")")[2].split()


def child_pids(parent: int) -> list[int]:
    """The processes whose parent is ``parent`` (zombies included)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == parent:
                pids.append(int(entry.name))
    return pids


def running(pid: int) -> bool:
    """The process exists and has not exited (a zombie has exited, only nobody reaped it)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def wait_until_ended(pids: Iterable[int], timeout_s: float = 10.0) -> list[int]:
    """The pids still running after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    left = [pid for pid in pids if running(pid)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [pid for pid in left if running(pid)]
    return left
