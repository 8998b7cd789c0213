"""The README's configuration names only settings the app reads (issue 12.12): every
``CARRIERTUI_*`` variable, every `` `[section] key` `` and every key of its ``toml`` examples.
The README once told readers to set ``CARRIERTUI_SMTP_HOST`` for ``[smtp] host``; mail is
configured under ``[mail]``, and nothing read ``[smtp]``."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from carriertui import cli, locations
from carriertui.store.context import client_ip
from carriertui.store.db import chain
from carriertui.store.mail import MailSettings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
VARIABLE = re.compile(r"\bCARRIERTUI_[A-Z0-9_<>]+")
SECTION_KEY = re.compile(r"`\[([a-z_]+)\] ([a-z_]+)`")
TOML_BLOCK = re.compile(r"```toml\n(.*?)```", re.DOTALL)
# Variables read by their own name (not a CARRIERTUI_<SECTION>_<KEY> override), and how to
# tell that the code reads them.
NAMED = {
    "CARRIERTUI_HOME": lambda tmp: _home_moves(tmp),
    "CARRIERTUI_DB": lambda tmp: (
        locations.database_url(environ={"CARRIERTUI_DB": "x.db"}) == "x.db"
    ),
    "CARRIERTUI_AUDIT_KEY": lambda tmp: chain.KEY_ENV == "CARRIERTUI_AUDIT_KEY",
    "CARRIERTUI_BUSY_TIMEOUT": lambda tmp: cli.BUSY_TIMEOUT_ENV == "CARRIERTUI_BUSY_TIMEOUT",
    "CARRIERTUI_SYSTEM_CONFIG_DIR": lambda tmp: _system_dir_moves(tmp),
    "CARRIERTUI_CLIENT_ADDRESS": lambda tmp: (
        client_ip({"CARRIERTUI_CLIENT_ADDRESS": "203.0.113.7"}) == "203.0.113.7"
    ),
    "CARRIERTUI_TEST_PG_URL": lambda tmp: (
        "CARRIERTUI_TEST_PG_URL" in (ROOT / "tests" / "conftest.py").read_text(encoding="utf-8")
    ),
}


def _system_dir_moves(tmp: Path) -> bool:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CARRIERTUI_SYSTEM_CONFIG_DIR", str(tmp))
        return locations.system_audit_key_path() == tmp / "audit.key"


def _home_moves(tmp: Path) -> bool:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CARRIERTUI_HOME", str(tmp))
        return locations.data_dir() == tmp / "data" and locations.config_dir() == tmp / "config"


def readme_variables(text: str = README) -> set[str]:
    return {name.rstrip("_") for name in VARIABLE.findall(text)}


def readme_settings(text: str = README) -> set[tuple[str, str]]:
    """(section, key) of every `[section] key` and of every key in the toml examples."""
    found = set(SECTION_KEY.findall(text))
    for block in TOML_BLOCK.findall(text):
        for section, values in tomllib.loads(block).items():
            found |= {(section, key) for key in values}
    return found


def unread(variables: set[str], settings: set[tuple[str, str]], tmp: Path) -> list[str]:
    """What the README names that no code reads."""
    problems = []
    for name in sorted(variables):
        if name in NAMED:
            if not NAMED[name](tmp):
                problems.append(f"{name} is not read by that name")
            continue
        if name == "CARRIERTUI_<SECTION>_<KEY>":
            continue  # the rule itself
        if name.endswith("_<KEY>"):  # CARRIERTUI_MAIL_<KEY>: the section must exist
            section = name.removeprefix("CARRIERTUI_").removesuffix("_<KEY>").lower()
            if not locations.is_setting(section):
                problems.append(f"{name}: no [{section}] section is read")
            continue
        config = locations.load_config(path=tmp / "none.toml", environ={name: "value"})
        pairs = [(section, key) for section, keys in config.items() for key in keys]
        if len(pairs) != 1 or not locations.is_setting(*pairs[0]):
            problems.append(f"{name} sets {pairs}, which nothing reads")
    for section, key in sorted(settings):
        if not locations.is_setting(section, key):
            problems.append(f"[{section}] {key} is read by nothing")
    return problems


def test_every_variable_and_setting_the_readme_names_is_read(tmp_path: Path) -> None:
    variables, settings = readme_variables(), readme_settings()
    # The README documents these; the test would prove little if it found none of them.
    assert {"CARRIERTUI_HOME", "CARRIERTUI_DB", "CARRIERTUI_MAIL_HOST"} <= variables
    assert {("database", "url"), ("mail", "host"), ("mail", "password")} <= settings
    assert unread(variables, settings, tmp_path) == []


def test_the_old_readme_line_is_caught(tmp_path: Path) -> None:
    old = "`CARRIERTUI_SMTP_HOST=mail.example.net` for `[smtp] host`."
    problems = unread(readme_variables(old), readme_settings(old), tmp_path)
    assert problems == [
        "CARRIERTUI_SMTP_HOST sets [('smtp', 'host')], which nothing reads",
        "[smtp] host is read by nothing",
    ]


def test_each_setting_reaches_what_reads_it(tmp_path: Path) -> None:
    """locations.SETTINGS is no wish list: each key, set by its variable, changes what the app
    uses (the mail service, the idle logout, the database)."""
    values = {
        "transport": ("maildir", "transport", "maildir"),
        "host": ("mail.example.net", "host", "mail.example.net"),
        "port": ("2525", "port", 2525),
        "security": ("starttls", "security", "starttls"),
        "user": ("noc", "user", "noc"),
        "password": ("s3cret-for-the-test", "password", "s3cret-for-the-test"),
        "from": ("noc@example.net", "sender", "noc@example.net"),
        "maildir": (str(tmp_path / "md"), "maildir", tmp_path / "md"),
    }
    assert set(values) == locations.SETTINGS["mail"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CARRIERTUI_HOME", str(tmp_path))
        for key, (text, field, expected) in values.items():
            environ = {f"CARRIERTUI_MAIL_{key.upper()}": text}
            settings = MailSettings.from_config(locations.mail_config("sqlite:///x", environ))
            assert getattr(settings, field) == expected, key
    for section in ("portal", "tui"):
        environ = {f"CARRIERTUI_{section.upper()}_IDLE_MINUTES": "7.5"}
        assert locations.idle_minutes(section, environ) == 7.5
    environ = {"CARRIERTUI_WEB_TRUSTED_PROXIES": "127.0.0.1 10.0.0.0/8"}
    assert locations.trusted_proxies(environ) == ("127.0.0.1", "10.0.0.0/8")
    url = "postgresql://noc@db.example.net/carrier"
    assert locations.database_url(environ={"CARRIERTUI_DATABASE_URL": url}) == url
