"""Two admins, in two real processes, demote each other at the same moment, round after round,
on SQLite and (when configured) PostgreSQL: one of them always stays an admin."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from carriertui.store import operators
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from tests.unit.test_store_concurrency import expect_line, finish, start

ROUNDS = 12
PASSWORD = "violet rivers hum under granite"

# Each round: wait for the round's go file, demote the other admin, print what happened.
DEMOTER = textwrap.dedent(
    """
    import json, os, sys, time
    from carriertui.store import operators
    from carriertui.store.context import Actor
    from carriertui.store.db.database import Database
    from carriertui.store.errors import ValidationError
    from carriertui.store.enums import Role

    url, connect_args, me, other, folder, rounds = sys.argv[1:7]
    db = Database(url, connect_args=json.loads(connect_args))
    actor = Actor(name=me, role=Role.ADMIN, ip="192.0.2.80")
    print("ready", flush=True)
    for round in range(int(rounds)):
        go = os.path.join(folder, f"go-{round}")
        while not os.path.exists(go):
            time.sleep(0.002)
        try:
            operators.set_role(db, actor, other, "operator")
            print(json.dumps("demoted"), flush=True)
        except ValidationError as error:
            print(json.dumps(error.message), flush=True)
    """
)


def test_two_admins_demoting_each_other_at_once_leave_one(
    backend, tmp_path: Path, fast_argon2
) -> None:
    db = backend.open()
    api = Actor.api()
    for name in ("ada", "bea"):
        operators.create_operator(db, api, name, Role.ADMIN, PASSWORD)
    args = (backend.url, json.dumps(backend.connect_args))
    workers = [
        start(DEMOTER, *args, me, other, str(tmp_path), str(ROUNDS), cwd=tmp_path)
        for me, other in (("ada", "bea"), ("bea", "ada"))
    ]
    outcomes = []
    try:
        for worker in workers:
            expect_line(worker, "ready")
        for round in range(ROUNDS):
            (tmp_path / f"go-{round}").touch()
            said = [json.loads(worker.stdout.readline()) for worker in workers]
            admins = [o.name for o in operators.list_operators(db, api) if o.role is Role.ADMIN]
            assert len(admins) == 1, (round, said, admins)
            assert said.count("demoted") == 1, said
            assert any("last enabled admin" in text for text in said), said
            outcomes.append(admins[0])
            for name in ("ada", "bea"):  # both admins again for the next round
                operators.set_role(db, api, name, "admin")
        for worker in workers:
            finish(worker)
    finally:
        for worker in workers:  # a failed round leaves no child waiting for its go file
            if worker.poll() is None:
                worker.kill()
                worker.communicate(timeout=10)
    assert len(outcomes) == ROUNDS and set(outcomes) <= {"ada", "bea"}
