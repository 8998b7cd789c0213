"""The demo database: a small, realistic account to try carriertui on without touching real data.

Everything is created through the services, as an operator would create it, so the demo's audit
log starts with the customers' creation. The seed lives in ``data/demo.toml``.

Importing this module is cheap (``carriertui demo`` reads ``DEMO_OPERATOR`` before deciding whether
to build anything); the store modules are imported inside :func:`build_demo`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carriertui import locations

if TYPE_CHECKING:
    from carriertui.store.context import Actor
    from carriertui.store.db.database import Database

DEMO_OPERATOR = "demo"
DEMO_IP = "127.0.0.1"
DEMO_OPTIONS: dict[str, Any] = {
    "number_range_start": 1000,
    "block_size": 1000,
    "audit_comment": False,
}
SEED_FILE = "demo.toml"
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def seed_path() -> Path:
    return locations.seed_dir() / SEED_FILE


def load_seed(path: Path | None = None) -> dict[str, Any]:
    """The parsed seed file. Raises ValueError naming the file when it cannot be read."""
    path = seed_path() if path is None else path
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read the demo seed {path}: {error}") from error


def seed_customers(seed: dict[str, Any]) -> list[dict[str, Any]]:
    """The customer fields of each ``[[customers]]`` table.

    Nested tables (contacts, blocks, CDRs of later issues) are left for their own loaders; an
    unknown plain field is a typo in the seed and raises ValueError rather than vanishing.
    """
    from carriertui.store.customers import CREATE_FIELDS

    result = []
    for index, entry in enumerate(seed.get("customers", []), start=1):
        values: dict[str, Any] = {}
        for key, value in entry.items():
            if key in CREATE_FIELDS:
                values[key] = value
            elif not isinstance(value, dict | list):
                raise ValueError(f"demo seed customer #{index}: unknown field {key!r}")
        result.append(values)
    return result


def seed_numbers(seed: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(customer name, its ``[customers.numbers]`` table) for each customer that has one."""
    return [
        (str(entry["name"]), entry["numbers"])
        for entry in seed.get("customers", [])
        if isinstance(entry.get("numbers"), dict)
    ]


def _build_numbers(db: Database, actor: Actor, seed: dict[str, Any]) -> None:
    """Blocks and extensions through the number services. A customer that holds a block
    already (an interrupted build) is left as it is."""
    from concurrent.futures import ThreadPoolExecutor

    from carriertui.store import customers
    from carriertui.store.numbers import service as numbers

    by_name = {record.name: record.id for record in customers.list_customers(db, actor)}
    jobs = []
    for name, plan in seed_numbers(seed):
        customer_id = by_name[name]
        if numbers.list_blocks(db, actor, customer_id):
            continue
        blocks = [
            numbers.allocate_next_block(db, actor, customer_id)
            for _ in range(int(plan.get("blocks", 1)))
        ]
        first = blocks[0].range_start
        for extension, display_name, channels in plan.get("sip_users", []):
            jobs.append(
                lambda c=customer_id, n=first + extension, d=display_name, ch=channels: (
                    numbers.create_sip_user(db, actor, c, n, display_name=d, channels=ch)
                )
            )
        for extension, title, members in plan.get("conferences", []):
            numbers.create_conference(
                db, actor, customer_id, first + extension, name=title, max_members=members
            )
    # SIP users cost an argon2 hash each (about 130 ms, outside the write transaction): a few
    # threads hash while another writes. The services are safe to call concurrently.
    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()
    for name, plan in seed_numbers(seed):
        customer_id = by_name[name]
        first = numbers.list_blocks(db, actor, customer_id)[0].range_start
        existing = {e.number for e in numbers.list_extensions(db, actor, customer_id)}
        for extension, target in plan.get("aliases", []):
            if first + extension not in existing:
                numbers.create_alias(
                    db, actor, customer_id, first + extension, target=first + target
                )


def demo_actor() -> Actor:
    from carriertui.store.context import Actor
    from carriertui.store.enums import Role

    return Actor(name=DEMO_OPERATOR, role=Role.ADMIN, ip=DEMO_IP)


def _sqlite_files(url: str) -> list[Path]:
    """The SQLite file behind ``url`` and its side files; empty for other backends."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return []
    main = Path(parsed.database)
    return [main, *(main.with_name(main.name + suffix) for suffix in _SQLITE_SIDE_FILES)]


def _remove(files: list[Path]) -> None:
    for path in files:
        path.unlink(missing_ok=True)


def _demo_password(check: Any) -> str:
    """A random password nobody needs (the demo logs in without a prompt) that passes the policy."""
    from carriertui.store.passwords import generate_password

    while True:
        password = generate_password()
        try:
            check(password, username=DEMO_OPERATOR)
        except Exception:  # noqa: S112 - a rare unlucky draw (e.g. contains "demo"): draw again
            continue
        return password


def seed_contacts(seed: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(customer name, contact fields) for every ``[[customers.contacts]]`` table."""
    return [
        (str(entry.get("name", "")), dict(contact))
        for entry in seed.get("customers", [])
        for contact in entry.get("contacts", [])
    ]


def _seed_contacts(db: Database, actor: Actor, seed: dict[str, Any]) -> None:
    """Contacts through the contact service; their generated passwords are "emailed" into the
    demo's Maildir by the real outbox sender. One password reset is left pending and one delayed
    change is scheduled, so the Outbox and the Delay Log have something to show."""
    from datetime import timedelta

    from carriertui.store import customers, mail, pending
    from carriertui.store.contacts import service as contacts
    from carriertui.store.db.types import utcnow
    from carriertui.store.errors import NotFoundError

    by_name = {record.name: record for record in customers.list_customers(db, actor)}
    created = []
    for customer_name, values in seed_contacts(seed):
        try:
            contacts.find_contact(db, actor, str(values.get("email", "")))
            continue  # an interrupted build made it already
        except NotFoundError:
            pass
        customer = by_name.get(customer_name)
        if customer is None:
            raise ValueError(f"demo seed: contact of unknown customer {customer_name!r}")
        created.append(contacts.create_contact(db, actor, customer.id, values, confirm_notes=True))
    if not created:
        return
    mail.flush_outbox(db, mail.MaildirTransport(locations.demo_maildir_path()), ip=DEMO_IP)
    unverified = [record for record in created if not record.email_verified]
    if unverified:
        contacts.change_password(db, actor, unverified[0].id)
    first = created[0]
    current = contacts.get_contact(db, actor, first.id)
    pending.schedule_change(
        db,
        actor,
        contacts.TABLE,
        first.id,
        {"mobile_verified": not current.mobile_verified},
        due_at=utcnow() + timedelta(hours=6),
        expected_version=current.version,
        comment="Demo: flips Mobile Verified six hours after the demo was built",
    )


