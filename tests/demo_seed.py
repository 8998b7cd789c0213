"""Demo builds for tests: the shipped seed with fewer days of CDRs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

# Days of demo CDRs a test's demo build makes (the shipped seed has 90: about 340,000 CDRs and
# three quarters of a build's time). Enough for the 24-hour, daily and weekly views.
SHORT_DEMO_DAYS = 10


def shorten_demo(monkeypatch: pytest.MonkeyPatch, days: int = SHORT_DEMO_DAYS) -> None:
    """Demo builds in this test read the shipped seed with ``days`` days of CDRs."""
    from carriertui.demo import builder

    real = builder.load_seed

    def short_seed(path: Path | None = None) -> dict[str, Any]:
        seed = real(path)
        if "cdrs" in seed:
            seed = {**seed, "cdrs": {**seed["cdrs"], "days": min(days, seed["cdrs"]["days"])}}
        if "change_days_ago" in seed.get("rates", {}):  # calls on both sides of the change
            change = min(days // 2, seed["rates"]["change_days_ago"])
            seed = {**seed, "rates": {**seed["rates"], "change_days_ago": change}}
        return seed

    monkeypatch.setattr(builder, "load_seed", short_seed)
