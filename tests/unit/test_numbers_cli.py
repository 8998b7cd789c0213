"""carriertui numbers allocate / release / list, in-process through main()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.test_cli import add_customer, home, one_error_line, open_db, run  # noqa: F401


@pytest.fixture
def accounts(home: Path, capsys: pytest.CaptureFixture[str]) -> Path:  # noqa: F811
    add_customer(capsys, "Northwind", "--code", "NWT")
    add_customer(capsys, "Bluefin", "--code", "BFV")
    return home / "data" / "carriertui.sqlite"


def test_allocate_needs_the_number_plan(accounts: Path, capsys) -> None:
    code, out, err = run(capsys, "numbers", "allocate", "--customer", "NWT")
    assert code == 1 and out == ""
    assert "Number Range Start and Block Size must both be set" in one_error_line(err)


def test_allocate_release_and_list(accounts: Path, capsys) -> None:
    assert run(capsys, "options", "set", "number_range_start", "2000")[0] == 0
    assert run(capsys, "options", "set", "block_size", "1000")[0] == 0
    code, out, err = run(capsys, "numbers", "allocate", "--customer", "NWT")
    assert (code, out) == (0, "block 0 (2000-2999) assigned to Northwind\n"), err
    assert run(capsys, "numbers", "allocate", "--customer", "Bluefin")[0] == 0
    assert run(capsys, "numbers", "allocate", "--customer", "nwt")[0] == 0

    code, out, _ = run(capsys, "numbers", "list")
    lines = out.splitlines()
    assert lines[0].split() == [
        "Customer", "Block", "First", "Last", "Prefix", "Extensions", "Used", "Free",
    ]  # fmt: skip
    assert lines[2].split() == ["Northwind", "0", "2000", "2999", "2", "000\u2013999", "0", "1000"]
    assert lines[3].split()[:4] == ["Bluefin", "1", "3000", "3999"]
    assert len(lines) == 5

    code, out, _ = run(capsys, "numbers", "list", "--customer", "NWT", "--format", "json")
    listed = json.loads(out)
    assert [(b["block"], b["range_start"], b["prefix"]) for b in listed] == [
        (0, 2000, "2"),
        (2, 4000, "4"),
    ]
    assert all(b["customer"] == "Northwind" and b["free"] == 1000 for b in listed)

    # a block in use is not released; the message names the extension
    from carriertui.store.context import Actor
    from carriertui.store.numbers import service as numbers

    db = open_db(accounts)
    numbers.create_conference(db, Actor.api(), listed[0]["customer_id"], 2100, name="Standup")
    db.dispose()
    code, _, err = run(capsys, "numbers", "release", "--customer", "NWT", "0")
    assert code == 1
    assert "2100 (Conference Standup)" in one_error_line(err)

    code, out, err = run(capsys, "numbers", "release", "--customer", "NWT", "2")
    assert (code, out) == (0, "block 2 (4000-4999) released by Northwind\n"), err
    code, _, err = run(capsys, "numbers", "release", "--customer", "BFV", "0")
    assert code == 1 and "Bluefin holds no block 0 (it holds: 1)" in one_error_line(err)
    assert run(capsys, "numbers", "allocate", "--customer", "BFV")[1].startswith("block 2 ")

    # allocations and releases are in the audit log, as the API user
    code, out, _ = run(capsys, "audit", "export", "--customer", "NWT", "--format", "json")
    entries = [e for e in json.loads(out) if e["table"] == "number_block"]
    assert [(e["action"], e["user"]) for e in entries] == [
        ("CREATE", "API"),
        ("CREATE", "API"),
        ("DELETE", "API"),
    ]


def test_bad_block_and_unknown_customer(accounts: Path, capsys) -> None:
    code, _, err = run(capsys, "numbers", "release", "--customer", "NWT", "two")
    assert code == 2 and "BLOCK is a block number" in err
    code, _, err = run(capsys, "numbers", "allocate", "--customer", "nobody")
    assert code == 1 and "no customer named or coded 'nobody'" in one_error_line(err)
    code, _, err = run(capsys, "numbers", "allocate")
    assert code == 2 and "--customer" in err
