"""Two real processes allocating blocks and taking numbers at the same moment, on SQLite and
(when configured) PostgreSQL: no overlap, no clash, and no error reaching the caller."""

from __future__ import annotations

import itertools
import json
import textwrap
from pathlib import Path

from carriertui.store import customers, options
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from carriertui.store.numbers import service as numbers
from tests.unit.test_store_concurrency import expect_line, finish, start

ALLOCATIONS = 250

# Waits for the go file, then allocates blocks for its customer, one service call each; prints
# every block it got, and any error (there must be none).
ALLOCATOR = textwrap.dedent(
    """
    import json, os, sys, time
    from carriertui.store.numbers import service as numbers
    from carriertui.store.context import Actor
    from carriertui.store.db.database import Database
    from carriertui.store.enums import Role

    url, connect_args, customer_id, go, count = sys.argv[1:6]
    db = Database(url, connect_args=json.loads(connect_args))
    actor = Actor(name=f"allocator-{customer_id}", role=Role.OPERATOR, ip="192.0.2.78")
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.005)
    got = []
    for _ in range(int(count)):
        block = numbers.allocate_next_block(db, actor, int(customer_id))
        got.append([block.block_index, block.range_start, block.range_end])
    print(json.dumps(got), flush=True)
    """
)

# Both processes try the same numbers; each prints the numbers it got and the errors it saw.
CLAIMER = textwrap.dedent(
    """
    import json, os, sys, time
    from carriertui.store.numbers import service as numbers
    from carriertui.store.context import Actor
    from carriertui.store.db.database import Database
    from carriertui.store.errors import ValidationError
    from carriertui.store.enums import Role

    url, connect_args, customer_id, go, first, count = sys.argv[1:7]
    db = Database(url, connect_args=json.loads(connect_args))
    actor = Actor(name=f"claimer-{customer_id}", role=Role.OPERATOR, ip="192.0.2.79")
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.005)
    got, refused = [], []
    for number in range(int(first), int(first) + int(count)):
        try:
            numbers.create_conference(db, actor, int(customer_id), number, name=f"c{number}")
            got.append(number)
        except ValidationError as error:
            refused.append([number, error.field, error.message])
    print(json.dumps({"got": got, "refused": refused}), flush=True)
    """
)


def _last_line(process) -> str:
    assert process.stdout is not None
    return process.stdout.readline().strip()


def test_two_processes_allocating_250_blocks_each(backend, tmp_path: Path) -> None:
    db = backend.open()
    api = Actor(name="setup", role=Role.ADMIN, ip="127.0.0.1")
    options.set_options(db, api, {"number_range_start": 1000, "block_size": 1000})
    east = customers.create_customer(db, api, {"name": "East"}).id
    west = customers.create_customer(db, api, {"name": "West"}).id
    go = tmp_path / "go"
    args = (backend.url, json.dumps(backend.connect_args))
    workers = [
        start(ALLOCATOR, *args, str(who), str(go), str(ALLOCATIONS), cwd=tmp_path)
        for who in (east, west)
    ]
    for worker in workers:
        expect_line(worker, "ready")
    go.touch()
    results = [json.loads(_last_line(worker)) for worker in workers]
    for worker in workers:
        finish(worker)  # exit status 0: no error reached either caller

    assert [len(got) for got in results] == [ALLOCATIONS, ALLOCATIONS]
    everything = sorted(tuple(block) for got in results for block in got)
    assert [index for index, _, _ in everything] == list(range(2 * ALLOCATIONS))
    for index, first, last in everything:
        assert (first, last) == numbers.block_range(1000, 1000, index)
    # each process saw its own allocations in increasing order (lowest free first)
    for got in results:
        assert [block[0] for block in got] == sorted(block[0] for block in got)
    stored = numbers.list_blocks(db, api)
    assert len(stored) == 2 * ALLOCATIONS
    assert {b.customer_id for b in stored} == {east, west}
    assert sum(b.customer_id == east for b in stored) == ALLOCATIONS
    ends = [(b.range_start, b.range_end) for b in stored]
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ends))


def test_two_processes_taking_the_same_numbers(backend, tmp_path: Path) -> None:
    db = backend.open()
    api = Actor(name="setup", role=Role.ADMIN, ip="127.0.0.1")
    east = customers.create_customer(db, api, {"name": "East"}).id
    west = customers.create_customer(db, api, {"name": "West"}).id
    go = tmp_path / "go"
    args = (backend.url, json.dumps(backend.connect_args))
    workers = [
        start(CLAIMER, *args, str(who), str(go), "500", "40", cwd=tmp_path) for who in (east, west)
    ]
    for worker in workers:
        expect_line(worker, "ready")
    go.touch()
    results = [json.loads(_last_line(worker)) for worker in workers]
    for worker in workers:
        finish(worker)

    got = [set(result["got"]) for result in results]
    assert not got[0] & got[1]
    assert got[0] | got[1] == set(range(500, 540))
    for result in results:
        assert all(
            field == "number" and message.startswith("Duplicate User Detected")
            for _, field, message in result["refused"]
        )
        assert len(result["got"]) + len(result["refused"]) == 40
    stored = numbers.list_extensions(db, api, east) + numbers.list_extensions(db, api, west)
    assert sorted(e.number for e in stored) == list(range(500, 540))
