"""Asterisk cdr_csv ``Master.csv``: no header, 16 to 21 columns, local time unless usegmtime.

The columns (cdr/cdr_csv.c): accountcode, src, dst, dcontext, clid, channel, dstchannel,
lastapp, lastdata, start, answer, end, duration, billsec, disposition, amaflags; then uniqueid
(``loguniqueid=yes``) and userfield (``loguserfield=yes``); then peeraccount, linkedid and
sequence (``newcdrcolumns=yes``). So 16, 17, 18, 19, 20 or 21 columns; 17 and 20 hold either
uniqueid or userfield, told apart by the uniqueid's shape (``[system-]<epoch>.<n>``).

- call_id: ``linkedid`` when the file has it (every fork and Local-channel row of one call
  shares it: they are merged into one attempt, the answered row's talk time), else
  ``uniqueid``, else (16 columns) ``ast-`` and a digest of channel, start, src and dst.
- duration: ``billsec`` (talk time; ``duration`` includes ringing).
- sip_code: from ``disposition`` (ANSWERED 200, BUSY 486, NO ANSWER 480, CANCEL 487,
  CONGESTION 503, FAILED 500); release_reason keeps the disposition's text.
- start_time: ``start`` in the switch's zone (a DST fold resolved by ``end`` and ``duration``).
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from itertools import repeat
from typing import TextIO

from carriertui.feeds.common import (
    BadRecord,
    Converted,
    FeedError,
    FeedOptions,
    LocalClock,
    clean,
    whole_seconds,
)
from carriertui.feeds.groups import (
    Block,
    accounts_column,
    csv_groups,
    digits_column,
    plain_column,
)

NAME = "asterisk"
BASE = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
)
NEW_COLUMNS = ("peeraccount", "linkedid", "sequence")
DISPOSITION_SIP = {
    "ANSWERED": "200",
    "BUSY": "486",
    "NO ANSWER": "480",
    "CANCEL": "487",
    "CONGESTION": "503",
    "FAILED": "500",
}
# Which row of a forked call speaks for it: answered first, then the longest talk.
_RANK = {"ANSWERED": 5, "BUSY": 4, "CONGESTION": 3, "FAILED": 3, "NO ANSWER": 2, "CANCEL": 1}
UNIQUEID = re.compile(r"^(?:[\w.-]+-)?\d{9,11}\.\d+$")
FORK_WINDOW = 2000  # rows a call's forks may lie apart in the file and still be merged


def layout(fields: list[str]) -> tuple[str, ...] | None:
    """The column names of a record, by its column count (None: not an Asterisk count)."""
    count = len(fields)
    if count == 16:
        return BASE
    if count == 17:
        return BASE + (("uniqueid",) if UNIQUEID.match(fields[16]) else ("userfield",))
    if count == 18:
        return (*BASE, "uniqueid", "userfield")
    if count == 19:
        return BASE + NEW_COLUMNS
    if count == 20:
        extra = "uniqueid" if UNIQUEID.match(fields[16]) else "userfield"
        return (*BASE, extra, *NEW_COLUMNS)
    if count == 21:
        return (*BASE, "uniqueid", "userfield", *NEW_COLUMNS)
    return None


def looks_like(records: list[list[str]]) -> bool:
    """Every sampled record has an Asterisk column count, a date in start and a disposition."""
    return bool(records) and all(
        layout(fields) is not None
        and fields[9][:4].isdigit()
        and fields[9][4:5] == "-"
        and fields[14].strip().upper() in DISPOSITION_SIP
        for fields in records
    )


def convert(handle: TextIO, options: FeedOptions) -> Iterator[Converted | Block]:
    clock = options.clock("Asterisk's start/answer/end times (unless usegmtime=yes)")
    pending: OrderedDict[str, tuple[int, dict[str, str], str, int]] = OrderedDict()

    def emit(line: int, values: dict[str, str], start: str) -> Converted:
        try:
            return Converted(line, _row(values, start, options, clock))
        except BadRecord as bad:
            return Converted(line, None, str(bad))

    def careful(lines: list[int], records: list[list[str]]) -> Iterator[Converted]:
        for line, fields in zip(lines, records, strict=True):
            names = layout(fields)
            if names is None:
                yield Converted(
                    line, None, f"{len(fields)} columns: Asterisk's Master.csv has 16 to 21"
                )
                continue
            values = dict(zip(names, fields, strict=True))
            linked = values.get("linkedid", "").strip()
            if not linked:
                yield emit(line, values, values["start"])
                continue
            known = pending.get(linked)
            if known is None:
                pending[linked] = (line, values, values["start"], 1)
            else:
                first_line, best, start, rows = known
                if _better(values, best):
                    best = values
                earliest = min(start, values["start"]) if values["start"].strip() else start
                pending[linked] = (first_line, best, earliest, rows + 1)
                pending.move_to_end(linked)
            while len(pending) > FORK_WINDOW:
                _key, (first_line, best, start, rows) = pending.popitem(last=False)
                options.tally.merged += rows - 1
                yield emit(first_line, best, start)

    # A group converted whole waits for the next group: a fork of one of its calls there sends
    # both through the careful path (which merges forks), in order.
    held: tuple[list[int], list[list[str]], Block, set[str]] | None = None
    for lines, records in csv_groups(handle):
        block, ids = _fast(lines, records, options, clock, pending)
        if held is not None:
            held_lines, held_records, held_block, held_ids = held
            held = None
            if held_ids.isdisjoint(ids):
                yield held_block
            else:
                yield from careful(held_lines, held_records)
                block = None
        if block is None:
            yield from careful(lines, records)
        elif ids:
            held = (lines, records, block, ids)
        else:
            yield block
    if held is not None:
        yield held[2]
    for first_line, best, start, rows in pending.values():
        options.tally.merged += rows - 1
        yield emit(first_line, best, start)


_TITLES = {name: name.title() for name in DISPOSITION_SIP}


def _fast(
    lines: list[int],
    records: list[list[str]],
    options: FeedOptions,
    clock: LocalClock,
    pending: Mapping[str, object],
) -> tuple[Block | None, set[str]]:
    """The group's rows converted a column at a time, and its linkedids; (None, ids) when
    anything needs the careful path: another layout, a fork, an unknown customer, a DST edge."""
    widths = set(map(len, records))
    if len(widths) != 1:
        return None, set()
    width = widths.pop()
    if width not in (18, 19, 21):  # 16: derived ids; 17 and 20: the layout is per record
        return None, set()
    names = layout(records[0])
    assert names is not None
    columns = dict(zip(names, zip(*records, strict=True), strict=True))
    linked = columns.get("linkedid")
    ids = set(linked) if linked is not None else set()
    if linked is not None and (len(ids) != len(records) or not ids.isdisjoint(pending)):
        return None, ids
    call_ids = linked if linked is not None else columns["uniqueid"]
    if not all(call_ids) or not plain_column(call_ids, 128):
        return None, ids
    customers = accounts_column(columns["accountcode"], options)
    sips = list(map(DISPOSITION_SIP.get, columns["disposition"]))
    if customers is None or None in sips:
        return None, ids
    billsec, ringing = columns["billsec"], columns["duration"]
    if not digits_column(billsec) or not digits_column(ringing):
        return None, ids
    if not plain_column(columns["src"], 64) or not plain_column(columns["dst"], 64):
        return None, ids
    starts = clock.utc_column(columns["start"])
    if starts is None:
        return None, ids
    talk = [
        b if d == "ANSWERED" else "0" for b, d in zip(billsec, columns["disposition"], strict=True)
    ]
    count = len(records)
    rows = list(
        zip(
            call_ids,
            customers,
            starts,
            columns["src"],
            columns["dst"],
            repeat("", count),
            talk,
            repeat("", count),
            sips,
            map(_TITLES.__getitem__, columns["disposition"]),
            repeat("0", count),
            repeat("", count),
            repeat("", count),
            repeat(options.direction, count),
            repeat("", count),
            strict=True,
        )
    )
    return Block(lines, rows), ids


def _better(candidate: dict[str, str], best: dict[str, str]) -> bool:
    def key(values: dict[str, str]) -> tuple[int, int]:
        billsec = values["billsec"].strip()
        return (
            _RANK.get(values["disposition"].strip().upper(), 0),
            int(billsec) if billsec.isdigit() else 0,
        )

    return key(candidate) > key(best)


def _row(
    values: dict[str, str], start: str, options: FeedOptions, clock: object
) -> tuple[str, ...]:
    disposition = values["disposition"].strip().upper()
    sip = DISPOSITION_SIP.get(disposition)
    if sip is None:
        raise BadRecord(f"disposition: {values['disposition']!r} is not an Asterisk disposition")
    call_id = (values.get("linkedid") or values.get("uniqueid") or "").strip()
    if not call_id:
        digest = hashlib.sha1(  # noqa: S324 - an identifier, not a secret
            "|".join((values["channel"], start, values["src"], values["dst"])).encode()
        ).hexdigest()
        call_id = f"ast-{digest[:32]}"
    talk = whole_seconds(values["billsec"], "billsec")
    ringing = whole_seconds(values["duration"], "duration")
    start_utc = clock.utc_with_end(start, values["end"], int(ringing))  # type: ignore[attr-defined]
    customer, number = options.customer_of(
        values["accountcode"], number=values["dst"].strip(), user=values["src"].strip()
    )
    return (
        call_id,
        customer,
        start_utc,
        clean(values["src"], 64),
        number,
        "",
        talk if disposition == "ANSWERED" else "0",
        "",
        sip,
        disposition.title(),
        "0",
        "",
        "",
        options.direction,
        "",
    )


def check_options(options: FeedOptions) -> None:
    if not options.utc and options.zone is None:
        raise FeedError(
            "Asterisk writes local time unless cdr.conf says usegmtime=yes: give --tz ZONE "
            "(or [feeds] tz), or --utc"
        )