def _seed_rates(db: Database, actor: Actor, seed: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The ``[rates]`` cards, imported as decks and assigned (demo/rates.py): currency ->
    (customer card, provider card)."""
    from carriertui.demo import rates as demo_rates
    from carriertui.store import customers
    from carriertui.store.db.types import utcnow

    settings = seed.get("rates")
    if not settings:
        return {}
    records = customers.list_customers(db, actor)
    return demo_rates.build_cards(db, actor, settings, records, utcnow())


def _seed_cdrs(
    db: Database, actor: Actor, seed: dict[str, Any], cards: dict[str, tuple[str, str]]
) -> None:
    """About 90 days of CDRs for the customers with a ``[customers.traffic]`` table, up to the
    build time, rated with the cards of their currency, then the hourly roll-ups. Skipped when
    CDRs exist (an interrupted build)."""
    from sqlalchemy import func, select

    from carriertui.demo import cdrs as demo_cdrs
    from carriertui.demo import rates as demo_rates
    from carriertui.store import customers, rollups
    from carriertui.store.cdrs import importer as cdrs
    from carriertui.store.db.tables import Cdr
    from carriertui.store.db.types import utcnow

    settings = seed.get("cdrs")
    if not settings:
        return
    with db.read() as session:
        if session.connection().execute(select(func.count()).select_from(Cdr)).scalar_one():
            return
    by_name = {record.name: record for record in customers.list_customers(db, actor)}
    matchers = demo_rates.load_matchers(db, actor, cards)
    traffic = []
    for entry in seed.get("customers", []):
        table = entry.get("traffic")
        if not table:
            continue
        record = by_name[str(entry["name"])]
        if record.currency not in matchers:
            raise ValueError(
                f"demo seed: customer {record.name} has traffic but [rates] has no cards in "
                f"{record.currency}"
            )
        traffic.append(
            demo_cdrs.parse_traffic(
                record.id, record.account_code or str(record.id), table, matchers[record.currency]
            )
        )
    batches = demo_cdrs.generate(
        traffic,
        demo_cdrs.parse_destinations(settings["destinations"]),
        seed=int(settings.get("seed", 1)),
        end=utcnow(),
        days=int(settings.get("days", 90)),
    )
    cdrs.insert_cdrs(db, actor, batches, source=f"demo seed {settings.get('seed', 1)}")
    rollups.rollup_rebuild(db)


# Demo invoices whose period ended this long before the build are marked Paid; later ones
# stay Unpaid, so the Invoices view shows both.
DEMO_PAID_AFTER_DAYS = 45


def _seed_invoices(db: Database, actor: Actor) -> None:
    """The invoices of every closed period for the customers with an invoice schedule (what
    ``carriertui invoices auto`` would have made), the older ones marked Paid. Idempotent, so an
    interrupted build resumes. About 0.2 s for the demo's ~230 invoices (measured)."""
    from datetime import timedelta

    from carriertui.store import invoices
    from carriertui.store.db.types import utcnow
    from carriertui.store.enums import InvoiceStatus

    now = utcnow()
    invoices.auto_generate(db, actor, now=now)
    paid_before = now - timedelta(days=DEMO_PAID_AFTER_DAYS)
    older = [
        record.id
        for record in invoices.list_invoices(db, actor)
        if record.period_end <= paid_before and record.status is InvoiceStatus.UNPAID
    ]
    invoices.set_status_many(db, actor, older, InvoiceStatus.PAID)


def build_demo(url: str, *, reset: bool = False) -> Database:
    """Create (or, with ``reset``, recreate) the demo database at ``url`` and return it open.

    Building twice is harmless: when the demo operator exists the database is complete (the
    operator is created last) and is returned as it is. A build that fails on a new SQLite file
    removes the file, so a half-built demo never looks finished.
    """
    from carriertui.store import customers, operators, options
    from carriertui.store.db.database import open_database
    from carriertui.store.db.engine import normalize_url
    from carriertui.store.enums import Role
    from carriertui.store.errors import DatabaseURLError, NotFoundError
    from carriertui.store.passwords import check_password_policy

    url = normalize_url(url)
    files = _sqlite_files(url)
    if reset:
        if not files:
            raise DatabaseURLError("resetting the demo works on a SQLite file only")
        _remove(files)
    new_file = bool(files) and not files[0].exists()
    actor = demo_actor()
    db = open_database(url)
    try:
        try:
            operators.get_operator(db, actor, DEMO_OPERATOR)
            return db
        except NotFoundError:
            pass
        options.set_options(db, actor, DEMO_OPTIONS)
        # A build interrupted before its end may have created some customers already.
        existing = {record.name.casefold() for record in customers.list_customers(db, actor)}
        seed = load_seed()
        for values in seed_customers(seed):
            if str(values.get("name", "")).strip().casefold() not in existing:
                customers.create_customer(db, actor, values)
        _seed_contacts(db, actor, seed)
        _build_numbers(db, actor, seed)
        cards = _seed_rates(db, actor, seed)
        _seed_cdrs(db, actor, seed, cards)
        _seed_invoices(db, actor)
        # Last, so that its presence means the build completed.
        operators.create_operator(
            db, actor, DEMO_OPERATOR, Role.ADMIN, _demo_password(check_password_policy)
        )
    except BaseException:
        db.dispose()
        if new_file:
            _remove(files)
        raise
    return db
