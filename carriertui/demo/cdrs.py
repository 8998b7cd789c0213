"""Realistic demo CDRs, drawn deterministically from a seed (``[cdrs]`` and each customer's
``[customers.traffic]`` in data/demo.toml).

Per customer and hour of day: traffic follows a two-peak working day around the customer's
``peak_hour`` (weekends about half), the answer rate dips at the peak and at night, durations
are log-normal around ``mean_duration``, and post-dial delay grows with load. Every call is
rated through carriertui.rating with the rate cards of the customer (demo/rates.py): the
customer card gives the billed seconds and the charge, the provider card the cost, and the rate
that matched the destination's name. The same seed, cards and end hour give the same CDRs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from carriertui.rating import RateMatcher
from carriertui.store.cdrs.importer import CdrValues
from carriertui.store.periods import HOUR, as_utc

BATCH = 20_000
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
    prefix: str  # the dialled numbers start with it
    weight: int  # how often it is called, against the others


@dataclass(frozen=True)
class Traffic:
    customer_id: int
    account_code: str
    calls_per_day: int
    answer_rate: float
    mean_duration: float
    pdd_ms: float
    peak_hour: int
    cli_prefix: str
    source_ip: str
    customer_card: RateMatcher  # prices the charge (and the billed seconds)
    provider_card: RateMatcher  # prices the cost


def parse_traffic(
    customer_id: int,
    code: str,
    table: Mapping[str, Any],
    cards: tuple[RateMatcher, RateMatcher],
) -> Traffic:
    return Traffic(
        customer_id=customer_id,
        account_code=code,
        calls_per_day=int(table["calls_per_day"]),
        answer_rate=float(table["answer_rate"]),
        mean_duration=float(table["mean_duration"]),
        pdd_ms=float(table["pdd_ms"]),
        peak_hour=int(table.get("peak_hour", 12)),
        cli_prefix=str(table.get("cli_prefix", "")),
        source_ip=str(table.get("source_ip", "")),
        customer_card=cards[0],
        provider_card=cards[1],
    )


def parse_destinations(rows: Sequence[Sequence[Any]]) -> list[Destination]:
    return [Destination(str(name), str(prefix), int(weight)) for name, prefix, weight in rows]


def _hour_weight(hour: int, peak: int) -> float:
    """Relative traffic at ``hour`` (UTC): a morning peak, an afternoon one, a quiet night."""
    morning = math.exp(-(((hour - peak + 12) % 24 - 12) ** 2) / (2 * 2.5**2))
    afternoon = 0.7 * math.exp(-(((hour - peak - 5 + 12) % 24 - 12) ** 2) / (2 * 2.0**2))
    return 0.06 + morning + afternoon


def _busy(hour: int, peak: int) -> float:
    """0 at a quiet hour, up to 1 at the peak: answer rates dip and PDD grows with load."""
    return min(1.0, _hour_weight(hour, peak) / 1.1)


_FREE = Decimal("0.0000")


def _rated(card: RateMatcher, number: str, at: float, duration: int, what: str) -> Any:
    call = card.rate_digits(number, at, duration)
    if call is None:
        moment = datetime.fromtimestamp(at, UTC)
        raise ValueError(f"demo seed: no {what} rate for {number} at {moment:%Y-%m-%d %H:%M}Z")
    return call


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
    dest_weights = [destination.weight for destination in destinations]
    for profile in traffic:
        # One generator per customer: adding a customer leaves the others' CDRs as they were.
        rng = random.Random(f"{seed}:{profile.account_code}")  # noqa: S311 - reproducible demo data
        weights = [_hour_weight(h, profile.peak_hour) for h in range(24)]
        scale = profile.calls_per_day / sum(weights)
        mu = math.log(profile.mean_duration) - 0.5  # log-normal, sigma 1: mean = e^(mu + 1/2)
        pdd_mu = math.log(profile.pdd_ms) - 0.18  # sigma 0.6
        sell, buy = profile.customer_card, profile.provider_card
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
                number = f"{destination.prefix}{rng.randrange(10**7, 10**8)}"
                at = start.timestamp()
                pdd = int(rng.lognormvariate(pdd_mu, 0.6) * (1 + 0.6 * busy))
                if rng.random() < answer:
                    duration = min(7200, max(1, int(rng.lognormvariate(mu, 1.0))))
                    charged = _rated(sell, number, at, duration, "customer")
                    cost = _rated(buy, number, at, duration, "provider").charge
                    billed, charge, rate = charged.billed_seconds, charged.charge, charged.rate
                    code, reason = ANSWERED
                else:
                    duration = billed = 0
                    code, reason = rng.choices(failures, failure_weights)[0]
                    charge = cost = _FREE
                    rate = sell.match_digits(number, at)
                batch.append(
                    CdrValues(
                        call_id=f"{rng.getrandbits(64):016x}-{serial:07d}@"
                        f"{profile.account_code.lower()}.demo",
                        customer_id=profile.customer_id,
                        start_time=start,
                        source_cli=f"{profile.cli_prefix}{rng.randrange(10**6, 10**7)}",
                        dest_number=number,
                        dest_name=rate.destination if rate is not None else destination.name,
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
