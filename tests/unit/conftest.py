"""Helpers for the store tests: the raw audit table, and a cheap argon2 for login-heavy tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlmodel import col, func, select

from carriertui.store import passwords
from carriertui.store.db.database import Database
from carriertui.store.db.tables import AuditEntry, Customer, Operator, Option


@dataclass
class AuditLog:
    """The audit table read directly (not through the service), so tests see what is stored."""

    db: Database

    def count(self) -> int:
        with self.db.read() as session:
            return int(session.exec(select(func.count()).select_from(AuditEntry)).one())

    def rows(self) -> list[AuditEntry]:
        with self.db.read() as session:
            rows = list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))))
            session.expunge_all()  # db.read() rolls back, which would expire loaded rows
            return rows

    def since(self, count_before: int) -> list[AuditEntry]:
        return self.rows()[count_before:]

    def only_new(self, count_before: int) -> AuditEntry:
        """The single entry written since ``count_before``; fails unless exactly one was."""
        new = self.since(count_before)
        assert len(new) == 1, [(e.action, e.table_name, e.message) for e in new]
        return new[0]

    @staticmethod
    def before(entry: AuditEntry) -> dict[str, Any] | None:
        return json.loads(entry.before_json) if entry.before_json is not None else None

    @staticmethod
    def after(entry: AuditEntry) -> dict[str, Any] | None:
        return json.loads(entry.after_json) if entry.after_json is not None else None


@dataclass
class Tables:
    """Row counts and raw rows, straight from the tables."""

    db: Database

    def count(self, model: type) -> int:
        with self.db.read() as session:
            return int(session.exec(select(func.count()).select_from(model)).one())

    def customers(self) -> int:
        return self.count(Customer)

    def operators(self) -> int:
        return self.count(Operator)

    def options(self) -> dict[str, str]:
        with self.db.read() as session:
            return {row.key: row.value_json for row in session.exec(select(Option))}

    def operator(self, name: str) -> Operator:
        with self.db.read() as session:
            operator = session.exec(select(Operator).where(Operator.name == name)).one()
            session.expunge_all()
            return operator


@pytest.fixture
def audit_log(db: Database) -> AuditLog:
    return AuditLog(db)


@pytest.fixture
def tables(db: Database) -> Tables:
    return Tables(db)


@pytest.fixture
def fast_argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[PasswordHasher]:
    """argon2id with minimal cost, for tests that log in dozens of times.

    Still real argon2id hashing and verification, only cheaper than the ~130 ms production
    parameters; tests/unit/test_passwords.py checks those parameters themselves.
    """
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", cheap)
    passwords.dummy_hash.cache_clear()
    yield cheap
    passwords.dummy_hash.cache_clear()
