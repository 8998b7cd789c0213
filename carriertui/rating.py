"""Rating: what a call costs under a rate deck (issue 14). Pure: stdlib only, no database.

The rule (DOMAIN.md 8.2): a connected call of ``d`` seconds is billed ``MCD`` seconds when
``d <= MCD``, else ``MCD + ceil((d - MCD) / pulse) * pulse``; a call that was not connected
(``d <= 0``) is billed nothing and costs nothing. The charge is ``connect fee + billed / 60 x
rate per minute`` in exact decimals, rounded once, per call, to 4 places half-up.

The rate that applies is the longest prefix of the dialled number (``+`` and an optional tech
prefix stripped) among the rates in force at the call's start: ``effective_from <= start <
effective_to`` (an open ``effective_to`` never ends). Should two versions of that prefix both be
in force, the later ``effective_from`` wins (the same: the one listed later). No rate is a
:class:`NoRateError` naming the number, never a silent zero.

:func:`find_rate` is the reference (a scan); :class:`RateMatcher` is the same rule for bulk
rating: a dict of prefix -> versions sorted by start, probed from the longest prefix length down.
"""

from __future__ import annotations

import gc
from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import StrEnum
from operator import itemgetter
from typing import Any, NamedTuple

CHARGE_PLACES = 4
_CHARGE_QUANT = Decimal(1).scaleb(-CHARGE_PLACES)
# Wide enough that billed x rate / 60 is exact or (for a repeating quotient) never rounds across
# a half-way point before the one rounding to 4 places.
_CONTEXT = Context(prec=60, rounding=ROUND_HALF_UP)
_SIXTY = Decimal(60)
_ZERO = Decimal(0).quantize(_CHARGE_QUANT)
_FOREVER = float("inf")
_start = itemgetter(0)


class CardKind(StrEnum):
    """A customer card prices what the customer pays (charge); a provider card, what the
    carrier pays for the same call (cost)."""

    CUSTOMER = "customer"
    PROVIDER = "provider"


class RatingError(ValueError):
    """A call that cannot be rated; the text is the CDR's reject reason."""


class NoRateError(RatingError):
    def __init__(self, number: str, at: datetime | None = None) -> None:
        when = f" at {at.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z" if at is not None else ""
        super().__init__(f"no rate for {number}{when}")
        self.number = number


class BadNumberError(RatingError):
    def __init__(self, number: str) -> None:
        super().__init__(f"not a dialled number: {number!r} (digits, optionally after '+')")
        self.number = number


# Rate and RatedCall are NamedTuples, not frozen dataclasses: a frozen dataclass sets each field
# through object.__setattr__ (3 us for a Rate), and a deck loads 300,000 of them and bulk rating
# makes one RatedCall per call.
class Rate(NamedTuple):
    prefix: str  # digits only
    destination: str
    rate: Decimal  # per minute, in the card's currency
    connect_fee: Decimal
    mcd: int  # minimum charged duration, seconds
    pulse: int  # billing increment after the MCD, seconds (>= 1)
    effective_from: datetime  # aware UTC
    effective_to: datetime | None = None  # exclusive; None: open

    def in_force(self, at: datetime) -> bool:
        return self.effective_from <= at and (self.effective_to is None or at < self.effective_to)


class RatedCall(NamedTuple):
    number: str  # as matched: digits, tech prefix and '+' stripped
    rate: Rate | None  # None for a call that was not connected and matched nothing
    billed_seconds: int
    charge: Decimal


