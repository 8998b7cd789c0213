"""Issue 20.3: only ``carriertui init`` (or ``upgrade``) changes a schema, after saying what it
will do, asking, and taking a backup. Every other command on an older (or newer) schema exits 2
and writes nothing; a new, empty database still gets its schema from any command."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text

from carriertui.cli import main
from carriertui.store import customers
from carriertui.store.db.database import Database, open_database
from carriertui.store.db.migrations import SCHEMA_VERSION, upgrade_steps
from carriertui.store.errors import SchemaVersionError

OLD = SCHEMA_VERSION - 1


def set_stored_version(db: Database, version: int) -> None:
    with db.write() as session:
        session.connection().execute(
            text("UPDATE carriertui_meta SET value = :v WHERE key = 'schema_version'"),
            {"v": str(version)},
        )


@pytest.fixture
def old_file(tmp_path: Path, admin) -> Path:
    """A SQLite database with a customer, whose stored schema version is one behind."""
    path = tmp_path / "shared.sqlite"
    db = open_database(f"sqlite:///{path}")
    customers.create_customer(db, admin, {"name": "Acme Telecom", "account_code": "ACME"})
    set_stored_version(db, OLD)
    db.dispose()
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def version_of(url: str) -> int:
    db = Database(url)
    try:
        return db.schema_version()
    finally:
        db.dispose()


def backups_beside(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.stem}.schema*{path.suffix}"))


class Terminal(io.StringIO):
    """Standard input that is a terminal, with the operator's answer typed in."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    "argv",
    [
        ("customers", "list"),
        ("customers", "add", "--name", "Late Corp"),
        ("operator", "list"),
        ("audit", "verify"),
        ("mail", "send"),
        ("pending", "run"),
    ],
)
def test_a_command_on_an_older_schema_exits_2_and_changes_nothing(
    capsys, old_file: Path, argv
) -> None:
    url = f"sqlite:///{old_file}"
    before = old_file.read_bytes()
    code, out, err = run(capsys, *argv, "--db", url)
    assert code == 2
    assert out == ""
    assert err == (
        f"error: the database is at schema {OLD}, this carriertui needs {SCHEMA_VERSION}: "
        f"run carriertui init --db {url}\n"
    )
    assert old_file.read_bytes() == before
    assert version_of(url) == OLD
    assert backups_beside(old_file) == []


def test_the_hint_names_no_db_option_for_the_default_database(
    capsys, old_file: Path, monkeypatch
) -> None:
    monkeypatch.setenv("CARRIERTUI_DB", str(old_file))
    code, _, err = run(capsys, "customers", "list")
    assert code == 2
    assert err.endswith(f"needs {SCHEMA_VERSION}: run carriertui init\n")


def test_a_database_newer_than_this_carriertui_is_refused(capsys, old_file: Path) -> None:
    url = f"sqlite:///{old_file}"
    db = Database(url)
    set_stored_version(db, SCHEMA_VERSION + 1)
    db.dispose()
    before = old_file.read_bytes()
    for argv in (("customers", "list"), ("init", "--yes")):
        code, _out, err = run(capsys, *argv, "--db", url)
        assert code == 2, argv
        assert err == (
            f"error: the database is at schema {SCHEMA_VERSION + 1}, newer than this carriertui "
            f"(schema {SCHEMA_VERSION}): upgrade carriertui\n"
        )
    assert old_file.read_bytes() == before
    assert backups_beside(old_file) == []


def test_a_new_empty_database_still_gets_its_schema_from_any_command(capsys, tmp_path) -> None:
    path = tmp_path / "new" / "first.sqlite"
    code, out, err = run(capsys, "customers", "list", "--db", str(path))
    assert (code, err) == (0, "")
    assert out.startswith("Name")
    assert version_of(f"sqlite:///{path}") == SCHEMA_VERSION
    assert backups_beside(path) == []


