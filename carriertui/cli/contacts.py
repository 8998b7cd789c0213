"""``carriertui contacts ...``: list and add contacts, reset a contact's password."""

from __future__ import annotations

import argparse
from typing import Any

from carriertui.cli.common import EXIT_OK, Commands, api_actor, format_option, opened
from carriertui.cli.output import out, print_json, print_table, when
from carriertui.text import sanitize


def register(commands: Commands) -> None:
    contacts = commands.group("contacts", "list and add contacts, reset passwords")
    sub = contacts.add("list", "list contacts by name", cmd_contacts_list)
    sub.add_argument(
        "--customer", metavar="CUSTOMER", help="only this customer's: code, name or id"
    )
    format_option(sub)
    sub = contacts.add(
        "add", "add a contact; a password is generated and emailed", cmd_contacts_add
    )
    sub.add_argument("--customer", required=True, help="account code, exact name, or id")
    sub.add_argument("--name", required=True, help="the contact's real name")
    sub.add_argument("--email", required=True, help="email: the contact's portal login (unique)")
    sub.add_argument("--phone", help="phone number with country code, e.g. +44 20 7946 0958")
    sub.add_argument("--mobile", help="mobile number with country code")
    sub.add_argument("--type", help="Billing, Technical, NOC, Sales or Other (default)")
    sub = contacts.add(
        "reset-password",
        "generate a new password and email it to the contact",
        cmd_contacts_reset_password,
    )
    sub.add_argument("email", help="the contact's email (login)")


def _contact_row(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "customer": record.customer_name,
        "name": record.name,
        "email": record.email,
        "phone": record.phone,
        "mobile": record.mobile,
        "contact_type": record.contact_type.value,
        "email_verified": record.email_verified,
        "mobile_verified": record.mobile_verified,
        "ip_whitelist": list(record.ip_whitelist),
        "last_login_at": record.last_login_at,
    }


def _verified(record: Any) -> str:
    parts = (("email", record.email_verified), ("mobile", record.mobile_verified))
    return "/".join(part for part, on in parts if on) or "-"


def cmd_contacts_list(args: argparse.Namespace) -> int:
    from carriertui.store import customers
    from carriertui.store.contacts import service as contacts

    with opened(args) as db:
        actor = api_actor()
        customer_id = None
        if args.customer:
            customer_id = customers.find_customer(db, actor, args.customer).id
        records = contacts.list_contacts(db, actor, customer_id=customer_id)
    if args.format == "json":
        print_json([_contact_row(record) for record in records])
        return EXIT_OK
    print_table(
        ("Customer", "Name", "Email", "Phone", "Mobile", "Type", "Verified", "Last login (UTC)"),
        [
            (
                r.customer_name,
                r.name,
                r.email,
                r.phone or "",
                r.mobile or "",
                r.contact_type.value,
                _verified(r),
                when(r.last_login_at, "never"),
            )
            for r in records
        ],
    )
    return EXIT_OK


def cmd_contacts_add(args: argparse.Namespace) -> int:
    from carriertui.store import customers
    from carriertui.store.contacts import service as contacts

    values = {"name": args.name, "email": args.email}
    for field in ("phone", "mobile"):
        if getattr(args, field):
            values[field] = getattr(args, field)
    if args.type:
        values["contact_type"] = args.type
    with opened(args) as db:
        actor = api_actor()
        customer = customers.find_customer(db, actor, args.customer)
        record = contacts.create_contact(db, actor, customer.id, values)
    out(
        f"created contact {record.id}: {sanitize(record.name)} <{sanitize(record.email)}> "
        f"for {sanitize(customer.name)}; a password email is queued "
        "('carriertui mail send' delivers it)"
    )
    return EXIT_OK


def cmd_contacts_reset_password(args: argparse.Namespace) -> int:
    from carriertui.store.contacts import service as contacts

    with opened(args) as db:
        actor = api_actor()
        record = contacts.find_contact(db, actor, args.email)
        contacts.change_password(db, actor, record.id)
    out(
        f"a new password for {sanitize(record.email)} will be generated and emailed when the "
        "outbox is sent ('carriertui mail send')"
    )
    return EXIT_OK
