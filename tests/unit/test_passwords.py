"""Password policy (NIST SP 800-63B) and argon2id hashing."""

from __future__ import annotations

import string

import pytest
from argon2 import PasswordHasher

from carriertui.store import passwords
from carriertui.store.errors import ValidationError


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "at least 15"),
        ("fourteen chars", "at least 15"),  # 14 characters
        ("x" * 129, "at most 128"),
        ("passwordpassword", ""),  # common word, repeated
        ("password1234567", "commonly used"),  # "password" plus digits
        ("PASSWORD1234567!", "commonly used"),  # case and trailing punctuation do not help
        ("qwerty123456789", "commonly used"),  # on the list as it is
        ("aaaaaaaaaaaaaaaa", "repeated"),
        ("abcabcabcabcabcabc", "repeated"),
        ("123456789012345", "sequence"),
        ("abcdefghijklmnop", "sequence"),
        ("ponmlkjihgfedcba", "sequence"),
    ],
)
def test_policy_rejects(password: str, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        passwords.check_password_policy(password)
    assert error.value.field == "password"
    assert message in error.value.message


def test_policy_rejects_the_user_name() -> None:
    with pytest.raises(ValidationError) as error:
        passwords.check_password_policy("my name is Operator.Bob, ok", username="operator.bob")
    assert "user name" in error.value.message
    passwords.check_password_policy("my name is Operator.Bob, ok", username="alice")


def test_policy_names_the_form_field() -> None:
    with pytest.raises(ValidationError) as error:
        passwords.check_password_policy("short", field="new_password")
    assert error.value.field == "new_password"


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "fifteen chars!!",  # exactly 15, no composition rules
        "ночь улица фонарь аптека",  # unicode
        "\u6771\u4eac\u306e\u591c\u306f\u9577\u3044\u3002\u96fb\u8eca\u304c\u6b62\u307e\u308b\u3002",
        "a" + "b c d e f g h " * 9,  # 127 characters
        "y" * 64 + "z" * 64,  # 128 characters, not one unit repeated
    ],
)
def test_policy_accepts_long_passphrases(password: str) -> None:
    passwords.check_password_policy(password, username="alice")


def test_blocklist_is_shipped_and_sized() -> None:
    blocked = passwords.blocklist()
    assert len(blocked) > 10_000
    assert {"password", "123456", "qwerty123456789"} <= blocked
    assert not any(entry.startswith("#") for entry in blocked)


def test_generated_passwords_are_long_random_and_pass_the_policy() -> None:
    generated = [passwords.generate_password() for _ in range(20)]
    assert len(set(generated)) == 20
    for password in generated:
        assert len(password) >= 16
        assert set(password) <= set(string.ascii_letters + string.digits)
        passwords.check_password_policy(password, username="alice")


def test_hash_is_argon2id_with_the_production_cost() -> None:
    hashed = passwords.hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "correct horse" not in hashed
    assert passwords.hash_password("correct horse battery staple") != hashed  # salted
    assert not passwords.needs_rehash(hashed)
    assert passwords.dummy_hash().startswith("$argon2id$")


def test_verify_and_no_truncation() -> None:
    long_password = "a long passphrase " * 4 + "tail-one"  # 80 characters
    other = long_password[:-1] + "X"  # differs only after character 72
    assert len(long_password) == 80
    assert long_password[:72] == other[:72]
    hashed = passwords.hash_password(long_password)
    assert passwords.verify_password(hashed, long_password)
    assert not passwords.verify_password(hashed, other)


def test_verify_treats_a_broken_hash_as_a_mismatch(fast_argon2) -> None:
    assert not passwords.verify_password("not a hash", "whatever you like")
    assert not passwords.verify_password("$argon2id$v=19$m=1024,t=1,p=1$broken", "x")


def test_cheaper_hashes_need_a_rehash(fast_argon2, monkeypatch: pytest.MonkeyPatch) -> None:
    cheap = passwords.hash_password("correct horse battery staple")
    assert not passwords.needs_rehash(cheap)
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher())  # the production parameters
    assert passwords.needs_rehash(cheap)


def test_the_policy_numbers_are_written_once() -> None:
    """The screens explain the policy with the numbers the service enforces: no module but
    password_policy spells a length (issue 13)."""
    import re
    from pathlib import Path

    import carriertui
    from carriertui import password_policy

    package = Path(carriertui.__file__).parent
    spelled = re.compile(
        rf"\b({password_policy.MIN_LENGTH}|{password_policy.MAX_LENGTH}|"
        rf"{password_policy.GENERATED_LENGTH})(-\d+)? characters"
    )
    found = [
        f"{path.relative_to(package)}: {match.group(0)}"
        for path in package.rglob("*.py")
        if path.name != "password_policy.py"
        for match in spelled.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []
