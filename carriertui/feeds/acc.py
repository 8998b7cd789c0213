"""Kamailio / OpenSIPS per-call accounting, as a CSV export of the table (a header row).

Kamailio's dialog CDRs (``acc_cdrs``: ``start_time``, ``end_time``, ``duration`` as seconds
with milliseconds, plus the ``cdr_extra`` columns the script adds) and OpenSIPS's ``acc`` rows
written with the ``cdr`` flag (``callid``, ``sip_code``, ``sip_reason``, ``time``, ``created``,
``duration``, ``ms_duration``, ``setuptime``, plus ``extra``) are both read; failed calls
exported from ``missed_calls`` (a ``sip_code`` of 300 or more, no duration) are attempts too.
Separators ``,``, ``;`` or TAB. The tables store DATETIME without a zone: ``--tz``, or
``--utc`` (``time_mode`` 4); Unix seconds are accepted as well.

- call_id: ``callid`` (the SIP Call-ID); customer: an ``accountcode`` extra column.
- start_time: ``created`` (INVITE received) when present, else ``start_time`` / ``time``.
- duration: ``ms_duration`` / 1000, else ``duration``, else end - start; rounded up.
- sip_code: ``sip_code`` (200 for a dialog CDR without one); pdd_ms: ``setuptime`` x 1000.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TextIO

from carriertui.feeds.common import (
    BadRecord,
    Converted,
    EpochClock,
    FeedError,
    FeedOptions,
    LocalClock,
    ceil_seconds,
    clean,
    csv_records,
    direction_of,
    seconds_between,
    sip_status,
    whole_number,
    whole_seconds,
)
from carriertui.feeds.connexcs import delimiter_of
from carriertui.feeds.groups import (
    Block,
    accounts_column,
    ceil_column,
    columns_of,
    digits_column,
    fast_groups,
    plain_column,
    records_of,
    sip_column,
)

NAME = "acc"
ALIASES: dict[str, tuple[str, ...]] = {
    "call_id": ("callid", "call_id", "sip_call_id"),
    "start": ("created", "start_time", "time"),
    "end": ("end_time",),
    "ms_duration": ("ms_duration",),
    "duration": ("duration",),
    "setuptime": ("setuptime",),
    "sip_code": ("sip_code", "code"),
    "reason": ("sip_reason", "reason"),
    "customer": ("accountcode", "account", "customer", "customer_id"),
    "source_cli": ("src_user", "from_user", "caller", "source_cli"),
    "dest_number": ("dst_user", "dst_ouser", "to_user", "ruri_user", "callee", "dest_number"),
    "source_ip": ("src_ip", "source_ip"),
    "direction": ("direction",),
}


def _key(name: str) -> str:
    return name.strip().strip("\ufeff").strip('"').lower()


def looks_like(header: list[str]) -> bool:
    names = {_key(name) for name in header}
    has_call = bool(names & {"callid", "call_id", "sip_call_id"})
    kamailio = {"start_time", "end_time", "duration"} <= names
    opensips = {"time", "sip_code"} <= names and bool(names & {"duration", "ms_duration", "method"})
    return has_call and (kamailio or opensips)


def columns(header: list[str]) -> dict[str, int]:
    at = {_key(name): index for index, name in reversed(list(enumerate(header)))}
    found = {}
    for field, names in ALIASES.items():
        for name in names:
            if name in at:
                found[field] = at[name]
                break
    missing = [f"{ALIASES[f][0]}" for f in ("call_id", "start", "dest_number") if f not in found]
    if missing:
        raise FeedError("line 1: no column " + ", ".join(missing) + " (an acc export's header)")
    return found


def convert(handle: TextIO, options: FeedOptions) -> Iterator[Converted | Block]:
    first_line = handle.readline()
    if not first_line.strip():
        raise FeedError("empty: expected a header row")
    delimiter = delimiter_of(first_line)
    header = next(csv_records(iter([first_line]), delimiter=delimiter))[1]
    at = columns(header)
    by_rules = options.rules is not None and not options.rules.only_codes
    if "customer" not in at and options.customer is None and not by_rules:
        raise FeedError(
            "line 1: no accountcode column: add it to the script's cdr_extra/extra "
            "(accountcode=$avp(account)), give --customer CODE, or give the customers match "
            "rules (carriertui feeds match add)"
        )
    clock = options.clock("acc DATETIME columns")
    epochs = EpochClock()
    width = len(header)
    for lines, found, split in fast_groups(handle, width=width, delimiter=delimiter, first_line=1):
        group = columns_of(found, split, width)
        if group is not None:
            rows = _fast(group, at, options, clock)
            if rows is not None:
                yield Block(lines, rows)
                continue
        records = records_of(found, split)
        for line, fields in zip(lines, records, strict=True):
            if len(fields) != width:
                yield Converted(line, None, f"{len(fields)} fields, the header has {width}")
                continue
            values = {field: fields[index] for field, index in at.items()}
            try:
                yield Converted(line, _row(values, options, clock, epochs))
            except BadRecord as bad:
                yield Converted(line, None, str(bad))


def _fast(
    columns: Sequence[Sequence[str]],
    at: dict[str, int],
    options: FeedOptions,
    clock: LocalClock,
) -> list[tuple[str, ...]] | None:
    """The group's rows a column at a time (what _row gives), or None."""
    count = len(columns[0])
    empty = ("",) * count

    def column(field: str) -> Sequence[str]:
        index = at.get(field)
        return columns[index] if index is not None else empty

    call_ids, numbers = column("call_id"), column("dest_number")
    if not plain_column(call_ids, 128, required=True):
        return None
    if not plain_column(numbers, 64, required=True):
        return None
    for field, limit in (("source_cli", 64), ("reason", 64), ("source_ip", 64)):
        if not plain_column(column(field), limit):
            return None
    starts = clock.utc_column(column("start"))
    if starts is None:
        return None
    if "ms_duration" in at:
        millis = column("ms_duration")
        talk = [str(-(-int(v) // 1000)) for v in millis] if digits_column(millis) else None
    elif "duration" in at:
        talk = ceil_column(column("duration"))
    else:
        talk = None
    customers = accounts_column(column("customer"), options)
    if talk is None or customers is None:
        return None
    if "sip_code" in at:
        sips = column("sip_code")
        if not sip_column(sips):
            return None
    elif "0" in talk:
        return None
    else:
        sips = ("200",) * count
    talk = [t if s < "300" else "0" for t, s in zip(talk, sips, strict=True)]
    setup = column("setuptime")
    if "setuptime" in at:
        if not digits_column(setup):
            return None
        pdd = [str(int(v) * 1000) for v in setup]
    else:
        pdd = ["0"] * count
    directions: Sequence[str] = column("direction")
    if "direction" not in at:
        directions = (options.direction,) * count
    elif not set(directions) <= {"inbound", "outbound", ""}:
        return None
    else:
        directions = [d or options.direction for d in directions]
    return list(
        zip(
            call_ids,
            customers,
            starts,
            column("source_cli"),
            numbers,
            empty,
            talk,
            empty,
            sips,
            column("reason"),
            pdd,
            empty,
            empty,
            directions,
            column("source_ip"),
            strict=True,
        )
    )


def _time(text: str, clock: LocalClock, epochs: EpochClock) -> str:
    value = text.strip()
    if value.replace(".", "", 1).isdigit():
        return epochs.utc(value)
    return clock.utc(value)


def _row(
    values: dict[str, str], options: FeedOptions, clock: LocalClock, epochs: EpochClock
) -> tuple[str, ...]:
    start_text = values["start"].strip()
    end_text = values.get("end", "").strip()
    if values.get("ms_duration", "").strip():
        talk = whole_seconds(values["ms_duration"], "ms_duration", scale=1000)
    elif values.get("duration", "").strip():
        talk = whole_seconds(values["duration"], "duration")
    else:
        talk = ""
    local = not start_text.replace(".", "", 1).isdigit()
    if end_text and talk != "" and local:
        start = clock.utc_with_end(start_text, end_text, int(talk))
    else:
        start = _time(start_text, clock, epochs)
    if talk == "":
        end = _time(end_text, clock, epochs) if end_text else start
        talk = str(ceil_seconds(seconds_between(start, end)))
    code = values.get("sip_code", "").strip()
    if code:
        sip = sip_status(code)
    elif talk != "0":
        sip = "200"  # a dialog CDR: the call was established
    else:
        raise BadRecord("sip_code is empty and the call has no duration")
    reason = values.get("reason", "")
    customer, number = options.customer_of(
        values.get("customer", ""),
        ip=values.get("source_ip", "").strip(),
        number=values["dest_number"].strip(),
        user=values.get("source_cli", "").strip(),
    )
    return (
        values["call_id"].strip(),
        customer,
        start,
        clean(values.get("source_cli", ""), 64),
        number,
        "",
        talk if int(sip) < 300 else "0",
        "",
        sip,
        clean(reason, 64),
        whole_number(values.get("setuptime", ""), "setuptime", scale=1000),
        "",
        "",
        direction_of(values.get("direction", ""), options.direction),
        values.get("source_ip", "").strip(),
    )
