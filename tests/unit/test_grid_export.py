"""CSV export and clipboard text: hostile cells, numbers, atomic writes, cancel, errors."""

from __future__ import annotations

import csv
import errno
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from carriertui.grid import export
from carriertui.grid.export import (
    ExportCancelled,
    ExportError,
    default_export_name,
    to_tsv,
    write_csv,
)
from carriertui.grid.model import Column, ColumnType, Row

TEXT = (Column("value", "Value"),)

# (original, dangerous): a dangerous cell must read back as "'" + original.
HOSTILE = [
    ('=HYPERLINK("x")', True),
    ("+14155550100", True),
    ("-2+3", True),
    ("@SUM(1)", True),
    ("\tleading tab", True),
    ("\rleading CR", True),
    ("\nleading LF", True),
    ('say "hi", twice', False),
    ("two\nlines\r\nand CRLF", False),
    ("[/", False),
    ("[@click=app.quit]x[/]", False),
    ("naïve ☎ 電話 😀", False),
    ("a=b", False),
    ("'already quoted", False),
    ("", False),
    (" =space first", False),
]


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def one_batch(*values: Any) -> list[list[Row]]:
    return [[(i, (v,)) for i, v in enumerate(values)]]


def test_hostile_text_round_trips_with_dangerous_cells_neutralised(tmp_path: Path) -> None:
    target = tmp_path / "hostile.csv"
    written = write_csv(target, TEXT, one_batch(*(text for text, _ in HOSTILE)))
    assert written == len(HOSTILE)
    header, *records = read_csv(target)
    assert header == ["Value"]
    assert [record[0] for record in records] == [
        "'" + text if dangerous else text for text, dangerous in HOSTILE
    ]


def test_numbers_stay_numbers_and_other_types_have_one_spelling(tmp_path: Path) -> None:
    columns = (
        Column("n", "N", ColumnType.INTEGER),
        Column("d", "D", ColumnType.MONEY),
        Column("f", "F", ColumnType.PERCENT),
        Column("t", "T", ColumnType.TIMESTAMP),
        Column("b", "B", ColumnType.BOOLEAN),
        Column("s", "S"),
    )
    plus_two = timezone(timedelta(hours=2))
    rows: list[Row] = [
        (
            1,
            (
                -5,
                Decimal("-2.5000"),
                -0.25,
                datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC),
                True,
                "-5",
            ),
        ),
        (
            2,
            (
                0,
                Decimal("1E+2"),
                1.5,
                datetime(2026, 11, 26, 3, 2, 3, 7, tzinfo=plus_two),
                False,
                None,
            ),
        ),
        (3, (None, None, None, None, None, "x")),
    ]
    target = tmp_path / "types.csv"
    write_csv(target, columns, [rows])
    raw = target.read_bytes()
    assert raw == (
        b"N,D,F,T,B,S\r\n"
        b"-5,-2.5000,-0.25,2026-11-26T01:02:03Z,true,'-5\r\n"
        b"0,100,1.5,2026-11-26T01:02:03.000007Z,false,\r\n"
        b",,,,,x\r\n"
    )
    assert not raw.startswith(b"\xef\xbb\xbf")  # no BOM


def test_group_header_row_and_no_header(tmp_path: Path) -> None:
    columns = (
        Column("a", "Attempts", ColumnType.INTEGER, group="Calls"),
        Column("c", "Connected", ColumnType.INTEGER, group="Calls"),
        Column("n", "Note"),
    )
    target = tmp_path / "groups.csv"
    write_csv(target, columns, [[(1, (3, 2, "ok"))]], group_header=True)
    assert read_csv(target) == [
        ["Calls", "Calls", ""],
        ["Attempts", "Connected", "Note"],
        ["3", "2", "ok"],
    ]
    write_csv(target, columns, [[(1, (3, 2, "ok"))]], include_header=False)
    assert read_csv(target) == [["3", "2", "ok"]]


