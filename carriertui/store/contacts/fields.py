"""A contact's fields: what an operator or the contact may edit, and how each value is checked and
cleaned (emails, phones, the IP whitelist, notes that look like a password)."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any

from carriertui.store import validation
from carriertui.store.enums import ContactType
from carriertui.store.errors import (
    ValidationError,
)

NOTES_MAX = 4000

# Fields an operator edits on the form. The password is not one of them: it has its own paths.
EDITABLE_FIELDS = (
    "name",
    "email",
    "phone",
    "mobile",
    "contact_type",
    "public_notes",
    "private_notes",
    "email_verified",
    "mobile_verified",
    "ip_whitelist",
)
# What a contact may change about themselves in the portal ("My Profile").
PORTAL_FIELDS = ("name", "phone", "mobile")
DEFAULTS: dict[str, Any] = {
    "phone": None,
    "mobile": None,
    "contact_type": ContactType.OTHER,
    "public_notes": None,
    "private_notes": None,
    "email_verified": False,
    "mobile_verified": False,
    "ip_whitelist": (),
}

# Things people type before a password: "password: x", "pwd=x", "pass x", "pw - x".
_PASSWORD_HINT = re.compile(
    r"\b(pass(?:word|wd|code|phrase)?|pwd|pw)\b\s*(?:[:=\-]|is\b)?\s*\S", re.IGNORECASE
)


class NotesLookLikePasswordError(ValidationError):
    """The notes seem to hold a password. Saving needs the operator's explicit confirmation
    (``confirm_notes=True``): the product page warns never to keep passwords in notes."""


# -- validation ----------------------------------------------------------------------------------


def clean_email(value: Any, field: str = "email") -> str:
    from email_validator import EmailNotValidError, validate_email

    raw = str(value or "").strip()
    if not raw:
        raise ValidationError(field, "is required")
    if has_control(raw):
        raise ValidationError(field, "must not contain control characters")
    try:
        checked = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValidationError(field, f"is not a valid email address: {error}") from None
    return checked.normalized


def has_control(text: str) -> bool:
    from carriertui.text import has_control_characters

    return has_control_characters(text)


def clean_phone(field: str, value: Any) -> str | None:
    """Parse a phone number with libphonenumber and return it in E.164 (``+442079460958``)."""
    import phonenumbers

    raw = str(value or "").strip()
    if not raw:
        return None
    if has_control(raw) or len(raw) > 40:
        raise ValidationError(field, "is not a phone number")
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as error:
        if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE and (
            raw.startswith("+")
        ):
            # libphonenumber gives the same error for "+999 ..." as for a number without "+".
            raise ValidationError(field, "has an unknown country code") from None
        reasons = {
            phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: (
                "needs the country code: start with + (e.g. +44 20 7946 0958)"
            ),
            phonenumbers.NumberParseException.NOT_A_NUMBER: "is not a phone number",
            phonenumbers.NumberParseException.TOO_SHORT_NSN: "is too short",
            phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "is too short",
            phonenumbers.NumberParseException.TOO_LONG: "is too long",
        }
        raise ValidationError(
            field, reasons.get(error.error_type, "is not a phone number")
        ) from None
    if not phonenumbers.is_valid_number(number):
        region = phonenumbers.region_code_for_number(number)
        where = f"{region} (+{number.country_code})" if region else f"+{number.country_code}"
        raise ValidationError(field, f"is not a valid number for {where}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_PREFIX = re.compile(r"^\d{1,3}(\.\d{1,3}){0,2}\.?$")


def parse_whitelist(value: Any) -> tuple[str, ...]:
    """IP whitelist entries, separated by commas, spaces or new lines: single addresses
    (``1.1.1.1``, ``2001:db8::1``), IPv4 prefixes (``10.1.2`` = 10.1.2.0/24) and CIDRs
    (``1.1.1.0/31``, ``2001:db8::/32``), v4 and v6. Returns normalised networks, in the order
    given, without duplicates. Empty means any address."""
    if isinstance(value, list | tuple):
        items = [str(item) for item in value]
    else:
        items = re.split(r"[\s,;]+", str(value or ""))
    networks: list[str] = []
    for item in (entry.strip() for entry in items):
        if not item:
            continue
        networks.append(str(_parse_network(item)))
    return tuple(dict.fromkeys(networks))


def _parse_network(item: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    shown = item[:60]
    if _PREFIX.match(item) and item.rstrip(".").count(".") < 3:
        octets = item.rstrip(".").split(".")
        if all(int(octet) <= 255 for octet in octets):
            padded = octets + ["0"] * (4 - len(octets))
            return ipaddress.ip_network(f"{'.'.join(padded)}/{8 * len(octets)}")
        raise ValidationError("ip_whitelist", f"{shown!r}: each number must be 0-255")
    try:
        if "/" in item:
            network = ipaddress.ip_network(item, strict=False)
            return network
        return ipaddress.ip_network(ipaddress.ip_address(item))
    except ValueError:
        raise ValidationError(
            "ip_whitelist",
            f"{shown!r} is not an IP address, a prefix such as 10.1.2, or a CIDR such as "
            "10.1.2.0/24",
        ) from None


def address_allowed(whitelist: tuple[str, ...], ip: str) -> bool:
    """Whether ``ip`` may log in under ``whitelist`` (empty: any address)."""
    if not whitelist:
        return True
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(entry) for entry in whitelist)


def clean_value(field: str, value: Any) -> Any:
    """Parse one contact field from form or CLI input, or raise ValidationError."""
    if field == "name":
        return validation.text("name", value, max_length=100)
    if field == "email":
        return clean_email(value)
    if field in ("phone", "mobile"):
        return clean_phone(field, value)
    if field == "contact_type":
        return validation.choice("contact_type", value, ContactType)
    if field in ("public_notes", "private_notes"):
        return validation.text(field, value, max_length=NOTES_MAX, required=False, multiline=True)
    if field in ("email_verified", "mobile_verified"):
        return validation.boolean(field, value)
    if field == "ip_whitelist":
        return parse_whitelist(value)
    raise ValidationError(field, "is not a contact field")


def clean(
    values: Mapping[str, Any],
    allowed: tuple[str, ...] = EDITABLE_FIELDS,
    *,
    required: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Every field parsed; every bad or missing (``required``) one reported in one
    ValidationError, so the form shows each next to its field."""
    cleaned: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for field, value in values.items():
        if field not in allowed:
            if "password" in field:
                errors.append((field, "is changed with Change Password, not here"))
            else:
                errors.append((field, "is not a contact field"))
            continue
        try:
            cleaned[field] = clean_value(field, value)
        except ValidationError as error:
            errors.extend(error.errors)
    reported = {field for field, _message in errors}
    errors += [
        (field, "is required")
        for field in required
        if field not in cleaned and field not in reported
    ]
    ValidationError.raise_all(errors)
    return cleaned


