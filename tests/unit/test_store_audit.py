"""Every service mutation writes exactly one complete audit entry, in the same transaction."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from carriertui.store import audit, customers, operators, options
from carriertui.store.context import API_ACTOR, Actor, client_ip
from carriertui.store.db.tables import AuditEntry
from carriertui.store.enums import Role
from carriertui.store.errors import AuthenticationError

SSH_ENVIRON = {"SSH_CONNECTION": "203.0.113.9 51000 10.0.0.1 22"}
SSH_IP = "203.0.113.9"
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "tr0mbone ferret \u00e9clair velvet"


@pytest.fixture
def api() -> Actor:
    return Actor.api(environ=SSH_ENVIRON)


def assert_fresh_utc(moment: datetime) -> None:
    assert moment.tzinfo is not None
    assert moment.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - moment) < timedelta(minutes=1)


# -- who and where ---------------------------------------------------------------------------


def test_api_actor_is_the_cli_admin_at_the_ssh_client_address() -> None:
    actor = Actor.api(environ=SSH_ENVIRON)
    assert actor.name == API_ACTOR == "API"
    assert actor.role is Role.ADMIN
    assert actor.ip == SSH_IP


def test_client_ip_from_ssh_client() -> None:
    assert client_ip({"SSH_CLIENT": "198.51.100.4 50222 22"}) == "198.51.100.4"


def test_client_ip_prefers_ssh_connection() -> None:
    environ = {**SSH_ENVIRON, "SSH_CLIENT": "198.51.100.4 50222 22"}
    assert client_ip(environ) == SSH_IP


def test_client_ip_without_ssh_is_a_local_address() -> None:
    address = client_ip({})
    ipaddress.ip_address(address)  # raises unless it is an IP address
    assert address not in (SSH_IP, "198.51.100.4")
    assert client_ip({"SSH_CONNECTION": "   "}) == address


def test_client_ip_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_CLIENT", "2001:db8::5 40000 22")
    assert client_ip() == "2001:db8::5"
    assert Actor.api().ip == "2001:db8::5"


# -- customers -------------------------------------------------------------------------------


def test_create_customer_writes_one_create_entry(db, api, audit_log) -> None:
    count = audit_log.count()
    record = customers.create_customer(
        db, api, {"name": "Acme Telecom", "account_code": "ACME-1", "balance": "12.5"}
    )
    entry = audit_log.only_new(count)
    assert entry.actor == "API"
    assert entry.ip == SSH_IP
    assert entry.action == "CREATE"
    assert entry.verb == "POST"
    assert entry.table_name == "customer"
    assert entry.primary_key == str(record.id)
    assert entry.customer_id == record.id
    assert "Acme Telecom" in entry.message
    assert entry.before_json is None
    after = audit_log.after(entry)
    assert after["id"] == record.id
    assert after["name"] == "Acme Telecom"
    assert after["account_code"] == "ACME-1"
    assert after["currency"] == "USD"
    assert Decimal(after["balance"]) == Decimal("12.5")
    assert "name_folded" not in after
    assert_fresh_utc(entry.created_at)


def test_update_customer_writes_one_update_entry_with_before_and_after(db, api, audit_log) -> None:
    record = customers.create_customer(db, api, {"name": "Acme Telecom", "channels": 10})
    count = audit_log.count()
    updated = customers.update_customer(
        db, api, record.id, {"channels": 30, "status": "Penalty"}, expected_version=record.version
    )
    entry = audit_log.only_new(count)
    assert (entry.actor, entry.ip) == ("API", SSH_IP)
    assert (entry.action, entry.verb) == ("UPDATE", "PUT")
    assert entry.table_name == "customer"
    assert entry.primary_key == str(record.id)
    assert entry.customer_id == record.id
    assert "channels" in entry.message and "status" in entry.message
    before, after = audit_log.before(entry), audit_log.after(entry)
    assert before["channels"] == 10 and after["channels"] == 30
    assert before["status"] == "Active" and after["status"] == "Penalty"
    assert before["name"] == after["name"] == "Acme Telecom"
    assert after["version"] == updated.version == before["version"] + 1


def test_update_comment_is_kept(db, api, audit_log) -> None:
    record = customers.create_customer(db, api, {"name": "Acme Telecom"})
    count = audit_log.count()
    customers.update_customer(
        db, api, record.id, {"channels": 5}, expected_version=record.version, comment="ticket 42"
    )
    assert audit_log.only_new(count).comment == "ticket 42"


# -- options ---------------------------------------------------------------------------------


def test_set_one_option_writes_one_entry(db, api, audit_log) -> None:
    count = audit_log.count()
    result = options.set_options(db, api, {"block_size": "1000"})
    assert result.block_size == 1000
    entry = audit_log.only_new(count)
    assert (entry.actor, entry.ip) == ("API", SSH_IP)
    assert (entry.action, entry.verb) == ("UPDATE", "PUT")
    assert entry.table_name == "option"
    assert entry.primary_key == "block_size"
    assert entry.customer_id is None
    assert "Block Size" in entry.message
    assert audit_log.before(entry) == {"key": "block_size", "value": None}
    assert audit_log.after(entry) == {"key": "block_size", "value": 1000}


def test_set_option_to_its_current_value_writes_nothing(db, api, audit_log) -> None:
    options.set_options(db, api, {"audit_comment": "on"})
    count = audit_log.count()
    options.set_options(db, api, {"audit_comment": "yes"})
    assert audit_log.count() == count


# -- operators -------------------------------------------------------------------------------


def test_create_operator_writes_one_create_entry(db, api, audit_log) -> None:
    count = audit_log.count()
    record = operators.create_operator(db, api, "bob", "operator", PASSWORD)
    entry = audit_log.only_new(count)
    assert (entry.actor, entry.ip) == ("API", SSH_IP)
    assert (entry.action, entry.verb) == ("CREATE", "POST")
    assert entry.table_name == "operator"
    assert entry.primary_key == str(record.id)
    assert entry.customer_id is None
    assert "bob" in entry.message
    assert entry.before_json is None
    after = audit_log.after(entry)
    assert after["name"] == "bob"
    assert after["role"] == "operator"
    assert after["password_hash"] == "***"


def test_create_first_admin_writes_one_entry_by_the_new_admin(db, audit_log) -> None:
    count = audit_log.count()
    record = operators.create_first_admin(db, "root-admin", PASSWORD, ip="192.0.2.44")
    assert record.role is Role.ADMIN
    entry = audit_log.only_new(count)
    assert (entry.actor, entry.ip) == ("root-admin", "192.0.2.44")
    assert (entry.action, entry.verb, entry.table_name) == ("CREATE", "POST", "operator")
    assert entry.primary_key == str(record.id)
    assert entry.before_json is None
    assert audit_log.after(entry)["role"] == "admin"


def test_change_password_writes_one_update_entry(db, api, audit_log, tables) -> None:
    record = operators.create_operator(db, api, "bob", "operator", PASSWORD)
    hash_before = tables.operator("bob").password_hash
    count = audit_log.count()
    operators.change_password(db, api, "bob", NEW_PASSWORD)
    assert tables.operator("bob").password_hash != hash_before
    entry = audit_log.only_new(count)
    assert (entry.actor, entry.ip) == ("API", SSH_IP)
    assert (entry.action, entry.verb, entry.table_name) == ("UPDATE", "PUT", "operator")
    assert entry.primary_key == str(record.id)
    assert "bob" in entry.message
    before, after = audit_log.before(entry), audit_log.after(entry)
    assert before["password_hash"] == after["password_hash"] == "***"
    assert after["version"] == before["version"] + 1


def test_unlock_operator_writes_one_update_entry(db, api, audit_log, fast_argon2) -> None:
    record = operators.create_operator(db, api, "bob", "operator", PASSWORD)
    for _ in range(operators.MAX_FAILED_LOGINS):
        with pytest.raises(AuthenticationError):
            operators.authenticate(db, "bob", "not the password at all", ip="192.0.2.1")
    count = audit_log.count()
    unlocked = operators.unlock_operator(db, api, "bob")
    assert unlocked.locked_until is None
    entry = audit_log.only_new(count)
    assert (entry.actor, entry.ip) == ("API", SSH_IP)
    assert (entry.action, entry.verb, entry.table_name) == ("UPDATE", "PUT", "operator")
    assert entry.primary_key == str(record.id)
    assert "unlocked" in entry.message
    before, after = audit_log.before(entry), audit_log.after(entry)
    assert before["locked_until"] is not None
    assert after["locked_until"] is None


def test_successful_login_writes_one_login_entry(db, api, audit_log, fast_argon2) -> None:
    record = operators.create_operator(db, api, "bob", "operator", PASSWORD)
    count = audit_log.count()
    actor = operators.authenticate(db, "bob", PASSWORD, ip="192.0.2.10")
    assert (actor.name, actor.role, actor.ip, actor.operator_id) == (
        "bob",
        Role.OPERATOR,
        "192.0.2.10",
        record.id,
    )
    entry = audit_log.only_new(count)
    assert (entry.actor, entry.ip) == ("bob", "192.0.2.10")
    assert (entry.action, entry.verb, entry.table_name) == ("LOGIN", "POST", "operator")
    assert entry.primary_key == str(record.id)
    before, after = audit_log.before(entry), audit_log.after(entry)
    assert before["last_login_at"] is None
    assert after["last_login_at"] is not None


def test_failed_login_writes_one_login_entry(db, api, audit_log, fast_argon2) -> None:
    record = operators.create_operator(db, api, "bob", "operator", PASSWORD)
    count = audit_log.count()
    with pytest.raises(AuthenticationError):
        operators.authenticate(db, "bob", "wrong wrong wrong wrong", ip="192.0.2.11")
    entry = audit_log.only_new(count)
    assert (entry.actor, entry.ip) == ("bob", "192.0.2.11")
    assert (entry.action, entry.verb, entry.table_name) == ("LOGIN", "POST", "operator")
    assert entry.primary_key == str(record.id)
    assert "failed" in entry.message.lower()
    before, after = audit_log.before(entry), audit_log.after(entry)
    assert (before["failed_logins"], after["failed_logins"]) == (0, 1)


def test_lockout_writes_one_entry_per_attempt(db, api, audit_log, fast_argon2) -> None:
    operators.create_operator(db, api, "bob", "operator", PASSWORD)
    messages = []
    for _ in range(10):
        count = audit_log.count()
        with pytest.raises(AuthenticationError):
            operators.authenticate(db, "bob", "wrong wrong wrong wrong", ip="192.0.2.12")
        entry = audit_log.only_new(count)
        assert entry.action == "LOGIN"
        messages.append(entry.message.lower())
    assert not any("locked" in message for message in messages[:9])
    assert "locked" in messages[9]  # the 10th failure is the lockout
    assert audit_log.before(entry)["locked_until"] is None
    assert audit_log.after(entry)["locked_until"] is not None
    count = audit_log.count()
    with pytest.raises(AuthenticationError):
        operators.authenticate(db, "bob", PASSWORD, ip="192.0.2.12")
    refused = audit_log.only_new(count)
    assert refused.action == "LOGIN"
    assert "locked" in refused.message.lower()


def test_list_entries_returns_parsed_records(db, api) -> None:
    record = customers.create_customer(db, api, {"name": "Acme Telecom"})
    customers.create_customer(db, api, {"name": "Other Carrier"})
    entries = audit.list_entries(db, api, customer_id=record.id)
    assert [(e.action, e.table, e.customer_id) for e in entries] == [
        ("CREATE", "customer", record.id)
    ]
    assert entries[0].after["name"] == "Acme Telecom"
    assert entries[0].created_at.tzinfo is not None
    everything = audit.list_entries(db, api)
    assert [e.after["name"] for e in everything] == ["Other Carrier", "Acme Telecom"]


# -- a failing audit write rolls the change back ---------------------------------------------


class _AuditDown(Exception):
    pass


def _refuse_audit(*args: object, **kwargs: object) -> AuditEntry:
    raise _AuditDown("the audit table is unavailable")


def _reject_in_database(**kwargs: object) -> AuditEntry:
    """An entry the database itself refuses at flush (NOT NULL actor)."""
    return AuditEntry(**{**kwargs, "actor": None})


class BrokenAudit:
    """Makes the audit write fail when armed: before it reaches the database, or in it."""

    def __init__(self, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.mode = mode
        self.monkeypatch = monkeypatch

    def arm(self) -> type[BaseException]:
        if self.mode == "python":
            self.monkeypatch.setattr(audit, "AuditEntry", _refuse_audit)
            return _AuditDown
        self.monkeypatch.setattr(audit, "AuditEntry", _reject_in_database)
        return IntegrityError


@pytest.fixture(params=["python", "database"])
def broken_audit(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> BrokenAudit:
    return BrokenAudit(request.param, monkeypatch)


def test_failed_audit_write_rolls_back_create_customer(
    db, api, tables, audit_log, broken_audit
) -> None:
    with pytest.raises(broken_audit.arm()):
        customers.create_customer(db, api, {"name": "Acme Telecom"})
    assert tables.customers() == 0
    assert audit_log.count() == 0


def test_failed_audit_write_rolls_back_update_customer(db, api, audit_log, broken_audit) -> None:
    record = customers.create_customer(db, api, {"name": "Acme Telecom", "channels": 10})
    count = audit_log.count()
    with pytest.raises(broken_audit.arm()):
        customers.update_customer(
            db, api, record.id, {"channels": 99, "name": "Renamed"}, expected_version=1
        )
    current = customers.get_customer(db, api, record.id)
    assert (current.name, current.channels, current.version) == ("Acme Telecom", 10, 1)
    assert audit_log.count() == count


def test_failed_audit_write_rolls_back_set_options(
    db, api, tables, audit_log, broken_audit
) -> None:
    options.set_options(db, api, {"block_size": 100})
    stored = tables.options()
    count = audit_log.count()
    with pytest.raises(broken_audit.arm()):
        options.set_options(db, api, {"block_size": 500, "number_range_start": 1000})
    assert tables.options() == stored
    assert options.get_options(db, api).block_size == 100
    assert options.get_options(db, api).number_range_start is None
    assert audit_log.count() == count


def test_failed_audit_write_rolls_back_create_operator(
    db, api, tables, broken_audit, fast_argon2
) -> None:
    with pytest.raises(broken_audit.arm()):
        operators.create_operator(db, api, "bob", "viewer", PASSWORD)
    assert tables.operators() == 0


# -- secrets never reach the audit log -------------------------------------------------------


def test_no_secret_in_any_audit_entry(db, api, audit_log, tables) -> None:
    wrong = "a wrong guess that is long"
    operators.create_first_admin(db, "root-admin", "first admin pass phrase", ip="192.0.2.1")
    operators.create_operator(db, api, "bob", "operator", PASSWORD)
    operators.change_password(db, api, "bob", NEW_PASSWORD)
    operators.authenticate(db, "bob", NEW_PASSWORD, ip="192.0.2.2")
    with pytest.raises(AuthenticationError):
        operators.authenticate(db, "bob", wrong, ip="192.0.2.2")

    rows = audit_log.rows()
    assert len(rows) == 5
    assert tables.operator("bob").password_hash.startswith("$argon2id$")
    for row in rows:
        stored = " ".join(
            str(value)
            for value in (row.before_json, row.after_json, row.message, row.comment, row.actor)
        )
        for secret in ("first admin pass phrase", PASSWORD, NEW_PASSWORD, wrong, "$argon2"):
            assert secret not in stored, (secret, row.message)
        assert '"password_hash": "***"' in (row.after_json or "")
    assert sum('"password_hash": "***"' in (row.before_json or "") for row in rows) == 3


def test_redact_replaces_secret_fields_at_any_depth() -> None:
    value = {
        "name": "bob",
        "password": "hunter2hunter2",
        "Password_Hash": "$argon2id$...",
        "smtp": {"host": "mail", "password": "s3cret", "api_key": "k"},
        "tokens": [{"token": "t1", "label": "one"}, {"refresh_token": "t2"}],
        "pairs": ({"secret": "x"}, "plain"),
        "count": 3,
    }
    assert audit.redact(value) == {
        "name": "bob",
        "password": "***",
        "Password_Hash": "***",
        "smtp": {"host": "mail", "password": "***", "api_key": "***"},
        "tokens": "***",
        "pairs": [{"secret": "***"}, "plain"],
        "count": 3,
    }
    assert value["smtp"]["password"] == "s3cret"  # the input is not modified


def test_redact_keeps_lists_of_records_apart() -> None:
    value = [{"pin": "1234", "name": "room"}, {"moderator_pin": "9"}, ["nested", {"token": 1}]]
    assert audit.redact(value) == [
        {"pin": "***", "name": "room"},
        {"moderator_pin": "***"},
        ["nested", {"token": "***"}],
    ]


def test_snapshot_is_json_ready_and_redacted() -> None:
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    data = audit.snapshot(
        {"balance": Decimal("12.3456"), "at": moment, "role": Role.ADMIN, "password": "p"}
    )
    assert data == {
        "at": "2025-01-02T03:04:05+00:00",
        "balance": "12.3456",
        "password": "***",
        "role": "admin",
    }


# -- tamper evidence -------------------------------------------------------------------------


def test_every_service_entry_is_chained(db, api, audit_log, fast_argon2) -> None:
    record = customers.create_customer(db, api, {"name": "Acme Telecom"})
    customers.update_customer(db, api, record.id, {"channels": 3}, expected_version=1)
    options.set_options(db, api, {"block_size": 100, "number_range_start": 1000})
    operators.create_operator(db, api, "bob", "operator", PASSWORD)
    with pytest.raises(AuthenticationError):
        operators.authenticate(db, "bob", "wrong wrong wrong wrong", ip="192.0.2.3")
    rows = audit_log.rows()
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    assert all(row.mac is not None and len(row.mac) == 64 for row in rows)
    newest = audit.list_entries(db, api)[0]
    assert (newest.seq, newest.mac) == (rows[-1].seq, rows[-1].mac)
    assert audit.verify(db, api).message == f"OK {len(rows)} entries"


def test_audit_grid_source_joins_customers_and_searches_inside_the_records(db, admin) -> None:
    from carriertui.grid.model import Query
    from carriertui.store import audit as audit_module
    from carriertui.store import customers as customers_module

    record = customers_module.create_customer(
        db, admin, {"name": "Orca Networks", "account_code": "ORC-77"}, comment="ticket 9"
    )
    customers_module.create_customer(db, admin, {"name": "Other Co", "account_code": "OTH-1"})
    source = audit_module.grid_source(db, admin)
    titles = [column.key for column in source.columns]
    rows = source.page(Query(search="ORC-77"), 0, 10)
    assert len(rows) == 1 and source.count(Query(search="ORC-77")) == 1
    values = dict(zip(titles, rows[0][1], strict=True))
    assert values["customer"] == "Orca Networks"
    assert values["message"] == "Customer Orca Networks created (reason: ticket 9)"
    mine = audit_module.grid_source(db, admin, customer_id=record.id)
    assert mine.count(Query()) == 1
