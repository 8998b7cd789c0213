"""``carriertui rates ...``: rate cards and rate decks (import, list, show, export, test, assign).

The command group of issue 14 (listed in cli/__init__.py's GROUPS). Nothing heavy at module
level (the store is imported inside the handlers);
every data string printed passes through the CLI's sanitizing output helpers.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from carriertui.cli.common import (
    EXIT_OK,
    CommandError,
    Commands,
    api_actor,
    format_option,
    opened,
    parse_moment,
    path_argument,
)
from carriertui.cli.output import field_text, iso_utc, out, print_json, print_table
from carriertui.text import sanitize

KINDS = ("customer", "provider")


def register(commands: Commands) -> None:
    """The ``rates`` group."""
    rates = commands.group(
        "rates", "rate cards and decks: import, list, show, export, test a number, assign"
    )

    sub = rates.add(
        "import",
        "import a rate deck CSV into a card, all or nothing (operators and admins)",
        cmd_rates_import,
    )
    sub.add_argument("file", metavar="FILE.csv", help="CSV with a header row; see README")
    sub.add_argument("--card", required=True, help="the card's name (created if new)")
    sub.add_argument(
        "--effective",
        metavar="DATE",
        help="the deck's date (UTC): rows without effective_from start then, and the card's "
        "earlier rates end then (default: the deck's earliest effective_from)",
    )
    sub.add_argument("--currency", help="ISO 4217 code: needed to create the card")
    sub.add_argument("--kind", choices=KINDS, help="a new card's kind (default customer)")

    sub = rates.add("cards", "list rate cards", cmd_rates_cards)
    format_option(sub)

    sub = rates.add("list", "a card's rates by prefix, every version", cmd_rates_list)
    sub.add_argument("--card", required=True, help="the card's name")
    sub.add_argument("--search", metavar="TEXT", help="a prefix (digits) or part of a name")
    sub.add_argument("--at", metavar="TIME", help="only the rates in force then (UTC)")
    format_option(sub)

    sub = rates.add("show", "one card: kind, currency, rates, customers", cmd_rates_show)
    sub.add_argument("card", help="the card's name")
    format_option(sub)

    sub = rates.add(
        "export", "write a card's rates as a deck CSV the import reads", cmd_rates_export
    )
    sub.add_argument("--card", required=True, help="the card's name")
    sub.add_argument("file", metavar="FILE", help="the CSV file to write")

    sub = rates.add("test", "which rate a call to NUMBER gets and what it costs", cmd_rates_test)
    sub.add_argument("number", help="the dialled number, e.g. +447700900123")
    sub.add_argument("--card", required=True, help="the card's name")
    sub.add_argument("--at", metavar="TIME", help="the call's start (UTC; default now)")
    sub.add_argument("--seconds", type=_seconds, default=60, help="the call's duration (60)")
    sub.add_argument("--tech-prefix", default="", help="strip this prefix from the number first")
    format_option(sub)

    sub = rates.add(
        "assign",
        "rate a customer's calls with a card (its kind decides: charge or cost)",
        cmd_rates_assign,
    )
    sub.add_argument("--card", required=True, help="the card's name")
    sub.add_argument("--customer", required=True, help="account code, exact name, or id")


def _seconds(text: str) -> int:
    value = text.strip()
    if not value.isascii() or not value.isdigit() or int(value) > 10**7:
        raise argparse.ArgumentTypeError(f"a whole number of seconds, not {text!r}")
    return int(value)


def _price(value: Any) -> str:
    return f"{value.normalize():f}" if value else "0"


def _moment(value: datetime | None) -> str:
    return "-" if value is None else iso_utc(value)


def cmd_rates_import(args: argparse.Namespace) -> int:
    from carriertui.store import rates
    from carriertui.store.rate_deck import DeckError

    effective = parse_moment(args.effective) if args.effective else None
    path = path_argument(args.file)
    with opened(args) as db:
        try:
            report = rates.import_deck(
                db,
                api_actor(),
                path,
                args.card,
                effective=effective,
                currency=args.currency,
                kind=args.kind,
            )
        except DeckError as error:
            for bad in error.errors:
                print(sanitize(str(bad)), file=sys.stderr)
            if error.count > len(error.errors):
                print(f"... and {error.count - len(error.errors):,} more", file=sys.stderr)
            raise CommandError(str(error)) from error
    out(sanitize(str(report)))
    return EXIT_OK


def _card_json(card: Any) -> dict[str, Any]:
    return {
        "name": card.name,
        "kind": card.kind,
        "currency": card.currency,
        "rates": card.rates,
        "customers": list(card.customers),
        "created_at": card.created_at,
    }


def cmd_rates_cards(args: argparse.Namespace) -> int:
    from carriertui.store import rates

    with opened(args) as db:
        cards = rates.list_cards(db, api_actor())
    if args.format == "json":
        print_json([_card_json(card) for card in cards])
        return EXIT_OK
    print_table(
        ("Card", "Kind", "Currency", "Rates", "Customers"),
        [(c.name, c.kind.value, c.currency, c.rates, ", ".join(c.customers) or "-") for c in cards],
        right=(3,),
    )
    return EXIT_OK


def _rate_json(rate: Any) -> dict[str, Any]:
    return {
        "prefix": rate.prefix,
        "destination": rate.destination,
        "rate": rate.rate,
        "connect_fee": rate.connect_fee,
        "mcd": rate.mcd,
        "pulse": rate.pulse,
        "effective_from": rate.effective_from,
        "effective_to": rate.effective_to,
    }


def cmd_rates_list(args: argparse.Namespace) -> int:
    from carriertui.store import rates

    at = parse_moment(args.at) if args.at else None
    with opened(args) as db:
        records = rates.list_rates(db, api_actor(), args.card, search=args.search, at=at)
    if args.format == "json":
        print_json([_rate_json(record) for record in records])
        return EXIT_OK
    print_table(
        ("Prefix", "Destination", "Rate/min", "Connect", "MCD/Pulse", "From", "To"),
        [
            (
                r.prefix,
                r.destination,
                _price(r.rate),
                _price(r.connect_fee),
                f"{r.mcd}/{r.pulse}",
                _moment(r.effective_from),
                _moment(r.effective_to),
            )
            for r in records
        ],
        right=(2, 3),
    )
    return EXIT_OK


def cmd_rates_show(args: argparse.Namespace) -> int:
    from carriertui.store import rates

    with opened(args) as db:
        actor = api_actor()
        card = rates.find_card(db, actor, args.card)
        in_force = rates.count_in_force(db, actor, card.name, datetime.now(UTC))
    data = _card_json(card) | {"rates_in_force_now": in_force}
    if args.format == "json":
        print_json(data)
        return EXIT_OK
    shown = {**data, "customers": ", ".join(card.customers) or "-"}
    print_table(("Field", "Value"), [(k, field_text(v)) for k, v in shown.items()])
    return EXIT_OK


def cmd_rates_export(args: argparse.Namespace) -> int:
    from carriertui.grid.export import ExportError
    from carriertui.store import rates

    path = path_argument(args.file)
    with opened(args) as db:
        try:
            count = rates.export_rates(db, api_actor(), args.card, path)
        except ExportError as error:
            raise CommandError(str(error)) from error
    out(f"exported {count:,} rates of {sanitize(args.card)} to {sanitize(path)}")
    return EXIT_OK


def cmd_rates_test(args: argparse.Namespace) -> int:
    from carriertui.rating import RatingError
    from carriertui.store import rates

    at = parse_moment(args.at) if args.at else datetime.now(UTC)
    with opened(args) as db:
        try:
            result = rates.rate_number(
                db,
                api_actor(),
                args.card,
                args.number,
                at,
                args.seconds,
                tech_prefix=args.tech_prefix,
            )
        except RatingError as error:  # no rate, or not a number: the reject a CDR would get
            raise CommandError(str(error)) from None
    call = result.call
    rate = call.rate
    data = {
        "card": result.card,
        "number": call.number,
        "at": result.at,
        "seconds": result.seconds,
        "prefix": rate.prefix if rate else None,
        "destination": rate.destination if rate else None,
        "rate": rate.rate if rate else None,
        "connect_fee": rate.connect_fee if rate else None,
        "mcd": rate.mcd if rate else None,
        "pulse": rate.pulse if rate else None,
        "billed_seconds": call.billed_seconds,
        "charge": call.charge,
        "currency": result.currency,
    }
    if args.format == "json":
        print_json(data)
        return EXIT_OK
    if rate is None:
        out(
            f"{sanitize(call.number)}: a call that was not connected costs nothing "
            f"(0 {result.currency})"
        )
        return EXIT_OK
    out(
        f"{sanitize(call.number)} at {iso_utc(result.at)} on {sanitize(result.card)}: "
        f"prefix {sanitize(rate.prefix)} ({sanitize(rate.destination)}), "
        f"{_price(rate.rate)}/min, connect {_price(rate.connect_fee)}, {rate.mcd}/{rate.pulse}"
    )
    out(f"{result.seconds} s billed as {call.billed_seconds} s: {call.charge} {result.currency}")
    return EXIT_OK


def cmd_rates_assign(args: argparse.Namespace) -> int:
    from carriertui.store import customers, rates

    with opened(args) as db:
        actor = api_actor()
        customer = customers.find_customer(db, actor, args.customer)
        card = rates.assign_card(db, actor, args.card, customer.id)
    label = customer.account_code or customer.name
    out(f"customer {sanitize(label)} is rated with {card.kind.value} card {sanitize(card.name)}")
    return EXIT_OK
