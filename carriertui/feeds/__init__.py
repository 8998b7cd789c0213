"""Switch CDR formats read into carriertui's native CDR rows: pure parsers, no database.

One module per format (connexcs, freeswitch_csv, freeswitch_json, asterisk, acc), the shared
rules in :mod:`.common`, ``auto`` detection in :mod:`.detect`. :func:`convert` yields each
record as a :class:`~.common.Converted` (a native row or the reason there is none); the store's
feed import (store/feeds.py) streams those rows into the native importer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from carriertui.feeds import acc, asterisk, connexcs, freeswitch_csv, freeswitch_json
from carriertui.feeds.common import (
    Converted,
    FeedError,
    FeedOptions,
)
from carriertui.feeds.groups import (
    Block,
)

NATIVE = "native"
AUTO = "auto"
# The --format names, in the order the help lists them.
FORMATS = (
    NATIVE,
    connexcs.NAME,
    freeswitch_csv.NAME,
    freeswitch_json.NAME,
    asterisk.NAME,
    acc.NAME,
)

__all__ = ["AUTO", "FORMATS", "NATIVE", "Block", "Converted", "FeedError", "FeedOptions", "convert"]


def convert(path: Path, fmt: str, options: FeedOptions) -> Iterator[Converted | Block]:
    """The records of switch file (or, for JSON, directory) ``path`` in format ``fmt``."""
    if fmt == freeswitch_json.NAME:
        files = freeswitch_json.files_of(path)
        if not files:
            raise FeedError(f"{path.name}: no *.json files")
        yield from freeswitch_json.convert_files(files, options)
        return
    readers = {
        connexcs.NAME: connexcs.convert,
        freeswitch_csv.NAME: freeswitch_csv.convert,
        asterisk.NAME: asterisk.convert,
        acc.NAME: acc.convert,
    }
    reader = readers.get(fmt)
    if reader is None:
        raise FeedError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    with contextlib.ExitStack() as stack:
        try:
            handle = stack.enter_context(
                open(path, encoding="utf-8-sig", errors="strict", newline="")
            )
        except OSError as error:
            raise FeedError(f"cannot read {path}: {error.strerror or error}") from error
        try:
            yield from reader(handle, options)
        except UnicodeDecodeError as error:
            raise FeedError(f"{path.name} is not UTF-8 text ({error.reason})") from error