def test_value_indexes_pick_the_columns_of_a_selection(tmp_path: Path) -> None:
    columns = (Column("c", "C"), Column("a", "A"))
    target = tmp_path / "picked.csv"
    write_csv(target, columns, [[(1, ("a1", "b1", "c1"))]], value_indexes=[2, 0])
    assert read_csv(target) == [["C", "A"], ["c1", "a1"]]


def big_batches(rows: int, size: int) -> Iterator[list[Row]]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for first in range(0, rows, size):
        yield [
            (
                i,
                (
                    f"customer {i}\nline two" if i % 1000 == 0 else f"=cell {i}",
                    i - 50_000,
                    Decimal(i).scaleb(-4),
                    start + timedelta(seconds=i),
                ),
            )
            for i in range(first, min(first + size, rows))
        ]


def test_a_100000_row_export_reparses_to_exactly_100000_records(tmp_path: Path) -> None:
    columns = (
        Column("name", "Name"),
        Column("n", "N", ColumnType.INTEGER),
        Column("amount", "Amount", ColumnType.MONEY),
        Column("at", "At", ColumnType.TIMESTAMP),
    )
    target = tmp_path / "big.csv"
    progress: list[int] = []
    written = write_csv(target, columns, big_batches(100_000, 5000), on_progress=progress.append)
    assert written == 100_000
    assert progress == list(range(5000, 100_001, 5000))
    header, *records = read_csv(target)
    assert header == ["Name", "N", "Amount", "At"]
    assert len(records) == 100_000
    assert records[0] == ["customer 0\nline two", "-50000", "0.0000", "2026-01-01T00:00:00Z"]
    assert records[99_999] == ["'=cell 99999", "49999", "9.9999", "2026-01-02T03:46:39Z"]
    assert [entry.name for entry in tmp_path.iterdir()] == ["big.csv"]


def test_a_cancelled_export_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "cancelled.csv"
    progress: list[int] = []
    with pytest.raises(ExportCancelled):
        write_csv(
            target,
            TEXT,
            ([(i, (f"row {i}",))] for i in range(10)),
            on_progress=progress.append,
            cancelled=lambda: bool(progress),
        )
    assert progress == [1]  # the first batch was written before the cancel
    assert list(tmp_path.iterdir()) == []


def test_a_cancel_or_failure_keeps_an_existing_file_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "existing.csv"
    target.write_text("old contents\n", encoding="utf-8")

    def failing() -> Iterator[list[Row]]:
        yield [(1, ("new",))]
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        write_csv(target, TEXT, failing())
    with pytest.raises(ExportCancelled):
        write_csv(target, TEXT, one_batch("new"), cancelled=lambda: True)
    assert target.read_text(encoding="utf-8") == "old contents\n"
    assert [entry.name for entry in tmp_path.iterdir()] == ["existing.csv"]


def test_the_batches_are_closed_when_the_export_stops(tmp_path: Path) -> None:
    closed: list[bool] = []
    progress: list[int] = []

    def batches() -> Iterator[list[Row]]:
        try:
            for i in range(1000):
                yield [(i, ("x",))]
        finally:
            closed.append(True)

    pending = batches()  # held here, so that only write_csv can have closed it
    with pytest.raises(ExportCancelled):
        write_csv(
            tmp_path / "x.csv",
            TEXT,
            pending,
            on_progress=progress.append,
            cancelled=lambda: bool(progress),
        )
    assert closed == [True]  # the query's cursor and connection go back at once
    del pending


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "out.csv"
    with pytest.raises(ExportError) as caught:
        write_csv(target, TEXT, one_batch("x"))
    message = str(caught.value)
    assert str(target) in message
    assert "does not exist" in message
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_a_folder_as_the_target_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(ExportError, match="is a folder") as caught:
        write_csv(folder, TEXT, one_batch("x"))
    assert str(folder) in str(caught.value)
    assert [entry.name for entry in tmp_path.iterdir()] == ["folder.csv"]
    assert list(folder.iterdir()) == []


