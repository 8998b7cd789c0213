"""``carriertui options ...``: the account options (show, set)."""

from __future__ import annotations

import argparse

from carriertui.cli.common import EXIT_OK, Commands, api_actor, format_option, opened
from carriertui.cli.output import option_text, out, print_json, print_table
from carriertui.text import sanitize


def register(commands: Commands) -> None:
    opts = commands.group("options", "show and change account options")
    sub = opts.add("show", "show the account options", cmd_options_show)
    format_option(sub)
    sub = opts.add("set", "set an option ('unset' clears it)", cmd_options_set)
    sub.add_argument("key", help="option key, e.g. number_range_start")
    sub.add_argument("value", help="new value, or 'unset'")


def cmd_options_show(args: argparse.Namespace) -> int:
    from carriertui.store import options

    with opened(args) as db:
        current = options.get_options(db, api_actor()).as_dict()
    rows = [
        {"key": key, "label": definition.label, "value": current[key]}
        for key, definition in options.DEFINITIONS.items()
    ]
    if args.format == "json":
        print_json(rows)
        return EXIT_OK
    print_table(
        ("Key", "Label", "Value"),
        [(row["key"], row["label"], option_text(row["value"])) for row in rows],
    )
    return EXIT_OK


def cmd_options_set(args: argparse.Namespace) -> int:
    from carriertui.store import options

    key = options.resolve_key(args.key).key
    with opened(args) as db:
        current = options.set_options(db, api_actor(), {key: args.value}).as_dict()
    out(f"{key} = {sanitize(option_text(current[key]))}")
    return EXIT_OK
