"""The CDR import's fast paths give exactly what the careful paths give.

The importer splits simple CSV chunks itself (instead of the csv module) and checks whole
columns of a batch at once (instead of row by row). Both are shortcuts: these tests compare
them with the csv module and with the row-by-row parser on the same input.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from cdr_helpers import csv_row

from carriertui.store import enums as models
from carriertui.store.cdrs import child as cdr_parse
from carriertui.store.cdrs import csvsource
from carriertui.store.cdrs.child import CSV_COLUMNS, CdrImportError
from carriertui.store.db import types

CUSTOMERS = {"ACME": 1, "BETA": 2}


def _reference_records(data: bytes) -> list[tuple[int, list[str]]]:
    """(start line, fields) of the header (the first row, blank or not, as the importer has
    always read it) and every non-blank record after it, as the csv module reads the file."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    reader = csv.reader(text, dialect="excel", strict=True)
    header = next(reader, None)
    if header is None:
        return []
    records = [(1, header)]
    line = reader.line_num
    for fields in reader:
        start, line = line + 1, reader.line_num
        if fields:
            records.append((start, fields))
    return records


def _source_records(path: Path) -> list[tuple[int, list[str]]]:
    with path.open("rb") as raw:
        source = cdr_parse._CsvSource(raw, path.name)
        header = source.header()
        records = [(1, header)] if header is not None else []
        for first_lines, batch, _bytes in source.batches():
            for index, fields in enumerate(batch):
                line = first_lines + index if isinstance(first_lines, int) else first_lines[index]
                records.append((line, fields))
    return records


BODIES = {
    "crlf": b"a,b,c\r\n1,2,3\r\n4,5,6\r\n",
    "lf": b"a,b,c\n1,2,3\n4,5,6\n",
    "no final line end": b"a,b,c\r\n1,2,3\r\n4,5,6",
    "blank lines": b"a,b,c\r\n\r\n1,2,3\r\n\r\n\r\n4,5,6\r\n",
    "bom": b"\xef\xbb\xbfa,b,c\r\n1,2,3\r\n",
    "quoted": b'a,b,c\r\n1,"x,y",3\r\n4,5,6\r\n',
    "line break in a field": b'a,b,c\r\n1,"two\r\nlines",3\r\n4,5,6\r\n7,8,9\r\n',
    "mixed line ends": b"a,b,c\r\n1,2,3\n4,5,6\r\n",
    "lone cr": b"a,b,c\r1,2,3\r4,5,6\r",
    "odd widths": b"a,b,c\r\n1,2\r\n4,5,6,7\r\n ,\r\n",
    "quoted header": b'"a","b","c"\r\n1,2,3\r\n',
    "blank first line": b"\r\na,b,c\r\n1,2,3\r\n",
    "header only": b"a,b,c",
    "empty": b"",
    "unicode": "a,b,c\r\nMünchen,東京,\u2028x\r\n1,2,3\r\n".encode(),
}


@pytest.mark.parametrize("chunk", [4 << 20, 16, 7])
@pytest.mark.parametrize("name", sorted(BODIES))
def test_the_source_reads_what_the_csv_module_reads_with_the_same_lines(
    name, chunk, tmp_path, monkeypatch
) -> None:
    """Small chunks put chunk ends inside records and quoted line breaks."""
    monkeypatch.setattr(csvsource, "_CHUNK_BYTES", chunk)
    monkeypatch.setattr(csvsource, "_GROUP_ROWS", 2)
    body = BODIES[name]
    path = tmp_path / "f.csv"
    path.write_bytes(body)
    assert _source_records(path) == _reference_records(body)


