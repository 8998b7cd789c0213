"""``carriertui operator ...``: operator accounts (add, list, passwd, unlock, role, disable,
enable)."""

from __future__ import annotations

import argparse
from typing import Any

from carriertui.cli.common import (
    EXIT_OK,
    ROLES,
    Commands,
    api_actor,
    format_option,
    opened,
    password_option,
    read_password,
)
from carriertui.cli.output import out, print_json, print_table, when
from carriertui.text import sanitize


def register(commands: Commands) -> None:
    operator = commands.group("operator", "manage operator accounts")
    sub = operator.add("add", "create an operator (asks for the password)", cmd_operator_add)
    sub.add_argument("name", help="login name")
    sub.add_argument("--role", choices=ROLES, required=True, help="what the operator may do")
    password_option(sub)
    sub = operator.add("list", "list operators", cmd_operator_list)
    format_option(sub)
    sub = operator.add("passwd", "set an operator's password", cmd_operator_passwd)
    sub.add_argument("name", help="login name")
    password_option(sub)
    sub = operator.add("unlock", "unlock an operator after failed logins", cmd_operator_unlock)
    sub.add_argument("name", help="login name")
    sub = operator.add("role", "give an operator another role", cmd_operator_role)
    sub.add_argument("name", help="login name")
    sub.add_argument("role", choices=ROLES, help="what the operator may do from now on")
    sub = operator.add(
        "disable",
        "disable an account (no login; the delayed changes it scheduled are not applied)",
        cmd_operator_disable,
    )
    sub.add_argument("name", help="login name")
    sub = operator.add("enable", "enable a disabled account again", cmd_operator_enable)
    sub.add_argument("name", help="login name")


def _operator_row(record: Any) -> dict[str, Any]:
    return {
        "name": record.name,
        "role": record.role.value,
        "failed_logins": record.failed_logins,
        "locked_until": record.locked_until,
        "last_login_at": record.last_login_at,
        "created_at": record.created_at,
        "disabled_at": record.disabled_at,
    }


def cmd_operator_add(args: argparse.Namespace) -> int:
    from carriertui.store import operators
    from carriertui.store.errors import NotFoundError, ValidationError

    name = operators.validate_name(args.name)
    with opened(args) as db:
        actor = api_actor()
        try:  # fail before the prompt; create_operator checks again inside its transaction
            operators.get_operator(db, actor, name)
            raise ValidationError("name", f"an operator named {name!r} exists already")
        except NotFoundError:
            pass
        password = read_password(args, name)
        record = operators.create_operator(db, actor, name, args.role, password)
    out(f"created operator {sanitize(record.name)} ({record.role.value})")
    return EXIT_OK


def cmd_operator_list(args: argparse.Namespace) -> int:
    from carriertui.store import operators

    with opened(args) as db:
        records = operators.list_operators(db, api_actor())
    if args.format == "json":
        print_json([_operator_row(record) for record in records])
        return EXIT_OK
    print_table(
        (
            "Name",
            "Role",
            "Failed logins",
            "Locked until (UTC)",
            "Last login (UTC)",
            "Created (UTC)",
            "Disabled (UTC)",
        ),
        [
            (
                r.name,
                r.role.value,
                r.failed_logins,
                when(r.locked_until) if r.is_locked() else "-",
                when(r.last_login_at, "never"),
                when(r.created_at),
                when(r.disabled_at) if r.is_disabled else "-",
            )
            for r in records
        ],
        right=(2,),
    )
    return EXIT_OK


def cmd_operator_passwd(args: argparse.Namespace) -> int:
    from carriertui.store import operators

    with opened(args) as db:
        actor = api_actor()
        name = operators.get_operator(db, actor, args.name.strip()).name  # fail before the prompt
        password = read_password(args, name)
        operators.change_password(db, actor, name, password)
    out(f"password of operator {sanitize(name)} changed")
    return EXIT_OK


def cmd_operator_role(args: argparse.Namespace) -> int:
    from carriertui.store import operators

    with opened(args) as db:
        record = operators.set_role(db, api_actor(), args.name.strip(), args.role)
    out(f"operator {sanitize(record.name)} is now {record.role.value}")
    return EXIT_OK


def cmd_operator_disable(args: argparse.Namespace) -> int:
    from carriertui.store import operators

    with opened(args) as db:
        record = operators.set_disabled(db, api_actor(), args.name.strip(), True)
    out(
        f"operator {sanitize(record.name)} disabled: no login, and their delayed changes are "
        "not applied"
    )
    return EXIT_OK


def cmd_operator_enable(args: argparse.Namespace) -> int:
    from carriertui.store import operators

    with opened(args) as db:
        record = operators.set_disabled(db, api_actor(), args.name.strip(), False)
    out(f"operator {sanitize(record.name)} enabled")
    return EXIT_OK


def cmd_operator_unlock(args: argparse.Namespace) -> int:
    from carriertui.store import operators

    with opened(args) as db:
        record = operators.unlock_operator(db, api_actor(), args.name.strip())
    out(f"operator {sanitize(record.name)} unlocked")
    return EXIT_OK
