"""ConnexCS CDR download: CSV with a header, the API column names (``dt``, ``callid``,
``dest_number``, ``customer_charge``, ...) or the portal's display names (``Call ID``, ``Call
Time``, ...), the columns the user chose, in any order. Times are UTC. Durations may be
decimal: talk time rounds up to whole seconds (a 0.4 s call stays connected), money to 4
places half-up.

- call_id: ``callid`` / ``Call ID``; start_time: ``dt`` / ``Call Time`` (UTC).
- customer: ``customer_id`` (or ``customer``, ``account``) matched against the account code;
  a portal download is one customer's and has none: ``--customer CODE`` names it.
- charge: ``customer_charge`` / ``Charge``, billed_duration: ``customer_duration`` /
  ``Billed Duration``; cost: ``provider_charge`` / ``provider_cost`` / ``Cost`` when the file has
  one (the references name no provider-cost column). Without a cost the row is rated from
  the customer's and the provider's cards (the native import takes charge and cost as a pair).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TextIO

from carriertui.feeds.common import (
    BadRecord,
    Converted,
    FeedError,
    FeedOptions,
    LocalClock,
    aware_utc,
    clean,
    csv_records,
    direction_of,
    money,
    sip_status,
    whole_number,
    whole_seconds,
)
from carriertui.feeds.groups import (
    Block,
    accounts_column,
    ceil_column,
    columns_of,
    digits_column,
    fast_groups,
    money_column,
    plain_column,
    records_of,
    sip_column,
)

NAME = "connexcs"
# Our field -> the header names it may have (compared case-folded, spaces and _ alike).
ALIASES: dict[str, tuple[str, ...]] = {
    "call_id": ("callid", "call id"),
    "start": ("dt", "call time"),
    "customer": ("customer_id", "customer", "account", "customer id"),
    "source_cli": ("source_cli", "source number", "cli"),
    "dest_number": ("dest_number", "destination", "destination number"),
    "dest_name": ("customer_card_dest_name", "destination name"),
    "duration": ("duration",),
    "billed": ("customer_duration", "billed duration"),
    "sip_code": ("sip_code", "sip code"),
    "release_reason": ("release_reason", "release reason", "sip_reason", "sip reason"),
    "pdd": ("pdd_in", "pdd in", "pdd"),
    "charge": ("customer_charge", "charge"),
    "cost": ("provider_charge", "provider_cost", "provider cost", "cost"),
    "direction": ("direction",),
    "source_ip": ("source_ip", "source ip"),
}
REQUIRED = ("call_id", "start", "dest_number", "duration", "sip_code")
# Header names only ConnexCS writes: detection needs two of them.
SIGNATURE = frozenset(
    {
        "dt",
        "callid",
        "dest_cli",
        "customer_charge",
        "customer_duration",
        "customer_id",
        "call id",
        "call time",
        "source number",
        "billed duration",
        "pdd in",
        "release reason",
        "customer_card_dest_name",
        "source_dest_number",
        "pdd_in",
    }
)


def _key(name: str) -> str:
    return " ".join(name.strip().strip("\ufeff").casefold().replace("_", " ").split())


def looks_like(header: list[str]) -> bool:
    names = {_key(name) for name in header}
    return len(names & {_key(name) for name in SIGNATURE}) >= 2


def delimiter_of(line: str) -> str:
    counts = {d: line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=counts.__getitem__)


def columns(header: list[str]) -> dict[str, int]:
    at = {_key(name): index for index, name in reversed(list(enumerate(header)))}
    found = {}
    for field, names in ALIASES.items():
        for name in names:
            if _key(name) in at:
                found[field] = at[_key(name)]
                break
    missing = [
        ALIASES[field][0] + " / " + ALIASES[field][1] for field in REQUIRED if field not in found
    ]
    if missing:
        raise FeedError("line 1: not a ConnexCS CDR download: no column " + ", ".join(missing))
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
            "line 1: no customer_id column (a portal download is one customer's): "
            "give --customer CODE"
        )
    options.money = "charge" in at and "cost" in at
    width = len(header)
    clock = LocalClock(None)  # UTC: the plain form's text, checked a column at a time
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
            try:
                yield Converted(line, _row(fields, at, options))
            except BadRecord as bad:
                yield Converted(line, None, str(bad))


def _fast(
    columns: Sequence[Sequence[str]],
    at: dict[str, int],
    options: FeedOptions,
    clock: LocalClock,
) -> list[tuple[str, ...]] | None:
    """The group's rows a column at a time (the same as _row gives), or None."""
    count = len(columns[0])
    empty = ("",) * count

    def column(field: str) -> Sequence[str]:
        index = at.get(field)
        return columns[index] if index is not None else empty

    call_ids, numbers = column("call_id"), column("dest_number")
    if not plain_column(call_ids, 128, required=True) or not plain_column(
        numbers, 64, required=True
    ):
        return None
    if not plain_column(column("source_cli"), 64) or not plain_column(column("dest_name"), 100):
        return None
    if not plain_column(column("release_reason"), 64):
        return None
    starts = clock.utc_column(column("start"))
    talk = ceil_column(column("duration"))
    customers = accounts_column(column("customer"), options)
    sips = column("sip_code")
    if starts is None or talk is None or customers is None or not sip_column(sips):
        return None
    pdd = column("pdd")
    if "pdd" in at and not digits_column(pdd):
        return None
    if "pdd" not in at:
        pdd = ("0",) * count
    directions = column("direction")
    if not set(directions) <= {"inbound", "outbound", ""}:
        return None
    directions = tuple(d or options.direction for d in directions)
    ips = column("source_ip")
    if not plain_column(ips, 64) or ":" in "".join(ips):
        return None
    charges: Sequence[str] | None = empty  # no money: rated from the cards
    costs: Sequence[str] | None = empty
    billed: Sequence[str] = empty
    if "charge" in at and "cost" in at:
        charges, costs = money_column(column("charge")), money_column(column("cost"))
        billed = column("billed")
        if charges is None or costs is None or "billed" not in at or not digits_column(billed):
            return None
    assert charges is not None and costs is not None
    return list(
        zip(
            call_ids,
            customers,
            starts,
            column("source_cli"),
            numbers,
            column("dest_name"),
            talk,
            billed,
            sips,
            column("release_reason"),
            pdd,
            charges,
            costs,
            directions,
            ips,
            strict=True,
        )
    )


