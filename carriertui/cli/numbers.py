"""``carriertui numbers ...``: internal number blocks (allocate, release, list)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from carriertui.cli.common import EXIT_OK, Commands, api_actor, format_option, opened
from carriertui.cli.output import out, print_json, print_table
from carriertui.text import sanitize


def register(commands: Commands) -> None:
    blocks = commands.group("numbers", "internal number blocks: allocate, release, list")
    sub = blocks.add(
        "allocate", "assign the next free number block to a customer", cmd_numbers_allocate
    )
    sub.add_argument("--customer", required=True, help="account code, exact name, or id")
    sub = blocks.add(
        "release",
        "give a customer's block back (refused while any of its numbers is in use)",
        cmd_numbers_release,
    )
    sub.add_argument("--customer", required=True, help="account code, exact name, or id")
    sub.add_argument("block", type=_block_index, help="the block number, as 'numbers list' shows")
    sub = blocks.add("list", "number blocks with used and free counts", cmd_numbers_list)
    sub.add_argument("--customer", help="only this customer's blocks: account code, name or id")
    format_option(sub)


def _block_index(text: str) -> int:
    value = text.strip()
    if not value.isdigit() or not value.isascii():
        raise argparse.ArgumentTypeError(
            f"BLOCK is a block number as 'numbers list' shows it, not {text!r}"
        )
    return int(value)


def _block_row(block: Any) -> tuple[Any, ...]:
    return (
        block.customer_name,
        block.block_index,
        block.range_start,
        block.range_end,
        block.prefix or "-",
        block.extensions_text or "-",
        block.used,
        block.free,
    )


def _print_blocks(blocks: Sequence[Any], fmt: str) -> None:
    if fmt == "json":
        print_json([block.values() for block in blocks])
        return
    print_table(
        ("Customer", "Block", "First", "Last", "Prefix", "Extensions", "Used", "Free"),
        [_block_row(block) for block in blocks],
        right=(1, 2, 3, 6, 7),
    )


def _change_block(args: argparse.Namespace, what: str) -> int:
    """Allocate the next block, or release block ``args.block``; one line saying which."""
    from carriertui.store import customers
    from carriertui.store.numbers import service as numbers

    with opened(args) as db:
        actor = api_actor()
        customer = customers.find_customer(db, actor, args.customer)
        if what == "assigned to":
            block = numbers.allocate_next_block(db, actor, customer.id)
        else:
            block = numbers.release_block(db, actor, customer.id, args.block)
    out(
        f"block {block.block_index} ({block.range_start}-{block.range_end}) {what} "
        f"{sanitize(customer.name)}"
    )
    return EXIT_OK


def cmd_numbers_allocate(args: argparse.Namespace) -> int:
    return _change_block(args, "assigned to")


def cmd_numbers_release(args: argparse.Namespace) -> int:
    return _change_block(args, "released by")


def cmd_numbers_list(args: argparse.Namespace) -> int:
    from carriertui.store import customers
    from carriertui.store.numbers import service as numbers

    with opened(args) as db:
        actor = api_actor()
        customer_id = None
        if args.customer is not None:
            customer_id = customers.find_customer(db, actor, args.customer).id
        blocks = numbers.list_blocks(db, actor, customer_id)
    _print_blocks(blocks, args.format)
    return EXIT_OK
