"""Issue 20.2: several Unix accounts (here: two processes with two CARRIERTUI_HOMEs) on one
shared database need one audit key. With the same key they write and verify one chain; an
account with another key (or none) refuses to write, nothing is written, and ``audit verify``
says "another key", not "edited"; a real edit still says edited.

Runs on a SQLite file and, with CARRIERTUI_TEST_PG_URL, on PostgreSQL (a private schema)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text

from carriertui import locations
from carriertui.store import customers
from carriertui.store.context import Actor
from carriertui.store.db import chain
from carriertui.store.db.chain import AuditKeyError
from carriertui.store.enums import Role

ROOT = Path(__file__).resolve().parents[2]
ACTOR = Actor("test", Role.ADMIN, "127.0.0.1")


def cli_url(backend) -> str:
    """The backend's URL as an operator writes it (its private PostgreSQL schema included)."""
    options = backend.connect_args.get("options")
    return f"{backend.url}?options={quote(options)}" if options else backend.url


class Account:
    """One Unix account's carriertui: its own CARRIERTUI_HOME, in its own process."""

    def __init__(self, home: Path, url: str, **env: str) -> None:
        self.home = home
        self.url = url
        self.env = env

    @property
    def own_key(self) -> Path:
        return self.home / "config" / "audit.key"

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("CARRIERTUI_") or name.startswith("CARRIERTUI_TEST_")
        }
        env.update({"CARRIERTUI_HOME": str(self.home), **self.env})
        return subprocess.run(
            [sys.executable, "-m", "carriertui", *argv, "--db", self.url],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
            check=False,
        )

    def add(self, name: str) -> subprocess.CompletedProcess[str]:
        return self.run("customers", "add", "--name", name)


def write_key(path: Path, mode: int) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    path.write_text(value + "\n", encoding="ascii")
    path.chmod(mode)
    return value


def names(db) -> list[str]:
    return sorted(c.name for c in customers.list_customers(db, ACTOR))


def entry_count(db) -> int:
    with db.read() as session:
        return session.connection().execute(text("SELECT count(*) FROM audit_entry")).scalar_one()


@pytest.fixture
def system_dir(tmp_path: Path) -> Path:
    """Stands for /etc/carriertui: the host-wide key, group-readable (0640)."""
    folder = tmp_path / "etc-carriertui"
    write_key(folder / "audit.key", 0o640)
    return folder


@pytest.mark.parametrize("where", ["system", "config"])
def test_two_accounts_with_the_shared_key_write_and_verify_one_chain(
    backend, tmp_path: Path, system_dir: Path, where: str
) -> None:
    db = backend.open()
    url = cli_url(backend)
    accounts = []
    for name in ("olga", "portal"):
        home = tmp_path / name
        if where == "system":
            env = {locations.SYSTEM_CONFIG_ENV: str(system_dir)}
        else:  # [audit] key_file in each account's config.toml
            (home / "config").mkdir(parents=True)
            (home / "config" / "config.toml").write_text(
                f'[audit]\nkey_file = "{system_dir / "audit.key"}"\n', encoding="utf-8"
            )
            env = {}
        accounts.append(Account(home, url, **env))
    olga, portal = accounts
    for account, customer in ((olga, "Alpha"), (portal, "Bravo"), (olga, "Charlie")):
        result = account.add(customer)
        assert result.returncode == 0, result.stderr
    for account in accounts:
        result = account.run("audit", "verify")
        assert (result.returncode, result.stdout) == (0, "OK 3 entries\n"), result.stderr
        assert not account.own_key.exists()  # nobody made a key of their own
    assert names(db) == ["Alpha", "Bravo", "Charlie"]


def test_an_account_with_its_own_key_refuses_to_write_and_verify_says_another_key(
    backend, tmp_path: Path, system_dir: Path
) -> None:
    db = backend.open()
    url = cli_url(backend)
    olga = Account(tmp_path / "olga", url, **{locations.SYSTEM_CONFIG_ENV: str(system_dir)})
    assert olga.add("Alpha").returncode == 0
    # Before the shared key, this account had made a key of its own.
    stray = Account(tmp_path / "victor", url)
    write_key(stray.own_key, 0o600)
    shared_id = chain.key_id(bytes.fromhex((system_dir / "audit.key").read_text().strip()))
    stray_id = chain.key_id(bytes.fromhex(stray.own_key.read_text().strip()))

    result = stray.add("Never Saved")
    assert result.returncode == 1
    assert result.stderr == (
        f"error: not saved: the audit key {stray.own_key} (key {stray_id}) is not the one the "
        f"database's 1 audit entries are signed with (key {shared_id}); put the key the other "
        f"accounts use at {stray.own_key} (or set [audit] key_file)\n"
    )
    assert names(db) == ["Alpha"]
    assert entry_count(db) == 1

    result = stray.run("audit", "verify")
    assert result.returncode == 1
    assert result.stdout.startswith(
        f"FAIL entry 1: signed with another key: the log is signed with key {shared_id}, "
        f"this process has key {stray_id} ({stray.own_key}): the wrong key, not evidence of "
        "tampering"
    )
    assert "edited" not in result.stdout
    result = olga.run("audit", "verify")
    assert (result.returncode, result.stdout) == (0, "OK 1 entries\n")


