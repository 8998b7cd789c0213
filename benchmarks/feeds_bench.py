"""Switch CDR formats against the native import: rows/s of each, in the same run (issue 15).

    python benchmarks/feeds_bench.py [--cdrs 100000] [--json PATH]

The same N calls are written as carriertui's CSV (with money, and without: rated on import) and
in every switch format; each file is imported into a fresh SQLite database with the same
customers and rate cards (store/feeds.py: read, converted, written as native rows, imported by
the native importer). rows/s = calls / wall time of the whole import.

Floors, measured here in the same run: ConnexCS (it carries money) against the native file with
money; every other format (no money: rated on import) against the native file without money,
so both sides pay the rating. Budget: >= 0.8x. The spool's pick-up (a file renamed into a
watched directory until it is in done/, minus the import's own time) is measured too: <= 2 s.

Writes the common form (benchmarks/harness.py).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import random
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import Measure, at_least, at_most, load_average
from harness import report as write_report

from carriertui.feeds.common import NATIVE_COLUMNS, FeedOptions, Tally
from carriertui.store import customers, rates, spool
from carriertui.store.context import Actor
from carriertui.store.db.database import open_database
from carriertui.store.enums import Role
from carriertui.store.feeds import import_feed

CUSTOMERS = 20
ZONE = ZoneInfo("Europe/Berlin")
CONNEXCS_HEADER = [
    "dt",
    "callid",
    "customer_id",
    "source_cli",
    "dest_number",
    "duration",
    "customer_duration",
    "sip_code",
    "release_reason",
    "pdd_in",
    "customer_charge",
    "provider_charge",
    "source_ip",
]
DECK = [
    ("49", "0.0100", "0", 1, 1),
    ("4930", "0.0200", "0.0050", 30, 6),
    ("44", "0.0300", "0", 60, 60),
]


def calls(count: int, seed: int = 1) -> list[dict[str, object]]:
    rng = random.Random(seed)
    start = datetime(2026, 7, 1, tzinfo=UTC)
    made = []
    for index in range(count):
        moment = start + timedelta(seconds=index * 2)
        answered = rng.random() < 0.55
        made.append(
            {
                "uuid": f"{rng.getrandbits(128):032x}",
                "customer": f"C{rng.randrange(CUSTOMERS):02d}",
                "start": moment,
                "cli": f"44207946{rng.randrange(10000):04d}",
                "number": f"49309{rng.randrange(10**7):07d}",
                "talk": int(rng.expovariate(1 / 150)) + 1 if answered else 0,
                "ring": rng.randrange(1, 20),
                "sip": 200 if answered else 486,
                "ip": f"192.0.2.{index % 200}",
            }
        )
    return made


def _uuid(text: str) -> str:
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _local(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S")


def write_native(path: Path, made, *, money: bool) -> None:
    header = [c for c in NATIVE_COLUMNS if money or c not in ("billed_duration", "charge", "cost")]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for call in made:
            row = {
                "call_id": call["uuid"],
                "customer": call["customer"],
                "start_time": call["start"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                "source_cli": call["cli"],
                "dest_number": call["number"],
                "dest_name": "",
                "duration": call["talk"],
                "billed_duration": call["talk"],
                "sip_code": call["sip"],
                "release_reason": "",
                "pdd_ms": 0,
                "charge": f"{call['talk'] * 0.0002:.4f}",
                "cost": f"{call['talk'] * 0.0001:.4f}",
                "direction": "outbound",
                "source_ip": call["ip"],
            }
            writer.writerow([row[c] for c in header])


def write_connexcs(path: Path, made) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CONNEXCS_HEADER)
        for c in made:
            writer.writerow(
                [
                    c["start"].strftime("%Y-%m-%d %H:%M:%S"),
                    c["uuid"],
                    c["customer"],
                    c["cli"],
                    c["number"],
                    f"{c['talk']}.0",
                    c["talk"],
                    c["sip"],
                    "",
                    0,
                    f"{c['talk'] * 0.0002:.4f}",
                    f"{c['talk'] * 0.0001:.4f}",
                    c["ip"],
                ]
            )


def write_freeswitch_csv(path: Path, made) -> None:
    """The vanilla ``example`` template: 15 quoted columns, local time."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
        for c in made:
            start = c["start"]
            answer = start + timedelta(seconds=c["ring"])
            end = answer + timedelta(seconds=c["talk"])
            writer.writerow(
                [
                    "Caller",
                    c["cli"],
                    c["number"],
                    "default",
                    _local(start),
                    _local(answer) if c["talk"] else "",
                    _local(end),
                    c["ring"] + c["talk"],
                    c["talk"],
                    "NORMAL_CLEARING" if c["talk"] else "USER_BUSY",
                    _uuid(c["uuid"]),
                    "",
                    c["customer"],
                    "PCMA",
                    "PCMA",
                ]
            )


