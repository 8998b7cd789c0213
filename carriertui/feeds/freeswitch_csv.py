"""FreeSWITCH mod_cdr_csv: no header; the columns are the template's ``${variable}`` list.

The template comes from the switch's ``cdr_csv.conf.xml`` (its ``default-template``, or one
named), from a list of variable names, or is the switch's own default: the vanilla config's
``example`` (15 columns). The compiled-in ``default`` (13 columns, a space before
``"${accountcode}"``) and the 18-column Asterisk-compatible fallback are built in too. Legs:
a record whose ``${direction}`` is ``outbound`` is a B-leg and is left out (``legs=ab``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from carriertui.feeds.common import (
    BadRecord,
    Converted,
    FeedError,
    FeedOptions,
)
from carriertui.feeds.freeswitch import ChannelRows
from carriertui.feeds.groups import (
    Block,
    columns_of,
    fast_groups,
    records_of,
)

NAME = "freeswitch-csv"
EXAMPLE = (
    "caller_id_name",
    "caller_id_number",
    "destination_number",
    "context",
    "start_stamp",
    "answer_stamp",
    "end_stamp",
    "duration",
    "billsec",
    "hangup_cause",
    "uuid",
    "bleg_uuid",
    "accountcode",
    "read_codec",
    "write_codec",
)
DEFAULT = EXAMPLE[:13]
ASTERISK_FALLBACK = (
    "accountcode",
    "caller_id_number",
    "destination_number",
    "context",
    "caller_id",
    "channel_name",
    "bridge_channel",
    "last_app",
    "last_arg",
    "start_stamp",
    "answer_stamp",
    "end_stamp",
    "duration",
    "billsec",
    "hangup_cause",
    "amaflags",
    "uuid",
    "userfield",
)
BUILT_IN = {"example": EXAMPLE, "default": DEFAULT, "asterisk18": ASTERISK_FALLBACK}
_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def template_columns(text: str) -> tuple[str, ...]:
    """The variable of each column of a template's text (``""`` for a column holding none or
    several: its value is not read)."""
    columns: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text.strip():
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            columns.append("".join(current))
            current = []
        else:
            current.append(char)
    columns.append("".join(current))
    names = []
    for column in columns:
        found = _VARIABLE.findall(column)
        names.append(found[0] if len(found) == 1 else "")
    return tuple(names)


def template_from_config(path: Path, name: str | None = None) -> tuple[str, ...]:
    """The columns of template ``name`` (default: the file's default-template) in a
    cdr_csv.conf.xml; FeedError naming what is missing."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()  # noqa: S314
    except (OSError, ET.ParseError) as error:
        raise FeedError(f"cannot read the FreeSWITCH config {path}: {error}") from error
    if name is None:
        for param in root.iter("param"):
            if param.get("name") == "default-template":
                name = param.get("value")
    templates = {t.get("name"): (t.text or "") for t in root.iter("template")}
    if name is None:
        name = "example" if "example" in templates else None
    if name is None or name not in templates:
        if name in BUILT_IN:
            return BUILT_IN[name]
        # mod_cdr_csv.c: a default-template naming no template falls back to the Asterisk layout
        return ASTERISK_FALLBACK
    columns = template_columns(templates[name])
    if "uuid" not in columns:
        raise FeedError(
            f"template {name!r} in {path} has no ${{uuid}}: no call id to de-duplicate by"
        )
    return columns


def parse_columns(text: str) -> tuple[str, ...]:
    """``--template``: a built-in name or comma-separated variable names (``${x}`` or ``x``)."""
    if text in BUILT_IN:
        return BUILT_IN[text]
    names = tuple(_VARIABLE.sub(r"\1", part.strip().strip('"')) for part in text.split(","))
    if "uuid" not in names:
        raise FeedError("the template has no uuid: no call id to de-duplicate by")
    return names


def guess_template(records: list[list[str]]) -> tuple[str, ...] | None:
    """The built-in template the sampled records fit (by column count and values), or None."""
    counts = {len(fields) for fields in records}
    if len(counts) != 1:
        return None
    for template in (EXAMPLE, DEFAULT, ASTERISK_FALLBACK):
        if counts == {len(template)} and all(_fits(template, fields) for fields in records):
            return template
    return None


def _fits(template: tuple[str, ...], fields: list[str]) -> bool:
    values = dict(zip(template, (f.strip() for f in fields), strict=True))
    return (
        bool(_UUID.match(values["uuid"]))
        and values["start_stamp"][:4].isdigit()
        and values["start_stamp"][4:5] == "-"
        and values["hangup_cause"].replace("_", "").isalpha()
        and values["hangup_cause"].isupper()
    )


def convert(handle: TextIO, options: FeedOptions) -> Iterator[Converted | Block]:
    template = options.template or EXAMPLE
    width = len(template)
    has_epoch = "start_epoch" in template or "start_uepoch" in template
    rows = ChannelRows(options, has_epoch)
    if not has_epoch:
        rows.clock()  # no zone, no import: said before the first row
    for lines, found, split in fast_groups(handle, width=width, all_quoted=True):
        columns_found = columns_of(found, split, width)
        if columns_found is not None:
            columns = dict(zip(template, columns_found, strict=True))
            columns.pop("", None)
            rows_of_group = rows.rows_of_columns(columns)
            if rows_of_group is not None:
                yield Block(lines, rows_of_group)
                continue
        records = records_of(found, split)
        for line, fields in zip(lines, records, strict=True):
            if len(fields) != width:
                yield Converted(line, None, f"{len(fields)} columns, the template has {width}")
                continue
            values = dict(zip(template, fields, strict=True))
            values.pop("", None)
            if rows.is_b_leg(values):
                options.tally.b_legs += 1
                continue
            try:
                yield Converted(line, rows.row(values))
            except BadRecord as bad:
                yield Converted(line, None, str(bad))
