"""Account-wide settings (Settings > Options). Unset is a real state: Number Range Start and
Block Size have no documented defaults, and no block can be assigned until both are set."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, func, select

from carriertui.store import audit, validation
from carriertui.store.context import Actor
from carriertui.store.db.database import Database
from carriertui.store.db.locks import lock_number_plan
from carriertui.store.db.tables import NumberBlock, Option
from carriertui.store.db.types import utcnow
from carriertui.store.enums import AuditAction, HttpVerb, Role
from carriertui.store.errors import ValidationError

TABLE = "option"


@dataclass(frozen=True)
class OptionDef:
    key: str
    label: str
    help: str
    parse: Callable[[Any], Any]
    default: Any = None
    nullable: bool = True


# Numbers may be E.164-long (15 digits); blocks and extensions are stored as 64-bit integers.
MAX_NUMBER = 10**15 - 1
# The options that define the number blocks: fixed while any block exists.
NUMBER_PLAN_KEYS = ("number_range_start", "block_size")


def _positive_int(field: str, minimum: int, maximum: int) -> Callable[[Any], int]:
    return lambda value: validation.integer(field, value, minimum=minimum, maximum=maximum)


DEFINITIONS: dict[str, OptionDef] = {
    definition.key: definition
    for definition in (
        OptionDef(
            "number_range_start",
            "Number Range Start",
            "First number of the first internal number block (e.g. 1000).",
            _positive_int("number_range_start", 0, MAX_NUMBER),
        ),
        OptionDef(
            "block_size",
            "Block Size",
            "How many numbers each customer's block holds (e.g. 1000).",
            _positive_int("block_size", 1, 10**12),
        ),
        OptionDef(
            "audit_comment",
            "Audit Comment",
            "Ask for a reason on every save in the operator UI; the reason is audited.",
            lambda value: validation.boolean("audit_comment", value),
            default=False,
            nullable=False,
        ),
    )
}


@dataclass(frozen=True)
class Options:
    number_range_start: int | None
    block_size: int | None
    audit_comment: bool

    def as_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in DEFINITIONS}


def resolve_key(key: str) -> OptionDef:
    normalized = key.strip().lower().replace("-", "_").replace(" ", "_")
    definition = DEFINITIONS.get(normalized)
    if definition is None:
        raise ValidationError("key", f"unknown option {key!r}; known: {', '.join(DEFINITIONS)}")
    return definition


def parse_value(definition: OptionDef, raw: Any) -> Any:
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", "unset", "none")):
        if not definition.nullable:
            raise ValidationError(definition.key, "cannot be unset")
        return None
    return definition.parse(raw)


def _describe(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _refuse_while_blocks_exist(session: Session, key: str) -> None:
    blocks = session.exec(select(func.count()).select_from(NumberBlock)).one()
    if blocks:
        raise ValidationError(
            key,
            f"cannot change while {blocks} number block{'s' if blocks != 1 else ''} "
            "exist: every block's range was computed from Number Range Start and Block "
            "Size, so a change would move ranges under extensions already in use. "
            "Release every block first.",
        )


def get_options(db: Database, actor: Actor) -> Options:
    actor.require(Role.VIEWER, "read options")
    with db.read() as session:
        stored = {row.key: json.loads(row.value_json) for row in session.exec(select(Option))}
    values = {key: stored.get(key, definition.default) for key, definition in DEFINITIONS.items()}
    return Options(**values)


def set_options(
    db: Database, actor: Actor, changes: dict[str, Any], *, comment: str | None = None
) -> Options:
    """Set several options in one transaction, one audit entry per option that changed."""
    actor.require(Role.ADMIN, "change account options")
    parsed = {
        resolve_key(key).key: parse_value(resolve_key(key), raw) for key, raw in changes.items()
    }
    with db.write() as session:
        if any(key in NUMBER_PLAN_KEYS for key in parsed):
            # Before any audit entry: the chain's lock is always taken last (store/locks.py).
            lock_number_plan(session)
        for key, value in parsed.items():
            row = session.get(Option, key)
            old = json.loads(row.value_json) if row else DEFINITIONS[key].default
            if old == value:
                continue
            if key in NUMBER_PLAN_KEYS:
                _refuse_while_blocks_exist(session, key)
            if row is None:
                row = Option(key=key, value_json=json.dumps(value))
            else:
                row.value_json = json.dumps(value)
                row.updated_at = utcnow()
            session.add(row)
            session.flush()
            audit.record(
                session,
                actor,
                action=AuditAction.UPDATE,
                verb=HttpVerb.PUT,
                table=TABLE,
                key=key,
                message=f"Option {DEFINITIONS[key].label} set to {_describe(value)}",
                before={"key": key, "value": old},
                after={"key": key, "value": value},
                comment=comment,
            )
    return get_options(db, actor)
