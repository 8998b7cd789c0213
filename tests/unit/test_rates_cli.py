"""``carriertui rates ...`` as an operator runs it: real CSV files, a real SQLite database."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.unit.test_cli import add_customer, home, one_error_line, run  # noqa: F401

HEADER = "prefix,destination,rate,connect_fee,mcd,pulse,effective_from\n"
UK = (
    HEADER
    + "44,United Kingdom,0.0100,0,1,1,2026-01-01\n"
    + "447,United Kingdom - Mobile,0.0450,0.01,30,6,2026-01-01\n"
)


def deck(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_list_show_test_export_and_assign(home, capsys, tmp_path):  # noqa: F811
    code, out, err = run(
        capsys,
        "rates",
        "import",
        deck(tmp_path, "uk.csv", UK),
        "--card",
        "Retail",
        "--currency",
        "USD",
    )
    assert code == 0, err
    assert out.startswith(
        "2 rates imported into Retail (new card) from uk.csv, effective 2026-01-01"
    )

    code, out, _ = run(capsys, "rates", "cards")
    assert code == 0
    assert out.splitlines()[2].split() == ["Retail", "customer", "USD", "2", "-"]

    code, out, _ = run(capsys, "rates", "list", "--card", "retail", "--search", "mobile")
    rows = out.splitlines()[2:]
    assert len(rows) == 1
    assert rows[0].split("  ")[0] == "447"
    cells = [cell.strip() for cell in rows[0].split("  ") if cell.strip()]
    assert cells == [
        "447",
        "United Kingdom - Mobile",
        "0.045",
        "0.01",
        "30/6",
        "2026-01-01T00:00:00Z",
        "-",
    ]

    code, out, err = run(
        capsys,
        "rates",
        "test",
        "+447700900123",
        "--card",
        "Retail",
        "--at",
        "2026-03-01T10:00:00Z",
        "--seconds",
        "31",
    )
    assert code == 0, err
    lines = out.splitlines()
    assert "prefix 447 (United Kingdom - Mobile)" in lines[0]
    assert lines[1] == "31 s billed as 36 s: 0.0370 USD"
    code, out, _ = run(
        capsys,
        "rates",
        "test",
        "447",
        "--card",
        "Retail",
        "--at",
        "2026-03-01",
        "--seconds",
        "61",
        "--format",
        "json",
    )
    data = json.loads(out)
    assert (data["billed_seconds"], data["charge"], data["prefix"]) == (66, "0.0595", "447")

    code, _, err = run(capsys, "rates", "test", "+33123", "--card", "Retail", "--at", "2026-03-01")
    assert code == 1
    assert one_error_line(err) == "error: no rate for 33123 at 2026-03-01 00:00:00Z"

    out_file = tmp_path / "out.csv"
    code, out, _ = run(capsys, "rates", "export", "--card", "Retail", str(out_file))
    assert code == 0 and "exported 2 rates" in out
    with out_file.open(encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))
    assert [row["prefix"] for row in exported] == ["44", "447"]
    assert (exported[1]["rate"], exported[1]["effective_to"]) == ("0.045000", "")

    add_customer(capsys, "Acme Telecom", "--code", "ACME")
    code, out, err = run(capsys, "rates", "assign", "--card", "Retail", "--customer", "ACME")
    assert code == 0, err
    assert out.strip() == "customer ACME is rated with customer card Retail"
    code, out, _ = run(capsys, "rates", "show", "Retail", "--format", "json")
    shown = json.loads(out)
    assert (shown["customers"], shown["rates"], shown["rates_in_force_now"]) == (["ACME"], 2, 2)


def test_a_hostile_deck_lists_every_bad_line_and_imports_nothing(home, capsys, tmp_path):  # noqa: F811
    text = (
        HEADER
        + "=1+1,Formula,0.01,0,1,1,2026-01-01\n"
        + "33,[b]France[/b],0.01,0,1,1,2026-01-01\n"
        + "34,Spain,-1,0,1,1,2026-01-01\n"
        + "35,Portugal,0.01,0,1,1,2026-01-01\n"
    )
    code, out, err = run(
        capsys,
        "rates",
        "import",
        deck(tmp_path, "bad.csv", text),
        "--card",
        "Retail",
        "--currency",
        "USD",
    )
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert lines[0].startswith("line 2: prefix")
    assert lines[1].startswith("line 3: destination: markup")
    assert lines[2] == "line 4: rate: must not be negative (-1)"
    assert lines[3].startswith("error: rate deck bad.csv refused, nothing imported: 3 bad lines")
    code, out, _ = run(capsys, "rates", "cards")
    assert out.splitlines()[2:] == []


def test_a_card_in_another_currency_cannot_be_assigned(home, capsys, tmp_path):  # noqa: F811
    run(
        capsys,
        "rates",
        "import",
        deck(tmp_path, "uk.csv", UK),
        "--card",
        "Euro",
        "--currency",
        "EUR",
    )
    add_customer(capsys, "Acme Telecom", "--code", "ACME")
    code, _, err = run(capsys, "rates", "assign", "--card", "Euro", "--customer", "ACME")
    assert code == 2
    assert "rate card Euro is in EUR but customer ACME is billed in USD" in one_error_line(err)
    code, _, err = run(capsys, "rates", "import", deck(tmp_path, "x.csv", UK), "--card", "New")
    assert code == 2 and "give --currency to create it" in one_error_line(err)
