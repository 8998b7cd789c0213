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

from carriertui.feeds.common import (
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
        return (
            call_id,
            self.options.account(values.get("accountcode", "")),
            self.start(values),
            clean(first(values, "caller_id_number", "ani"), 64),
            first(values, "destination_number", "dialed_number").strip(),
            "",
            talk,
            "",
            sip,
            clean(cause, 64),
            whole_number(pdd, "progress_mediamsec"),
            "",
            "",
            self.options.direction,
            first(values, "network_addr", "sip_network_ip").strip(),
        )
