"""Number blocks, extensions and the dial plan, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from carriertui.grid.model import Query
from carriertui.store import audit, customers, options, passwords
from carriertui.store.db.tables import ExtensionNumber, SipUser
from carriertui.store.enums import ExtensionKind
from carriertui.store.errors import (
    NotFoundError,
    PermissionDeniedError,
    StoreError,
    ValidationError,
)
from carriertui.store.numbers import service as numbers


@pytest.fixture
def plan(db, admin):
    options.set_options(db, admin, {"number_range_start": 1000, "block_size": 1000})


def customer(db, admin, name: str) -> int:
    return customers.create_customer(db, admin, {"name": name}).id


# -- arithmetic ----------------------------------------------------------------------------------


def test_block_arithmetic() -> None:
    assert numbers.block_range(1000, 1000, 0) == (1000, 1999)
    assert numbers.block_range(1000, 1000, 1) == (2000, 2999)
    assert numbers.block_range(0, 500, 3) == (1500, 1999)
    # E.164-long numbers: beyond 32 bits, exact in Python and in BIGINT columns
    assert numbers.block_range(441_234_500_000, 100_000, 7) == (441_235_200_000, 441_235_299_999)
    with pytest.raises(ValueError):
        numbers.block_range(1000, 0, 1)


def test_prefix_and_extension_digits_only_for_aligned_blocks() -> None:
    assert numbers.block_prefix(2000, 2999) == ("2", 3)
    assert numbers.block_prefix(10_000, 10_099) == ("100", 2)
    assert numbers.block_prefix(441_235_200_000, 441_235_299_999) == ("4412352", 5)
    assert numbers.block_prefix(1500, 2499) is None  # size 1000, not aligned
    assert numbers.block_prefix(1000, 1499) is None  # size 500
    assert numbers.block_prefix(7, 7) is None  # size 1: no extension digits


def test_prefix_ranges() -> None:
    assert numbers.prefix_ranges("", 1, 300) == [(1, 300)]
    assert numbers.prefix_ranges("2", 1, 300) == [(2, 2), (20, 29), (200, 299)]
    assert numbers.prefix_ranges("21", 2000, 2999) == [(2100, 2199)]
    assert numbers.prefix_ranges("3", 2000, 2999) == []


# -- allocation ------------------------------------------------------------------------------------


def test_no_block_while_start_or_size_is_unset(db, admin) -> None:
    acme = customer(db, admin, "Acme")
    with pytest.raises(numbers.NumberPlanUnsetError, match="Settings > Options"):
        numbers.allocate_next_block(db, admin, acme)
    options.set_options(db, admin, {"number_range_start": 1000})
    with pytest.raises(numbers.NumberPlanUnsetError):
        numbers.allocate_next_block(db, admin, acme)
    assert numbers.list_blocks(db, admin) == []


def test_next_free_block_fills_gaps_lowest_first(db, admin, plan) -> None:
    acme, bolt = customer(db, admin, "Acme"), customer(db, admin, "Bolt")
    assert numbers.allocate_next_block(db, admin, acme).range_start == 1000
    assert numbers.allocate_next_block(db, admin, bolt).range_start == 2000
    assert numbers.allocate_next_block(db, admin, acme).range_start == 3000
    assert numbers.allocate_next_block(db, admin, bolt).block_index == 3

    numbers.release_block(db, admin, bolt, 1)
    numbers.release_block(db, admin, acme, 0)
    # the released blocks are reused, the lowest first
    reused = numbers.allocate_next_block(db, admin, bolt)
    assert (reused.block_index, reused.range_start, reused.range_end) == (0, 1000, 1999)
    assert numbers.allocate_next_block(db, admin, bolt).block_index == 1
    assert numbers.allocate_next_block(db, admin, acme).block_index == 4

    held = numbers.list_blocks(db, admin, bolt)
    assert [b.block_index for b in held] == [0, 1, 3]
    assert all(b.customer_name == "Bolt" and b.used == 0 and b.free == 1000 for b in held)
    everyone = numbers.list_blocks(db, admin)
    assert [b.block_index for b in everyone] == [0, 1, 2, 3, 4]


def test_allocation_and_release_are_audited_with_the_customer(db, admin, plan, audit_log) -> None:
    acme = customer(db, admin, "Acme")
    before = audit_log.count()
    block = numbers.allocate_next_block(db, admin, acme, comment="ticket 12")
    entry = audit_log.only_new(before)
    assert (entry.action, entry.table_name, entry.customer_id) == ("CREATE", "number_block", acme)
    assert entry.comment == "ticket 12"
    assert "1000\u20131999" in entry.message and "Acme" in entry.message
    assert audit_log.after(entry)["range_start"] == 1000

    before = audit_log.count()
    numbers.release_block(db, admin, acme, block.block_index)
    entry = audit_log.only_new(before)
    assert (entry.action, entry.table_name, entry.customer_id) == ("DELETE", "number_block", acme)
    assert audit_log.before(entry)["block_index"] == 0


def test_the_last_block_fits_in_fifteen_digits(db, admin) -> None:
    acme = customer(db, admin, "Acme")
    size = 10**12
    options.set_options(db, admin, {"number_range_start": 990 * size, "block_size": size})
    blocks = [numbers.allocate_next_block(db, admin, acme) for _ in range(10)]
    assert blocks[-1].range_end == numbers.MAX_NUMBER == 999_999_999_999_999
    with pytest.raises(StoreError, match="no block left"):
        numbers.allocate_next_block(db, admin, acme)
    stored = numbers.list_blocks(db, admin, acme)[-1]
    assert (stored.block_index, stored.range_start) == (9, 999_000_000_000_000)
    assert stored.range_end == numbers.MAX_NUMBER and stored.prefix == "999"


def test_options_are_fixed_while_blocks_exist(db, admin, plan) -> None:
    acme = customer(db, admin, "Acme")
    block = numbers.allocate_next_block(db, admin, acme)
    for change in ({"block_size": 100}, {"number_range_start": 5000}, {"block_size": None}):
        with pytest.raises(ValidationError, match="1 number block exist") as raised:
            options.set_options(db, admin, change)
        assert "Release every block first" in raised.value.message
    # setting the same values, or other options, is fine
    options.set_options(db, admin, {"block_size": 1000, "audit_comment": True})
    numbers.release_block(db, admin, acme, block.block_index)
    assert options.set_options(db, admin, {"block_size": 100}).block_size == 100


def test_viewers_cannot_allocate_or_release(db, admin, viewer, plan) -> None:
    acme = customer(db, admin, "Acme")
    with pytest.raises(PermissionDeniedError):
        numbers.allocate_next_block(db, viewer, acme)
    numbers.allocate_next_block(db, admin, acme)
    with pytest.raises(PermissionDeniedError):
        numbers.release_block(db, viewer, acme, 0)
    assert [b.block_index for b in numbers.list_blocks(db, viewer, acme)] == [0]


def test_release_of_a_block_the_customer_does_not_hold(db, admin, plan) -> None:
    acme, bolt = customer(db, admin, "Acme"), customer(db, admin, "Bolt")
    numbers.allocate_next_block(db, admin, acme)
    with pytest.raises(NotFoundError, match="Bolt holds no block 0"):
        numbers.release_block(db, admin, bolt, 0)
    assert len(numbers.list_blocks(db, admin, acme)) == 1


# -- extensions ----------------------------------------------------------------------------------


@pytest.fixture
def cheap_hash(fast_argon2):
    return fast_argon2


def test_sip_user_password_is_shown_once_and_stored_only_as_a_hash(
    db, admin, plan, cheap_hash, audit_log
) -> None:
    acme = customer(db, admin, "Acme")
    numbers.allocate_next_block(db, admin, acme)
    before = audit_log.count()
    created = numbers.create_sip_user(db, admin, acme, "1100", display_name="Reception")
    assert len(created.password) >= 16
    assert created.password not in repr(created)
    assert created.extension.number == 1100
    assert created.extension.kind is ExtensionKind.SIP_USER
    with db.read() as session:
        user = session.exec(select(SipUser)).one()
        username, stored_hash = user.username, user.password_hash
    assert username == "1100"
    assert stored_hash.startswith("$argon2id$")
    assert passwords.verify_password(stored_hash, created.password)
    entry = audit_log.only_new(before)
    assert (entry.table_name, entry.customer_id, entry.action) == ("sip_user", acme, "CREATE")
    assert audit_log.after(entry)["password_hash"] == "***"
    assert created.password not in entry.after_json
    assert stored_hash not in entry.after_json


def test_duplicate_rule_across_customers_with_and_without_blocks(
    db, admin, plan, cheap_hash
) -> None:
    acme, bolt, cobalt = (customer(db, admin, name) for name in ("Acme", "Bolt", "Cobalt"))
    numbers.allocate_next_block(db, admin, acme)  # 1000-1999
    numbers.allocate_next_block(db, admin, bolt)  # 2000-2999
    numbers.create_sip_user(db, admin, acme, 1100, display_name="Acme desk")
    # Cobalt has no block: any number not used on the account is accepted, and 1100 is used
    with pytest.raises(ValidationError, match="Duplicate User Detected") as raised:
        numbers.create_sip_user(db, admin, cobalt, 1100, display_name="Cobalt desk")
    assert raised.value.field == "number"
    numbers.create_sip_user(db, admin, cobalt, 77, display_name="Cobalt desk")
    # the same number in any kind is a duplicate, whoever owns it
    with pytest.raises(ValidationError, match="Duplicate User Detected"):
        numbers.create_conference(db, admin, acme, 1100, name="Standup")
    with pytest.raises(ValidationError, match="Duplicate User Detected"):
        numbers.create_alias(db, admin, cobalt, 1100, target=77)
    # Without a block of its own, Cobalt still may not take a number in another's block,
    # whatever kind: the block is Bolt's
    for make in (
        lambda: numbers.create_sip_user(db, admin, cobalt, 2500, display_name="x"),
        lambda: numbers.create_conference(db, admin, cobalt, 2500, name="x"),
        lambda: numbers.create_alias(db, admin, cobalt, 2500, target=77),
    ):
        with pytest.raises(ValidationError, match=r"2500 is in block 1 \(2000.2999\) of Bolt"):
            make()
    # A number Cobalt took where no block was yet keeps that block out of anyone else's
    # allocation (its owner would find an extension there that is not theirs): Bolt's next
    # block passes over 3000-3999, and the audit entry says why.
    numbers.create_conference(db, admin, cobalt, 3500, name="Cobalt bridge")
    second = numbers.allocate_next_block(db, admin, bolt)
    assert (second.block_index, second.range_start, second.used) == (3, 4000, 0)
    (entry,) = audit.list_entries(db, admin, limit=1)
    assert "block 2 holds 3500 of Cobalt" in entry.message
    # Cobalt may have that block: the number in it is its own, and counts as used.
    third = numbers.allocate_next_block(db, admin, cobalt)
    assert (third.block_index, third.used) == (2, 1)
    delta = customer(db, admin, "Delta")
    with pytest.raises(ValidationError, match=r"3600 is in block 2 \(3000.3999\) of Cobalt"):
        numbers.create_sip_user(db, admin, delta, 3600, display_name="Delta desk")
    assert [b.used for b in numbers.list_blocks(db, admin, bolt)] == [0, 0]
    numbers.release_block(db, admin, bolt, second.block_index)
    assert [e.number for e in numbers.list_extensions(db, admin, cobalt)] == [77, 3500]
    assert [e.number for e in numbers.list_extensions(db, admin, acme)] == [1100]
    assert numbers.list_extensions(db, admin, bolt) == []


def test_numbers_outside_the_customers_blocks_are_refused(db, admin, plan, cheap_hash) -> None:
    acme, bolt = customer(db, admin, "Acme"), customer(db, admin, "Bolt")
    numbers.allocate_next_block(db, admin, acme)  # 1000-1999
    numbers.allocate_next_block(db, admin, bolt)  # 2000-2999
    for number in (999, 2000, 2500, 12345):
        with pytest.raises(ValidationError, match=r"outside Acme's number blocks \(1000"):
            numbers.create_sip_user(db, admin, acme, number, display_name="x")
        with pytest.raises(ValidationError, match="outside"):
            numbers.create_conference(db, admin, acme, number, name="x")
    numbers.create_sip_user(db, admin, acme, 1999, display_name="edge")
    numbers.create_conference(db, admin, acme, 1000, name="edge")
    numbers.allocate_next_block(db, admin, acme)  # 3000-3999: a second block counts too
    numbers.create_sip_user(db, admin, acme, 3001, display_name="second block")
    assert [e.number for e in numbers.list_extensions(db, admin, acme)] == [1000, 1999, 3001]


@pytest.mark.parametrize("bad", ["", "12a", "0123", "1234567890123456", "-5", "１２"])
def test_bad_numbers_are_refused(db, admin, bad: str) -> None:
    acme = customer(db, admin, "Acme")
    with pytest.raises(ValidationError) as raised:
        numbers.create_conference(db, admin, acme, bad, name="x")
    assert raised.value.field == "number"


def test_release_is_refused_while_in_use_and_lists_the_extensions(
    db, admin, plan, cheap_hash
) -> None:
    acme = customer(db, admin, "Acme")
    numbers.allocate_next_block(db, admin, acme)
    numbers.create_sip_user(db, admin, acme, 1100, display_name="Reception")
    numbers.create_conference(db, admin, acme, 1200, name="Board", pin="4321")
    numbers.create_alias(db, admin, acme, 1999, target=1100)
    with pytest.raises(StoreError) as raised:
        numbers.release_block(db, admin, acme, 0)
    message = str(raised.value)
    assert "Block 0 (1000\u20131999) is in use" in message
    for shown in ("1100 (SIP user Reception)", "1200 (Conference Board)", "1999 (alias of"):
        assert shown in message
    assert numbers.list_blocks(db, admin, acme)[0].used == 3
    # an extension with aliases pointing to it cannot go first
    with pytest.raises(StoreError, match="aliases point to it: 1999"):
        numbers.delete_extension(db, admin, acme, 1100)
    for number in (1999, 1100, 1200):
        numbers.delete_extension(db, admin, acme, number)
    released = numbers.release_block(db, admin, acme, 0)
    assert released.range_start == 1000
    assert numbers.list_blocks(db, admin, acme) == []


def test_extension_changes_are_audited_with_secrets_redacted(
    db, admin, plan, cheap_hash, audit_log
) -> None:
    acme = customer(db, admin, "Acme")
    numbers.allocate_next_block(db, admin, acme)
    numbers.create_sip_user(db, admin, acme, 1100, display_name="Reception")
    before = audit_log.count()
    numbers.create_conference(
        db, admin, acme, 1200, name="Board", pin="4321", moderator_pin="8765", max_members=10
    )
    numbers.create_alias(db, admin, acme, 1300, target=1200)
    numbers.delete_extension(db, admin, acme, 1300)
    numbers.delete_extension(db, admin, acme, 1200)
    entries = audit_log.since(before)
    assert [(e.action, e.table_name) for e in entries] == [
        ("CREATE", "conference"),
        ("CREATE", "extension_alias"),
        ("DELETE", "extension_alias"),
        ("DELETE", "conference"),
    ]
    assert {e.customer_id for e in entries} == {acme}
    created = audit_log.after(entries[0])
    assert (created["pin"], created["moderator_pin"], created["max_members"]) == ("***", "***", 10)
    assert audit_log.before(entries[3])["pin"] == "***"
    assert "4321" not in json.dumps([e.after_json for e in entries] + [entries[3].before_json])
    assert audit_log.after(entries[1])["target"] == 1200


def test_alias_rules(db, admin, plan, cheap_hash) -> None:
    acme, bolt = customer(db, admin, "Acme"), customer(db, admin, "Bolt")
    numbers.allocate_next_block(db, admin, acme)
    numbers.allocate_next_block(db, admin, bolt)
    numbers.create_sip_user(db, admin, acme, 1100, display_name="Reception")
    numbers.create_sip_user(db, admin, bolt, 2100, display_name="Bolt desk")
    with pytest.raises(ValidationError, match="not an extension of Acme") as raised:
        numbers.create_alias(db, admin, acme, 1101, target=2100)
    assert raised.value.field == "target"
    alias = numbers.create_alias(db, admin, acme, 100, target=1100)  # a short code may be outside
    assert (alias.kind, alias.target_number, alias.target_kind) == (
        ExtensionKind.ALIAS,
        1100,
        ExtensionKind.SIP_USER,
    )
    with pytest.raises(ValidationError, match="alias itself"):
        numbers.create_alias(db, admin, acme, 1102, target=100)


def test_dial_plan_resolution(db, admin, plan, cheap_hash) -> None:
    acme, bolt = customer(db, admin, "Acme"), customer(db, admin, "Bolt")
    numbers.allocate_next_block(db, admin, acme)  # 1000-1999
    numbers.allocate_next_block(db, admin, bolt)  # 2000-2999
    numbers.create_sip_user(db, admin, bolt, 2100, display_name="Bolt reception")
    numbers.create_conference(db, admin, bolt, 2200, name="Bolt board")
    numbers.create_alias(db, admin, bolt, 2999, target=2100)
    numbers.create_sip_user(db, admin, acme, 1100, display_name="Acme reception")

    def dial(who: int, digits: str) -> numbers.DialResult:
        return numbers.resolve_dial(db, admin, who, digits)

    short = dial(bolt, "100")
    assert (short.number, short.completed, short.reaches.name) == (2100, True, "Bolt reception")
    assert short.text == "100 \u2192 2100 reaches SIP user 2100 \u201cBolt reception\u201d of Bolt"
    assert dial(acme, "100").reaches.name == "Acme reception"  # the same digits, Acme's block
    assert dial(bolt, "200").reaches.kind is ExtensionKind.CONFERENCE
    aliased = dial(bolt, "999")
    assert aliased.extension.kind is ExtensionKind.ALIAS and aliased.reaches.number == 2100
    assert "is an alias: reaches SIP user 2100" in aliased.text
    full = dial(acme, "2200")  # a full number reaches any customer's extension
    assert (full.number, full.completed, full.customer_name) == (2200, False, "Bolt")
    nothing = dial(bolt, "555")
    assert (nothing.number, nothing.reaches) == (2555, None)
    assert nothing.text == "555 \u2192 2555 reaches nothing"
    assert dial(bolt, "42").text == "42 reaches nothing"
    assert dial(bolt, "0").text == "0 reaches nothing"
    with pytest.raises(ValidationError):
        dial(bolt, "12#")


def test_unused_number_picker_source(db, admin, plan, cheap_hash) -> None:
    acme = customer(db, admin, "Acme")
    cobalt = customer(db, admin, "Cobalt")
    numbers.allocate_next_block(db, admin, acme)  # 1000-1999
    numbers.allocate_next_block(db, admin, acme)  # 2000-2999
    # A database from before allocation passed over such blocks: Cobalt holds 2001 in it.
    with db.write() as session:
        session.add(ExtensionNumber(number=2001, customer_id=cobalt, kind=ExtensionKind.SIP_USER))
    for number in (1000, 1001, 1003, 1999):
        numbers.create_conference(db, admin, acme, number, name=f"c{number}")
    source = numbers.unused_numbers(db, admin, acme)
    assert source.total() == 2000 - 5
    first = [key for key, _ in source.page(Query(), 0, 4)]
    assert first == [1002, 1004, 1005, 1006]
    _, values = source.page(Query(), 0, 1)[0]
    assert values == (1002, "002", "0: 1000\u20131999")
    # across the block boundary, skipping 1999 and 2001
    assert [k for k, _ in source.page(Query(), 995, 4)] == [1998, 2000, 2002, 2003]
    assert source.index_of(Query(), 1998) == 995
    assert source.index_of(Query(), 2002) == 997
    assert source.index_of(Query(), 2001) is None
    assert source.index_of(Query(), 5000) is None
    # type-ahead: the digits a number starts with
    typed = Query(search="100")
    assert [k for k, _ in source.page(typed, 0, 20)] == [1002, *range(1004, 1010)]
    assert source.count(typed) == 7
    assert source.count(Query(search="20")) == 99
    assert source.count(Query(search="3")) == 0
    assert source.count(Query(search="x")) == 0
    assert source.is_unused(1500) and not source.is_unused(1003)
    every = [k for batch in source.iter_rows(Query(), batch=300) for k, _ in batch]
    assert len(every) == source.total() and every == sorted(every)
    assert not {1000, 1001, 1003, 1999, 2001} & set(every)


def test_picker_pages_agree_whether_walked_or_jumped(
    db, admin, plan, cheap_hash, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = customer(db, admin, "Acme")
    numbers.allocate_next_block(db, admin, acme)
    numbers.allocate_next_block(db, admin, acme)
    used = [1000, 1001, 1002, 1005, 1500, 1501, 1998, 1999, 2000, 2003, 2999]
    for number in used:
        numbers.create_conference(db, admin, acme, number, name=f"c{number}")
    expected = [n for n in range(1000, 3000) if n not in used]

    def pages(source: numbers.UnusedNumberSource) -> list[int]:
        found = []
        for offset in (0, 1, 2, 495, 996, 1500, 1985):
            found += [key for key, _ in source.page(Query(), offset, 7)]
        return found

    wanted = [n for offset in (0, 1, 2, 495, 996, 1500, 1985) for n in expected[offset:][:7]]
    monkeypatch.setattr(numbers, "_FIRST_CHUNK", 1)  # several chunks per page: the walk's seams
    monkeypatch.setattr(numbers, "_CHUNK", 4)
    walked = numbers.unused_numbers(db, admin, acme)
    assert pages(walked) == wanted
    monkeypatch.setattr(numbers, "_WALK_LIMIT", 0)  # every page by binary search
    jumped = numbers.unused_numbers(db, admin, acme)
    assert pages(jumped) == wanted
    typed = Query(search="15")
    assert [k for k, _ in jumped.page(typed, 0, 3)] == [1502, 1503, 1504]
    assert [k for k, _ in walked.page(typed, 0, 3)] == [1502, 1503, 1504]
    assert walked.index_of(Query(), 1502) == expected.index(1502)
    assert jumped.first("1") == 1003


def test_a_primed_picker_source_answers_its_first_load_from_memory_once(
    db, admin, plan, cheap_hash
) -> None:
    acme = customer(db, admin, "Acme")
    numbers.allocate_next_block(db, admin, acme)
    numbers.create_conference(db, admin, acme, 1100, name="taken")
    source = numbers.unused_numbers(db, admin, acme, prime="11")
    assert source.synchronous  # the grid may ask on the UI thread: no SQL needed yet
    numbers.create_conference(db, admin, acme, 1101, name="taken after the picker opened")
    source.refresh()  # the grid's first load starts with a refresh: the primed answers stay
    typed = Query(search="11")
    assert [k for k, _ in source.page(typed, 0, 100)][:2] == [1101, 1102]
    assert source.synchronous
    assert (source.count(typed), source.total()) == (99, 999)
    assert not source.synchronous  # everything later goes through the grid's workers
    source.refresh()  # a real refresh reads the numbers in use again
    assert [k for k, _ in source.page(typed, 0, 2)] == [1102, 1103]
    assert (source.count(typed), source.total()) == (98, 998)


def test_picker_rows_export_and_copy_like_any_grid(db, admin, plan, cheap_hash, tmp_path) -> None:
    """The picker is a grid: its copy and Export read the source's CSV cells and key columns
    (the source lacked both, so Export from the picker failed with an AttributeError)."""
    from carriertui.grid.export import write_csv_cells
    from carriertui.grid.model import key_columns_of

    acme = customer(db, admin, "Acme")
    numbers.allocate_next_block(db, admin, acme)
    numbers.create_conference(db, admin, acme, 1001, name="taken")
    source = numbers.unused_numbers(db, admin, acme)
    assert key_columns_of(source) == ("number",) == source.key_columns
    path = tmp_path / "unused.csv"
    typed = Query(search="100")
    chosen = [source.columns[0], source.columns[2]]
    write_csv_cells(path, chosen, source.iter_csv_cells(typed, 0, 3, positions=(0, 2)))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",")[0] == "Unused number"
    assert [line.split(",")[0] for line in lines[1:]] == ["1000", "1002", "1003"]


def test_picker_source_is_empty_without_blocks(db, admin, plan) -> None:
    source = numbers.unused_numbers(db, admin, customer(db, admin, "Acme"))
    assert source.total() == 0 and source.page(Query(), 0, 10) == []
    assert source.first() is None


def test_extensions_grid_source(db, admin, plan, cheap_hash) -> None:
    acme = customer(db, admin, "Acme")
    numbers.allocate_next_block(db, admin, acme)
    numbers.create_sip_user(db, admin, acme, 1100, display_name="Reception", channels=4)
    numbers.create_conference(db, admin, acme, 1200, name="Board", max_members=10)
    numbers.create_alias(db, admin, acme, 1300, target=1100)
    other = customer(db, admin, "Other")
    numbers.create_sip_user(db, admin, other, 5, display_name="not Acme's")
    source = numbers.extensions_grid_source(db, admin, acme)
    rows = [values for _, values in source.page(Query(), 0, 10)]
    assert rows == [
        (1100, "SIP user", "Reception", 4, None, None),
        (1200, "Conference", "Board", None, 10, None),
        (1300, "Alias", "alias of 1100", None, None, 1100),
    ]
    assert source.count(Query(search="120")) == 1
