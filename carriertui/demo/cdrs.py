"""Realistic demo CDRs, drawn deterministically from a seed (``[cdrs]`` and each customer's
``[customers.traffic]`` in data/demo.toml).

Per customer and hour of day: traffic follows a two-peak working day around the customer's
``peak_hour`` (weekends about half), the answer rate dips at the peak and at night, durations
are log-normal around ``mean_duration``, post-dial delay grows with load, and prices come from
the destination table scaled into the customer's currency and billed by the customer's MCD/pulse
increment (the provider's cost per second). The same seed and end hour give the same CDRs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from carriertui.store.cdrs.importer import CdrValues
from carriertui.store.periods import HOUR, as_utc

BATCH = 20_000
_FOUR_PLACES = Decimal("0.0001")
# (SIP code, release reason, weight) of unanswered calls.
FAILURES = (
    (486, "User Busy", 34),
    (480, "Temporarily Unavailable", 18),
    (487, "Request Terminated", 22),
    (404, "Not Found", 6),
    (503, "Service Unavailable", 8),
    (408, "Request Timeout", 5),
    (603, "Decline", 4),
    (484, "Address Incomplete", 3),
)
ANSWERED = (200, "Normal Clearing")


@dataclass(frozen=True)
class Destination:
    name: str
    prefix: str
    sell_per_minute: Decimal
    buy_per_minute: Decimal


@dataclass(frozen=True)
class Traffic:
    customer_id: int
    account_code: str
    calls_per_day: int
    answer_rate: float
    mean_duration: float
    pdd_ms: float
    minimum: int  # MCD, seconds
    pulse: int  # seconds
    peak_hour: int
    rate_factor: Decimal
    cli_prefix: str
    source_ip: str


def billed_seconds(duration: int, minimum: int, pulse: int) -> int:
    """DOMAIN.md 8.2: MCD if d <= MCD, else MCD + ceil((d - MCD) / pulse) x pulse; 0 unanswered."""
    if duration <= 0:
        return 0
    if duration <= minimum:
        return minimum
    return minimum + -(-(duration - minimum) // pulse) * pulse


def parse_traffic(customer_id: int, code: str, table: Mapping[str, Any]) -> Traffic:
    minimum, _, pulse = str(table.get("increment", "1/1")).partition("/")
    return Traffic(
        customer_id=customer_id,
        account_code=code,
        calls_per_day=int(table["calls_per_day"]),
        answer_rate=float(table["answer_rate"]),
        mean_duration=float(table["mean_duration"]),
        pdd_ms=float(table["pdd_ms"]),
        minimum=int(minimum),
        pulse=int(pulse or minimum),
        peak_hour=int(table.get("peak_hour", 12)),
        rate_factor=Decimal(str(table.get("rate_factor", 1))),
        cli_prefix=str(table.get("cli_prefix", "")),
        source_ip=str(table.get("source_ip", "")),
    )


def parse_destinations(rows: Sequence[Sequence[Any]]) -> list[Destination]:
    return [
        Destination(str(name), str(prefix), Decimal(str(sell)), Decimal(str(buy)))
        for name, prefix, sell, buy in rows
    ]


def _hour_weight(hour: int, peak: int) -> float:
    """Relative traffic at ``hour`` (UTC): a morning peak, an afternoon one, a quiet night."""
    morning = math.exp(-(((hour - peak + 12) % 24 - 12) ** 2) / (2 * 2.5**2))
    afternoon = 0.7 * math.exp(-(((hour - peak - 5 + 12) % 24 - 12) ** 2) / (2 * 2.0**2))
    return 0.06 + morning + afternoon


def _busy(hour: int, peak: int) -> float:
    """0 at a quiet hour, up to 1 at the peak: answer rates dip and PDD grows with load."""
    return min(1.0, _hour_weight(hour, peak) / 1.1)


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(_FOUR_PLACES, rounding=ROUND_HALF_UP)


def generate(
    traffic: Sequence[Traffic],
    destinations: Sequence[Destination],
    *,
    seed: int,
    end: datetime,
    days: int,
) -> Iterator[list[CdrValues]]:
    """CDRs of ``days`` days up to ``end`` (exclusive), in batches; deterministic in its inputs."""
    end = as_utc(end)
    first_hour = end.replace(minute=0, second=0, microsecond=0) - timedelta(days=days)
    batch: list[CdrValues] = []
    dest_weights = [5, 6, 3, 3, 6, 3, 1, 1, 2, 2][: len(destinations)] or [1]
    dest_weights += [1] * (len(destinations) - len(dest_weights))
    for profile in traffic:
        # One generator per customer: adding a customer leaves the others' CDRs as they were.
        rng = random.Random(f"{seed}:{profile.account_code}")  # noqa: S311 - reproducible demo data
        weights = [_hour_weight(h, profile.peak_hour) for h in range(24)]
        scale = profile.calls_per_day / sum(weights)
        mu = math.log(profile.mean_duration) - 0.5  # log-normal, sigma 1: mean = e^(mu + 1/2)
        pdd_mu = math.log(profile.pdd_ms) - 0.18  # sigma 0.6
        sell = [d.sell_per_minute * profile.rate_factor / 60 for d in destinations]
        buy = [d.buy_per_minute * profile.rate_factor / 60 for d in destinations]
        failures = [(code, reason) for code, reason, _ in FAILURES]
        failure_weights = [weight for _, _, weight in FAILURES]
        serial = 0
        hour = first_hour
        while hour < end:
            weekday = hour.weekday()
            day_factor = 0.55 if weekday >= 5 else 1.0
            expected = weights[hour.hour] * scale * day_factor * rng.uniform(0.85, 1.15)
            calls = max(0, round(rng.gauss(expected, math.sqrt(expected))))
            busy = _busy(hour.hour, profile.peak_hour)
            night = 1.0 if 1 <= (hour.hour - profile.peak_hour + 24) % 24 <= 14 else 0.0
            answer = profile.answer_rate * (1 - 0.12 * busy) * (1 - 0.05 * night)
            for _ in range(calls):
                start = hour + timedelta(seconds=rng.random() * 3600)
                if start >= end:
                    continue
                serial += 1
                index = rng.choices(range(len(destinations)), dest_weights)[0]
                destination = destinations[index]
                pdd = int(rng.lognormvariate(pdd_mu, 0.6) * (1 + 0.6 * busy))
                if rng.random() < answer:
                    duration = min(7200, max(1, int(rng.lognormvariate(mu, 1.0))))
                    billed = billed_seconds(duration, profile.minimum, profile.pulse)
                    code, reason = ANSWERED
                    charge = _money(sell[index] * billed)
                    cost = _money(buy[index] * duration)
                else:
                    duration = billed = 0
                    code, reason = rng.choices(failures, failure_weights)[0]
                    charge = cost = Decimal("0.0000")
                batch.append(
                    CdrValues(
                        call_id=f"{rng.getrandbits(64):016x}-{serial:07d}@"
                        f"{profile.account_code.lower()}.demo",
                        customer_id=profile.customer_id,
                        start_time=start,
                        source_cli=f"{profile.cli_prefix}{rng.randrange(10**6, 10**7)}",
                        dest_number=f"{destination.prefix}{rng.randrange(10**7, 10**8)}",
                        dest_name=destination.name,
                        duration=duration,
                        billed_duration=billed,
                        sip_code=code,
                        release_reason=reason,
                        pdd_ms=min(pdd, 30_000),
                        charge=charge,
                        cost=cost,
                        direction="inbound" if rng.random() < 0.04 else "outbound",
                        source_ip=profile.source_ip,
                    )
                )
                if len(batch) >= BATCH:
                    yield batch
                    batch = []
            hour += HOUR
    if batch:
        yield batch
