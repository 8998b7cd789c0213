"""What a grid search may contain, and the LIKE that finds it literally on SQLite and PostgreSQL."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    func,
    literal,
)
from sqlalchemy.orm import Mapped

from carriertui.store.errors import ValidationError

LIKE_ESCAPE = "\\"


# A multi-line notes field keeps TAB and LF (GUIDE section 4), and LIKE matches them literally.
_SEARCHABLE_CONTROLS = frozenset("\t\n")


def _not_searchable(character: str) -> bool:
    code = ord(character)
    if character in _SEARCHABLE_CONTROLS:
        return False
    return (
        unicodedata.category(character) in ("Cc", "Cs")  # C0, DEL, C1; lone surrogates
        or 0xFDD0 <= code <= 0xFDEF
        or (code & 0xFFFE) == 0xFFFE  # U+FFFE, U+FFFF and their copies in every plane
    )


def check_search(text: str) -> str:
    """``text`` when a LIKE matches it literally on both backends, else a ValidationError
    (field ``search``) naming the first character it cannot.

    Refused: control characters (C0 but TAB and LF, which notes keep; DEL; C1), NUL above
    all: SQLite's LIKE ends the pattern at a NUL, so ``\\0`` matched every row and ``a\\0``
    every text ending in ``a``, and a PostgreSQL text cannot hold one; lone surrogates (no
    UTF-8 for them); and Unicode noncharacters, which SQLite's LIKE reads as U+FFFD (so
    ``\\ufffe`` matched ``\\uffff``). The services refuse control characters in what they
    store, so refusing them hides nothing an operator typed. Every grid search (SqlRowSource)
    and the customer search (customers.list_customers) pass through here.
    """
    for character in text:
        if _not_searchable(character):
            raise ValidationError(
                "search",
                # One line at 80 columns in the grid's status line, "error: search: " first.
                f"cannot contain U+{ord(character):04X}: only printable text can be searched",
            )
    return text


def like_pattern(text: str) -> str:
    """A LIKE pattern (escape ``\\``) matching any text that contains ``text`` (ValidationError
    for a text no LIKE matches literally: :func:`check_search`)."""
    check_search(text)
    escaped = (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


REPLACEMENT_CHARACTER = "\ufffd"


def sqlite_like(
    expression: ColumnElement[Any] | Mapped[Any], search: str, pattern: ColumnElement[Any] | str
) -> ColumnElement[bool]:
    """``expression LIKE pattern`` on SQLite, literal for U+FFFD too: SQLite's LIKE reads
    U+FFFE and U+FFFF as U+FFFD, so a search for U+FFFD also needs one in the text (``instr``
    compares the bytes)."""
    condition: ColumnElement[bool] = expression.like(pattern, escape=LIKE_ESCAPE)
    if REPLACEMENT_CHARACTER in search:
        found = func.instr(expression, literal(REPLACEMENT_CHARACTER, Text())) > 0
        condition = and_(condition, found)
    return condition


@dataclass(frozen=True)
class TrigramIndex:
    """A trigram index over the source's search texts: it narrows a search to candidate rows, a
    superset of the matches, and the LIKE conditions then decide (so the result is the LIKE
    result exactly). A search shorter than three characters has no trigram and is not narrowed.

    ``sqlite_table``: an FTS5 table (``tokenize='trigram'``; ``detail='none'`` will do, as only
    trigrams are asked for, not phrases) whose rowid is the row key and whose text holds every
    searchable column's search text of that row verbatim. Its tokenizer folds case (Unicode
    folding, a superset of the ASCII folding the search does) and ``a AND b`` of the search
    text's trigrams finds every row holding the text.

    ``postgres_document``: an expression holding every search text verbatim, indexed with
    pg_trgm's ``gin_trgm_ops`` under ``COLLATE "C"`` (rendered exactly as the index's, so that
    the planner matches it): ``document COLLATE "C" ILIKE pattern`` is the candidate test.

    ``also``: candidates the index cannot know (a searchable column from another table), given
    the source's LIKE for an expression: they are added to the index's.
    """

    sqlite_table: str | None = None
    postgres_document: ColumnElement[Any] | None = None
    also: (
        Callable[[Callable[[ColumnElement[Any]], ColumnElement[bool]]], ColumnElement[bool]] | None
    ) = None
    # At most this many trigrams are asked for (spread over the text): each costs a doclist
    # read, and a few already narrow the candidates to a handful of rows.
    max_trigrams: int = 5

    def trigrams(self, search: str) -> list[str]:
        grams = list(dict.fromkeys(search[i : i + 3] for i in range(len(search) - 2)))
        if len(grams) <= self.max_trigrams:
            return grams
        step = (len(grams) - 1) / (self.max_trigrams - 1)
        return [grams[round(i * step)] for i in range(self.max_trigrams)]
