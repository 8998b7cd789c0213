"""Fixtures shared by every test: an isolated environment, and databases on SQLite and PostgreSQL.

The ``db`` fixture runs each test that uses it on a SQLite file in the test's temporary directory
and, when ``CARRIERTUI_TEST_PG_URL`` is set (``.ci/run`` sets it where a server answers), again on
PostgreSQL in a schema of its own that is dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

PG_URL_VARIABLE = "CARRIERTUI_TEST_PG_URL"
PG_SKIP_REASON = f"{PG_URL_VARIABLE} not set: PostgreSQL variant not run"
# Variables that would make a test read or write outside its temporary directory, or change the
# IP address written into the audit log.
_ISOLATED_VARIABLES = ("CARRIERTUI_DB", "SSH_CONNECTION", "SSH_CLIENT")


def _pg_url() -> str | None:
    return os.environ.get(PG_URL_VARIABLE) or None


def _pg_status() -> str:
    url = _pg_url()
    if url is None:
        return f"PostgreSQL variant: NOT run ({PG_URL_VARIABLE} not set)"
    from carriertui.store.db.engine import redacted_url

    return f"PostgreSQL variant: ran against {redacted_url(url)}"


def pytest_report_header(config: pytest.Config) -> str:
    return _pg_status()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    terminalreporter.write_line(_pg_status())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Report every skipped PostgreSQL variant at one place, so ``-ra`` folds them into one line
    (pytest would otherwise print one line per test)."""
    report = yield
    longrepr = report.longrepr
    if report.skipped and isinstance(longrepr, tuple) and PG_SKIP_REASON in str(longrepr[2]):
        here = Path(__file__)
        with contextlib.suppress(ValueError):
            here = here.relative_to(item.config.rootpath)
        report.longrepr = (str(here), _skip_postgresql.__code__.co_firstlineno, longrepr[2])
    return report


@pytest.fixture
def short_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """A demo build of SHORT_DEMO_DAYS days of CDRs (what it checks does not need 90)."""
    from tests.demo_seed import shorten_demo

    shorten_demo(monkeypatch)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every file the app writes goes under a temporary CARRIERTUI_HOME; no SSH or DB variables
    and no config overrides leak in from the developer's shell."""
    home = tmp_path / "carriertui-home"
    for name in list(os.environ):
        if name.startswith("CARRIERTUI_") and not name.startswith("CARRIERTUI_TEST_"):
            monkeypatch.delenv(name, raising=False)
    for name in _ISOLATED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CARRIERTUI_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def utf8_drawing() -> Iterator[None]:
    """Each test starts drawing in UTF-8: a CarrierApp(ascii=True) sets the process's mode
    (carriertui.charset), which a later test's plain Textual app would otherwise inherit."""
    from carriertui import charset

    charset.use_ascii(False)
    yield
    charset.use_ascii(False)


@dataclass
class Backend:
    """Where one test's databases live: a SQLite file, or a private PostgreSQL schema."""

    name: str
    url: str
    connect_args: dict[str, Any] = field(default_factory=dict)
    opened: list[Any] = field(default_factory=list)

    def open(self, *, create: bool = True, **kwargs: Any) -> Any:
        """A Database on this backend (schema created unless ``create`` is False)."""
        from carriertui.store.db.database import Database

        database = Database(self.url, connect_args=dict(self.connect_args), **kwargs)
        self.opened.append(database)
        if create:
            database.create_schema()
        return database

    def close(self) -> None:
        for database in self.opened:
            database.dispose()


# pg_trgm lives in a schema no test drops. Installed in the first test's own schema, it was
# dropped with that schema, under any other test (or test run, e.g. a second xdist worker)
# whose search index used it: "operator class was concurrently dropped", deadlocks.
PG_EXTENSION_SCHEMA = "carriertui_test_extensions"
_pg_extension_ready: set[str] = set()


def _ensure_pg_trgm(connection: Any) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    installed = text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    if connection.execute(installed).first() is not None:
        return
    try:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{PG_EXTENSION_SCHEMA}"'))
        connection.execute(
            text(f'CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA "{PG_EXTENSION_SCHEMA}"')
        )
    except DBAPIError:
        # Another worker installed it at the same moment, or it is not available here (the
        # store then searches without the index, as it would in production).
        pass


def _postgres_backend(url: str) -> Iterator[Backend]:
    from sqlalchemy import create_engine, text

    from carriertui.store.db.engine import normalize_url

    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if url not in _pg_extension_ready:
                _ensure_pg_trgm(connection)
                _pg_extension_ready.add(url)
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        backend = Backend("postgresql", url, {"options": f"-csearch_path={schema}"})
        try:
            yield backend
        finally:
            backend.close()
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


def _skip_postgresql() -> NoReturn:
    pytest.skip(PG_SKIP_REASON)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        sqlite = Backend("sqlite", f"sqlite:///{tmp_path / 'store.sqlite'}")
        try:
            yield sqlite
        finally:
            sqlite.close()
        return
    url = _pg_url()
    if url is None:
        _skip_postgresql()
    yield from _postgres_backend(url)


@pytest.fixture
def db(backend: Backend) -> Any:
    """A Database with the schema created, on SQLite and (when configured) PostgreSQL."""
    return backend.open()


@pytest.fixture
def admin() -> Any:
    from carriertui.store.context import Actor
    from carriertui.store.enums import Role

    return Actor(name="alice", role=Role.ADMIN, ip="10.0.0.7")


@pytest.fixture
def operator_actor() -> Any:
    from carriertui.store.context import Actor
    from carriertui.store.enums import Role

    return Actor(name="oscar", role=Role.OPERATOR, ip="10.0.0.8")


@pytest.fixture
def viewer() -> Any:
    from carriertui.store.context import Actor
    from carriertui.store.enums import Role

    return Actor(name="victor", role=Role.VIEWER, ip="10.0.0.9")