def test_an_account_with_no_key_does_not_make_a_second_one(
    backend, tmp_path: Path, system_dir: Path
) -> None:
    db = backend.open()
    url = cli_url(backend)
    olga = Account(tmp_path / "olga", url, **{locations.SYSTEM_CONFIG_ENV: str(system_dir)})
    assert olga.add("Alpha").returncode == 0
    assert olga.add("Bravo").returncode == 0
    missing = tmp_path / "etc-elsewhere"
    newcomer = Account(tmp_path / "nina", url, **{locations.SYSTEM_CONFIG_ENV: str(missing)})
    result = newcomer.add("Never Saved")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line == (
        f"error: not saved: no audit key at {missing / 'audit.key'} or {newcomer.own_key}, and "
        "the database already has 2 entries signed with one; install the key the other "
        "accounts use there (or set [audit] key_file or CARRIERTUI_AUDIT_KEY); a new key would "
        "make them fail 'audit verify'"
    )
    assert not newcomer.own_key.exists()
    assert names(db) == ["Alpha", "Bravo"]
    assert entry_count(db) == 2


def test_a_real_edit_still_says_edited(backend, tmp_path: Path, system_dir: Path) -> None:
    db = backend.open()
    url = cli_url(backend)
    env = {locations.SYSTEM_CONFIG_ENV: str(system_dir)}
    olga, portal = Account(tmp_path / "olga", url, **env), Account(tmp_path / "portal", url, **env)
    assert olga.add("Alpha").returncode == 0
    assert portal.add("Bravo").returncode == 0
    with db.write() as session:
        chain.drop_append_only_guard(session)
        session.connection().execute(
            text("UPDATE audit_entry SET message = 'nothing happened' WHERE seq = 2")
        )
        chain.install_append_only_guard(session)
    with db.read() as session:
        edited = (
            session.connection()
            .execute(text("SELECT id FROM audit_entry WHERE seq = 2"))
            .scalar_one()
        )
    result = olga.run("audit", "verify")
    assert (result.returncode, result.stdout) == (
        1,
        f"FAIL entry {edited}: MAC mismatch (edited or inserted)\n",
    )


# -- in one process: the key id record, modes of a shared key ---------------------------------


def test_the_chain_records_the_key_id_never_the_key(db, monkeypatch) -> None:
    key = secrets.token_hex(32)
    monkeypatch.setenv(chain.KEY_ENV, key)
    customers.create_customer(db, ACTOR, {"name": "Alpha"})
    with db.read() as session:
        connection = session.connection()
        recorded = chain.recorded_key_id(connection)
        values = [row[0] for row in connection.execute(text("SELECT value FROM carriertui_meta"))]
    assert recorded == chain.key_id(bytes.fromhex(key))
    assert len(recorded) == 16 and recorded not in key
    assert not any(key in value for value in values)


def test_a_changed_key_id_record_is_not_mistaken_for_a_wrong_key(db, monkeypatch) -> None:
    monkeypatch.setenv(chain.KEY_ENV, secrets.token_hex(32))
    customers.create_customer(db, ACTOR, {"name": "Alpha"})
    with db.write() as session:
        session.connection().execute(
            text("UPDATE carriertui_meta SET value = '0000000000000000' WHERE key = :k"),
            {"k": chain.KEY_ID_META},
        )
    result = chain.verify(db)
    assert not result.ok
    assert result.message.endswith(
        "but carriertui_meta says the log is signed with key 0000000000000000: "
        "that record was changed"
    )


def test_a_log_from_before_the_record_is_adopted_by_the_key_that_signed_it(db, monkeypatch) -> None:
    monkeypatch.setenv(chain.KEY_ENV, secrets.token_hex(32))
    customers.create_customer(db, ACTOR, {"name": "Alpha"})
    with db.write() as session:  # as an older carriertui left it: no record
        session.connection().execute(
            text("DELETE FROM carriertui_meta WHERE key = :k"), {"k": chain.KEY_ID_META}
        )
    customers.create_customer(db, ACTOR, {"name": "Bravo"})
    assert chain.verify(db).message == "OK 2 entries"
    monkeypatch.setenv(chain.KEY_ENV, secrets.token_hex(32))  # not the key that signed it
    with db.write() as session:
        session.connection().execute(
            text("DELETE FROM carriertui_meta WHERE key = :k"), {"k": chain.KEY_ID_META}
        )
    with pytest.raises(AuditKeyError, match="signed with \\(another key\\)"):
        customers.create_customer(db, ACTOR, {"name": "Never Saved"})
    assert names(db) == ["Alpha", "Bravo"]


@pytest.mark.parametrize(
    ("mode", "accepted"), [(0o640, True), (0o440, True), (0o644, False), (0o660, False)]
)
def test_a_shared_key_may_be_group_readable_only(
    db, tmp_path: Path, monkeypatch, mode: int, accepted: bool
) -> None:
    key_file = tmp_path / "etc" / "audit.key"
    write_key(key_file, mode)
    monkeypatch.setenv(locations.SYSTEM_CONFIG_ENV, str(key_file.parent))
    if accepted:
        customers.create_customer(db, ACTOR, {"name": "Alpha"})
        assert chain.verify(db).message == "OK 1 entries"
        assert not locations.audit_key_path().exists()
    else:
        with pytest.raises(AuditKeyError, match=f"chmod 640 {key_file}"):
            customers.create_customer(db, ACTOR, {"name": "Never Saved"})
        assert names(db) == []


def test_the_host_wide_key_is_not_read_under_carriertui_home() -> None:
    assert locations.system_config_dir() is None  # the tests' CARRIERTUI_HOME
    assert locations.audit_key_paths() == [locations.audit_key_path()]
