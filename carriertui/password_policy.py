"""The password policy's numbers, in one place for the service that enforces them and the screens
that explain them (NIST SP 800-63B-4). Pure: importing it loads nothing (the login is the first
frame)."""

from __future__ import annotations

MIN_LENGTH = 15  # a password used alone (no second factor): SP 800-63B-4 section 3.1.1.2
MAX_LENGTH = 128
GENERATED_LENGTH = 20  # a generated password: from `secrets`, letters and digits

# The hint beside a new-password field.
FIELD_HINT = f"{MIN_LENGTH}-{MAX_LENGTH} characters; a passphrase works well"
