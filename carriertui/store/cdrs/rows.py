"""One CSV record into the stored row: the row parser, its column-at-a-time fast path for a
batch of well-formed rows, and the careful check that names every problem of a bad one.

Light to import (the parsing child runs it): the standard library and store/cdrs/fields.py.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from carriertui.store.cdrs.fields import (
    _DIRECTIONS,
    _SCALE,
    _STORED_ORDER,
    CSV_COLUMNS,
    MAX_CALL_ID,
    MAX_DEST_NAME,
    MAX_NUMBER,
    MAX_PDD_MS,
    MAX_REASON,
    MAX_SECONDS,
    MONEY_SCALE,
    _Bad,
    _ip,
    _money,
    _sqlite_time,
    _start_time,
    _text,
    _undo_neutralised,
    _whole,
)
from carriertui.store.errors import ValidationError

if TYPE_CHECKING:
    from carriertui.store.cdrs.pricing import RowRater


class _RowParser:
    """Turns one CSV record into the stored row, or the reasons it is bad.

    ``parse`` is the fast path for well-formed rows (this loop is the import's throughput);
    anything unusual falls through to ``check``, which validates every field and lists all
    of the row's problems, or returns the row when the unusual form was valid after all.
    """

    def __init__(
        self,
        header: Sequence[str],
        customers: dict[str, int],
        sqlite: bool,
        rater: RowRater | None = None,
    ) -> None:
        self.width = len(header)
        # A column the header leaves out (RATED_COLUMNS) is read as empty: its index is one
        # past the record's last field, where a padded record holds "".
        self.padded = any(name not in header for name in CSV_COLUMNS)
        self.at = {
            name: header.index(name) if name in header else self.width for name in CSV_COLUMNS
        }
        self.pick = operator.itemgetter(*(self.at[name] for name in CSV_COLUMNS))
        self.customers = customers
        self.sqlite = sqlite
        # Rates the rows without money; None: such rows are handed over unrated (the
        # importer rates them: ParsedBatch.pending), for a file whose header has the money.
        self.rater = rater
        self.rated = 0  # rows rated so far
        self._ips: dict[str, str] = {}

    def parse(self, f: list[str]) -> tuple[Any, ...]:
        if len(f) != self.width:
            raise _Bad
        if self.padded:
            f = [*f, ""]
        (
            call_id,
            code,
            start,
            source_cli,
            dest_number,
            dest_name,
            duration,
            billed,
            sip,
            reason,
            pdd,
            charge,
            cost,
            direction,
            ip_text,
        ) = self.pick(f)
        customer_id = self.customers[code]
        moment = datetime.fromisoformat(start)
        if moment.utcoffset() or len(start) < 20:
            raise _Bad  # no offset, or not UTC: the careful path converts it
        texts = call_id + source_cli + dest_number + dest_name + reason
        priced = not charge and not cost
        if priced:
            billed = "0"  # not read: the rate card's billed seconds replace it
        numbers = duration + billed + sip + pdd
        if (
            not call_id
            or not dest_number
            or len(call_id) > MAX_CALL_ID
            or len(source_cli) > MAX_NUMBER
            or len(dest_number) > MAX_NUMBER
            or len(dest_name) > MAX_DEST_NAME
            or len(reason) > MAX_REASON
            or "\x00" in texts
            or "'" in texts
            or not numbers.isascii()
            or not duration.isdigit()
            or not billed.isdigit()
            or not sip.isdigit()
            or not pdd.isdigit()
        ):
            raise _Bad
        duration_s, billed_s, sip_code, pdd_ms = int(duration), int(billed), int(sip), int(pdd)
        if (
            duration_s > MAX_SECONDS
            or billed_s > MAX_SECONDS
            or not 100 <= sip_code <= 699
            or pdd_ms > MAX_PDD_MS
        ):
            raise _Bad
        ip = self._ips.get(ip_text)
        if ip is None:
            ip = _ip(ip_text)
            if len(self._ips) < _IP_CACHE:
                self._ips[ip_text] = ip
        if not self.sqlite:
            stored: Any = moment.astimezone(UTC)
        elif start[4] == "-" and start[7] == "-" and start[13] == ":" and start[16] == ":":
            # "YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+00:00)", already parsed: sliced into the stored
            # form ("YYYY-MM-DD HH:MM:SS.ffffff"), five times faster than isoformat().
            if len(start) in (20, 25):
                stored = f"{start[:10]} {start[11:19]}.000000"
            elif len(start) in (27, 32) and start[19] == ".":
                stored = f"{start[:10]} {start[11:26]}"
            else:
                stored = _sqlite_time(moment)
        else:
            stored = _sqlite_time(moment)
        if priced:
            if self.rater is None:
                raise _Bad  # check() hands it over unrated
            result = self.rater.price_call(customer_id, moment.timestamp(), dest_number, duration_s)
            if isinstance(result, str):
                raise _Bad  # check() names the reason
            billed_s, charge_units, cost_units = result
            self.rated += 1
        else:
            charge_units, cost_units = _fast_money(charge), _fast_money(cost)
        return (
            call_id,
            customer_id,
            stored,
            source_cli,
            dest_number,
            dest_name,
            duration_s,
            billed_s,
            sip_code,
            reason,
            pdd_ms,
            charge_units,
            cost_units,
            _DIRECTIONS[direction],
            ip,
        )

    def parse_batch(self, records: list[list[str]]) -> list[tuple[Any, ...]] | None:
        """The stored rows of ``records``, or None when any of them needs a closer look.

        The same rules as ``parse``, checked a column at a time with C-level loops (map, join,
        str methods, a compiled pattern), not per value in Python: this is the import's hot
        loop. A batch with anything unusual (or bad) goes row by row through ``parse``/``check``.
        """
        if not records:
            return []
        try:
            return self._parse_columns(records)
        except (_Bad, KeyError, ValueError, ValidationError):
            return None

    def _parse_columns(self, records: list[list[str]]) -> list[tuple[Any, ...]] | None:
        if set(map(len, records)) != {self.width}:
            return None
        columns = list(zip(*records, strict=True))
        if self.padded:
            columns.append(("",) * len(records))
        (
            call_id,
            code,
            start,
            source_cli,
            dest_number,
            dest_name,
            duration,
            billed,
            sip,
            reason,
            pdd,
            charge,
            cost,
            direction,
            ip_text,
        ) = self.pick(columns)
        for column, limit in (
            (call_id, MAX_CALL_ID),
            (source_cli, MAX_NUMBER),
            (dest_number, MAX_NUMBER),
            (dest_name, MAX_DEST_NAME),
            (reason, MAX_REASON),
        ):
            joined = "".join(column)
            # A ' may be our CSV writers' neutralisation: check() undoes it.
            if max(map(len, column)) > limit or "\x00" in joined or "'" in joined:
                return None
        if not all(map(str.strip, call_id)) or not all(map(str.strip, dest_number)):
            return None
        customer_ids = list(map(self.customers.get, code))
        if None in customer_ids:
            return None
        texts = _utc_times(start, sqlite=self.sqlite)
        if texts is None:
            return None
        moments = list(map(datetime.fromisoformat, start))  # the calendar: no 30 February
        # On PostgreSQL the aware datetimes, UTC already (_UTC_FORMS end in Z or +00:00).
        stored: list[Any] = texts if self.sqlite else moments
        priced = not "".join(charge) and not "".join(cost)  # no money in any row: rate them all
        if priced and self.rater is None:
            return None  # row by row: each is handed over unrated, with its line
        numbers: list[list[int]] = []
        for column, low, high in (
            (duration, 0, MAX_SECONDS),
            (billed, 0, MAX_SECONDS),
            (sip, 100, 699),
            (pdd, 0, MAX_PDD_MS),
        ):
            if priced and column is billed:
                numbers.append([])  # not read: the rate card's billed seconds replace it
                continue
            joined = "".join(column)
            if not (joined.isascii() and joined.isdigit() and all(column)):
                return None
            values = list(map(int, column))
            if min(values) < low or max(values) > high:
                return None
            numbers.append(values)
        if not set(direction).issubset(_DIRECTIONS):
            return None
        if priced:
            assert self.rater is not None
            result = self.rater.price_columns(
                customer_ids,  # type: ignore[arg-type] # no None: checked above
                list(map(datetime.timestamp, moments)),
                dest_number,
                numbers[0],
            )
            if result is None:
                return None  # row by row: each row that cannot be rated is named
            numbers[1], charges, costs = result
            self.rated += len(records)
        else:
            charges, costs = _money_column(charge), _money_column(cost)
        return list(
            zip(
                call_id,
                customer_ids,
                stored,
                source_cli,
                dest_number,
                dest_name,
                numbers[0],
                numbers[1],
                numbers[2],
                reason,
                numbers[3],
                charges,
                costs,
                direction,
                self._ip_column(ip_text),
                strict=True,
            )
        )

    def _ip_column(self, texts: Sequence[str]) -> list[str]:
        """The canonical form of each address; each distinct text parsed once (and cached)."""
        known = self._ips
        new = {text: _ip(text) for text in set(texts).difference(known)}
        if len(known) + len(new) <= _IP_CACHE:
            known.update(new)
            return list(map(known.__getitem__, texts))
        # new.get(text, known.get(text)) per text; map() for speed (dict.get overloads: ignore).
        return list(map(new.get, texts, map(known.get, texts)))  # type: ignore[arg-type]

    def check(self, f: list[str]) -> tuple[tuple[Any, ...] | None, list[str]]:
        """(the row, []) or (None, every problem found)."""
        if len(f) != self.width:
            return None, [f"{len(f)} fields, the header has {self.width}"]
        # Our own CSV writers (reports, reject files) put a ' before a leading - + = @.
        f = [_undo_neutralised(value) for value in f]
        if self.padded:
            f.append("")  # the columns the header leaves out
        at = self.at
        problems: list[str] = []
        values: dict[str, Any] = {}

        def take(name: str, parse: Callable[[str], Any]) -> None:
            try:
                values[name] = parse(f[at[name]])
            except ValidationError as error:
                problems.append(f"{error.field}: {error.message}")

        take("call_id", lambda v: _text("call_id", v, MAX_CALL_ID, required=True))

        def customer(value: str) -> int:
            code = _undo_neutralised(value).strip()
            if code not in self.customers:
                raise ValidationError("customer", f"unknown account code {code!r}")
            return self.customers[code]

        take("customer", customer)
        take("start_time", _start_time)
        take("source_cli", lambda v: _text("source_cli", v, MAX_NUMBER))
        take("dest_number", lambda v: _text("dest_number", v, MAX_NUMBER, required=True))
        take("dest_name", lambda v: _text("dest_name", v, MAX_DEST_NAME))
        take("duration", lambda v: _whole("duration", v, MAX_SECONDS))
        given = [name for name in ("charge", "cost") if f[at[name]].strip()]
        priced = not given  # no money: rated with the cards (billed_duration is theirs too)
        if not priced:
            take("billed_duration", lambda v: _whole("billed_duration", v, MAX_SECONDS))

        def sip_code(value: str) -> int:
            number = _whole("sip_code", value, 699)
            if number < 100:
                raise ValidationError("sip_code", f"{number} is not a SIP status (100-699)")
            return number

        take("sip_code", sip_code)
        take("release_reason", lambda v: _text("release_reason", v, MAX_REASON))
        take("pdd_ms", lambda v: _whole("pdd_ms", v, MAX_PDD_MS))
        if len(given) == 1:
            empty = "cost" if given == ["charge"] else "charge"
            problems.append(
                f"{empty}: is empty while {given[0]} is given "
                "(give both, or leave both empty to rate the call with the rate cards)"
            )
        elif given:
            take("charge", lambda v: _money("charge", v))
            take("cost", lambda v: _money("cost", v))

        def direction(value: str) -> str:
            folded = value.strip().lower()
            if folded not in _DIRECTIONS:
                raise ValidationError("direction", f"{value!r} is not inbound or outbound")
            return folded

        take("direction", direction)
        take("source_ip", _ip)
        if problems:
            return None, problems
        moment = values["start_time"]
        values["start_time"] = _sqlite_time(moment) if self.sqlite else moment
        if priced:
            # None: handed over unrated (ParsedBatch.pending), the importer rates it.
            values["billed_duration"] = values["charge"] = values["cost"] = None
            if self.rater is not None:
                result = self.rater.price_call(
                    values["customer"],
                    moment.timestamp(),
                    values["dest_number"],
                    values["duration"],
                )
                if isinstance(result, str):
                    return None, [f"rating: {result}"]
                values["billed_duration"], values["charge"], values["cost"] = result
                self.rated += 1
        return tuple(values[name] for name in _STORED_ORDER), []


def _fast_money(text: str) -> int:
    whole, dot, fraction = text.partition(".")
    if (
        whole.isdigit()
        and whole.isascii()
        and len(fraction) <= MONEY_SCALE
        and (not dot or (fraction.isdigit() and fraction.isascii()))
        and len(whole) < 12
    ):
        return int(whole + fraction.ljust(MONEY_SCALE, "0")) if dot else int(whole) * _SCALE
    raise _Bad


# "YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+00:00)": the UTC forms whose stored text is a few string
# edits away. By length: (has the fraction, the UTC suffix).
_UTC_FORMS = {20: (False, "Z"), 25: (False, "+00:00"), 27: (True, "Z"), 32: (True, "+00:00")}
_ISO_SEPARATORS = ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"))
_FIFTH_LAST = operator.itemgetter(-5)
_IP_CACHE = 100_000


def _utc_times(texts: Sequence[str], *, sqlite: bool) -> list[str] | None:
    """The stored form ("YYYY-MM-DD HH:MM:SS.ffffff") of date-times that all have one of the
    _UTC_FORMS (the same one), checked and edited as one string; None for anything else.
    Not for SQLite: [] once checked (PostgreSQL stores the datetimes). The caller checks the
    calendar (datetime.fromisoformat)."""
    lengths = set(map(len, texts))
    if len(lengths) != 1:
        return None
    length = lengths.pop()
    form = _UTC_FORMS.get(length)
    if form is None:
        return None
    fraction, suffix = form
    separators = list(_ISO_SEPARATORS)
    if fraction:
        separators.append((19, "."))
    at = length - len(suffix)
    separators.extend((at + offset, char) for offset, char in enumerate(suffix))
    joined = "".join(texts)
    count = len(texts)
    # Every value has the same length: joined[i::length] is character i of each of them.
    if not joined.isascii() or any(joined[i::length] != char * count for i, char in separators):
        return None
    digits = joined
    for char in "-:T.Z+":
        digits = digits.replace(char, "")
    if not digits.isdigit():
        return None
    if not sqlite:
        return []
    joined = "\n".join(texts).replace("T", " ").replace(suffix, "")
    if not fraction:
        joined = joined.replace("\n", ".000000\n") + ".000000"
    return joined.split("\n")


def _money_column(texts: Sequence[str]) -> list[int]:
    """Scaled amounts (as _fast_money); raises _Bad like it."""
    joined = "".join(texts)
    if (
        joined.count(".") == len(texts)
        and joined.isascii()
        and joined.replace(".", "").isdigit()
        and min(map(len, texts)) >= 6
        and max(map(len, texts)) <= 16
        and set(map(_FIFTH_LAST, texts)) == {"."}
    ):
        # "D.DDDD" to "DDDDDDDDDDD.DDDD": the digits without the dot are the scaled amount.
        return list(map(int, "\n".join(texts).replace(".", "").split("\n")))
    return list(map(_fast_money, texts))
