"""``--format auto``: which format a file is, from its header or its column count and values,
with the reason; FeedError when it cannot tell (or two formats fit)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from carriertui.feeds import NATIVE, acc, asterisk, connexcs, freeswitch_csv, freeswitch_json
from carriertui.feeds.common import NATIVE_COLUMNS, FeedError, FeedOptions

HEAD_BYTES = 64 << 10
SAMPLE_RECORDS = 20


def detect(path: Path, options: FeedOptions) -> tuple[str, str]:
    """(format, why) for ``path``; a FreeSWITCH CSV's template is put in ``options``."""
    if path.is_dir():
        if freeswitch_json.files_of(path):
            return freeswitch_json.NAME, "a directory of .json documents"
        raise FeedError(f"{path.name} is a directory without .json files: nothing to import")
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError as error:
        raise FeedError(f"cannot read {path}: {error.strerror or error}") from error
    text = head.decode("utf-8", "replace").removeprefix("\ufeff")
    if not text.strip():
        return NATIVE, "empty file"
    if freeswitch_json.looks_like(text):
        return freeswitch_json.NAME, "a JSON document with channel variables"
    lines = text.splitlines()
    if len(head) == HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last may be cut
    first = lines[0]
    header = next(csv.reader([first], delimiter=connexcs.delimiter_of(first)), [])
    names = {cell.strip().lower() for cell in header}
    if {"call_id", "customer", "start_time"} <= names or names & set(NATIVE_COLUMNS) >= {
        "call_id",
        "start_time",
    }:
        return NATIVE, "carriertui's header (call_id, customer, start_time, ...)"
    if connexcs.looks_like(header):
        return connexcs.NAME, "ConnexCS column names in the header"
    if acc.looks_like(header):
        return acc.NAME, "acc columns (callid, start/end or time, duration) in the header"
    records = [
        fields
        for fields in csv.reader(
            io.StringIO("\n".join(lines[:SAMPLE_RECORDS])), skipinitialspace=True
        )
        if fields
    ]
    fits = []
    if asterisk.looks_like(records):
        fits.append((asterisk.NAME, f"no header, {len(records[0])} columns with a disposition"))
    template = options.template
    if template is not None:
        if {len(r) for r in records} == {len(template)}:
            fits.append((freeswitch_csv.NAME, f"no header, the template's {len(template)} columns"))
    else:
        guessed = freeswitch_csv.guess_template(records)
        if guessed is not None:
            name = next(k for k, v in freeswitch_csv.BUILT_IN.items() if v == guessed)
            fits.append(
                (freeswitch_csv.NAME, f"no header, {len(guessed)} columns of the {name} template")
            )
            options.template = guessed
    if len(fits) == 1:
        return fits[0]
    if fits:
        raise FeedError(
            f"{path.name} could be " + " or ".join(name for name, _ in fits) + ": give --format"
        )
    if names & set(NATIVE_COLUMNS):
        return NATIVE, "some of carriertui's column names in the header"
    count = len(records[0]) if records else 0
    raise FeedError(
        f"cannot tell the format of {path.name} (first line has {count} fields and is no header "
        "carriertui knows): give --format native|connexcs|freeswitch-csv|freeswitch-json|"
        "asterisk|acc"
    )
