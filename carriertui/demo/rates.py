"""The demo's rate cards (``[rates]`` in data/demo.toml): per currency a customer card and a
provider card of a few thousand prefixes, imported as rate decks through the rates service and
assigned to the customers billed in that currency. The demo CDRs are then rated with them.

The decks are deterministic in the seed: the same countries, leads and prices give the same
rows (a sub-prefix's price differs from its country's by a few percent, fixed by its digits).
Only the second customer deck's date follows the build date (``change_days_ago``), as the CDRs
do.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carriertui.rating import CardKind, RateMatcher

if TYPE_CHECKING:
    from carriertui.store.context import Actor
    from carriertui.store.db.database import Database

CUSTOMER_CARD = "Retail {currency}"
PROVIDER_CARD = "Upstream {currency}"
DECK_HEADER = ("prefix", "destination", "rate", "connect_fee", "mcd", "pulse", "effective_from")
_CUSTOMER_PLACES = Decimal("0.0001")
_PROVIDER_PLACES = Decimal("0.000001")
# Connect fees of the customer cards: a few destinations charge one (mobile in these).
_CONNECT_FEE_USD = {"Philippines": Decimal("0.0100"), "Nigeria": Decimal("0.0150")}


@dataclass(frozen=True)
class Country:
    name: str
    code: str
    mobile_leads: tuple[str, ...]
    fixed_usd: Decimal
    mobile_usd: Decimal
    fixed_scheme: tuple[int, int]  # MCD/pulse of the customer card
    mobile_scheme: tuple[int, int]
    provider_scheme: tuple[int, int]


@dataclass(frozen=True)
class DeckLine:
    prefix: str
    destination: str
    usd: Decimal  # per minute, before the currency's factor
    mobile: bool
    customer_scheme: tuple[int, int]
    provider_scheme: tuple[int, int]
    connect_usd: Decimal


def _scheme(text: str) -> tuple[int, int]:
    mcd, _, pulse = text.partition("/")
    return int(mcd), int(pulse or mcd)


def parse_countries(rows: Sequence[Sequence[Any]]) -> list[Country]:
    return [
        Country(
            str(name),
            str(code),
            tuple(str(lead) for lead in leads),
            Decimal(str(fixed)),
            Decimal(str(mobile)),
            _scheme(fixed_scheme),
            _scheme(mobile_scheme),
            _scheme(provider_scheme),
        )
        for name, code, leads, fixed, mobile, fixed_scheme, mobile_scheme, provider_scheme in rows
    ]


def _spread(prefix: str) -> Decimal:
    """A sub-prefix's price against its country's: -4 % to +6 %, fixed by its digits."""
    return Decimal(100 + int(prefix) * 7919 % 11 - 4) / 100


def _line(country: Country, prefix: str, name: str, usd: Decimal, mobile: bool) -> DeckLine:
    scheme = country.mobile_scheme if mobile else country.fixed_scheme
    connect = _CONNECT_FEE_USD.get(country.name, Decimal(0)) if mobile else Decimal(0)
    return DeckLine(prefix, name, usd, mobile, scheme, country.provider_scheme, connect)


def deck_lines(countries: Sequence[Country]) -> list[DeckLine]:
    """Every prefix of the demo decks, in the same order every time."""
    lines: list[DeckLine] = []
    for country in countries:
        fixed = f"{country.name} - Fixed" if country.mobile_leads else country.name
        lines.append(_line(country, country.code, fixed, country.fixed_usd, False))
        firsts = {lead[0] for lead in country.mobile_leads}
        # North American area codes start with 2 to 9.
        for digit in "23456789" if country.code == "1" else "123456789":
            if digit not in firsts:
                lines.append(_line(country, country.code + digit, fixed, country.fixed_usd, False))
        mobile = f"{country.name} - Mobile"
        usd = country.mobile_usd
        for lead in country.mobile_leads:
            base = country.code + lead
            lines.append(_line(country, base, mobile, usd, True))
            for first in "0123456789":
                prefix = base + first
                lines.append(_line(country, prefix, mobile, usd * _spread(prefix), True))
            for first in "01234":
                for second in "0123456789":
                    prefix = base + first + second
                    lines.append(_line(country, prefix, mobile, usd * _spread(prefix), True))
    return lines


def _money(value: Decimal, places: Decimal) -> str:
    return f"{value.quantize(places, rounding=ROUND_HALF_UP):f}"


def deck_rows(
    lines: Sequence[DeckLine],
    kind: CardKind,
    factor: Decimal,
    *,
    provider_share: Decimal,
    mobile_factor: Decimal = Decimal(1),
    effective: str,
) -> Iterator[tuple[str, ...]]:
    """The CSV rows of one deck (after DECK_HEADER)."""
    for line in lines:
        usd = line.usd * (mobile_factor if line.mobile else 1)
        if kind is CardKind.CUSTOMER:
            rate = _money(usd * factor, _CUSTOMER_PLACES)
            connect = _money(line.connect_usd * factor, _CUSTOMER_PLACES)
            mcd, pulse = line.customer_scheme
        else:
            rate = _money(usd * factor * provider_share, _PROVIDER_PLACES)
            connect = "0"
            mcd, pulse = line.provider_scheme
        yield (line.prefix, line.destination, rate, connect, str(mcd), str(pulse), effective)


def _write_deck(folder: Path, name: str, rows: Iterator[tuple[str, ...]]) -> Path:
    path = folder / f"{name.replace(' ', '-').lower()}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(DECK_HEADER)
        writer.writerows(rows)
    return path


def change_date(now: datetime, days_ago: int) -> datetime:
    """The second customer deck's date: midnight UTC ``days_ago`` days before ``now``."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)


