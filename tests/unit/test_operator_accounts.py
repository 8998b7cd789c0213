"""Operator accounts an admin manages: roles, disabling someone who left, the last admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, text

from carriertui.store import audit, customers, operators, pending
from carriertui.store.contacts import service as contacts
from carriertui.store.context import Actor
from carriertui.store.db.migrations import SCHEMA_VERSION
from carriertui.store.db.types import utcnow
from carriertui.store.enums import Role
from carriertui.store.errors import AuthenticationError, PermissionDeniedError, ValidationError

PASSWORD = "violet rivers hum under granite"
IP = "192.0.2.60"


@pytest.fixture
def staff(db, admin, fast_argon2):
    operators.create_operator(db, admin, "ada", Role.ADMIN, PASSWORD)
    operators.create_operator(db, admin, "olga", Role.OPERATOR, PASSWORD)
    return db


def test_an_admin_changes_a_role_and_it_is_audited(staff, admin) -> None:
    record = operators.set_role(staff, admin, "olga", "viewer")
    assert record.role is Role.VIEWER
    assert operators.get_operator(staff, admin, "olga").role is Role.VIEWER
    (entry,) = audit.list_entries(staff, admin, limit=1)
    assert (entry.action, entry.table) == ("UPDATE", "operator")
    assert entry.message == "Operator olga: role operator -> viewer"
    assert (entry.before["role"], entry.after["role"]) == ("operator", "viewer")
    assert entry.after.get("password_hash") in (None, "***")  # never the hash itself
    assert operators.authenticate(staff, "olga", PASSWORD, ip=IP).role is Role.VIEWER
    # the same role again changes nothing and writes nothing
    before = len(audit.list_entries(staff, admin, limit=100))
    operators.set_role(staff, admin, "olga", Role.VIEWER)
    assert len(audit.list_entries(staff, admin, limit=100)) == before


def test_only_admins_manage_accounts(staff, operator_actor) -> None:
    with pytest.raises(PermissionDeniedError):
        operators.set_role(staff, operator_actor, "olga", "admin")
    with pytest.raises(PermissionDeniedError):
        operators.set_disabled(staff, operator_actor, "ada", True)
    with pytest.raises(ValidationError, match="role"):
        operators.set_role(staff, Actor(name="x", role=Role.ADMIN, ip=IP), "olga", "root")


def test_a_disabled_account_cannot_log_in_until_enabled(staff, admin) -> None:
    record = operators.set_disabled(staff, admin, "olga", True)
    assert record.is_disabled and record.disabled_at is not None
    with pytest.raises(AuthenticationError) as refused:
        operators.authenticate(staff, "olga", PASSWORD, ip=IP)
    assert str(refused.value) == AuthenticationError.MESSAGE  # says no more than a typo would
    messages = [e.message for e in audit.list_entries(staff, admin, limit=3)]
    assert "Login refused: account is disabled" in messages
    operators.set_disabled(staff, admin, "olga", False)
    assert operators.authenticate(staff, "olga", PASSWORD, ip=IP).name == "olga"


def test_the_last_enabled_admin_stays_one(staff, admin) -> None:
    ada = Actor(name="ada", role=Role.ADMIN, ip=IP)
    with pytest.raises(ValidationError, match="your own account"):
        operators.set_disabled(staff, ada, "ada", True)
    with pytest.raises(ValidationError, match="last enabled admin"):
        operators.set_role(staff, ada, "ada", "operator")
    with pytest.raises(ValidationError, match="last enabled admin"):
        operators.set_disabled(staff, admin, "ada", True)
    assert operators.get_operator(staff, admin, "ada").role is Role.ADMIN  # nothing half-saved
    operators.set_role(staff, ada, "olga", "admin")
    operators.set_role(staff, ada, "ada", "operator")  # another admin exists now
    operators.set_disabled(staff, admin, "ada", True)
    with pytest.raises(ValidationError, match="last enabled admin"):
        operators.set_role(staff, admin, "olga", "viewer")


def test_a_disabled_scheduler_does_not_get_a_delayed_change_applied(staff, admin) -> None:
    acme = customers.create_customer(staff, admin, {"name": "Acme"})
    jane = contacts.create_contact(staff, admin, acme.id, {"name": "Jane", "email": "j@a.example"})
    olga = Actor(name="olga", role=Role.OPERATOR, ip="10.0.0.9")
    change = pending.schedule_change(
        staff,
        olga,
        contacts.TABLE,
        jane.id,
        {"phone": "+44 20 7946 0958"},
        due_at=utcnow() + timedelta(minutes=5),
        expected_version=jane.version,
    )
    operators.set_disabled(staff, admin, "olga", True)  # she left meanwhile
    report = pending.run_due(staff, now=change.due_at + timedelta(seconds=1))
    assert (report.applied, report.failed) == (0, 1)
    (record,) = pending.list_changes(staff, admin)
    assert record.status.value == "failed" and "olga's account is disabled" in record.result
    assert contacts.get_contact(staff, admin, jane.id).phone is None


def test_a_version_9_database_gains_the_disabled_column(backend, admin, fast_argon2) -> None:
    db = backend.open()
    operators.create_operator(db, admin, "olga", Role.OPERATOR, PASSWORD)
    with db.write() as session:  # back to version 9's operator table
        connection = session.connection()
        connection.execute(text('ALTER TABLE "operator" DROP COLUMN disabled_at'))
        connection.execute(
            text("UPDATE carriertui_meta SET value = '9' WHERE key = 'schema_version'")
        )
    db.dispose()
    upgraded = backend.open()
    assert upgraded.schema_version() == SCHEMA_VERSION
    columns = {c["name"] for c in inspect(upgraded.engine).get_columns("operator")}
    assert "disabled_at" in columns
    assert not operators.get_operator(upgraded, admin, "olga").is_disabled
    operators.set_disabled(upgraded, admin, "olga", True)
    assert operators.get_operator(upgraded, admin, "olga").is_disabled