def write_freeswitch_json(folder: Path, made) -> None:
    folder.mkdir()
    for c in made:
        uuid = _uuid(c["uuid"])
        start = int(c["start"].timestamp())
        document = {
            "channel_data": {"direction": "inbound"},
            "variables": {
                "uuid": uuid,
                "accountcode": c["customer"],
                "caller_id_number": c["cli"],
                "destination_number": c["number"],
                "start_stamp": _local(c["start"]).replace(" ", "%20").replace(":", "%3A"),
                "start_epoch": str(start),
                "billsec": str(c["talk"]),
                "sip_term_status": str(c["sip"]),
                "hangup_cause": "NORMAL_CLEARING" if c["talk"] else "USER_BUSY",
                "network_addr": c["ip"],
            },
        }
        (folder / f"a_{uuid}.cdr.json").write_text(json.dumps(document), encoding="utf-8")


def write_asterisk(path: Path, made) -> None:
    """Master.csv with 21 columns (loguniqueid, loguserfield, newcdrcolumns), local time."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        for index, c in enumerate(made):
            start = c["start"]
            answer = start + timedelta(seconds=c["ring"])
            end = answer + timedelta(seconds=c["talk"])
            unique = f"{int(start.timestamp())}.{index}"
            disposition = "ANSWERED" if c["talk"] else "BUSY"
            handle.write(
                f'"{c["customer"]}","{c["cli"]}","{c["number"]}","from-customer",'
                f'"""Caller"" <{c["cli"]}>","SIP/cust-{index:08x}","SIP/carrier-{index:08x}",'
                f'"Dial","SIP/carrier/{c["number"]},60","{_local(start)}",'
                + (f'"{_local(answer)}"' if c["talk"] else "")
                + f',"{_local(end)}",{c["ring"] + c["talk"]},{c["talk"]},"{disposition}",'
                f'"BILLING","{unique}","","","{unique}",{index}\n'
            )


def write_acc(path: Path, made) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(
            "id,start_time,end_time,duration,callid,accountcode,src_user,dst_user,src_ip,sip_code\n"
        )
        for index, c in enumerate(made):
            start = c["start"]
            end = start + timedelta(seconds=c["talk"])
            handle.write(
                f"{index},{_local(start)}.000,{_local(end)}.000,{c['talk']}.000,{c['uuid']}@acc,"
                f"{c['customer']},{c['cli']},{c['number']},{c['ip']},{c['sip']}\n"
            )