def test_init_without_a_terminal_or_yes_refuses_and_changes_nothing(
    capsys, old_file: Path, monkeypatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # not a terminal: never read
    url = f"sqlite:///{old_file}"
    before = old_file.read_bytes()
    code, out, err = run(capsys, "init", "--db", url)
    assert code == 2
    assert f"is at schema version {OLD}; this carriertui needs {SCHEMA_VERSION}." in out
    assert err == "error: not upgraded: no terminal to ask on; run it again with --yes to upgrade\n"
    assert old_file.read_bytes() == before
    assert backups_beside(old_file) == []


def test_init_says_what_it_will_do_takes_a_dated_backup_then_upgrades(
    capsys, old_file: Path, admin
) -> None:
    url = f"sqlite:///{old_file}"
    code, out, err = run(capsys, "init", "--yes", "--db", url)
    assert (code, err) == (0, "")
    (copy,) = backups_beside(old_file)
    assert re.fullmatch(rf"shared\.schema{OLD}-\d{{8}}T\d{{6}}Z\.sqlite", copy.name)
    assert copy.stat().st_mode & 0o777 == old_file.stat().st_mode & 0o777
    lines = out.splitlines()
    assert lines[0] == f"{url} is at schema version {OLD}; this carriertui needs {SCHEMA_VERSION}."
    assert lines[1] == "The upgrade will:"
    for version, step in upgrade_steps(OLD):
        assert f"  {version}: {step}" in lines
    assert f"First it backs the database up to {copy} (VACUUM INTO)." in lines
    assert f"backup: {copy}" in lines
    assert f"database upgraded: {url} from schema version {OLD} to {SCHEMA_VERSION}" in lines
    assert any(
        line.startswith(f"to roll back: stop carriertui everywhere, restore {copy}")
        for line in lines
    )
    # The backup opens on its own, at the old version, with the data.
    assert version_of(f"sqlite:///{copy}") == OLD
    assert version_of(url) == SCHEMA_VERSION
    restored = Database(f"sqlite:///{copy}")
    try:
        restored.create_schema()  # (a copy: upgrading it is harmless) the data is all there
        assert [c.name for c in customers.list_customers(restored, admin)] == ["Acme Telecom"]
    finally:
        restored.dispose()
    code, out, _ = run(capsys, "customers", "list", "--db", url)
    assert code == 0 and "Acme Telecom" in out


@pytest.mark.parametrize(("answer", "upgraded"), [("n\n", False), ("", False), ("y\n", True)])
def test_init_asks_on_a_terminal(capsys, old_file: Path, monkeypatch, answer, upgraded) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    url = f"sqlite:///{old_file}"
    code, out, err = run(capsys, "upgrade", "--db", url)
    if upgraded:
        assert (code, err) == (0, "")
        assert len(backups_beside(old_file)) == 1
        assert version_of(url) == SCHEMA_VERSION
    else:
        assert (code, err) == (2, "error: not upgraded: nothing was changed\n")
        assert backups_beside(old_file) == []
        assert version_of(url) == OLD
    assert "Upgrade now? [y/N] " in out


def test_init_on_a_current_database_takes_no_backup(capsys, old_file: Path) -> None:
    url = f"sqlite:///{old_file}"
    assert run(capsys, "init", "--yes", "--db", url)[0] == 0
    code, out, _ = run(capsys, "init", "--db", url)
    assert code == 0
    assert out == f"database ready: {url} (schema version {SCHEMA_VERSION})\n"
    assert len(backups_beside(old_file)) == 1


def test_open_database_refuses_an_older_schema_unless_asked_to_upgrade(old_file: Path) -> None:
    url = f"sqlite:///{old_file}"
    with pytest.raises(SchemaVersionError) as caught:
        open_database(url)
    assert (caught.value.current, caught.value.required) == (OLD, SCHEMA_VERSION)
    assert version_of(url) == OLD
    open_database(url, upgrade=True).dispose()
    assert version_of(url) == SCHEMA_VERSION


def test_upgrade_steps_name_every_version() -> None:
    steps = upgrade_steps(0)
    assert [version for version, _ in steps] == list(range(1, SCHEMA_VERSION + 1))
    assert all(step and "\n" not in step for _, step in steps)


# -- PostgreSQL --------------------------------------------------------------------------------


def cli_url(backend) -> str:
    """The backend's URL as an operator would write it, its private schema included."""
    options = backend.connect_args.get("options")
    return f"{backend.url}?options={quote(options)}" if options else backend.url


@pytest.fixture
def pg_backend():
    """A private PostgreSQL schema (skipped, as every PostgreSQL variant, when none is set)."""
    from tests.conftest import _pg_url, _postgres_backend, _skip_postgresql

    url = _pg_url()
    if url is None:
        _skip_postgresql()
    yield from _postgres_backend(url)


def test_postgresql_older_schema_is_refused_and_init_backs_up_with_pg_dump(
    capsys, pg_backend, admin, tmp_path
) -> None:
    backend = pg_backend
    db = backend.open()
    customers.create_customer(db, admin, {"name": "Acme Telecom", "account_code": "ACME"})
    set_stored_version(db, OLD)
    url = cli_url(backend)
    code, _, err = run(capsys, "customers", "list", "--db", url)
    assert code == 2 and f"this carriertui needs {SCHEMA_VERSION}: run carriertui init" in err
    assert db.schema_version() == OLD

    # Without --backup-to: the pg_dump command to run, and a refusal without a terminal.
    code, out, err = run(capsys, "init", "--db", url)
    assert code == 2
    assert "first: pg_dump --format=custom --file=carriertui-schema" in out
    assert db.schema_version() == OLD

    target = tmp_path / "before-upgrade.dump"
    code, out, err = run(capsys, "init", "--yes", "--backup-to", str(target), "--db", url)
    assert (code, err) == (0, "")
    assert f"backup: {target}" in out
    assert db.schema_version() == SCHEMA_VERSION
    listing = subprocess.run(
        ["pg_restore", "--list", str(target)], capture_output=True, text=True, check=True
    ).stdout
    assert "carriertui_meta" in listing


def test_demo_on_an_older_demo_database_says_how_to_rebuild_it(
    capsys, isolated_environment: Path, monkeypatch
) -> None:
    """`make demo` after an upgrade of carriertui: one line, the rebuild named, nothing
    written (the demo database holds only the demo, but it may hold an operator's trials)."""
    from carriertui import locations

    path = locations.demo_db_path()
    path.parent.mkdir(parents=True)
    db = Database(f"sqlite:///{path}")
    db.create_schema()
    set_stored_version(db, SCHEMA_VERSION - 1)
    db.dispose()
    before = path.read_bytes()
    monkeypatch.setattr("carriertui.terminal.refuse_without_terminal", lambda: None)
    code, _out, err = run(capsys, "demo")
    assert code == 2
    assert err.strip().splitlines() == [
        f"error: the demo database is at schema {SCHEMA_VERSION - 1}, this carriertui needs "
        f"{SCHEMA_VERSION}: 'carriertui demo --reset' rebuilds it, or 'carriertui init --db "
        f"sqlite:///{path}' upgrades it"
    ]
    assert path.read_bytes() == before