def notes_password_warning(
    values: Mapping[str, Any], password: str | None = None
) -> NotesLookLikePasswordError | None:
    """A warning when a notes field seems to hold a password (or holds ``password`` itself)."""
    for field in ("public_notes", "private_notes"):
        notes = values.get(field)
        if not notes:
            continue
        if password and password in notes:
            return NotesLookLikePasswordError(field, "contains the contact's password")
        if _PASSWORD_HINT.search(notes):
            return NotesLookLikePasswordError(
                field, "looks like it holds a password; passwords never belong in notes"
            )
    return None


def _stored(cleaned: Mapping[str, Any]) -> dict[str, Any]:
    """Cleaned form values as table columns."""
    stored = dict(cleaned)
    if "email" in stored:
        stored["email_folded"] = stored["email"].casefold()
    if "ip_whitelist" in stored:
        stored["ip_whitelist_json"] = json.dumps(list(stored.pop("ip_whitelist")))
    if "contact_type" in stored:
        stored["contact_type"] = ContactType(stored["contact_type"]).value
    return stored


# -- the grid ------------------------------------------------------------------------------------


def _yes_no(value: Any) -> str:
    return "Yes" if value else "No"


def whitelist_text(value: Any) -> str:
    """A whitelist as the operator reads it: "any" when empty (every address may log in)."""
    entries = json.loads(value) if isinstance(value, str) else list(value or ())
    return ", ".join(entries) if entries else "any"
