"""Grid and customer searches match literally or are refused (issue 12.9), on SQLite and
PostgreSQL: a NUL used to end SQLite's LIKE pattern (so it matched every row, and ``a\\0`` every
text ending in ``a``) and broke PostgreSQL; U+FFFE matched U+FFFF on SQLite (its LIKE reads
noncharacters as U+FFFD)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from carriertui.grid.model import Query
from carriertui.store import audit, customers, invoices
from carriertui.store.contacts import service as contacts
from carriertui.store.db.tables import Customer
from carriertui.store.errors import ValidationError

NAMES = ("Alpha Ltd", "Beta \uffff Corp", "Delta \ufffd Ltd", "Gamma Ltd")
REFUSED = [
    "\x00",
    "a\x00",
    "\x00\x00\x00",  # long enough for the audit log's trigram index
    "Alp\x00",
    # every other C0 control but TAB and LF (notes keep them: they are searched literally)
    *(chr(code) for code in range(1, 0x20) if chr(code) not in "\t\n"),
    "Gam\x1b]52;c;aGk=\x07",
    "\x7f",
    "\x85",
    "\x9b",  # C1
    "\ufffe",
    "\uffff",
    "Beta \ufffe",
    "\ufdd0",
    "\U0001fffe",
]


@pytest.fixture
def seeded(db, admin):
    ids = {name: customers.create_customer(db, admin, {"name": name}).id for name in NAMES}
    return ids


def _names(source, search: str) -> list[str]:
    rows = source.page(Query(search=search), 0, 100)
    position = [column.key for column in source.columns].index("name")
    return sorted(values[position] for _key, values in rows)


def _refused(call) -> str:
    with pytest.raises(ValidationError) as refused:
        call()
    assert refused.value.field == "search"
    assert "only printable text can be searched" in refused.value.message
    return refused.value.message


@pytest.mark.parametrize("term", REFUSED, ids=lambda t: "+".join(f"U{ord(c):04X}" for c in t))
def test_a_search_with_a_control_character_or_noncharacter_is_refused(
    db, admin, seeded, term
) -> None:
    grid = customers.grid_source(db, admin)
    message = _refused(lambda: grid.count(Query(search=term)))
    bad = next(c for c in term if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or ord(c) > 0xFDCF)
    assert f"U+{ord(bad):04X}" in message
    _refused(lambda: grid.page(Query(search=term), 0, 50))
    _refused(lambda: grid.distinct(Query(), "name", search=term))
    _refused(lambda: customers.list_customers(db, admin, term))
    log = audit.grid_source(db, admin)  # with its trigram search index
    _refused(lambda: log.count(Query(search=term)))
    _refused(lambda: log.page(Query(search=term), 0, 50))
    for source in (
        contacts.grid_source(db, admin),
        invoices.grid_source(db, admin),
        audit.grid_source(db, admin, customer_id=seeded["Alpha Ltd"]),
    ):
        _refused(lambda source=source: source.count(Query(search=term)))


def test_other_searches_match_literally(db, admin, seeded) -> None:
    grid = customers.grid_source(db, admin)
    everyone = sorted(NAMES)
    assert _names(grid, "") == everyone
    assert _names(grid, "ltd") == ["Alpha Ltd", "Delta \ufffd Ltd", "Gamma Ltd"]
    assert _names(grid, "a L") == ["Alpha Ltd", "Gamma Ltd"]
    assert _names(grid, "%") == [] and _names(grid, "_") == []
    # U+FFFD finds itself only, not the U+FFFF that SQLite's LIKE reads as U+FFFD.
    assert _names(grid, "\ufffd") == ["Delta \ufffd Ltd"]
    assert _names(grid, "a \ufffd L") == ["Delta \ufffd Ltd"]
    assert [r.name for r in customers.list_customers(db, admin, "\ufffd")] == ["Delta \ufffd Ltd"]
    assert [r.name for r in customers.list_customers(db, admin, "ltd")] == [
        "Alpha Ltd",
        "Delta \ufffd Ltd",
        "Gamma Ltd",
    ]
    # TAB and LF are searched literally (a multi-line notes field keeps them).
    assert _names(grid, "\t") == [] and _names(grid, "\n") == []
    log = audit.grid_source(db, admin)
    assert log.count(Query(search="Gamma")) == 1  # the creation's entry
    assert log.count(Query(search="\ufffd L")) == 1


def test_a_stored_control_character_is_shown_but_not_searchable(db, admin, seeded) -> None:
    """A foreign writer may store an ESC (the services refuse it): searching for the rest of
    the name still finds it; the ESC itself cannot be searched for."""
    with db.write() as session:
        session.execute(
            update(Customer)
            .where(Customer.id == seeded["Gamma Ltd"])
            .values(name="Gamma \x1b]2;x\x07 Ltd")
        )
    grid = customers.grid_source(db, admin)
    assert _names(grid, "Gamma") == ["Gamma \x1b]2;x\x07 Ltd"]
    _refused(lambda: grid.count(Query(search="\x1b")))