def build_cards(
    db: Database, actor: Actor, settings: Mapping[str, Any], customers: Sequence[Any], now: datetime
) -> dict[str, tuple[str, str]]:
    """Import the decks of every currency and assign the cards to the customers billed in it.
    Returns currency -> (customer card, provider card). A card that exists already (an
    interrupted build) is left as it is."""
    from carriertui.store import rates
    from carriertui.store.errors import NotFoundError

    countries = parse_countries(settings["countries"])
    lines = deck_lines(countries)
    share = Decimal(str(settings.get("provider_share", 1)))
    effective = str(settings["effective"])
    days_ago = settings.get("change_days_ago")
    change = change_date(now, int(days_ago)) if days_ago is not None else None
    mobile_factor = Decimal(str(settings.get("change_mobile_factor", 1)))
    cards: dict[str, tuple[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="carriertui-demo-decks-") as folder:
        for currency, factor_value in settings["currencies"].items():
            factor = Decimal(str(factor_value))
            names = (
                CUSTOMER_CARD.format(currency=currency),
                PROVIDER_CARD.format(currency=currency),
            )
            cards[currency] = names
            for name, kind in zip(names, (CardKind.CUSTOMER, CardKind.PROVIDER), strict=True):
                try:
                    rates.find_card(db, actor, name)
                    continue
                except NotFoundError:
                    pass
                rows = deck_rows(lines, kind, factor, provider_share=share, effective=effective)
                path = _write_deck(Path(folder), name, rows)
                rates.import_deck(db, actor, path, name, currency=currency, kind=kind)
                if kind is CardKind.CUSTOMER and change is not None:
                    rows = deck_rows(
                        lines,
                        kind,
                        factor,
                        provider_share=share,
                        mobile_factor=mobile_factor,
                        effective=change.isoformat(),
                    )
                    path = _write_deck(Path(folder), f"{name} change", rows)
                    rates.import_deck(db, actor, path, name)
    for customer in customers:
        names_of = cards.get(customer.currency)
        if names_of is None:
            continue
        for name in names_of:
            rates.assign_card(db, actor, name, customer.id)
    return cards


def load_matchers(
    db: Database, actor: Actor, cards: Mapping[str, tuple[str, str]]
) -> dict[str, tuple[RateMatcher, RateMatcher]]:
    """Currency -> (customer card, provider card) matchers, read back from the database: the
    CDRs are rated with the rates as stored."""
    from carriertui.store import rates

    return {
        currency: (rates.load_matcher(db, actor, customer), rates.load_matcher(db, actor, provider))
        for currency, (customer, provider) in cards.items()
    }
