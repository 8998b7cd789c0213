"""Whole groups of records at a time: the readers check and convert a group a column at a time
(C-level map/join/set calls, not per value in Python), as the native parser does, so that the
conversion costs little next to the import it feeds. A group with anything unusual goes record
by record through the reader's careful path instead, which gives the same rows and the reasons
for bad ones (tests/unit/test_feeds_parsers.py compares the two).

Pure: the standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from itertools import repeat
from typing import Any, NamedTuple

from carriertui.feeds.common import Converted, FeedError, FeedOptions

GROUP = 1000


class Block(NamedTuple):
    """Native rows of good records, converted together. The readers check every text column
    of a block (plain_column: no line breaks, within the native limits), so its rows need no
    further look before they are written."""

    lines: list[int]
    rows: list[tuple[str, ...]]
    sources: list[str] | None = None  # each row's file, when a directory is read (JSON)


def csv_groups(
    handle: object,
    *,
    delimiter: str = ",",
    skip_initial_space: bool = False,
    first_line: int = 0,
    size: int = GROUP,
) -> Iterator[tuple[list[int], list[list[str]]]]:
    """csv_records in groups of ``size``: (lines where the records start, the records)."""
    import csv

    reader = csv.reader(
        handle,  # type: ignore[arg-type]
        delimiter=delimiter,
        skipinitialspace=skip_initial_space,
        strict=False,
    )
    from itertools import islice

    line = 0  # lines read so far
    try:
        while True:
            items = list(islice(reader, size))
            if not items:
                return
            start = line
            line = reader.line_num
            if line - start == len(items):  # one line a record (blank lines are [] records)
                lines = [start + 1 + first_line + i for i, fields in enumerate(items) if fields]
            else:  # some record's fields hold line breaks: count them
                lines = []
                at = start
                for fields in items:
                    if fields:
                        lines.append(at + 1 + first_line)
                    text = "".join(fields)
                    at += 1 + text.count("\n") + text.count("\r") - text.count("\r\n")
            records = [fields for fields in items if fields]
            if records:
                yield lines, records
    except csv.Error as error:
        raise FeedError(f"line {reader.line_num + 1 + first_line}: {error}") from error


def plain_column(texts: Sequence[str], limit: int, *, required: bool = False) -> bool:
    """No value longer than ``limit``, none with a line break or surrounding spaces (and, if
    ``required``, none empty)."""
    joined = "".join(texts)
    if "\n" in joined or "\r" in joined or max(map(len, texts)) > limit:
        return False
    if required and not all(texts):
        return False
    if " " not in joined and "\t" not in joined:
        return True
    return all(map(str.__eq__, texts, map(str.strip, texts)))


_DECIMALS = re.compile(r"(?:\d+(?:\.\d*)?\n)*\d+(?:\.\d*)?")
_ZERO_FRACTIONS = re.compile(r"\.0*(?=\n|$)")
_AMOUNTS = re.compile(r"(?:\d+(?:\.\d{1,4})?\n)*\d+(?:\.\d{1,4})?")


def ceil_column(texts: Sequence[str]) -> list[str] | None:
    """whole_seconds of each value (decimals rounded up), or None for anything but plain
    digits with an optional fraction."""
    joined = "\n".join(texts)
    if not joined.isascii() or _DECIMALS.fullmatch(joined) is None:
        return None
    if "." not in joined:
        return joined.split("\n")
    values = _ZERO_FRACTIONS.sub("", joined).split("\n")
    return [v if "." not in v else str(int(v.partition(".")[0]) + 1) for v in values]


def money_column(texts: Sequence[str]) -> list[str] | None:
    """The amounts as they are when each is plain digits with at most 4 places, else None."""
    joined = "\n".join(texts)
    if not joined.isascii() or _AMOUNTS.fullmatch(joined) is None:
        return None
    return list(texts)


def sip_column(texts: Sequence[str]) -> bool:
    return digits_column(texts) and all(len(t) == 3 and "100" <= t <= "699" for t in texts)


def fast_groups(
    handle: Any,
    *,
    width: int,
    delimiter: str = ",",
    all_quoted: bool = False,
    first_line: int = 0,
    size: int = GROUP,
) -> Iterator[tuple[list[int], list[list[str]] | None, list[list[str]] | None]]:
    """csv_groups, faster for the simple files most switches write, as (lines, records,
    columns): lines without quotes are split on the delimiter; with ``all_quoted``
    (FreeSWITCH templates), lines of quoted fields with no quote inside are split on the
    quotes and commas. A group whose every line has ``width`` fields is split in one call and
    given as its columns (records None: records_of(columns)); another simple group as its
    records (columns None). The first group that is neither goes, with the rest of the file,
    through the csv module."""
    from itertools import chain, islice

    line = first_line
    quoted_separator = f'"{delimiter}"'
    while True:
        chunk = list(islice(handle, size))
        if not chunk:
            return
        text = "".join(chunk)
        stripped = [item.rstrip("\r\n") for item in chunk]
        count = len(stripped)
        simple = '"' not in text
        quoted = (
            not simple
            and all_quoted
            and all(item[:1] == '"' and item[-1:] == '"' and len(item) > 1 for item in stripped)
        )
        clean = (simple or quoted) and "\r" not in "".join(stripped) and all(stripped)
        if clean:
            body = "\n".join(stripped)
            if simple:
                flat = body.replace("\n", delimiter).split(delimiter)
            else:
                body = body.replace(f'"{delimiter} "', quoted_separator)[1:-1]
                flat = body.replace('"\n"', quoted_separator).split(quoted_separator)
            if len(flat) == width * count and (simple or text.count('"') == 2 * width * count):
                lines = list(range(line + 1, line + 1 + count))
                line += count
                yield lines, None, [flat[k::width] for k in range(width)]
                continue
        records: list[list[str]] | None = None
        if simple:
            records = [item.split(delimiter) for item in stripped]
        elif quoted:
            records = [
                item[1:-1].replace(f'"{delimiter} "', quoted_separator).split(quoted_separator)
                for item in stripped
            ]
            if text.count('"') != 2 * sum(map(len, records)):
                records = None  # a quote inside a value: the csv module reads it
        if records is None or "\r" in "".join(stripped):
            for lines, found in csv_groups(
                chain(chunk, handle),
                delimiter=delimiter,
                skip_initial_space=all_quoted,
                first_line=line,
                size=size,
            ):
                yield lines, found, None
            return
        lines = [line + 1 + i for i, item in enumerate(stripped) if item]
        line += len(chunk)
        kept = [record for record, item in zip(records, stripped, strict=True) if item]
        if kept:
            yield lines, kept, None


def records_of(records: list[list[str]] | None, columns: list[list[str]] | None) -> list[list[str]]:
    """A group's records, from its columns if that is how it came."""
    if records is not None:
        return records
    assert columns is not None
    return [list(record) for record in zip(*columns, strict=True)]