def _get(fields: list[str], at: dict[str, int], field: str) -> str:
    index = at.get(field)
    return fields[index] if index is not None else ""


def _row(fields: list[str], at: dict[str, int], options: FeedOptions) -> tuple[str, ...]:
    get = _get
    talk = whole_seconds(get(fields, at, "duration"), "duration")
    charge = money(get(fields, at, "charge"), "charge")
    billed_text = get(fields, at, "billed")
    billed = whole_seconds(billed_text, "billed duration") if billed_text.strip() else ""
    cost = money(get(fields, at, "cost"), "cost")
    if not (charge and cost):
        # The native import takes money as a pair: without the provider's cost the row is rated
        # from both cards (the customer's and the provider's), its charge included.
        charge = cost = billed = ""
    elif not billed:
        billed = talk
    ip = get(fields, at, "source_ip").strip()
    if ip.count(":") == 1 and "." in ip:
        ip = ip.split(":")[0]  # 192.0.2.1:5060
    customer, number = options.customer_of(
        get(fields, at, "customer"),
        ip=ip,
        number=get(fields, at, "dest_number").strip(),
        user=get(fields, at, "source_cli").strip(),
    )
    return (
        get(fields, at, "call_id").strip(),
        customer,
        aware_utc(get(fields, at, "start")),
        clean(get(fields, at, "source_cli"), 64),
        number,
        clean(get(fields, at, "dest_name"), 100),
        talk,
        billed,
        sip_status(get(fields, at, "sip_code")),
        clean(get(fields, at, "release_reason"), 64),
        whole_number(get(fields, at, "pdd"), "pdd"),
        charge,
        cost,
        direction_of(get(fields, at, "direction"), options.direction),
        ip,
    )