def test_the_csv_module_reports_a_bad_quote_after_simple_chunks_on_its_line(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(csvsource, "_CHUNK_BYTES", 32)
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b,c\r\n" + b"1,2,3\r\n" * 20 + b'4,"5"x,6\r\n')
    with pytest.raises(CdrImportError, match="line 22"):
        _source_records(path)


def _row_by_row(parser: cdr_parse._RowParser, records: list[list[str]]) -> list[object]:
    rows: list[object] = []
    for fields in records:
        try:
            rows.append(parser.parse(fields))
        except (cdr_parse._Bad, KeyError, ValueError, cdr_parse.ValidationError):
            row, problems = parser.check(fields)
            rows.append(row if row is not None else problems)
    return rows


GOOD_VARIANTS = [
    {},
    {"start_time": "2026-03-01T10:11:12+00:00"},
    {"start_time": "2026-03-01T10:11:12.123456Z"},
    {"start_time": "2026-03-01T10:11:12.123456+00:00"},
    {"charge": "12", "cost": "0.5"},
    {"charge": "99999999999.9999", "cost": "00.0100"},
    {"duration": "0", "billed_duration": "604800", "pdd_ms": "3600000"},
    {"sip_code": "100"},
    {"sip_code": "699"},
    {"source_ip": ""},
    {"source_ip": "2001:0db8:0000:0000:0000:0000:0000:0001"},
    {"source_cli": "", "dest_name": "", "release_reason": ""},
    {"dest_name": "x" * 100, "call_id": "c" * 128},
    {"customer": "BETA", "direction": "inbound"},
]

# Each of these is unusual (the batch goes row by row) and, apart from the first few, bad.
UNUSUAL_VARIANTS = [
    {"start_time": "2026-03-01 10:11:12Z"},
    {"start_time": "2026-03-01T10:11:12+01:00"},
    {"charge": " 1.0000"},
    {"direction": "Outbound"},
    {"dest_name": "'=SUM(A1)"},
    {"start_time": "2026-02-30T10:11:12Z"},
    {"start_time": "2026-03-01T10:11:12"},
    {"start_time": "20260301T101112.123Z"},
    {"call_id": " "},
    {"call_id": ""},
    {"dest_number": "  "},
    {"call_id": "c" * 129},
    {"dest_name": "a\x00b"},
    {"customer": "NOPE"},
    {"duration": "-1"},
    {"duration": "1_0"},
    {"duration": "٣"},
    {"duration": ""},
    {"billed_duration": "604801"},
    {"sip_code": "99"},
    {"sip_code": "700"},
    {"pdd_ms": "3600001"},
    {"charge": "1.00001"},
    {"charge": "1e3"},
    {"charge": "1_000.0000"},
    {"cost": "-0.0100"},
    {"cost": "100000000000.0000"},
    {"direction": "sideways"},
    {"source_ip": "999.1.1.1"},
]


def _records(variants: list[dict[str, str]], header: list[str]) -> list[list[str]]:
    return [
        [csv_row(index, **variant).get(name, "") for name in header]
        for index, variant in enumerate(variants, start=1)
    ]


@pytest.mark.parametrize("sqlite", [True, False], ids=["sqlite", "postgresql"])
@pytest.mark.parametrize("variant", GOOD_VARIANTS)
def test_a_column_checked_batch_stores_what_row_checks_store(variant, sqlite) -> None:
    header = [*reversed(CSV_COLUMNS), *cdr_parse.REJECT_COLUMNS]  # any order; reject columns too
    parser = cdr_parse._RowParser(header, CUSTOMERS, sqlite)
    # The variant in a batch of plain rows: alone, it must not change how the others are read.
    records = _records([{}, variant, {}, variant], header)
    batch = parser.parse_batch(records)
    expected = _row_by_row(cdr_parse._RowParser(header, CUSTOMERS, sqlite), records)
    assert all(isinstance(row, tuple) for row in expected)
    assert batch is None or batch == expected
    if variant in ({}, {"charge": "12", "cost": "0.5"}, {"source_ip": ""}):
        assert batch is not None  # the common forms take the fast path
    # A whole batch in the variant's form (a file uses one form of time stamp throughout).
    records = _records([variant, variant, variant], header)
    batch = parser.parse_batch(records)
    assert batch == _row_by_row(cdr_parse._RowParser(header, CUSTOMERS, sqlite), records)


@pytest.mark.parametrize("sqlite", [True, False], ids=["sqlite", "postgresql"])
@pytest.mark.parametrize(
    "start_time",
    [
        "2026-03-01T10:11:12Z",
        "2026-03-01T10:11:12+00:00",
        "2026-03-01T10:11:12.123456Z",
        "2026-03-01T10:11:12.123456+00:00",
    ],
)
def test_each_utc_form_of_a_whole_batch_takes_the_column_path(start_time, sqlite) -> None:
    header = list(CSV_COLUMNS)
    records = _records([{"start_time": start_time}] * 3, header)
    expected = _row_by_row(cdr_parse._RowParser(header, CUSTOMERS, sqlite), records)
    assert cdr_parse._RowParser(header, CUSTOMERS, sqlite).parse_batch(records) == expected


@pytest.mark.parametrize("variant", UNUSUAL_VARIANTS)
def test_a_batch_with_an_unusual_row_goes_row_by_row(variant) -> None:
    parser = cdr_parse._RowParser(list(CSV_COLUMNS), CUSTOMERS, True)
    assert parser.parse_batch(_records([{}, variant, {}], list(CSV_COLUMNS))) is None


def test_rows_of_the_wrong_width_go_row_by_row() -> None:
    parser = cdr_parse._RowParser(list(CSV_COLUMNS), CUSTOMERS, True)
    records = _records([{}, {}], list(CSV_COLUMNS))
    records[1].append("")
    assert parser.parse_batch(records) is None
    assert parser.parse_batch([]) == []


def test_the_parser_module_agrees_with_the_models() -> None:
    """cdr_parse keeps its own copies (it does not import SQLAlchemy): they must agree."""
    assert cdr_parse.MONEY_SCALE == types.MONEY_SCALE
    assert set(cdr_parse.DIRECTIONS) == {direction.value for direction in models.Direction}
