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
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from carriertui.feeds.common import BadRecord, Converted, FeedError, FeedOptions
from carriertui.feeds.freeswitch import COLUMN_VARIABLES as _COLUMN_VARIABLES
from carriertui.feeds.freeswitch import ChannelRows
from carriertui.feeds.groups import GROUP, Block

NAME = "freeswitch-json"
SUFFIX = ".json"
_READ_BYTES = 1 << 16


def files_of(path: Path) -> list[Path]:
    """The documents to read: the file, or a directory's ``*.json`` files by name."""
    if path.is_dir():
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


def _read_text(path: Path) -> str:
    # os.open/os.read, not open(): a file object costs more than the read of a 1 KB document.
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            data = os.read(fd, _READ_BYTES)
            if len(data) == _READ_BYTES:  # a big document: the rest of it
                parts = [data]
                while chunk := os.read(fd, _READ_BYTES):
                    parts.append(chunk)
                data = b"".join(parts)
        finally:
            os.close(fd)
        return data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise FeedError(f"cannot read {path.name}: {error}") from error


def _documents(path: Path, text: str | None = None) -> Iterator[tuple[int, Any]]:
    if text is None:
        text = _read_text(path)
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


def convert_files(paths: list[Path], options: FeedOptions) -> Iterator[Converted | Block]:
    """The documents of ``paths``, a group of files at a time: a group of plain A-leg
    documents (one per file, string values, a start_epoch each) is converted a column at a
    time (ChannelRows.rows_of_columns, as the CSV reader does) into one Block; any other
    group, document by document (_careful), which gives the same rows and the reasons."""
    rows = ChannelRows(options, has_epoch=True)
    for at in range(0, len(paths), GROUP):
        group = paths[at : at + GROUP]
        texts = [_read_text(path) for path in group]
        block = _fast_group(group, texts, rows, options)
        if block is not None:
            yield block
            continue
        for path, text in zip(group, texts, strict=True):
            yield from _careful(path, text, rows, options)


def _fast_group(
    paths: list[Path], texts: list[str], rows: ChannelRows, options: FeedOptions
) -> Block | None:
    """The group's rows as one Block, or None when any document needs the careful path."""
    try:
        documents = list(map(json.loads, texts))
    except json.JSONDecodeError:
        return None  # JSON lines, or not JSON: the careful path says which
    variables = []
    b_legs = 0
    names = []
    for path, document in zip(paths, documents, strict=True):
        if type(document) is not dict:
            return None
        values = document.get("variables")
        channel = document.get("channel_data")
        if type(values) is not dict or (channel is not None and type(channel) is not dict):
            return None
        direction = channel.get("direction", "") if channel is not None else ""
        if not isinstance(direction, str):
            return None
        if (direction or values.get("direction", "")).strip().lower() == "outbound":
            b_legs += 1  # a B-leg: left out (ChannelRows.is_b_leg)
            continue
        variables.append(values)
        names.append(path.name)
    if not variables:
        return None
    columns: dict[str, list[str]] = {}
    for name in _COLUMN_VARIABLES:
        if not any(name in values for values in variables):
            continue
        column = [values.get(name, "") for values in variables]
        try:
            joined = "\n".join(column)  # TypeError: a value that is not a string
        except TypeError:
            return None
        if "%" in joined:  # encode-values: one unquote for the column
            joined = unquote(joined)
            if joined.count("\n") != len(column) - 1:
                return None  # a value held an encoded line break
            column = joined.split("\n")
        columns[name] = column
    epochs = columns.get("start_epoch")
    if epochs is None or not all(epochs):
        return None  # a start from start_uepoch or the callflow: the careful path
    converted = rows.rows_of_columns(columns)
    if converted is None:
        return None
    options.tally.b_legs += b_legs
    return Block([1] * len(converted), converted, names)


def _careful(path: Path, text: str, rows: ChannelRows, options: FeedOptions) -> Iterator[Converted]:
    for line, document in _documents(path, text):
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
