"""FreeSWITCH mod_json_cdr: one JSON document per leg, a ``<uuid>.cdr.json`` file each (or
``a_<uuid>.cdr.json`` with ``prefix-a-leg``), read one file at a time or a directory of them.
A file holding one document per line (JSON lines, as an HTTP collector may write) is read too.

``encode-values`` is on by default: string values are percent-encoded
(``2026-03-29%2001%3A59%3A59``) and are decoded here. The A-leg is the customer's call: a
document whose ``channel_data.direction`` is ``outbound`` (the leg the switch originated) is a
B-leg and is left out. The fields are read as in :mod:`carriertui.feeds.freeswitch`, from
``variables``; without ``start_epoch``/``start_stamp`` the start is
``callflow[0].times.created_time`` (microseconds).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from carriertui.feeds.common import BadRecord, Converted, FeedError, FeedOptions
from carriertui.feeds.freeswitch import ChannelRows

NAME = "freeswitch-json"
SUFFIX = ".json"


def files_of(path: Path) -> list[Path]:
    """The documents to read: the file, or a directory's ``*.json`` files by name."""
    if path.is_dir():
        import os

        with os.scandir(path) as entries:
            names = sorted(
                e.name for e in entries if e.name.endswith(SUFFIX) and e.is_file()
            )  # by name as text: Path comparisons cost more than the rest of a listing
        return [path / name for name in names]
    return [path]


def looks_like(head: str) -> bool:
    text = head.lstrip("\ufeff \t\r\n")
    return text.startswith("{") and ('"variables"' in head or '"channel_data"' in head)


def _decoded(variables: Any) -> dict[str, str]:
    if not isinstance(variables, dict):
        raise BadRecord("no variables object: not a mod_json_cdr document")
    values = {}
    for key, value in variables.items():
        text = value if isinstance(value, str) else "" if value is None else str(value)
        values[str(key)] = unquote(text) if "%" in text else text
    return values


def _documents(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise FeedError(f"cannot read {path.name}: {error}") from error
    try:
        yield 1, json.loads(text)
        return
    except json.JSONDecodeError as whole_error:
        lines = text.splitlines()
        if len([line for line in lines if line.strip()]) < 2:
            yield whole_error.lineno, whole_error
            return
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as error:
                yield number, error


def convert_files(paths: list[Path], options: FeedOptions) -> Iterator[Converted]:
    rows = ChannelRows(options, has_epoch=True)
    for path in paths:
        for line, document in _documents(path):
            if isinstance(document, json.JSONDecodeError):
                yield Converted(line, None, f"not JSON: {document.msg}", path.name)
                continue
            try:
                if not isinstance(document, dict):
                    raise BadRecord("not a JSON object: not a mod_json_cdr document")
                values = _decoded(document.get("variables"))
                channel = document.get("channel_data")
                direction = channel.get("direction", "") if isinstance(channel, dict) else ""
                if rows.is_b_leg(values, str(direction)):
                    options.tally.b_legs += 1
                    continue
                if not (values.get("start_epoch") or values.get("start_uepoch")):
                    created = _created_time(document)
                    if created and not values.get("start_stamp"):
                        values["start_uepoch"] = created
                yield Converted(line, rows.row(values), "", path.name)
            except BadRecord as bad:
                yield Converted(line, None, str(bad), path.name)


def _created_time(document: dict[str, Any]) -> str:
    callflow = document.get("callflow")
    flow = callflow[0] if isinstance(callflow, list) and callflow else callflow
    if isinstance(flow, dict) and isinstance(flow.get("times"), dict):
        created = flow["times"].get("created_time")
        if created is not None:
            return unquote(str(created))
    return ""
