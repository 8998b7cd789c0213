"""What every switch format shares: the native row it becomes, the options, times and numbers.

A format module reads one switch's CDR file and yields, per record, either the native CSV row
(the columns of carriertui's own import, in ``NATIVE_COLUMNS`` order, as text) or the reason
the record cannot be one. The native importer then checks and stores those rows with every
guarantee it has (one transaction, ``call_id`` de-duplication, line numbers), and rates the
rows that carry no money (charge, cost and billed_duration left empty).

Pure: the standard library only (no database, no Textual).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from carriertui.feeds.matching import MatchRules

# store.cdrs.fields.CSV_COLUMNS (the base layer cannot import the store); a test checks they agree.
NATIVE_COLUMNS = (
    "call_id",
    "customer",
    "start_time",
    "source_cli",
    "dest_number",
    "dest_name",
    "duration",
    "billed_duration",
    "sip_code",
    "release_reason",
    "pdd_ms",
    "charge",
    "cost",
    "direction",
    "source_ip",
)
DIRECTIONS = ("inbound", "outbound")
AMBIGUOUS_RULES = ("reject", "earlier", "later")


class FeedError(ValueError):
    """A whole file cannot be read as the format (bad header, no time zone, unsure detection)."""


class BadRecord(ValueError):
    """One record cannot become a CDR; the message is the reason shown with its line."""


class Converted(NamedTuple):
    """One record of the switch file: its native row, or why it has none."""

    line: int  # where the record starts in the source (1 = the first line); a JSON file: 1
    row: tuple[str, ...] | None
    reason: str = ""
    source: str = ""  # the file a record came from, when a directory is read (JSON)


@dataclass
class Tally:
    """Records that are neither CDRs nor rejects, counted for the report."""

    b_legs: int = 0  # FreeSWITCH B-leg (outbound) records: the A-leg is the customer's call
    merged: int = 0  # Asterisk fork rows folded into their call's attempt (same linkedid)

    def text(self) -> str:
        parts = []
        if self.b_legs:
            parts.append(f"{self.b_legs} B-leg records left out")
        if self.merged:
            parts.append(f"{self.merged} fork rows merged into their call")
        return ", ".join(parts)


@dataclass
class FeedOptions:
    """How to read a switch file: its zone, templates, and who the customers are."""

    zone: str | None = None  # IANA zone of a switch writing local time; None: not given
    utc: bool = False  # the switch writes UTC (Asterisk usegmtime=yes; acc time_mode 4)
    ambiguous: str = "reject"  # a local time in a DST fold: reject, or take the earlier/later
    template: tuple[str, ...] | None = None  # FreeSWITCH CSV: the template's variables
    direction: str = "outbound"  # what the calls are, when the file does not say
    customer: str | None = None  # every row's account code (a one-customer ConnexCS download)
    customers: frozenset[str] | None = None  # known account codes; None: do not check here
    money: bool = False  # set by a reader whose file carries charge and cost (ConnexCS)
    rules: MatchRules | None = None  # the customers' match rules (beyond account codes)
    tally: Tally = field(default_factory=Tally)

    def clock(self, what: str) -> LocalClock:
        """The clock for ``what`` (a format's local times): UTC, the zone, or FeedError."""
        if self.utc:
            return LocalClock(None, self.ambiguous)
        if self.zone is None:
            raise FeedError(
                f"{what} are local time of the switch with no offset: give the switch's zone "
                "(--tz Europe/Berlin, or [feeds] tz in the config), or --utc if it writes UTC"
            )
        return LocalClock(zone_named(self.zone), self.ambiguous)

    def customer_of(
        self, code: str, *, ip: str = "", number: str = "", user: str = ""
    ) -> tuple[str, str]:
        """(the customer's account code, the number to rate: a matched tech prefix taken off),
        or BadRecord with the reason (no customer matches, or two do)."""
        if self.customer is not None or self.rules is None:
            return self.account(code), number
        try:
            return self.rules.customer_of(code, ip=ip, number=number, user=user)
        except ValueError as error:
            raise BadRecord(str(error)) from None

    def account(self, code: str) -> str:
        """The customer's account code for the file's ``code``, or BadRecord with the reason."""
        if self.customer is not None:
            code = self.customer
        code = code.strip()
        if not code:
            raise BadRecord("no account code in the record: cannot tell which customer it is")
        if self.customers is not None and code not in self.customers:
            raise BadRecord(f"no customer has the account code {code!r}")
        return code


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FeedError(
            f"unknown time zone {name!r} (an IANA name such as Europe/Berlin)"
        ) from None


# -- times --------------------------------------------------------------------------------------

_LOCAL = re.compile(r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(\.\d{1,9})?$")
_EPOCH_TEXT = "%Y-%m-%dT%H:%M"


class LocalClock:
    """Turns a switch's local "YYYY-MM-DD HH:MM:SS[.fff]" into the native UTC text.

    DST: a local time in a gap (clocks went forward: it never happened) is a bad record; one in
    a fold (clocks went back: it happened twice) is resolved by the format when it can (an end
    time and a duration), else by ``ambiguous``: reject (default), the earlier or the later.
    Offsets are whole minutes in every zone since 1972, so the answer is cached per minute.
    """

    def __init__(self, zone: ZoneInfo | None, ambiguous: str = "reject") -> None:
        self.zone = zone
        self.ambiguous = ambiguous
        # local "YYYY-MM-DD HH:MM" -> the UTC prefix, or a tuple of the fold's two prefixes
        self._minutes: dict[str, str | tuple[str, str]] = {}

    def _minute(self, key: str, text: str) -> str | tuple[str, str]:
        found = self._minutes.get(key)
        if found is not None:
            return found
        match = _LOCAL.match(text)
        if match is None:
            raise BadRecord(f"not a date and time (YYYY-MM-DD HH:MM:SS): {text!r}")
        year, month, day, hour, minute = (int(part) for part in match.groups()[:5])
        try:
            naive = datetime(year, month, day, hour, minute)
        except ValueError:
            raise BadRecord(f"no such date and time: {text!r}") from None
        if self.zone is None:
            result: str | tuple[str, str] = key.replace(" ", "T")
        else:
            candidates = []
            for fold in (0, 1):
                local = naive.replace(fold=fold, tzinfo=self.zone)
                utc = local.astimezone(UTC)
                back = utc.astimezone(self.zone).replace(tzinfo=None)
                if back == naive:
                    candidates.append(utc.strftime(_EPOCH_TEXT))
            candidates = sorted(set(candidates))
            if not candidates:
                raise BadRecord(
                    f"{text} does not exist in {self.zone.key} (the clocks went forward then): "
                    "the switch's clock or zone is wrong"
                )
            result = candidates[0] if len(candidates) == 1 else (candidates[0], candidates[1])
        if len(self._minutes) < 100_000:
            self._minutes[key] = result
        return result

    def _parts(self, text: str) -> tuple[str | tuple[str, str], str]:
        text = text.strip()
        if len(text) < 19:
            raise BadRecord(f"not a date and time (YYYY-MM-DD HH:MM:SS): {text!r}")
        seconds = text[17:19]
        if seconds == "60":
            raise BadRecord(
                f"{text} is a leap second, which carriertui cannot store (no time has a second "
                "60): fix the switch's record or its clock (smear leap seconds, as NTP servers can)"
            )
        if not (seconds.isdigit() and seconds < "60"):
            raise BadRecord(f"not a date and time (YYYY-MM-DD HH:MM:SS): {text!r}")
        prefix = self._minute(text[:16], text)
        fraction = text[19:26]
        # ":SS" + the fraction in 6 places (the native import's fast path takes that form)
        rest = text[16:19] + (fraction.ljust(7, "0") if fraction else "") + "Z"
        if len(text) > 19 and not (text[19] == "." and text[20:].isdigit()):
            raise BadRecord(f"not a date and time (YYYY-MM-DD HH:MM:SS): {text!r}")
        return prefix, rest

    def utc_column(self, texts: Sequence[str]) -> list[str] | None:
        """The UTC texts of a column of "YYYY-MM-DD HH:MM:SS[.fff]" values (all of one length),
        or None when any is unusual (another form, a DST gap or fold, a leap second, a bad
        date): the careful path then says which and why."""
        lengths = set(map(len, texts))
        if len(lengths) != 1:
            return None
        width = lengths.pop()
        if width != 19 and not 21 <= width <= 26:
            return None
        joined = "".join(texts)
        count = len(texts)
        seconds = joined[17::width]  # the tens of the seconds, one a value
        if not joined.isascii() or not seconds.isdigit() or max(seconds) > "5":
            return None
        if joined[16::width] != ":" * count or not joined[18::width].isdigit():
            return None
        if width > 19:
            if joined[19::width] != "." * count:
                return None
            if not all(text[20:].isdigit() for text in texts):
                return None
        cache = self._minutes
        keys = [text[:16] for text in texts]
        try:
            prefixes = list(map(cache.__getitem__, keys))
        except KeyError:
            try:
                for key, text in zip(keys, texts, strict=True):
                    if key not in cache:
                        self._minute(key, text)
                prefixes = list(map(cache.__getitem__, keys))
            except (BadRecord, KeyError):
                return None  # a bad time, or the cache is full: the careful path
        if set(map(type, prefixes)) != {str}:
            return None  # a fold: the careful path resolves it
        plain: list[str] = prefixes  # type: ignore[assignment]  # every one a str (above)
        tail = "Z" if width == 19 else "0" * (26 - width) + "Z"
        return [p + t[16:] + tail for p, t in zip(plain, texts, strict=True)]

    def utc(self, text: str) -> str:
        """The UTC text, or BadRecord (a gap, a leap second, or a fold and the rule says so)."""
        prefix, rest = self._parts(text)
        if isinstance(prefix, str):
            return prefix + rest
        if self.ambiguous == "earlier":
            return prefix[0] + rest
        if self.ambiguous == "later":
            return prefix[1] + rest
        raise self._ambiguity(text)

    def candidates(self, text: str) -> list[str]:
        """Every UTC text ``text`` can be (two in a fold); BadRecord for a gap or a bad time."""
        prefix, rest = self._parts(text)
        if isinstance(prefix, str):
            return [prefix + rest]
        return [prefix[0] + rest, prefix[1] + rest]

    def utc_with_end(self, start: str, end: str, seconds: int) -> str:
        """The start's UTC text, a fold resolved by the end time and the seconds between them
        (Asterisk ``duration``, FreeSWITCH end - start): only one pair of readings fits."""
        starts = self.candidates(start)
        if len(starts) == 1:
            return starts[0]
        if end.strip():
            ends = self.candidates(end)
            fitting = {
                s
                for s in starts
                for e in ends
                if abs((_moment(e) - _moment(s)).total_seconds() - seconds) < 1
            }
            if len(fitting) == 1:
                return fitting.pop()
        return self.utc(start)

    def _ambiguity(self, text: str) -> BadRecord:
        zone = self.zone.key if self.zone else "UTC"
        return BadRecord(
            f"{text} happened twice in {zone} (the clocks went back then) and the record cannot "
            "tell which: use the switch's epoch times (FreeSWITCH ${start_epoch}), "
            "usegmtime=yes, or --ambiguous earlier|later"
        )


def _moment(utc_text: str) -> datetime:
    return datetime.fromisoformat(utc_text)


class EpochClock:
    """Unix seconds (or with a fraction, or in microseconds) to the native UTC text."""

    def __init__(self) -> None:
        self._minutes: dict[int, str] = {}

    def utc(self, text: str, *, micro: bool = False) -> str:
        value = text.strip()
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise BadRecord(f"not a Unix time: {text!r}") from None
        if not number.is_finite() or number <= 0:
            raise BadRecord(f"not a Unix time: {text!r}")
        if micro:
            number = number / 1_000_000
        whole = int(number)
        minute = whole // 60
        prefix = self._minutes.get(minute)
        if prefix is None:
            try:
                prefix = datetime.fromtimestamp(minute * 60, UTC).strftime(_EPOCH_TEXT)
            except (OverflowError, OSError, ValueError):
                raise BadRecord(f"not a Unix time: {text!r}") from None
            if len(self._minutes) < 100_000:
                self._minutes[minute] = prefix
        fraction = number - whole
        micros = int((fraction * 1_000_000).to_integral_value(rounding=ROUND_HALF_UP))
        tail = f".{micros:06d}" if micros else ""
        return f"{prefix}:{whole % 60:02d}{tail}Z"


def aware_utc(text: str) -> str:
    """An ISO time with an offset (or Z) as the native UTC text; naive text is taken as UTC."""
    value = text.strip()
    if len(value) >= 19 and value[17:19] == "60":
        LocalClock(None)._parts(value)  # the leap-second message
    try:
        moment = datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError:
        raise BadRecord(f"not a date and time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{utc.microsecond:06d}Z" if utc.microsecond else "Z"
    )


def plus_seconds(utc_text: str, seconds: float) -> str:
    moment = _moment(utc_text) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{moment.microsecond:06d}Z" if moment.microsecond else "Z"
    )


def seconds_between(start_utc: str, end_utc: str) -> float:
    return (_moment(end_utc) - _moment(start_utc)).total_seconds()


# -- numbers ------------------------------------------------------------------------------------


def whole_seconds(text: str, what: str, *, scale: int = 1) -> str:
    """A duration as whole seconds: decimals and milliseconds (``scale`` 1000) round UP, so a
    call that lasted 0.2 s still counts as connected (duration > 0)."""
    value = text.strip()
    if value.isdigit() and scale == 1:
        return str(int(value))
    if not value:
        return "0"
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise BadRecord(f"{what}: not a number: {text!r}") from None
    if not number.is_finite() or "e" in value.lower():
        raise BadRecord(f"{what}: not a number: {text!r}")
    if number < 0:
        raise BadRecord(f"{what}: negative ({value})")
    return str(int((number / scale).to_integral_value(rounding=ROUND_CEILING)))


def whole_number(text: str, what: str, *, scale: int = 1) -> str:
    """A count (milliseconds of PDD) rounded half-up to a whole number; empty is 0."""
    value = text.strip()
    if value.isdigit() and scale == 1:
        return str(int(value))
    if not value:
        return "0"
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise BadRecord(f"{what}: not a number: {text!r}") from None
    if not number.is_finite() or number < 0:
        raise BadRecord(f"{what}: not a number >= 0: {text!r}")
    return str(int((number * scale).to_integral_value(rounding=ROUND_HALF_UP)))


def money(text: str, what: str) -> str:
    """An amount as the native import takes it: at most 4 places, rounded half-up (the house
    rule)."""
    value = text.strip()
    if not value:
        return ""
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise BadRecord(f"{what}: not a decimal number: {text!r}") from None
    if not number.is_finite():
        raise BadRecord(f"{what}: not a decimal number: {text!r}")
    if number < 0:
        raise BadRecord(f"{what}: negative ({value})")
    return str(number.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def sip_status(text: str, what: str = "sip_code") -> str:
    value = text.strip()
    if value.startswith("sip:"):  # FreeSWITCH proto_specific_hangup_cause
        value = value[4:]
    if value.isdigit() and 100 <= int(value) <= 699:
        return str(int(value))
    raise BadRecord(f"{what}: not a SIP status (100-699): {text!r}")


# Q.850 cause (FreeSWITCH hangup_cause names and numbers) -> SIP status, after RFC 3398 s.8.2.
# NORMAL_CLEARING is 200 only when the call was answered (billsec > 0): see sip_from_q850.
Q850_SIP = {
    "UNALLOCATED_NUMBER": 404,
    "NO_ROUTE_TRANSIT_NET": 404,
    "NO_ROUTE_DESTINATION": 404,
    "USER_BUSY": 486,
    "NO_USER_RESPONSE": 408,
    "NO_ANSWER": 480,
    "SUBSCRIBER_ABSENT": 480,
    "CALL_REJECTED": 403,
    "NUMBER_CHANGED": 410,
    "REDIRECTION_TO_NEW_DESTINATION": 410,
    "DESTINATION_OUT_OF_ORDER": 502,
    "INVALID_NUMBER_FORMAT": 484,
    "FACILITY_REJECTED": 501,
    "NORMAL_UNSPECIFIED": 480,
    "NORMAL_CIRCUIT_CONGESTION": 503,
    "NETWORK_OUT_OF_ORDER": 503,
    "NORMAL_TEMPORARY_FAILURE": 503,
    "SWITCH_CONGESTION": 503,
    "REQUESTED_CHAN_UNAVAIL": 503,
    "BEARERCAPABILITY_NOTAUTH": 403,
    "BEARERCAPABILITY_NOTAVAIL": 503,
    "SERVICE_UNAVAILABLE": 503,
    "BEARERCAPABILITY_NOTIMPL": 488,
    "INCOMPATIBLE_DESTINATION": 488,
    "RECOVERY_ON_TIMER_EXPIRE": 504,
    "ORIGINATOR_CANCEL": 487,
    "LOSE_RACE": 487,
    "ALLOTTED_TIMEOUT": 408,
    "MEDIA_TIMEOUT": 408,
    "PROGRESS_TIMEOUT": 408,
    "GATEWAY_DOWN": 502,
    "EXCHANGE_ROUTING_ERROR": 483,
    "INTERWORKING": 500,
}
Q850_NUMBERS = {
    1: "UNALLOCATED_NUMBER",
    3: "NO_ROUTE_DESTINATION",
    16: "NORMAL_CLEARING",
    17: "USER_BUSY",
    18: "NO_USER_RESPONSE",
    19: "NO_ANSWER",
    21: "CALL_REJECTED",
    22: "NUMBER_CHANGED",
    27: "DESTINATION_OUT_OF_ORDER",
    28: "INVALID_NUMBER_FORMAT",
    31: "NORMAL_UNSPECIFIED",
    34: "NORMAL_CIRCUIT_CONGESTION",
    38: "NETWORK_OUT_OF_ORDER",
    41: "NORMAL_TEMPORARY_FAILURE",
    42: "SWITCH_CONGESTION",
    44: "REQUESTED_CHAN_UNAVAIL",
    47: "SERVICE_UNAVAILABLE",
    102: "RECOVERY_ON_TIMER_EXPIRE",
    127: "INTERWORKING",
}


def sip_from_q850(cause: str, answered: bool) -> str:
    """The SIP status for a Q.850 cause name (or number): answered calls are 200; a normal
    clearing that was never answered was cancelled (487); an unknown failure is 500."""
    name = cause.strip().upper()
    if name.isdigit():
        name = Q850_NUMBERS.get(int(name), name)
    if answered:
        return "200"
    if name == "NORMAL_CLEARING":
        return "487"
    return str(Q850_SIP.get(name, 500))


def first(values: dict[str, str], *names: str) -> str:
    """The first non-empty of ``values[name]`` for ``names`` ("" when none is)."""
    for name in names:
        value = values.get(name)
        if value:
            return value
    return ""


def clean(text: str, limit: int) -> str:
    """Text cut to what the native import allows (limit characters), line breaks as spaces (a
    native row is one line: rejects keep their line numbers)."""
    if "\r" in text or "\n" in text:
        text = text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    return text[:limit]


def direction_of(text: str, default: str) -> str:
    value = text.strip().lower()
    return value if value in DIRECTIONS else default


def converted(
    records: Iterator[tuple[int, Callable[[], tuple[str, ...] | None]]],
) -> Iterator[Converted]:
    """Each record's build() as a Converted: its row, its BadRecord's reason; None is left out."""
    for line, build in records:
        try:
            row = build()
        except BadRecord as bad:
            yield Converted(line, None, str(bad))
            continue
        if row is not None:
            yield Converted(line, row)


def ceil_seconds(value: float) -> int:
    return max(0, math.ceil(value - 1e-9))


def csv_records(
    handle: object, *, delimiter: str = ",", skip_initial_space: bool = False
) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, its fields) of a CSV text stream; blank lines are left out.
    A malformed file (a quote never closed) is a FeedError naming the line."""
    import csv

    reader = csv.reader(
        handle,  # type: ignore[arg-type]
        delimiter=delimiter,
        skipinitialspace=skip_initial_space,
        strict=False,
    )
    line = 0
    try:
        for fields in reader:
            start = line + 1
            line = reader.line_num
            if fields:
                yield start, fields
    except csv.Error as error:
        raise FeedError(f"line {line + 1}: {error}") from error
