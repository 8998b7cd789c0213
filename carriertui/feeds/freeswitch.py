"""FreeSWITCH channel variables (the same names in mod_cdr_csv templates and mod_json_cdr) to
the native row: shared by the CSV and the JSON reader.

- call_id: ``uuid`` (the leg's own: unique across switches and restarts).
- start_time: ``start_epoch`` (or ``start_uepoch``) when present; else ``start_stamp``, the
  switch's local time, in its zone (a DST fold resolved by ``end_stamp`` and ``duration``).
- duration: ``billsec`` (talk time; else ``billmsec`` rounded up).
- sip_code: ``sip_term_status``, else ``proto_specific_hangup_cause`` (``sip:486``), else the
  Q.850 ``hangup_cause`` mapped after RFC 3398; release_reason: ``hangup_cause``.
- pdd_ms: ``progress_mediamsec``, else ``progressmsec`` (0 when the template has neither).
- customer: ``accountcode``; source_ip: ``network_addr`` or ``sip_network_ip``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import repeat

from carriertui.feeds.common import (
    Q850_SIP,
    BadRecord,
    EpochClock,
    FeedOptions,
    LocalClock,
    clean,
    first,
    sip_from_q850,
    sip_status,
    whole_number,
    whole_seconds,
)
from carriertui.feeds.groups import (
    accounts_column,
    digits_column,
    plain_column,
    sip_column,
)

# What a column-path group's direction may be; anything else (a B-leg's "outbound" in any
# case or spacing) sends the group to the careful path, which tells them apart (is_b_leg).
_A_LEG_DIRECTIONS = frozenset({"inbound", ""})

# The variables ChannelRows.rows_of_columns reads (a record's other variables cannot change
# the row it gives; "direction" only tells a B-leg, which a JSON group drops before).
COLUMN_VARIABLES = (
    "uuid",
    "start_epoch",
    "start_uepoch",
    "start_stamp",
    "billsec",
    "hangup_cause",
    "sip_term_status",
    "proto_specific_hangup_cause",
    "progress_mediamsec",
    "progressmsec",
    "caller_id_number",
    "ani",
    "network_addr",
    "sip_network_ip",
    "destination_number",
    "accountcode",
)


class ChannelRows:
    """Native rows from dicts of channel variables (one per leg)."""

    def __init__(self, options: FeedOptions, has_epoch: bool) -> None:
        self.options = options
        self.epochs = EpochClock()
        self._clock: LocalClock | None = None
        self.has_epoch = has_epoch

    def clock(self) -> LocalClock:
        if self._clock is None:
            self._clock = self.options.clock("FreeSWITCH *_stamp times (no ${start_epoch})")
        return self._clock

    def is_b_leg(self, values: dict[str, str], channel_direction: str = "") -> bool:
        """A leg the switch originated (direction outbound): the A-leg is the customer's call."""
        direction = (channel_direction or values.get("direction", "")).strip().lower()
        return direction == "outbound"

    def start(self, values: dict[str, str]) -> str:
        epoch = values.get("start_epoch", "").strip()
        if epoch and epoch != "0":
            return self.epochs.utc(epoch)
        micro = values.get("start_uepoch", "").strip()
        if micro and micro != "0":
            return self.epochs.utc(micro, micro=True)
        stamp = values.get("start_stamp", "").strip()
        if not stamp:
            raise BadRecord("no start time (start_epoch and start_stamp are empty)")
        ringing = values.get("duration", "").strip()
        seconds = int(ringing) if ringing.isdigit() else -1
        return self.clock().utc_with_end(stamp, values.get("end_stamp", ""), seconds)

    def row(self, values: dict[str, str]) -> tuple[str, ...]:
        call_id = values.get("uuid", "").strip()
        if not call_id:
            raise BadRecord("uuid is empty: no call id to de-duplicate by")
        if values.get("billsec", "").strip():
            talk = whole_seconds(values["billsec"], "billsec")
        else:
            talk = whole_seconds(values.get("billmsec", ""), "billmsec", scale=1000)
        answered = talk != "0" or bool(
            values.get("answer_epoch", "").strip("0 ") or values.get("answer_stamp", "").strip()
        )
        status = values.get("sip_term_status", "").strip()
        cause = values.get("hangup_cause", "").strip()
        if status:
            sip = sip_status(status, "sip_term_status")
        elif values.get("proto_specific_hangup_cause", "").startswith("sip:"):
            sip = sip_status(values["proto_specific_hangup_cause"], "proto_specific_hangup_cause")
        elif cause or values.get("hangup_cause_q850", "").strip():
            sip = sip_from_q850(cause or values["hangup_cause_q850"], answered and talk != "0")
        else:
            raise BadRecord("no result: hangup_cause and sip_term_status are empty")
        pdd = first(values, "progress_mediamsec", "progressmsec")
        ip = first(values, "network_addr", "sip_network_ip").strip()
        cli = first(values, "caller_id_number", "ani")
        customer, number = self.options.customer_of(
            values.get("accountcode", ""),
            ip=ip,
            number=first(values, "destination_number", "dialed_number").strip(),
            user=first(values, "sip_from_user", "caller_id_number").strip(),
        )
        return (
            call_id,
            customer,
            self.start(values),
            clean(cli, 64),
            number,
            "",
            talk,
            "",
            sip,
            clean(cause, 64),
            whole_number(pdd, "progress_mediamsec"),
            "",
            "",
            self.options.direction,
            ip,
        )

    # -- a group at a time (see common.Block) -----------------------------------------------

    def epoch_column(self, texts: Sequence[str]) -> list[str] | None:
        if not digits_column(texts):
            return None
        cache = self.epochs._minutes
        result = []
        for text in texts:
            value = int(text)
            if value <= 0:
                return None
            minute, second = divmod(value, 60)
            prefix = cache.get(minute)
            if prefix is None:
                prefix = self.epochs.utc(str(minute * 60))[:16]
            result.append(f"{prefix}:{second:02d}Z")
        return result

    def rows_of_columns(self, columns: Mapping[str, Sequence[str]]) -> list[tuple[str, ...]] | None:
        """The native rows of a group's columns (variable -> values), or None when any record
        needs the careful path (``row``): a B-leg, a DST edge, a missing value, ..."""
        get = columns.get
        uuids = get("uuid")
        if uuids is None or not plain_column(uuids, 128, required=True):
            return None
        count = len(uuids)
        direction = get("direction")
        if direction is not None and not set(direction) <= _A_LEG_DIRECTIONS:
            return None  # a B-leg, however written (is_b_leg): the careful path drops it
        epochs = get("start_epoch")
        if epochs is not None and digits_column(epochs):
            starts = self.epoch_column(epochs)
        elif epochs is None and get("start_uepoch") is None and get("start_stamp") is not None:
            starts = self.clock().utc_column(columns["start_stamp"])
        else:
            starts = None
        talk = get("billsec")
        if starts is None or talk is None or not digits_column(talk):
            return None
        causes = get("hangup_cause")
        status = get("sip_term_status")
        if status is not None:
            if not sip_column(status):
                return None
            sips = list(status)
        elif causes is not None and get("proto_specific_hangup_cause") is None:
            if not all(causes) or not all(map(str.isupper, causes)):
                return None
            sips = [
                "200"
                if t != "0"
                else "487"
                if c == "NORMAL_CLEARING"
                else str(Q850_SIP.get(c, 500))
                for t, c in zip(talk, causes, strict=True)
            ]
        else:
            return None
        reasons = causes if causes is not None else repeat("", count)
        if causes is not None and not plain_column(causes, 64):
            return None
        pdd = _column(columns, "progress_mediamsec", "progressmsec", "0")
        if pdd is None or (not isinstance(pdd, repeat) and not digits_column(pdd)):
            return None
        clis = _column(columns, "caller_id_number", "ani", "")
        ips = _column(columns, "network_addr", "sip_network_ip", "")
        numbers = get("destination_number")
        accounts = get("accountcode")
        if clis is None or ips is None or numbers is None or accounts is None:
            return None
        if not isinstance(clis, repeat) and not plain_column(clis, 64):
            return None
        if not isinstance(ips, repeat) and not plain_column(ips, 64):
            return None
        if not plain_column(numbers, 64, required=True):
            return None
        customers = accounts_column(accounts, self.options)
        if customers is None:
            return None
        return list(
            zip(
                uuids,
                customers,
                starts,
                clis,
                numbers,
                repeat("", count),
                talk if not any(t[0] == "0" and len(t) > 1 for t in talk) else map(_whole, talk),
                repeat("", count),
                sips,
                reasons,
                pdd,
                repeat("", count),
                repeat("", count),
                repeat(self.options.direction, count),
                ips,
                strict=False,  # the repeat()s are endless
            )
        )


def _whole(text: str) -> str:
    return str(int(text))


def _column(
    columns: Mapping[str, Sequence[str]], name: str, fallback: str, default: str
) -> Sequence[str] | repeat[str] | None:
    """What ``first(values, name, fallback)`` gives each record, as a column: ``name``'s
    values, ``fallback``'s when the template has no ``name``, ``default`` repeated when it has
    neither; None when the records would differ (some ``name`` empty, ``fallback`` there)."""
    values = columns.get(name)
    other = columns.get(fallback)
    if values is not None:
        return values if all(values) or other is None else None
    if other is not None:
        return other
    return repeat(default)
