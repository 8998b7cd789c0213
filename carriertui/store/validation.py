"""Field parsers shared by the services. Each raises ValidationError naming its field."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from carriertui.store.db.types import MONEY_SCALE, quantize
from carriertui.store.errors import ValidationError
from carriertui.text import has_control_characters

E = TypeVar("E", bound=StrEnum)


def text(
    field: str, value: Any, *, max_length: int, required: bool = True, multiline: bool = False
) -> str | None:
    raw = "" if value is None else str(value)
    if multiline:  # text pasted from Windows: CRLF line ends are line ends, not controls
        raw = raw.replace("\r\n", "\n")
    cleaned = raw if multiline else raw.strip()
    if not cleaned.strip():
        if required:
            raise ValidationError(field, "is required")
        return None
    if len(cleaned) > max_length:
        raise ValidationError(
            field, f"must be at most {max_length} characters (it has {len(cleaned)})"
        )
    check = cleaned.replace("\n", "").replace("\t", "") if multiline else cleaned
    if has_control_characters(check):
        raise ValidationError(field, "must not contain control characters")
    return cleaned


# Longer search terms are refused, not truncated: no operator types 1,000 characters to find a
# row, and SQLite refuses LIKE patterns over 50,000 bytes with an error that names no field.
MAX_SEARCH_CHARS = 1000


def search_term(field: str, value: str | None) -> str:
    """A search term as typed, stripped; refused (naming ``field``) past MAX_SEARCH_CHARS."""
    term = (value or "").strip()
    if len(term) > MAX_SEARCH_CHARS:
        raise ValidationError(
            field, f"must be at most {MAX_SEARCH_CHARS:,} characters (it has {len(term):,})"
        )
    return term


def integer(
    field: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    if isinstance(value, bool):
        raise ValidationError(field, "must be a whole number")
    if isinstance(value, int):
        number = value
    else:
        raw = str(value).strip().replace("_", "").replace(",", "")
        if not raw:
            raise ValidationError(field, "is required")
        try:
            number = int(raw)
        except ValueError:
            raise ValidationError(
                field, f"must be a whole number, not {str(value)[:40]!r}"
            ) from None
    if minimum is not None and number < minimum:
        raise ValidationError(field, f"must be at least {minimum}")
    if maximum is not None and number > maximum:
        raise ValidationError(field, f"must be at most {maximum}")
    return number


def decimal(
    field: str,
    value: Any,
    *,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
    places: int = MONEY_SCALE,
) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError(field, "must be a number")
    if isinstance(value, float):
        value = repr(value)
    raw = str(value).strip().replace("_", "").replace(",", "")
    if not raw:
        raise ValidationError(field, "is required")
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise ValidationError(field, f"must be a number, not {str(value)[:40]!r}") from None
    if not number.is_finite():
        raise ValidationError(field, "must be a finite number")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise ValidationError(field, f"must have at most {places} decimal places")
    if minimum is not None and number < minimum:
        raise ValidationError(field, f"must be at least {minimum}")
    if maximum is not None and number > maximum:
        raise ValidationError(field, f"must be at most {maximum}")
    return quantize(number)


def choice(field: str, value: Any, enum: type[E]) -> E:
    raw = str(value.value if isinstance(value, StrEnum) else value).strip()
    for member in enum:
        if raw.lower() in (member.value.lower(), member.name.lower()):
            return member
    options = ", ".join(member.value for member in enum)
    raise ValidationError(field, f"must be one of: {options}")


def boolean(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raw = str(value).strip().lower()
    if raw in ("1", "true", "yes", "on", "y"):
        return True
    if raw in ("0", "false", "no", "off", "n"):
        return False
    raise ValidationError(field, "must be on or off (true/false, yes/no, 1/0)")
