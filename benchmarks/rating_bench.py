"""Rate decks and rating (issue 14), each measure beside its floor in the same run (issue 21).

    python benchmarks/rating_bench.py [--prefixes 300000] [--calls 1000000] [--json PATH]

Writes a deck CSV of N prefixes (country codes plus digits, a few thousand destination names,
1/1, 6/6, 30/6, 60/6 and 60/60 increments, rates of 4 to 6 places), then, on a fresh SQLite
database in a temporary folder:

- deck_import_s: ``import_deck`` of the file (read, check every cell, supersede, insert, audit),
  wall time. Floor: deck_import_floor_s, what no carriertui code can go under: csv.reader over
  the same file (the parse floor) plus bare sqlite3 ``executemany`` of the same rows in their
  stored form (built beforehand, not timed) into a fresh database with carriertui's rate
  schema, in one transaction, commit included (the insert floor). Budget: <= 3 s.
- deck_reimport_s: the same deck again, effective a month later, superseding all N rates
  (the card then holds 2N versions); the same floor.
- rates_test_ms: ``rate_number`` for a random number against the card, median of 200. Floor:
  the same SELECT through the bare sqlite3 driver. Budget: <= 20 ms.
- matcher_load_s: ``load_matcher`` (every rate of the card in memory). Floor: the bare
  driver's fetch of the same rows.
- rated_rows_per_s: ``RateMatcher.rate_digits`` over M synthetic calls (numbers from the deck's
  prefixes plus digits, 2 % with no rate, 40 % not connected). Floor: one dict probe per call
  in a bare loop (the least any prefix lookup does). The issue's rated-vs-unrated CDR import
  ratio needs the import hook, not in this script yet.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from carriertui.store import rates
from carriertui.store.context import Actor
from carriertui.store.db.database import open_database
from carriertui.store.enums import Role
from carriertui.store.rate_deck import read_deck

COUNTRIES = (
    "1",
    "7",
    "20",
    "27",
    "33",
    "34",
    "39",
    "44",
    "49",
    "52",
    "55",
    "61",
    "81",
    "86",
    "91",
    "234",
    "254",
    "351",
    "353",
    "420",
    "880",
    "966",
    "971",
)
SCHEMES = ((1, 1), (6, 6), (30, 6), (60, 6), (60, 60))
EFFECTIVE = datetime(2026, 1, 1, tzinfo=UTC)
CALL_TIME = datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()


def write_deck(path: Path, count: int, rng: random.Random) -> list[str]:
    prefixes: set[str] = set()
    while len(prefixes) < count:
        country = rng.choice(COUNTRIES)
        prefixes.add(country + str(rng.randrange(10 ** rng.randint(2, 6))))
    ordered = sorted(prefixes)
    names = [f"Destination {i} - {kind}" for i in range(2500) for kind in ("Fixed", "Mobile")]
    prices = [f"{rng.randrange(1, 400_000) / 10**6:.6f}".rstrip("0") for _ in range(3000)]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ("prefix", "destination", "rate", "connect_fee", "mcd", "pulse", "effective_from")
        )
        for prefix in ordered:
            mcd, pulse = rng.choice(SCHEMES)
            fee = "0" if rng.random() < 0.9 else "0.01"
            writer.writerow(
                (prefix, rng.choice(names), rng.choice(prices), fee, mcd, pulse, "2026-01-01")
            )
    return ordered


def measure_import_floor(work: Path, deck_path: Path) -> tuple[float, float]:
    """(parse floor, insert floor) in seconds."""
    started = time.perf_counter()
    with deck_path.open(encoding="utf-8", newline="") as handle:
        for _record in csv.reader(handle):
            pass
    parse = time.perf_counter() - started
    deck = read_deck(deck_path)  # the stored rows, built before the clock starts
    stamp = "2026-01-01 00:00:00.000000"
    rows = [
        (
            1,
            r.prefix,
            r.destination,
            int(r.rate * 10**6),
            int(r.connect_fee * 10**6),
            r.mcd,
            r.pulse,
            stamp,
            None,
        )
        for r in deck.rows
    ]
    path = work / "floor.sqlite"
    open_database(f"sqlite:///{path}").dispose()  # carriertui's schema, indexes included
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "INSERT INTO rate_card (id, name, name_folded, kind, currency, created_at)"
        " VALUES (1, 'f', 'f', 'customer', 'USD', '2026-01-01 00:00:00')"
    )
    started = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(
        "INSERT INTO rate (card_id, prefix, destination, rate, connect_fee, mcd, pulse, "
        "effective_from, effective_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    connection.execute("COMMIT")
    insert = time.perf_counter() - started
    connection.close()
    return parse, insert


def synthetic_calls(prefixes: list[str], count: int, rng: random.Random) -> list[tuple]:
    calls = []
    choice, randrange, rand = rng.choice, rng.randrange, rng.random
    for _ in range(count):
        if rand() < 0.02:
            number = "999" + str(randrange(10**8))  # no country code 999: no rate
        else:
            number = choice(prefixes) + str(randrange(10**6))
        duration = 0 if rand() < 0.4 else randrange(1, 1800)
        calls.append((number, CALL_TIME + randrange(86400), duration))
    return calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefixes", type=int, default=300_000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/rating.json"))
    args = parser.parse_args()
    rng = random.Random(20261203)
    actor = Actor("bench", Role.ADMIN, "127.0.0.1")
    results: dict[str, object] = {"prefixes": args.prefixes, "calls": args.calls}
    with tempfile.TemporaryDirectory(prefix="rating-bench-") as folder:
        work = Path(folder)
        deck_path = work / "deck.csv"
        prefixes = write_deck(deck_path, args.prefixes, rng)
        db = open_database(f"sqlite:///{work / 'bench.sqlite'}")
        report = rates.import_deck(db, actor, deck_path, "Bench", currency="USD")
        results["deck_import_s"] = round(report.elapsed_s, 3)
        parse, insert = measure_import_floor(work, deck_path)
        results["deck_parse_floor_s"] = round(parse, 3)
        results["deck_insert_floor_s"] = round(insert, 3)
        results["deck_import_floor_s"] = round(parse + insert, 3)
        results["deck_import_vs_floor"] = round(report.elapsed_s / (parse + insert), 2)

        # The next month's deck: the same rates effective later, superseding all N.
        next_path = work / "next.csv"
        text = deck_path.read_text(encoding="utf-8")
        next_path.write_text(text.replace(",2026-01-01", ",2026-02-01"), encoding="utf-8")
        again = rates.import_deck(db, actor, next_path, "Bench")
        results["deck_reimport_s"] = round(again.elapsed_s, 3)
        results["deck_reimport_superseded"] = again.superseded

        at = datetime.fromtimestamp(CALL_TIME, UTC)
        numbers = [rng.choice(prefixes) + str(rng.randrange(10**6)) for _ in range(200)]
        timings = []
        for number in numbers:
            started = time.perf_counter()
            rates.rate_number(db, actor, "Bench", number, at, 60)
            timings.append(time.perf_counter() - started)
        results["rates_test_ms"] = round(statistics.median(timings) * 1000, 2)
        bare = sqlite3.connect(work / "bench.sqlite")
        stamp = at.replace(tzinfo=None).isoformat(" ", "microseconds")
        floor = []
        for number in numbers:
            candidates = [number[:n] for n in range(1, min(len(number), 20) + 1)]
            marks = ", ".join("?" * len(candidates))
            started = time.perf_counter()
            bare.execute(
                "SELECT * FROM rate WHERE card_id = 1 AND prefix IN (" + marks + ") "
                "AND effective_from <= ? AND (effective_to IS NULL OR effective_to > ?) "
                "ORDER BY length(prefix) DESC, effective_from DESC, id DESC LIMIT 1",
                (*candidates, stamp, stamp),
            ).fetchone()
            floor.append(time.perf_counter() - started)
        results["rates_test_floor_ms"] = round(statistics.median(floor) * 1000, 3)
        results["rates_test_vs_floor"] = round(
            statistics.median(timings) / statistics.median(floor), 1
        )

        started = time.perf_counter()
        matcher = rates.load_matcher(db, actor, "Bench")
        results["matcher_load_s"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        bare.execute(
            "SELECT prefix, destination, rate, connect_fee, mcd, pulse, effective_from,"
            " effective_to FROM rate WHERE card_id = 1 ORDER BY id"
        ).fetchall()
        results["matcher_load_floor_s"] = round(time.perf_counter() - started, 3)
        bare.close()
        db.dispose()

        calls = synthetic_calls(prefixes, args.calls, rng)
        rate_digits = matcher.rate_digits
        started = time.perf_counter()
        unrated = 0
        for number, moment, duration in calls:
            if rate_digits(number, moment, duration) is None:
                unrated += 1
        elapsed = time.perf_counter() - started
        results["rated_rows_per_s"] = round(args.calls / elapsed)
        results["rated_no_rate"] = unrated
        probe = {prefix: prefix for prefix in prefixes}.get
        started = time.perf_counter()
        for number, _moment, _duration in calls:
            probe(number[:6])
        floor_s = time.perf_counter() - started
        results["rating_floor_rows_per_s"] = round(args.calls / floor_s)
        results["rated_vs_floor"] = round(elapsed / floor_s, 1)
    results["cpus"] = os.cpu_count()
    results["load_average"] = [round(x, 2) for x in os.getloadavg()]

    rows = [
        (
            "deck_import_s",
            results["deck_import_s"],
            results["deck_import_floor_s"],
            results["deck_import_vs_floor"],
            "<= 3 s",
        ),
        (
            "deck_reimport_s",
            results["deck_reimport_s"],
            results["deck_import_floor_s"],
            round(results["deck_reimport_s"] / results["deck_import_floor_s"], 2),
            "-",
        ),
        (
            "rates_test_ms",
            results["rates_test_ms"],
            results["rates_test_floor_ms"],
            results["rates_test_vs_floor"],
            "<= 20 ms",
        ),
        (
            "matcher_load_s",
            results["matcher_load_s"],
            results["matcher_load_floor_s"],
            round(results["matcher_load_s"] / max(results["matcher_load_floor_s"], 1e-9), 1),
            "-",
        ),
        (
            "rated_rows_per_s",
            results["rated_rows_per_s"],
            results["rating_floor_rows_per_s"],
            results["rated_vs_floor"],
            "-",
        ),
    ]
    print(f"{'measure':<18} {'value':>12} {'floor':>12} {'ratio':>7}  budget")
    for name, value, floor_value, ratio, budget in rows:
        print(f"{name:<18} {value:>12,} {floor_value:>12,} {ratio:>7}  {budget}")
    print(f"load average {results['load_average']}, {results['cpus']} CPUs")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