def billed_seconds(duration: int, mcd: int, pulse: int) -> int:
    """Seconds billed for a call of ``duration`` seconds under ``mcd``/``pulse``."""
    if duration <= 0:
        return 0
    if duration <= mcd:
        return mcd
    return mcd + -(-(duration - mcd) // pulse) * pulse


def charge(rate: Decimal, connect_fee: Decimal, billed: int) -> Decimal:
    """Connect fee + billed / 60 x rate per minute, rounded to 4 places half-up (billed 0: 0)."""
    if billed <= 0:
        return _ZERO
    exact = _CONTEXT.add(
        connect_fee, _CONTEXT.divide(_CONTEXT.multiply(Decimal(billed), rate), _SIXTY)
    )
    return exact.quantize(_CHARGE_QUANT, rounding=ROUND_HALF_UP, context=_CONTEXT)


def dialled_digits(number: str, tech_prefix: str = "") -> str:
    """The number as rates match it: surrounding blanks, one leading ``+`` and then the tech
    prefix (when the number starts with it) removed. Anything but ASCII digits left is an error."""
    digits = number.strip()
    digits = digits.removeprefix("+")
    if tech_prefix:
        digits = digits.removeprefix(tech_prefix)
    if not digits or not (digits.isascii() and digits.isdigit()):
        raise BadNumberError(number)
    return digits


def find_rate(rates: Iterable[Rate], number: str, at: datetime, tech_prefix: str = "") -> Rate:
    """The reference rule, by scanning every rate: fine for one number, too slow for a deck."""
    digits = dialled_digits(number, tech_prefix)
    best: Rate | None = None
    for rate in rates:
        if not rate.in_force(at) or not digits.startswith(rate.prefix):
            continue
        if (
            best is None
            or len(rate.prefix) > len(best.prefix)
            or (len(rate.prefix) == len(best.prefix) and rate.effective_from >= best.effective_from)
        ):
            best = rate
    if best is None:
        raise NoRateError(digits, at)
    return best


def rate_call(rate: Rate | None, number: str, duration: int) -> RatedCall:
    """The billed seconds and charge of a call under ``rate`` (a call that was not connected
    costs nothing, whatever the rate; a connected one needs a rate)."""
    if duration <= 0:
        return RatedCall(number, rate, 0, _ZERO)
    if rate is None:
        raise NoRateError(number)
    billed = billed_seconds(duration, rate.mcd, rate.pulse)
    return RatedCall(number, rate, billed, charge(rate.rate, rate.connect_fee, billed))


def rate_number(
    rates: Iterable[Rate], number: str, at: datetime, duration: int, tech_prefix: str = ""
) -> RatedCall:
    """Find the rate (by scanning) and rate a call of ``duration`` seconds to ``number``."""
    digits = dialled_digits(number, tech_prefix)
    if duration <= 0:
        return RatedCall(digits, None, 0, _ZERO)
    return rate_call(find_rate(rates, digits, at), digits, duration)


def _micro_units(rate: Decimal, fee: Decimal) -> tuple[int, int] | None:
    """Rate and fee in millionths when both are whole numbers of them (a deck's 6 places at
    most); None: the charge is worked out in Decimal."""
    rate_units, fee_units = rate.scaleb(6), fee.scaleb(6)
    if rate_units != rate_units.to_integral_value() or fee_units != fee_units.to_integral_value():
        return None
    if rate_units < 0 or fee_units < 0:
        return None
    return int(rate_units), int(fee_units)


def _timestamp(moment: datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; every time must be timezone-aware UTC")
    return moment.timestamp()


def version_in_force(
    versions: dict[str, Any], lengths: Iterable[int], digits: str, at: float
) -> tuple[Any, ...] | None:
    """The longest prefix of ``digits`` with a version in force at timestamp ``at``.

    ``versions`` maps a prefix to its one version or a list of them sorted by start, each a
    tuple starting ``(start, end, ...)`` (timestamps, end exclusive); ``lengths`` are the
    prefix lengths, longest first. RateMatcher and the import's light rater (store/cdrs/
    pricing.py) both keep their rates so."""
    size = len(digits)
    for length in lengths:
        if length > size:
            continue
        found = versions.get(digits[:length])
        if found is None:
            continue
        if type(found) is tuple:
            if found[0] <= at < found[1]:
                return found
            continue
        index = bisect_right(found, at, key=_start) - 1
        while index >= 0:
            if at < found[index][1]:
                return found[index]
            index -= 1
    return None


class RateMatcher:
    """The rates of one card in memory, for rating many calls.

    ``_versions[prefix]`` is that prefix's one version ``(start, end, rate)``, or a list of them
    sorted by start (stable: of two with the same start, the one given later wins, as in
    :func:`find_rate`). A lookup tries the number's prefixes from the longest length any rate
    has down to the shortest, and at each that exists takes the latest version started at or
    before the call that has not ended. Times are POSIX timestamps (float): a comparison of
    datetimes costs several times more, and 1M calls make 1M lookups.
    """

    __slots__ = ("_lengths", "_versions", "size")

    def __init__(self, rates: Iterable[Rate]) -> None:
        stamps: dict[datetime, float] = {}  # a deck's rates share a few dates: convert each once

        def stamp(moment: datetime | None) -> float:
            if moment is None:
                return _FOREVER
            value = stamps.get(moment)
            if value is None:
                value = stamps[moment] = _timestamp(moment)
            return value

        scaled: dict[tuple[Decimal, Decimal], tuple[int, int] | None] = {}

        def units(rate: Decimal, fee: Decimal) -> tuple[int, int] | None:
            key = (rate, fee)
            if key not in scaled:
                scaled[key] = _micro_units(rate, fee)
            return scaled[key]

        versions: dict[str, Any] = {}
        several: set[str] = set()
        count = 0
        enabled = gc.isenabled()
        gc.disable()  # 300k new tuples would trigger collections that find nothing
        try:
            for rate in rates:
                count += 1
                version = (
                    stamp(rate.effective_from),
                    stamp(rate.effective_to),
                    rate,
                    units(rate.rate, rate.connect_fee),
                )
                prefix = rate.prefix
                known = versions.get(prefix)
                if known is None:
                    versions[prefix] = version
                elif prefix in several:
                    known.append(version)
                else:
                    versions[prefix] = [known, version]
                    several.add(prefix)
            for prefix in several:
                versions[prefix].sort(key=_start)
        finally:
            if enabled:
                gc.enable()
        self._versions = versions
        self._lengths = sorted({len(prefix) for prefix in versions}, reverse=True)
        self.size = count

    def match_digits(self, digits: str, at: float) -> Rate | None:
        """The rate for ``digits`` (already :func:`dialled_digits`) at timestamp ``at``."""
        version = self._version(digits, at)
        return None if version is None else version[2]

    def _version(self, digits: str, at: float) -> tuple[Any, ...] | None:
        return version_in_force(self._versions, self._lengths, digits, at)

    def match(self, number: str, at: datetime, tech_prefix: str = "") -> Rate:
        digits = dialled_digits(number, tech_prefix)
        rate = self.match_digits(digits, _timestamp(at))
        if rate is None:
            raise NoRateError(digits, at)
        return rate

    def rate(self, number: str, at: datetime, duration: int, tech_prefix: str = "") -> RatedCall:
        digits = dialled_digits(number, tech_prefix)
        if duration <= 0:
            return RatedCall(digits, None, 0, _ZERO)
        rate = self.match_digits(digits, _timestamp(at))
        if rate is None:
            raise NoRateError(digits, at)
        return rate_call(rate, digits, duration)

    def rate_digits(self, digits: str, at: float, duration: int) -> RatedCall | None:
        """The bulk path: ``digits`` already :func:`dialled_digits`, ``at`` a POSIX timestamp;
        None when a connected call has no rate (the caller names the number in its reject)."""
        if duration <= 0:
            return RatedCall(digits, None, 0, _ZERO)
        version = self._version(digits, at)
        if version is None:
            return None
        rate, units = version[2], version[3]
        mcd = rate.mcd
        if duration <= mcd:
            billed = mcd
        else:
            pulse = rate.pulse
            billed = mcd + -(-(duration - mcd) // pulse) * pulse
        if units is None:
            return RatedCall(digits, rate, billed, charge(rate.rate, rate.connect_fee, billed))
        # connect fee + billed / 60 x rate, in units of 10^-6, then to 10^-4 rounded half-up:
        # integer arithmetic, exact, a quarter of the time of the Decimal operations.
        rate_units, fee_units = units
        whole, rest = divmod(fee_units * 60 + billed * rate_units, 6000)
        if rest * 2 >= 6000:
            whole += 1
        return RatedCall(digits, rate, billed, Decimal(whole).scaleb(-CHARGE_PLACES))