def fresh_database(work: Path, name: str, actor: Actor):
    db = open_database(f"sqlite:///{work / (name + '.sqlite')}")
    ids = [
        customers.create_customer(
            db, actor, {"name": f"Customer {n:02d}", "account_code": f"C{n:02d}", "currency": "EUR"}
        ).id
        for n in range(CUSTOMERS)
    ]
    deck = work / "deck.csv"
    with deck.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["prefix", "destination", "rate", "connect_fee", "mcd", "pulse", "effective_from"]
        )
        for prefix, rate, fee, mcd, pulse in DECK:
            writer.writerow([prefix, f"dest {prefix}", rate, fee, mcd, pulse, "2000-01-01"])
    rates.import_deck(db, actor, deck, "Sell", currency="EUR")
    rates.import_deck(db, actor, deck, "Buy", currency="EUR", kind="provider")
    for customer in ids:
        rates.assign_card(db, actor, "Sell", customer)
        rates.assign_card(db, actor, "Buy", customer)
    return db


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the importer's parsing child)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure_import(
    work: Path, name: str, source: Path, fmt: str, options: FeedOptions, actor: Actor, count: int
) -> tuple[float, float]:
    """(rows/s of wall time, rows/s of CPU time) of one import into a fresh database."""
    db = fresh_database(work, name, actor)
    started, cpu = time.perf_counter(), _cpu_s()
    result = import_feed(db, actor, source, fmt, options)
    elapsed, cpu = time.perf_counter() - started, _cpu_s() - cpu
    assert result.report.imported == count, (name, str(result))
    db.dispose()
    (work / f"{name}.sqlite").unlink()
    for suffix in ("-wal", "-shm"):
        (work / f"{name}.sqlite{suffix}").unlink(missing_ok=True)
    return count / elapsed, count / max(cpu, 1e-9)