def test_a_full_disk_is_a_clear_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(export.os, "fsync", no_space)
    target = tmp_path / "full.csv"
    with pytest.raises(ExportError) as caught:
        write_csv(target, TEXT, one_batch("x"))
    assert str(caught.value) == f"cannot export to {target}: the disk is full"
    assert list(tmp_path.iterdir()) == []


def test_a_write_failure_part_way_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    """A real write error from the file system: /dev/full refuses every write with ENOSPC."""
    full = Path("/dev/full")
    if not full.exists():
        pytest.fail("/dev/full is missing; this test needs a Linux /dev")
    target = tmp_path / "out.csv"
    real_open = open

    def open_full(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, int) and "w" in mode:
            os.close(file)
            return real_open(full, mode, *args, **kwargs)
        return real_open(file, mode, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("builtins.open", open_full)
        with pytest.raises(ExportError, match="the disk is full"):
            write_csv(target, TEXT, big_batches(20_000, 5000))
    assert list(tmp_path.iterdir()) == []


def test_to_tsv_copy_with_headers_and_group_headers() -> None:
    columns = (
        Column("customer", "Customer"),
        Column("attempts", "Attempts", ColumnType.INTEGER, group="Calls"),
        Column("asr", "ASR", ColumnType.PERCENT, group="Calls"),
        Column("cost", "Cost", ColumnType.MONEY, group="Money"),
    )
    rows: list[Row] = [
        (1, ("ACME [Ltd]", 12345, 52.5, Decimal("1234.5"))),
        (2, ("tab\there\nnewline", None, 0.0, Decimal("-3"))),
    ]
    assert to_tsv(columns, rows, headers=False, group_headers=False) == (
        "ACME [Ltd]\t12,345\t52.50%\t1,234.50\ntab here newline\t\t0.00%\t-3.00"
    )
    assert to_tsv(columns, rows[:1], headers=True, group_headers=False) == (
        "Customer\tAttempts\tASR\tCost\nACME [Ltd]\t12,345\t52.50%\t1,234.50"
    )
    assert to_tsv(columns, rows[:1], headers=True, group_headers=True) == (
        "\tCalls\tCalls\tMoney\nCustomer\tAttempts\tASR\tCost\nACME [Ltd]\t12,345\t52.50%\t1,234.50"
    )
    assert to_tsv(
        columns[2:], rows[:1], headers=True, group_headers=False, value_indexes=[2, 3]
    ) == ("ASR\tCost\n52.50%\t1,234.50")


def test_default_export_name() -> None:
    now = datetime(2026, 11, 26, 2, 2, 3, tzinfo=timezone(timedelta(hours=1)))
    assert default_export_name("audit-log", now) == "audit-log-20261126T010203Z.csv"
    assert default_export_name("../x y/z", now) == "x-y-z-20261126T010203Z.csv"
    assert default_export_name("", now) == "export-20261126T010203Z.csv"
    with pytest.raises(ValueError):
        default_export_name("audit-log", datetime(2026, 11, 26))


def test_tsv_neutralises_formula_text_but_not_numbers() -> None:
    from carriertui.grid.model import Column, ColumnType

    columns = (Column("name", "Name"), Column("amount", "Amount", ColumnType.DECIMAL))
    rows = [(1, ("=HYPERLINK(1)", Decimal("-2.5"))), (2, ("@SUM(A1)", Decimal("3")))]
    assert to_tsv(columns, rows, headers=False, group_headers=False) == (
        "'=HYPERLINK(1)\t-2.5\n'@SUM(A1)\t3"
    )


def test_write_csv_cells_writes_the_same_file_as_write_csv(tmp_path: Path) -> None:
    """The grid's export path (cells from the source's iter_csv_cells) and write_csv give the
    same bytes, hostile text, numbers, times and a cancel included."""
    from carriertui.grid.export import write_csv_cells
    from carriertui.grid.memory import InMemoryRowSource
    from carriertui.grid.model import Query

    columns = (
        Column("text", "Text", group="G"),
        Column("qty", "Qty", ColumnType.INTEGER),
        Column("amount", "Amount", ColumnType.MONEY),
        Column("at", "At", ColumnType.TIMESTAMP),
    )
    moment = datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC)
    rows: list[Row] = [
        (i, (text, i - 3, Decimal(i) / 4, moment + timedelta(microseconds=i)))
        for i, (text, _) in enumerate(HOSTILE)
    ]
    source = InMemoryRowSource(columns, rows, "cells")
    by_rows, by_cells = tmp_path / "rows.csv", tmp_path / "cells.csv"
    progress: list[int] = []
    write_csv(by_rows, columns, source.iter_rows(Query(), batch=5), group_header=True)
    written = write_csv_cells(
        by_cells,
        columns,
        source.iter_csv_cells(Query(), batch=5),
        group_header=True,
        on_progress=progress.append,
    )
    assert written == len(rows) and progress == [5, 10, 15, 16]
    assert by_cells.read_bytes() == by_rows.read_bytes()
    assert read_csv(by_cells)[2][:2] == ["'" + HOSTILE[0][0], "-3"]
    cancelled = tmp_path / "cancelled.csv"
    with pytest.raises(ExportCancelled):
        write_csv_cells(cancelled, columns, source.iter_csv_cells(Query()), cancelled=lambda: True)
    assert sorted(tmp_path.iterdir()) == sorted([by_rows, by_cells])


