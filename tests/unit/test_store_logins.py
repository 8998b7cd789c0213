"""Logins: one message for every failure, lockout after 10 consecutive failures, unlock, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlmodel import select

from carriertui.store import operators, passwords
from carriertui.store.db.tables import Operator
from carriertui.store.enums import Role
from carriertui.store.errors import AuthenticationError

PASSWORD = "correct horse battery staple"
WRONG = "incorrect donkey battery staple"
IP = "192.0.2.50"


@pytest.fixture
def bob(db, admin, fast_argon2):
    return operators.create_operator(db, admin, "bob", Role.OPERATOR, PASSWORD)


def fail_logins(db, count: int, name: str = "bob") -> None:
    for _ in range(count):
        with pytest.raises(AuthenticationError):
            operators.authenticate(db, name, WRONG, ip=IP)


def test_unknown_user_and_wrong_password_give_the_same_message(db, bob) -> None:
    with pytest.raises(AuthenticationError) as unknown:
        operators.authenticate(db, "nobody", PASSWORD, ip=IP)
    with pytest.raises(AuthenticationError) as wrong:
        operators.authenticate(db, "bob", WRONG, ip=IP)
    assert str(unknown.value) == str(wrong.value) == AuthenticationError.MESSAGE
    assert "nobody" not in str(unknown.value)


def test_unknown_user_costs_one_verification_like_a_wrong_password(
    db, bob, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    real_verify = passwords.verify_password

    def counting_verify(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return real_verify(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting_verify)
    with pytest.raises(AuthenticationError):
        operators.authenticate(db, "nobody", PASSWORD, ip=IP)
    with pytest.raises(AuthenticationError):
        operators.authenticate(db, "bob", WRONG, ip=IP)
    assert len(verified) == 2
    assert all(h.startswith("$argon2id$") for h in verified)


def test_nine_failures_then_success_resets_the_counter(db, admin, bob) -> None:
    fail_logins(db, 9)
    assert operators.get_operator(db, admin, "bob").failed_logins == 9
    actor = operators.authenticate(db, "bob", PASSWORD, ip=IP)
    assert (actor.name, actor.role, actor.ip, actor.operator_id) == (
        "bob",
        Role.OPERATOR,
        IP,
        bob.id,
    )
    after = operators.get_operator(db, admin, "bob")
    assert after.failed_logins == 0
    assert after.locked_until is None
    assert after.last_login_at is not None
    assert after.last_login_at.utcoffset() == timedelta(0)
    # The count starts again: one more failure is the first of ten, not the tenth.
    fail_logins(db, 1)
    after = operators.get_operator(db, admin, "bob")
    assert after.failed_logins == 1
    assert not after.is_locked()
    assert operators.authenticate(db, "bob", PASSWORD, ip=IP).name == "bob"


def test_ten_failures_lock_the_account_for_15_minutes(db, admin, bob, audit_log) -> None:
    fail_logins(db, 9)
    assert not operators.get_operator(db, admin, "bob").is_locked()
    start = datetime.now(UTC)
    fail_logins(db, 1)
    end = datetime.now(UTC)
    locked = operators.get_operator(db, admin, "bob")
    assert locked.is_locked()
    assert locked.locked_until is not None
    assert start + timedelta(minutes=15) <= locked.locked_until <= end + timedelta(minutes=15)
    lockouts = [e for e in audit_log.rows() if "locked" in e.message.lower()]
    assert len(lockouts) == 1
    assert (lockouts[0].actor, lockouts[0].ip, lockouts[0].action) == ("bob", IP, "LOGIN")

    # The right password is refused while locked, with the message an unknown user gets.
    with pytest.raises(AuthenticationError) as refused:
        operators.authenticate(db, "bob", PASSWORD, ip=IP)
    with pytest.raises(AuthenticationError) as unknown:
        operators.authenticate(db, "nobody", PASSWORD, ip=IP)
    assert str(refused.value) == str(unknown.value)
    assert operators.get_operator(db, admin, "bob").is_locked()
    assert operators.get_operator(db, admin, "bob").last_login_at is None


def test_unlock_lets_the_right_password_in_again(db, admin, bob) -> None:
    fail_logins(db, 10)
    with pytest.raises(AuthenticationError):
        operators.authenticate(db, "bob", PASSWORD, ip=IP)
    unlocked = operators.unlock_operator(db, admin, "bob")
    assert unlocked.locked_until is None
    assert unlocked.failed_logins == 0
    assert operators.authenticate(db, "bob", PASSWORD, ip=IP).name == "bob"


def test_login_works_again_once_the_lock_expires(db, admin, bob) -> None:
    fail_logins(db, 10)
    assert operators.get_operator(db, admin, "bob").is_locked()
    with db.write() as session:
        operator = session.exec(select(Operator).where(Operator.name == "bob")).one()
        operator.locked_until = datetime.now(UTC) - timedelta(minutes=1)
        session.add(operator)
    assert not operators.get_operator(db, admin, "bob").is_locked()
    assert operators.authenticate(db, "bob", PASSWORD, ip=IP).name == "bob"
    assert operators.get_operator(db, admin, "bob").failed_logins == 0


def test_failures_while_locked_do_not_extend_the_lock(db, admin, bob) -> None:
    fail_logins(db, 10)
    locked_until = operators.get_operator(db, admin, "bob").locked_until
    fail_logins(db, 3)
    assert operators.get_operator(db, admin, "bob").locked_until == locked_until


def test_login_name_is_exact_but_trimmed(db, bob) -> None:
    assert operators.authenticate(db, "  bob ", PASSWORD, ip=IP).name == "bob"
    with pytest.raises(AuthenticationError):
        operators.authenticate(db, "BOB", PASSWORD, ip=IP)


def test_login_rehashes_an_outdated_hash(db, admin, fast_argon2, monkeypatch, tables) -> None:
    operators.create_operator(db, admin, "carol", Role.VIEWER, PASSWORD)
    old_hash = tables.operator("carol").password_hash
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", stronger)
    assert passwords.needs_rehash(old_hash)
    operators.authenticate(db, "carol", PASSWORD, ip=IP)
    new_hash = tables.operator("carol").password_hash
    assert new_hash != old_hash
    assert "m=2048,t=2,p=1" in new_hash
    assert not passwords.needs_rehash(new_hash)
    assert operators.authenticate(db, "carol", PASSWORD, ip=IP).name == "carol"
