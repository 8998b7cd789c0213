"""Issue 20 on a shared host, as an operator sees it in the TUI: a Maildir this account cannot
use is one clear background notice; a database at another schema is named on the login screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from carriertui.app import CarrierApp
from carriertui.store import customers
from carriertui.store.contacts import service as contacts
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from tests.functional.harness import log_in, open_db, seed, wait_for

SIZE = (80, 24)
ADMIN = Actor("test", Role.ADMIN, "127.0.0.1")


async def test_a_maildir_this_account_cannot_use_is_one_background_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = seed(tmp_path / "o.sqlite")
    atlas = customers.find_customer(open_db(url), ADMIN, "Atlas Comms [UK]")
    contacts.create_contact(open_db(url), ADMIN, atlas.id, {"name": "J", "email": "j@x.example"})
    blocker = tmp_path / "mail-is-a-file"
    blocker.write_text("x\n", encoding="utf-8")
    monkeypatch.setenv("CARRIERTUI_MAIL_TRANSPORT", "maildir")
    monkeypatch.setenv("CARRIERTUI_MAIL_MAILDIR", str(blocker / "Maildir"))
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        ran: list[bool] = []
        app.run_background(on_done=lambda: ran.append(True))
        await wait_for(pilot, lambda: bool(ran))
        notices = [str(n.message) for n in app._notifications if "mail" in str(n.message)]
        assert notices == [
            "Background mail failed (retried every 30 s): "
            f"[mail] maildir {blocker / 'Maildir'} cannot be used: Not a directory"
        ]


@pytest.mark.parametrize("portal", [False, True])
async def test_the_login_screen_names_an_older_schema_and_writes_nothing(
    tmp_path: Path, portal: bool
) -> None:
    from sqlalchemy import text
    from textual.widgets import Button, Label

    from carriertui.store.db.database import Database
    from carriertui.store.db.migrations import SCHEMA_VERSION

    path = tmp_path / "old.sqlite"
    url = seed(path)
    old = Database(url)
    with old.write() as session:
        session.connection().execute(
            text("UPDATE carriertui_meta SET value = :v WHERE key = 'schema_version'"),
            {"v": str(SCHEMA_VERSION - 1)},
        )
    old.dispose()
    before = path.read_bytes()
    app = CarrierApp(url, portal=portal)
    async with app.run_test(size=SIZE) as pilot:
        status = app.screen.query_one("#login-status", Label)
        await wait_for(pilot, lambda: status.has_class("-error"))
        if portal:  # a customer learns nothing of the server
            expected = "The portal is being upgraded and is not available; try again later."
        else:
            expected = (
                f"The database is at schema {SCHEMA_VERSION - 1}, this carriertui needs "
                f"{SCHEMA_VERSION}: run carriertui init --db {url}."
            )
        assert str(status.render()) == expected
        prefix = "portal-login" if portal else "login"
        assert app.screen.query_one(f"#{prefix}-button", Button).disabled
        assert app.db is None
    assert path.read_bytes() == before


async def test_a_smtp_port_with_no_server_is_one_background_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    url = seed(tmp_path / "o.sqlite")
    atlas = customers.find_customer(open_db(url), ADMIN, "Atlas Comms [UK]")
    contacts.create_contact(open_db(url), ADMIN, atlas.id, {"name": "J", "email": "j@x.example"})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("CARRIERTUI_MAIL_HOST", "127.0.0.1")
    monkeypatch.setenv("CARRIERTUI_MAIL_PORT", str(port))
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        ran: list[bool] = []
        app.run_background(on_done=lambda: ran.append(True))
        await wait_for(pilot, lambda: bool(ran))
        notices = [str(n.message) for n in app._notifications if "mail" in str(n.message)]
        assert notices == [
            f"Background mail failed (retried every 30 s): smtp 127.0.0.1:{port}: "
            "Connection refused"
        ]