def columns_of(
    records: list[list[str]] | None, columns: list[list[str]] | None, width: int
) -> Sequence[Sequence[str]] | None:
    """A group's columns when every record has ``width`` fields, else None."""
    if columns is not None:
        return columns
    assert records is not None
    if set(map(len, records)) != {width}:
        return None
    return list(zip(*records, strict=True))


def digits_column(texts: Sequence[str]) -> bool:
    """Every value a whole number (ASCII digits, not empty)."""
    joined = "".join(texts)
    return joined.isascii() and joined.isdigit() and all(texts)


def accounts_column(texts: Sequence[str], options: FeedOptions) -> list[str] | None:
    """The account codes when every one is a known customer's, as written; else None."""
    if options.customer is not None:
        return [options.customer] * len(texts)
    if options.rules is not None and not options.rules.only_codes:
        return None  # rules beyond account codes: each record looked up carefully
    codes = set(texts)
    if "" in codes or any(code != code.strip() for code in codes):
        return None
    if options.customers is not None and not codes <= options.customers:
        return None
    return list(texts)


def flattened(items: Iterator[Converted | Block]) -> Iterator[Converted]:
    """Every record as a Converted, the blocks' rows one by one (for callers that want rows)."""
    for item in items:
        if isinstance(item, Block):
            sources = item.sources or repeat("")
            yield from (
                Converted(line, row, "", source)
                for line, row, source in zip(item.lines, item.rows, sources, strict=False)
            )
        else:
            yield item
