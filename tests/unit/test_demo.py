"""The demo database: built through the services from data/demo.toml, idempotent, resettable."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from carriertui import locations
from carriertui.cli import main
from carriertui.demo import builder as demo_module
from carriertui.demo.builder import DEMO_OPERATOR, build_demo, demo_actor, seed_customers
from carriertui.store import audit, customers, operators, options
from carriertui.store.enums import CustomerStatus, InvoiceSchedule, Role
from carriertui.store.errors import ValidationError
from tests.demo_seed import shorten_demo


@pytest.fixture
def home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_argon2: object, short_demo: None
) -> Path:
    """A private CARRIERTUI_HOME; argon2 at minimal cost (the demo hashes one password a build);
    SHORT_DEMO_DAYS days of CDRs (nothing here depends on 90)."""
    monkeypatch.setenv("CARRIERTUI_HOME", str(tmp_path))
    monkeypatch.delenv("CARRIERTUI_DB", raising=False)
    monkeypatch.delenv("CARRIERTUI_BUSY_TIMEOUT", raising=False)
    return tmp_path


def seed_entries() -> list[dict]:
    with (locations.seed_dir() / "demo.toml").open("rb") as handle:
        return tomllib.load(handle)["customers"]


def test_seed_file_is_varied_and_realistic() -> None:
    entries = seed_entries()
    assert 10 <= len(entries) <= 15
    names = [entry["name"] for entry in entries]
    assert len({name.casefold() for name in names}) == len(names)
    codes = [entry["account_code"] for entry in entries]
    assert len(set(codes)) == len(codes)
    assert any("[" in name and "]" in name for name in names)
    assert {entry["status"] for entry in entries} == {status.value for status in CustomerStatus}
    assert {entry["invoice_schedule"] for entry in entries} == {s.value for s in InvoiceSchedule}
    currencies = {entry["currency"] for entry in entries}
    assert {"USD", "EUR", "GBP"} <= currencies
    assert len(currencies) >= 5
    assert any(entry["balance"] < 0 for entry in entries)
    assert any(entry["tax_percent"] > 0 for entry in entries)


def test_seed_customers_keeps_nested_tables_out_and_refuses_unknown_fields() -> None:
    seed = {
        "customers": [
            {"name": "A", "currency": "EUR", "contacts": [{"name": "x"}], "blocks": {"n": 1}},
        ]
    }
    assert seed_customers(seed) == [{"name": "A", "currency": "EUR"}]
    with pytest.raises(ValueError, match="unknown field 'balanse'"):
        seed_customers({"customers": [{"name": "A", "balanse": 1}]})


def test_build_demo_creates_customers_operator_and_options(home: Path) -> None:
    url = f"sqlite:///{home / 'demo.sqlite'}"
    db = build_demo(url)
    try:
        actor = demo_actor()
        records = customers.list_customers(db, actor)
        entries = seed_entries()
        assert len(records) == len(entries)
        by_name = {record.name: record for record in records}
        atlas = by_name["Atlas Comms [UK]"]
        seed_atlas = next(entry for entry in entries if entry["name"] == "Atlas Comms [UK]")
        assert atlas.account_code == seed_atlas["account_code"]
        assert str(atlas.balance) == f"{seed_atlas['balance']:.4f}"
        assert atlas.currency == seed_atlas["currency"]

        demo_operator = operators.get_operator(db, actor, DEMO_OPERATOR)
        assert demo_operator.role is Role.ADMIN
        assert options.get_options(db, actor).as_dict() == {
            "number_range_start": 1000,
            "block_size": 1000,
            "audit_comment": False,
        }

        # oldest first; every entry (the demo's rate cards add about fifty to the ~470)
        log = list(reversed(audit.list_entries(db, actor, limit=100_000)))
        creates = [entry for entry in log if entry.table == "customer"]
        assert len(creates) == len(entries)
        assert all(entry.action == "CREATE" for entry in creates)
        assert {(entry.actor, entry.ip) for entry in log} == {("demo", "127.0.0.1")}
        assert log[-1].table == "operator"  # created last: its presence means "complete"
        assert all(entry.after and entry.after["password_hash"] == "***" for entry in log[-1:])
    finally:
        db.dispose()

    # A second build without reset changes nothing (not even the audit log).
    db = build_demo(url)
    try:
        assert len(customers.list_customers(db, demo_actor())) == len(seed_entries())
        assert len(operators.list_operators(db, demo_actor())) == 1
        assert len(audit.list_entries(db, demo_actor(), limit=100_000)) == len(log)
    finally:
        db.dispose()


def test_reset_starts_from_scratch(home: Path) -> None:
    path = home / "demo.sqlite"
    url = f"sqlite:///{path}"
    db = build_demo(url)
    customers.create_customer(db, demo_actor(), {"name": "Added by hand"})
    db.dispose()

    db = build_demo(url, reset=True)
    try:
        names = {record.name for record in customers.list_customers(db, demo_actor())}
        assert "Added by hand" not in names
        assert len(names) == len(seed_entries())
    finally:
        db.dispose()


def test_failed_build_removes_the_half_built_file(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = home / "demo.sqlite"
    bad_seed = {"customers": [{"name": "Fine Ltd"}, {"name": "Broken", "currency": "XXX"}]}
    monkeypatch.setattr(demo_module, "load_seed", lambda: bad_seed)
    with pytest.raises(ValidationError):
        build_demo(f"sqlite:///{path}")
    assert not path.exists()
    assert not Path(f"{path}-wal").exists()


def test_an_interrupted_build_is_completed_without_duplicates(home: Path) -> None:
    path = home / "demo.sqlite"
    url = f"sqlite:///{path}"
    from carriertui.store.db.database import open_database

    # As if a build had stopped after a few customers (before the demo operator existed).
    db = open_database(url)
    for values in seed_customers(demo_module.load_seed())[:3]:
        customers.create_customer(db, demo_actor(), values)
    db.dispose()

    db = build_demo(url)
    try:
        assert len(customers.list_customers(db, demo_actor())) == len(seed_entries())
        operators.get_operator(db, demo_actor(), DEMO_OPERATOR)
    finally:
        db.dispose()


def test_cli_demo_build_only_and_rebuild(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = home / "data" / "demo.sqlite"
    url = f"sqlite:///{path}"

    assert main(["demo", "--reset", "--build-only"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == f"demo database built: {url}"

    assert main(["--db", url, "customers", "list", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(seed_entries())
    assert main(["--db", url, "operator", "list", "--format", "json"]) == 0
    assert [(o["name"], o["role"]) for o in json.loads(capsys.readouterr().out)] == [
        ("demo", "admin")
    ]
    assert main(["--db", url, "options", "show", "--format", "json"]) == 0
    values = {row["key"]: row["value"] for row in json.loads(capsys.readouterr().out)}
    assert values == {"number_range_start": 1000, "block_size": 1000, "audit_comment": False}

    # Without --reset an existing demo database is left as it is.
    assert main(["demo", "--build-only"]) == 0
    assert "exists" in capsys.readouterr().out
    assert main(["--db", url, "customers", "list", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(seed_entries())


def test_reset_refuses_a_non_sqlite_url() -> None:
    from carriertui.store.errors import DatabaseURLError

    with pytest.raises(DatabaseURLError, match="SQLite"):
        build_demo("postgresql://u@127.0.0.1:1/x", reset=True)


def test_the_demo_has_number_blocks_and_extensions(demo_db) -> None:
    from carriertui.store.enums import ExtensionKind
    from carriertui.store.numbers import service as numbers

    db = demo_db
    actor = demo_actor()
    records = customers.list_customers(db, actor)
    blocks = numbers.list_blocks(db, actor)
    holders = {block.customer_id for block in blocks}
    assert len(holders) > len(records) / 2  # most customers hold a block
    assert [b.block_index for b in blocks] == list(range(len(blocks)))
    extensions = [e for r in records for e in numbers.list_extensions(db, actor, r.id)]
    kinds = {kind: sum(e.kind is kind for e in extensions) for kind in ExtensionKind}
    assert len(extensions) >= 36
    assert kinds[ExtensionKind.SIP_USER] >= 24
    assert kinds[ExtensionKind.CONFERENCE] >= 6 and kinds[ExtensionKind.ALIAS] >= 4
    # every extension lies in its customer's blocks, and every alias reaches its target
    for extension in extensions:
        own = [b for b in blocks if b.customer_id == extension.customer_id]
        assert any(b.contains(extension.number) for b in own), extension
    for alias in (e for e in extensions if e.kind is ExtensionKind.ALIAS):
        dialled = numbers.resolve_dial(db, actor, alias.customer_id, str(alias.number))
        assert dialled.reaches is not None and dialled.reaches.number == alias.target_number
    entries = audit.list_entries(db, actor, limit=5000)
    assert sum(e.table == "sip_user" for e in entries) == kinds[ExtensionKind.SIP_USER]
    assert all(e.customer_id for e in entries if e.table in ("number_block", "sip_user"))


# -- rate cards ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory):
    """One demo build for the rate card checks, argon2 at minimal cost, SHORT_DEMO_DAYS days."""
    from argon2 import PasswordHasher

    from carriertui.store import passwords

    home = tmp_path_factory.mktemp("demo-rates")
    patch = pytest.MonkeyPatch()
    patch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    patch.setenv("CARRIERTUI_HOME", str(home))
    patch.delenv("CARRIERTUI_DB", raising=False)
    shorten_demo(patch)
    try:
        db = build_demo(f"sqlite:///{home / 'demo.sqlite'}")
        yield db
        db.dispose()
    finally:
        patch.undo()


def test_the_demo_has_a_customer_and_a_provider_card_per_currency_assigned_by_currency(
    demo_db,
) -> None:
    from carriertui.rating import CardKind
    from carriertui.store import rate_cards, rates

    actor = demo_actor()
    seed = demo_module.load_seed()
    currencies = set(seed["rates"]["currencies"])
    cards = rates.list_cards(demo_db, actor)
    assert {(card.kind, card.currency) for card in cards} == {
        (kind, currency) for kind in CardKind for currency in currencies
    }
    for card in cards:
        now = rates.count_in_force(demo_db, actor, card.name, datetime.now(UTC))
        assert 2000 <= now <= 5000  # a few thousand prefixes in force
        in_force = rates.list_rates(demo_db, actor, card.name, at=datetime.now(UTC))
        assert len({rate.prefix for rate in in_force}) == now
        schemes = {(rate.mcd, rate.pulse) for rate in in_force}
        if card.kind is CardKind.CUSTOMER:
            assert {(60, 60), (1, 1), (30, 6), (60, 6), (6, 6)} <= schemes
            # a second deck raised the mobile rates: both versions are kept
            assert card.rates == 2 * now
        else:
            assert {(1, 1), (0, 1), (60, 60)} <= schemes
            assert card.rates == now
        names = {rate.destination for rate in in_force}
        assert {"United Kingdom - Mobile", "Germany - Fixed", "United States"} <= names
    # every customer billed in a card currency has both cards; the others none
    for record in customers.list_customers(demo_db, actor):
        names = rate_cards.assigned_card_names(demo_db, actor, record.id)
        if record.currency in currencies:
            assert names == {
                CardKind.CUSTOMER: f"Retail {record.currency}",
                CardKind.PROVIDER: f"Upstream {record.currency}",
            }
        else:
            assert names == {CardKind.CUSTOMER: None, CardKind.PROVIDER: None}
    assert any(
        record.currency not in currencies for record in customers.list_customers(demo_db, actor)
    )


def test_every_demo_cdr_is_charged_and_costed_as_its_cards_rate_it(demo_db) -> None:
    """For every CDR: the billed seconds and the charge are what the customer's card gives,
    the cost what its provider card gives, the destination name the matched rate's. All of
    them through the bulk matcher; a sample also through the rates service's own SQL look-up
    (``rates test``), a second path to the same rule."""
    import random

    from sqlmodel import select

    from carriertui.rating import CardKind
    from carriertui.store import rate_cards, rates
    from carriertui.store.db.tables import Cdr

    actor = demo_actor()
    names = {
        record.id: rate_cards.assigned_card_names(demo_db, actor, record.id)
        for record in customers.list_customers(demo_db, actor)
    }
    matchers: dict[str, object] = {}

    def matcher(name: str):
        if name not in matchers:
            matchers[name] = rates.load_matcher(demo_db, actor, name)
        return matchers[name]

    with demo_db.read() as session:
        cdrs = session.exec(
            select(
                Cdr.customer_id,
                Cdr.start_time,
                Cdr.dest_number,
                Cdr.dest_name,
                Cdr.duration,
                Cdr.billed_duration,
                Cdr.charge,
                Cdr.cost,
            )
        ).all()
    assert len(cdrs) > 10_000  # SHORT_DEMO_DAYS of the demo's traffic
    connected = 0
    changed = {"before": 0, "after": 0}
    change = demo_module.load_seed()["rates"]["change_days_ago"]
    boundary = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    boundary -= timedelta(days=change)
    for customer_id, start, number, name, duration, billed, charge, cost in cdrs:
        cards = names[customer_id]
        sell = matcher(cards[CardKind.CUSTOMER]).rate(number, start, duration)
        buy = matcher(cards[CardKind.PROVIDER]).rate(number, start, duration)
        assert (billed, charge, cost) == (sell.billed_seconds, sell.charge, buy.charge), number
        if duration > 0:
            connected += 1
            assert name == sell.rate.destination
            changed["before" if start < boundary else "after"] += 1
    assert connected > len(cdrs) / 3
    assert min(changed.values()) > 1000  # calls on both versions of the customer cards

    for customer_id, start, number, _name, duration, billed, charge, cost in random.Random(
        14
    ).sample(cdrs, 200):
        cards = names[customer_id]
        sold = rates.rate_number(demo_db, actor, cards[CardKind.CUSTOMER], number, start, duration)
        bought = rates.rate_number(
            demo_db, actor, cards[CardKind.PROVIDER], number, start, duration
        )
        assert (billed, charge, cost) == (
            sold.call.billed_seconds,
            sold.call.charge,
            bought.call.charge,
        )
