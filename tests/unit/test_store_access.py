"""Deny by default: each service names the role it needs; a refused call writes nothing."""

from __future__ import annotations

import pytest

from carriertui.store import audit, customers, operators, options
from carriertui.store.enums import Role
from carriertui.store.errors import PermissionDeniedError

PASSWORD = "correct horse battery staple"


@pytest.fixture
def acme(db, admin):
    return customers.create_customer(db, admin, {"name": "Acme Telecom", "channels": 10})


@pytest.fixture
def staff(db, admin, fast_argon2):
    """Operator rows for the viewer and the operator actors, so they can change passwords."""
    operators.create_operator(db, admin, "victor", Role.VIEWER, PASSWORD)
    operators.create_operator(db, admin, "oscar", Role.OPERATOR, PASSWORD)


def test_role_ranks() -> None:
    assert Role.VIEWER.rank < Role.OPERATOR.rank < Role.ADMIN.rank


def test_viewer_cannot_create_customers(db, viewer, tables, audit_log) -> None:
    with pytest.raises(PermissionDeniedError, match="victor"):
        customers.create_customer(db, viewer, {"name": "Acme Telecom"})
    assert tables.customers() == 0
    assert audit_log.count() == 0


def test_viewer_cannot_update_customers(db, viewer, acme, audit_log) -> None:
    count = audit_log.count()
    with pytest.raises(PermissionDeniedError):
        customers.update_customer(db, viewer, acme.id, {"channels": 99}, expected_version=1)
    assert customers.get_customer(db, viewer, acme.id) == acme
    assert audit_log.count() == count


def test_viewer_cannot_set_options(db, viewer, tables, audit_log) -> None:
    with pytest.raises(PermissionDeniedError):
        options.set_options(db, viewer, {"block_size": 100})
    assert tables.options() == {}
    assert audit_log.count() == 0


def test_viewer_cannot_create_operators(db, viewer, tables, audit_log) -> None:
    with pytest.raises(PermissionDeniedError):
        operators.create_operator(db, viewer, "mallory", Role.ADMIN, PASSWORD)
    assert tables.operators() == 0
    assert audit_log.count() == 0


def test_operator_can_create_and_update_customers(db, operator_actor, audit_log) -> None:
    record = customers.create_customer(db, operator_actor, {"name": "Acme Telecom"})
    updated = customers.update_customer(
        db, operator_actor, record.id, {"channels": 4}, expected_version=record.version
    )
    assert updated.channels == 4
    assert [entry.actor for entry in audit_log.rows()] == ["oscar", "oscar"]


def test_operator_cannot_set_options(db, operator_actor, tables, audit_log) -> None:
    with pytest.raises(PermissionDeniedError):
        options.set_options(db, operator_actor, {"audit_comment": True})
    assert tables.options() == {}
    assert audit_log.count() == 0


def test_operator_cannot_create_operators(db, operator_actor, tables, audit_log) -> None:
    with pytest.raises(PermissionDeniedError):
        operators.create_operator(db, operator_actor, "mallory", "operator", PASSWORD)
    assert tables.operators() == 0
    assert audit_log.count() == 0


def test_operator_cannot_list_or_unlock_operators(db, operator_actor, staff, audit_log) -> None:
    count = audit_log.count()
    with pytest.raises(PermissionDeniedError):
        operators.list_operators(db, operator_actor)
    with pytest.raises(PermissionDeniedError):
        operators.unlock_operator(db, operator_actor, "victor")
    assert audit_log.count() == count


def test_viewer_can_read(db, viewer, acme) -> None:
    assert customers.list_customers(db, viewer) == [acme]
    assert customers.list_customers(db, viewer, search="acme") == [acme]
    assert customers.get_customer(db, viewer, acme.id) == acme
    assert customers.find_customer(db, viewer, "acme telecom") == acme
    assert options.get_options(db, viewer).block_size is None
    assert [entry.action for entry in audit.list_entries(db, viewer)] == ["CREATE"]


def test_non_admin_cannot_change_another_operators_password(
    db, viewer, operator_actor, staff, tables, audit_log
) -> None:
    hashes = {name: tables.operator(name).password_hash for name in ("victor", "oscar")}
    count = audit_log.count()
    with pytest.raises(PermissionDeniedError):
        operators.change_password(db, viewer, "oscar", "a brand new pass phrase")
    with pytest.raises(PermissionDeniedError):
        operators.change_password(db, operator_actor, "victor", "a brand new pass phrase")
    assert {name: tables.operator(name).password_hash for name in hashes} == hashes
    assert audit_log.count() == count


def test_non_admin_can_change_own_password(db, viewer, staff, tables, audit_log) -> None:
    before = tables.operator("victor").password_hash
    count = audit_log.count()
    operators.change_password(db, viewer, "victor", "a brand new pass phrase")
    assert tables.operator("victor").password_hash != before
    assert audit_log.only_new(count).actor == "victor"
    actor = operators.authenticate(db, "victor", "a brand new pass phrase", ip="192.0.2.3")
    assert actor.role is Role.VIEWER


def test_admin_can_change_anyones_password(db, admin, staff, tables) -> None:
    before = tables.operator("oscar").password_hash
    operators.change_password(db, admin, "oscar", "a brand new pass phrase")
    assert tables.operator("oscar").password_hash != before


def test_logged_in_actor_carries_the_stored_role(db, staff) -> None:
    actor = operators.authenticate(db, "victor", PASSWORD, ip="192.0.2.3")
    assert (actor.name, actor.role, actor.ip) == ("victor", Role.VIEWER, "192.0.2.3")
    with pytest.raises(PermissionDeniedError):
        customers.create_customer(db, actor, {"name": "Acme Telecom"})
