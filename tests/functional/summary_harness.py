"""A seeded database with a few weeks of deterministic CDRs for one customer, rolled up."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from carriertui.store import customers, rollups
from carriertui.store.cdrs import importer as cdrs
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from tests.functional.harness import open_db, seed

ADMIN = Actor("test", Role.ADMIN, "127.0.0.1")
CUSTOMER = "Atlas Comms [UK]"  # the first customer by name: Enter on the list opens it
# "Now" for the snapshots: a Tuesday, so the week and the month are open (partial) periods.
NOW = datetime(2026, 3, 3, 15, 20, tzinfo=UTC)
FIRST_DAY = datetime(2026, 2, 9, tzinfo=UTC)


def seed_traffic(tmp_path: Path, *, calls: int = 1200) -> tuple[str, int]:
    """The harness database plus ``calls`` CDRs spread from FIRST_DAY to NOW (one quiet day
    with no answered call, so its ASR and ACD are a dash). Returns the URL and the customer id."""
    url = seed(tmp_path / "summary.sqlite")
    db = open_db(url)
    customer = customers.find_customer(db, ADMIN, CUSTOMER)
    rng = random.Random(20260303)
    span = int((NOW - FIRST_DAY).total_seconds()) - 1
    quiet = datetime(2026, 2, 14, tzinfo=UTC)
    rows = []
    for index in range(calls):
        start = FIRST_DAY + timedelta(seconds=rng.randrange(span))
        answered = rng.random() < 0.55 and not quiet <= start < quiet + timedelta(days=1)
        duration = rng.randrange(5, 600) if answered else 0
        billed = (duration + 5) // 6 * 6
        rows.append(
            cdrs.CdrValues(
                call_id=f"test-{index:06d}",
                customer_id=customer.id,
                start_time=start,
                source_cli="441632960000",
                dest_number=f"4420794{rng.randrange(10000, 99999)}",
                dest_name="UK London",
                duration=duration,
                billed_duration=billed,
                sip_code=200 if answered else 486,
                release_reason="Normal" if answered else "Busy",
                pdd_ms=rng.randrange(800, 4000),
                charge=(Decimal(billed) * Decimal("0.0125") / 60).quantize(Decimal("0.0001")),
                cost=(Decimal(billed) * Decimal("0.0080") / 60).quantize(Decimal("0.0001")),
                direction="outbound",
                source_ip="192.0.2.10",
            )
        )
    cdrs.insert_cdrs(db, ADMIN, [rows], source="summary test")
    rollups.rollup_incremental(db)
    db.dispose()
    return url, customer.id
