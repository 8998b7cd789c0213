"""The parsing child's entry point, and the names the CDR parser had when it was one module.

The parser is now store/cdrs/fields.py (columns, limits, one field's checks, the header),
rows.py (the row parser and its column fast paths), csvsource.py (reading the file, the parsed
batches) and protocol.py (both ends of the child-process pipe, child_main among them). Callers
import these names from here as before; a test that monkeypatches one must patch the module
that uses it (csvsource._CHUNK_BYTES, say), which is why the private settings are not
re-exported here. ``python -m carriertui.store.cdrs.child`` runs the child (as _CHILD_CODE
does with protocol.child_main). Light to import, like all of them: no SQLAlchemy.
"""

from __future__ import annotations

from carriertui.store.cdrs.csvsource import ParsedBatch, _CsvSource, parsed_batches, touched_hours
from carriertui.store.cdrs.fields import (
    _INSERT_COLUMNS,
    CSV_COLUMNS,
    DIRECTIONS,
    MAX_CALL_ID,
    MAX_DEST_NAME,
    MAX_MONEY,
    MAX_NUMBER,
    MAX_PDD_MS,
    MAX_REASON,
    MAX_SECONDS,
    MONEY_SCALE,
    RATED_COLUMNS,
    REJECT_COLUMNS,
    CdrImportError,
    _Bad,
    _sqlite_time,
    check_header,
    rates_every_row,
)
from carriertui.store.cdrs.protocol import child_main, encode_message, read_message
from carriertui.store.cdrs.rows import _RowParser
from carriertui.store.errors import ValidationError

__all__ = [
    "CSV_COLUMNS",
    "DIRECTIONS",
    "MAX_CALL_ID",
    "MAX_DEST_NAME",
    "MAX_MONEY",
    "MAX_NUMBER",
    "MAX_PDD_MS",
    "MAX_REASON",
    "MAX_SECONDS",
    "MONEY_SCALE",
    "RATED_COLUMNS",
    "REJECT_COLUMNS",
    "_INSERT_COLUMNS",
    "CdrImportError",
    "ParsedBatch",
    "ValidationError",
    "_Bad",
    "_CsvSource",
    "_RowParser",
    "_sqlite_time",
    "check_header",
    "child_main",
    "encode_message",
    "parsed_batches",
    "rates_every_row",
    "read_message",
    "touched_hours",
]

if __name__ == "__main__":
    child_main()
