"""``carriertui mail ...``: the outbox of outgoing mail (send, list)."""

from __future__ import annotations

import argparse
from typing import Any

from carriertui import locations
from carriertui.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    Commands,
    api_actor,
    database_url,
    format_option,
    opened,
)
from carriertui.cli.output import out, print_json, print_table, warn, when
from carriertui.text import sanitize


def register(commands: Commands) -> None:
    mail_group = commands.group("mail", "the outbox of outgoing mail")
    mail_group.add("send", "deliver due messages (SMTP or Maildir, see [mail])", cmd_mail_send)
    sub = mail_group.add("list", "list the outbox", cmd_mail_list)
    format_option(sub)


def mail_settings(url: str) -> Any:
    from carriertui.store.mail import MailSettings

    return MailSettings.from_config(locations.mail_config(url))


def cmd_mail_send(args: argparse.Namespace) -> int:
    from carriertui.store import mail
    from carriertui.store.context import client_ip

    url = database_url(args)
    settings = mail_settings(url)
    with opened(args, url) as db:
        report = mail.flush_outbox(
            db, settings.transport_object(), sender=settings.sender, ip=client_ip()
        )
    out(f"mail via {sanitize(settings.describe())}: {report}")
    for error in dict.fromkeys(report.errors):
        warn(f"warning: {error}")
    return EXIT_OK if not report.failed else EXIT_ERROR


def cmd_mail_list(args: argparse.Namespace) -> int:
    from carriertui.store import mail

    with opened(args) as db:
        records = mail.list_messages(db, api_actor())
    rows = [
        {
            "id": r.id,
            "to": r.to_address,
            "subject": r.subject,
            "status": r.status.value,
            "attempts": r.attempts,
            "last_error": r.last_error,
            "queued_at": r.created_at,
            "sent_at": r.sent_at,
        }
        for r in records
    ]
    if args.format == "json":
        print_json(rows)
        return EXIT_OK
    print_table(
        ("Id", "To", "Subject", "Status", "Tries", "Queued (UTC)", "Last error"),
        [
            (
                r["id"],
                r["to"],
                r["subject"],
                r["status"],
                r["attempts"],
                when(record.created_at),
                r["last_error"] or "",
            )
            for r, record in zip(rows, records, strict=True)
        ],
        right=(0, 4),
    )
    return EXIT_OK