def test_plain_text_batches_are_joined_exactly_as_the_csv_writer_writes_them(
    tmp_path: Path,
) -> None:
    """write_csv_cells joins a batch of plain text cells with commas itself: the file must be
    byte for byte the csv writer's, whatever a batch holds (a comma, a quote, CR, LF, empty
    cells, a number, None, one column)."""
    import io

    from carriertui.grid.export import _plain_lines, write_csv_cells

    def by_the_writer(columns: tuple[Column, ...], batches: list[list[tuple[Any, ...]]]) -> str:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([column.title for column in columns])
        for batch in batches:
            writer.writerows(batch)
        return buffer.getvalue()

    two = (Column("a", "A"), Column("b", "B"))
    plain = [("x", "y"), ("", ""), ("naïve ☎", "'=1"), ("2026-11-26T01:02:03Z", "-0.0001")]
    awkward = [("a,b", "c"), ('say "hi"', "d"), ("cr\r", "e"), ("lf\n", "f"), ("g", "h\r\n")]
    others = [(1, None), (None, ""), ("x", 2)]
    cases = [
        (two, [plain]),
        (two, [plain, *[[row] for row in awkward], plain]),
        (two, [plain + awkward[:1]]),
        (two, [others, plain]),
        (two, [[("x", "y", "z")][:0] + plain[:1]]),
        ((Column("a", "A"),), [[("",), ("x",), ("",)]]),
    ]
    for index, (columns, batches) in enumerate(cases):
        target = tmp_path / f"case{index}.csv"
        written = write_csv_cells(target, columns, batches)
        assert written == sum(len(batch) for batch in batches)
        assert target.read_bytes().decode("utf-8") == by_the_writer(columns, batches), index
    # The fast path is taken for plain text, and only for it.
    assert _plain_lines(plain, 2) == by_the_writer(two, [plain]).split("\r\n", 1)[1]
    assert all(_plain_lines([row], 2) is None for row in awkward + others)
    assert _plain_lines([("", "")], 1) is None and _plain_lines([("a", "b", "c")], 2) is None


# -- where an export may write ----------------------------------------------------------------


