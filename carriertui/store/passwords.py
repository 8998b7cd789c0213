"""Password hashing (argon2id) and the password policy (NIST SP 800-63B).

Hashing and verifying cost about 130 ms each: callers on the UI thread run them in a worker.
"""

from __future__ import annotations

import functools
import itertools
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from carriertui.locations import seed_dir
from carriertui.password_policy import GENERATED_LENGTH, MAX_LENGTH, MIN_LENGTH
from carriertui.store.errors import ValidationError

_GENERATED_ALPHABET = string.ascii_letters + string.digits

_hasher = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@functools.lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash to verify against for unknown users, so both failures cost the same time."""
    return _hasher.hash(secrets.token_urlsafe(24))


def generate_password(length: int = GENERATED_LENGTH) -> str:
    """A random password from ``secrets``: 20 letters and digits, about 119 bits."""
    return "".join(secrets.choice(_GENERATED_ALPHABET) for _ in range(length))


@functools.lru_cache(maxsize=1)
def blocklist() -> frozenset[str]:
    path = seed_dir() / "common-passwords.txt"
    with path.open(encoding="utf-8") as handle:
        return frozenset(
            line.strip().lower() for line in handle if line.strip() and not line.startswith("#")
        )


def _is_repetition(text: str) -> bool:
    """'aaaaaaaa…' or 'abcabcabc…': a short unit repeated to fill the length."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return True
    return False


def _is_sequence(text: str) -> bool:
    """'123456789012345' or 'abcdefghijklmno' (or descending): each character one step on."""
    steps = {(ord(b) - ord(a)) for a, b in itertools.pairwise(text)}
    return steps in ({1}, {-1}, {1, -9}, {-1, 9})


def check_password_policy(
    password: str, *, username: str | None = None, field: str = "password"
) -> None:
    """Raise ValidationError unless ``password`` meets the policy.

    No composition rules and no truncation: every character counts, spaces and unicode included.
    """
    if len(password) < MIN_LENGTH:
        raise ValidationError(
            field, f"must be at least {MIN_LENGTH} characters (it has {len(password)})"
        )
    if len(password) > MAX_LENGTH:
        raise ValidationError(field, f"must be at most {MAX_LENGTH} characters")
    folded = password.lower()
    stripped = folded.rstrip(string.digits + string.punctuation + " ")
    blocked = blocklist()
    if folded in blocked or (len(stripped) >= 4 and stripped in blocked):
        raise ValidationError(field, "is a commonly used password; choose another")
    if _is_repetition(folded):
        raise ValidationError(field, "is one short pattern repeated; choose another")
    if _is_sequence(folded):
        raise ValidationError(field, "is a simple sequence; choose another")
    if username and len(username) >= 3 and username.lower() in folded:
        raise ValidationError(field, "must not contain the user name")
