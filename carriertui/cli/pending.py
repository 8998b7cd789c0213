"""``carriertui pending ...``: delayed changes (Delay and Save): run the due ones, list them."""

from __future__ import annotations

import argparse

from carriertui.cli.common import EXIT_OK, Commands, api_actor, format_option, opened
from carriertui.cli.output import out, print_json, print_table, when
from carriertui.text import sanitize


def register(commands: Commands) -> None:
    pending_group = commands.group("pending", "delayed changes (Delay and Save)")
    pending_group.add("run", "apply the delayed changes that are due", cmd_pending_run)
    sub = pending_group.add("list", "list delayed changes (the Delay Log)", cmd_pending_list)
    format_option(sub)


def cmd_pending_run(args: argparse.Namespace) -> int:
    from carriertui.store import pending

    with opened(args) as db:
        report = pending.run_due(db)
    for line in report.messages:
        out(sanitize(line))
    out(f"delayed changes: {report}")
    return EXIT_OK


def cmd_pending_list(args: argparse.Namespace) -> int:
    from carriertui.store import pending

    with opened(args) as db:
        records = pending.list_changes(db, api_actor())
    if args.format == "json":
        print_json(
            [
                {
                    "id": r.id,
                    "due_at": r.due_at,
                    "status": r.status.value,
                    "change": r.description,
                    "values": r.changes,
                    "scheduled_by": r.operator,
                    "result": r.result,
                }
                for r in records
            ]
        )
        return EXIT_OK
    print_table(
        ("Id", "Due (UTC)", "Status", "Change", "Scheduled by", "Result"),
        [
            (r.id, when(r.due_at), r.status.value, r.description, r.operator, r.result or "")
            for r in records
        ],
        right=(0,),
    )
    return EXIT_OK