def test_a_symbolic_link_as_the_target_is_refused_and_what_it_points_to_is_kept(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "authorized_keys"
    victim.write_bytes(b"ssh-ed25519 KEEP\n")
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    for overwrite in (True, False):
        with pytest.raises(ExportError, match="symbolic link"):
            write_csv(link, TEXT, one_batch("x"), overwrite=overwrite)
    assert victim.read_bytes() == b"ssh-ed25519 KEEP\n"
    assert link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["authorized_keys", "out.csv"]


def test_within_refuses_a_folder_that_leads_out_through_a_link(tmp_path: Path) -> None:
    exports, outside = tmp_path / "exports", tmp_path / "outside"
    exports.mkdir()
    outside.mkdir()
    (exports / "sub").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ExportError, match="leads out of the export folder"):
        write_csv(exports / "sub" / "x.csv", TEXT, one_batch("x"), within=exports)
    assert list(outside.iterdir()) == []
    written = write_csv(exports / "x.csv", TEXT, one_batch("x"), within=exports)
    assert written == 1 and read_csv(exports / "x.csv") == [["Value"], ["x"]]


def test_without_overwrite_an_existing_file_is_kept(tmp_path: Path) -> None:
    from carriertui.grid.export import ExportExists

    target = tmp_path / "out.csv"
    target.write_bytes(b"old\r\n")
    with pytest.raises(ExportExists, match="the file exists"):
        write_csv(target, TEXT, one_batch("new"), overwrite=False)
    assert target.read_bytes() == b"old\r\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]

    def appears_meanwhile() -> Iterator[list[Row]]:
        yield [(1, ("new",))]
        (tmp_path / "late.csv").write_bytes(b"someone else's\r\n")

    with pytest.raises(ExportExists):
        write_csv(tmp_path / "late.csv", TEXT, appears_meanwhile(), overwrite=False)
    assert (tmp_path / "late.csv").read_bytes() == b"someone else's\r\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late.csv", "out.csv"]


def test_check_export_target_says_what_to_ask(tmp_path: Path) -> None:
    from carriertui.grid.export import check_export_target

    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "there.csv").write_text("x")
    inside = check_export_target(exports / "new.csv", exports)
    assert (inside.path, inside.outside, inside.exists) == (exports / "new.csv", False, False)
    assert check_export_target(exports / "there.csv", exports).exists
    outside = check_export_target(tmp_path / "new.csv", exports)
    assert outside.outside and not outside.exists
    dotted = check_export_target(exports / ".." / "new.csv", exports)
    assert dotted.outside and dotted.path == tmp_path / "new.csv"
    (exports / "out").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(ExportError, match="leads out"):
        check_export_target(exports / "out" / "new.csv", exports)
    with pytest.raises(ExportError, match="symbolic link"):
        check_export_target(exports / "out", exports)  # a link to a folder, named as the file


def test_csv_text_is_what_the_file_would_hold_and_stops_at_whole_rows(tmp_path: Path) -> None:
    from carriertui.grid.export import csv_cell, csv_cells_text, write_csv_cells

    columns = (Column("a", "A"), Column("n", "N", ColumnType.INTEGER))
    rows = [[csv_cell(f"=row {i}"), i] for i in range(50)]
    write_csv_cells(tmp_path / "all.csv", columns, [rows[:20], rows[20:]])
    whole = csv_cells_text(columns, [rows[:20], rows[20:]], limit=10**6)
    assert whole.complete and whole.rows == 50
    assert whole.text.encode() == (tmp_path / "all.csv").read_bytes()
    part = csv_cells_text(columns, [rows], limit=100)
    assert not part.complete and len(part.text) <= 100 < len(whole.text)
    assert part.text.endswith("\r\n") and whole.text.startswith(part.text)
    assert part.rows == part.text.count("\r\n") - 1


def test_key_columns_are_declared_by_the_source_or_the_first_column() -> None:
    from carriertui.grid.memory import InMemoryRowSource
    from carriertui.grid.model import key_column_positions

    columns = (Column("code", "Code"), Column("name", "Name"), Column("n", "N", ColumnType.INTEGER))
    source = InMemoryRowSource(columns, [], name="t")
    assert key_column_positions(source) == (0,)
    source.key_columns = ("name", "code", "gone")  # type: ignore[attr-defined]
    assert key_column_positions(source) == (0, 1)  # in column order; unknown keys left out
    assert key_column_positions(InMemoryRowSource((), [], name="empty")) == ()