def measure_pickup(work: Path, actor: Actor, made) -> float:
    """Seconds from a file renamed into a watched directory to its import starting (the time
    in done/ less the import's own time)."""
    db = fresh_database(work, "spool", actor)
    directory = work / "spool"
    directory.mkdir()
    staged = directory / ".next.csv.part"
    write_connexcs(staged, made[:200])
    stop = threading.Event()
    outcomes: list[float] = []

    def timed(line: str) -> None:
        outcomes.append(time.perf_counter())

    watcher = threading.Thread(
        target=spool.watch,
        args=(db, actor, directory, "auto", FeedOptions()),
        kwargs={"interval": 0.5, "report": timed, "stop": stop.is_set},
        daemon=True,
    )
    watcher.start()
    time.sleep(1.2)  # the watcher is looking
    import_started = time.perf_counter()
    staged.rename(directory / "next.csv")
    while not (directory / "done" / "next.csv").exists():
        time.sleep(0.01)
    landed = time.perf_counter()
    stop.set()
    watcher.join(timeout=5)
    # the import of 200 rows, alone, for the part of the wait that was work
    db2 = fresh_database(work, "spool2", actor)
    again = work / "again.csv"
    write_connexcs(again, made[:200])
    began = time.perf_counter()
    import_feed(db2, actor, again, "connexcs", FeedOptions())
    work_s = time.perf_counter() - began
    db.dispose()
    db2.dispose()
    return max(0.0, landed - import_started - work_s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdrs", type=int, default=100_000, help="calls per format (N)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each import (best counts)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    load_before = load_average()
    actor = Actor(name="bench", role=Role.ADMIN, ip="127.0.0.1")
    made = calls(args.cdrs)
    json_count = max(1, args.cdrs // 10)  # a file per document: a tenth of N
    results: dict[str, object] = {"cdrs": args.cdrs, "json_documents": json_count}
    berlin = {"zone": "Europe/Berlin"}
    with tempfile.TemporaryDirectory(prefix="feeds-bench-") as folder:
        work = Path(folder)
        sources = {
            "native_money": (
                work / "native_money.csv",
                "native",
                {},
                write_native,
                {"money": True},
            ),
            "native_rated": (
                work / "native_rated.csv",
                "native",
                {},
                write_native,
                {"money": False},
            ),
            "connexcs": (work / "connexcs.csv", "connexcs", {}, write_connexcs, {}),
            "freeswitch_csv": (
                work / "Master_fs.csv",
                "freeswitch-csv",
                berlin,
                write_freeswitch_csv,
                {},
            ),
            "asterisk": (work / "Master.csv", "asterisk", berlin, write_asterisk, {}),
            "acc": (work / "acc_cdrs.csv", "acc", berlin, write_acc, {}),
        }
        subset = made[:json_count]
        write_freeswitch_json(work / "json", subset)
        write_native(work / "native_json.csv", subset, money=False)
        runs = {
            name: (path, fmt, FeedOptions(**opts), args.cdrs)
            for name, (path, fmt, opts, _writer, _extra) in sources.items()
        }
        # JSON: a tenth of the calls, one file each; its floor the native rated file of as many
        runs["freeswitch_json"] = (work / "json", "freeswitch-json", FeedOptions(), json_count)
        runs["native_rated_json_n"] = (
            work / "native_json.csv",
            "native",
            FeedOptions(),
            json_count,
        )
        for path, _fmt, _opts, writer, extra in sources.values():
            writer(path, made, **extra)
        # Other work shares these 2 cores: each import is run ROUNDS times, interleaved, and
        # its best run counts (the run the machine disturbed least).
        rates_of: dict[str, float] = {}
        cpu_of: dict[str, float] = {}  # the same in CPU time: less moved by the other jobs
        for round_number in range(args.rounds):
            for name, (path, fmt, opts, count) in runs.items():
                options = dataclasses.replace(opts, tally=Tally(), customers=None)
                rate, cpu_rate = measure_import(
                    work, f"{name}{round_number}", path, fmt, options, actor, count
                )
                rates_of[name] = max(rates_of.get(name, 0.0), rate)
                cpu_of[name] = max(cpu_of.get(name, 0.0), cpu_rate)
                print(
                    f"round {round_number + 1} {name}: {rate:,.0f} rows/s "
                    f"({cpu_rate:,.0f} per CPU second)",
                    file=sys.stderr,
                )
        results["pickup_s"] = round(measure_pickup(work, actor, made), 3)
    results.update({f"{k}_rows_per_s": round(v) for k, v in rates_of.items()})
    results.update({f"{k}_rows_per_cpu_s": round(v) for k, v in cpu_of.items()})
    floors = {
        "connexcs": "native_money",
        "freeswitch_csv": "native_rated",
        "asterisk": "native_rated",
        "acc": "native_rated",
        "freeswitch_json": "native_rated_json_n",
    }
    for name, floor in floors.items():
        results[f"{name}_cpu_ratio"] = round(cpu_of[name] / cpu_of[floor], 3)
    rated_floor = "native CSV of the same calls without money (rated on import), same run"
    measures = [
        Measure(
            "connexcs_rows_per_s",
            rates_of["connexcs"],
            "rows/s",
            rates_of["native_money"],
            "native CSV of the same calls with money, same run",
            at_least(0.8),
        )
    ]
    for name in ("freeswitch_csv", "asterisk", "acc"):
        measures.append(
            Measure(
                f"{name}_rows_per_s",
                rates_of[name],
                "rows/s",
                rates_of["native_rated"],
                rated_floor,
                at_least(0.8),
            )
        )
    measures.append(
        Measure(
            "freeswitch_json_rows_per_s",
            rates_of["freeswitch_json"],
            "rows/s",
            rates_of["native_rated_json_n"],
            f"native CSV without money of the same {json_count:,} calls, same run",
            at_least(0.8),
        )
    )
    for name, floor in floors.items():  # the CPU-time ratios, for a loaded machine: no budget
        measures.append(
            Measure(
                f"{name}_rows_per_cpu_s",
                cpu_of[name],
                "rows/s",
                cpu_of[floor],
                "the same floor in CPU seconds (this process and its children)",
            )
        )
    measures.append(
        Measure("spool_pickup_s", results["pickup_s"], "s", budget=at_most(2, on="value"))
    )
    write_report(
        "feeds",
        measures,
        json_path=args.json,
        load_before=load_before,
        title=f"Switch CDR formats against the native import: {args.cdrs:,} calls",
        extra=results,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
