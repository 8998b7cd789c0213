"""Paths and configuration: one module decides where every file lives."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from carriertui import locations
from carriertui.locations import ConfigError


def write_config(text: str) -> Path:
    path = locations.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_carriertui_home_moves_every_directory(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "elsewhere"
    monkeypatch.setenv("CARRIERTUI_HOME", str(home))
    assert locations.data_dir() == home / "data"
    assert locations.config_dir() == home / "config"
    assert locations.exports_dir() == home / "exports"
    assert locations.config_path() == home / "config" / "config.toml"
    assert locations.default_db_path() == home / "data" / "carriertui.sqlite"
    assert locations.demo_db_path() == home / "data" / "demo.sqlite"
    assert locations.database_url() == f"sqlite:///{home / 'data' / 'carriertui.sqlite'}"


def test_carriertui_home_expands_the_user(monkeypatch) -> None:
    monkeypatch.setenv("CARRIERTUI_HOME", "~/ctui")
    assert locations.data_dir() == Path.home() / "ctui" / "data"


def test_without_carriertui_home_the_platform_directories_are_used(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("CARRIERTUI_HOME")
    for directory in (locations.data_dir(), locations.config_dir()):
        assert "carriertui" in directory.parts
        assert tmp_path not in directory.parents
    assert locations.default_db_path().parent == locations.data_dir()


def test_the_test_environment_is_isolated(isolated_environment: Path) -> None:
    # The autouse fixture keeps every test away from the developer's real files.
    assert locations.data_dir() == isolated_environment / "data"
    assert locations.load_config() == {}


def test_config_file_and_environment_override() -> None:
    write_config(
        """
        [smtp]
        host = "mail.internal"
        port = 2525

        [Database]
        URL = "postgresql://noc@db/carrier"
        """
    )
    config = locations.load_config()
    assert config["smtp"] == {"host": "mail.internal", "port": 2525}
    assert config["database"] == {"url": "postgresql://noc@db/carrier"}
    overridden = locations.load_config(
        environ={
            "CARRIERTUI_SMTP_HOST": "relay.example.net",
            "CARRIERTUI_UI_THEME": "nord",
            "CARRIERTUI_HOME": "/ignored",
            "CARRIERTUI_DB": "sqlite:///ignored",
            "CARRIERTUI_TEST_PG_URL": "postgresql://ignored",
            "CARRIERTUI_NOKEY": "ignored",
            "OTHER_SMTP_HOST": "ignored",
        }
    )
    assert overridden == {
        "smtp": {"host": "relay.example.net", "port": 2525},
        "database": {"url": "postgresql://noc@db/carrier"},
        "ui": {"theme": "nord"},
    }


def test_environment_override_from_the_process(monkeypatch) -> None:
    monkeypatch.setenv("CARRIERTUI_SMTP_HOST", "from-env")
    assert locations.load_config()["smtp"]["host"] == "from-env"


def test_missing_config_file_is_empty_config() -> None:
    assert not locations.config_path().exists()
    assert locations.load_config(environ={}) == {}


@pytest.mark.parametrize("bad", ["[smtp\nhost = 1", "host = ", "[a]\nx = 1\nx = 2"])
def test_bad_toml_raises_config_error(bad: str) -> None:
    path = write_config(bad)
    with pytest.raises(ConfigError) as error:
        locations.load_config()
    assert str(path) in str(error.value)
    with pytest.raises(ConfigError):
        locations.database_url()


def test_database_url_precedence(monkeypatch) -> None:
    default = f"sqlite:///{locations.default_db_path()}"
    assert locations.database_url() == default

    write_config('[database]\nurl = "postgresql://noc@config/carrier"\n')
    assert locations.database_url() == "postgresql://noc@config/carrier"

    monkeypatch.setenv("CARRIERTUI_DB", "postgresql://noc@env/carrier")
    assert locations.database_url() == "postgresql://noc@env/carrier"
    assert (
        locations.database_url(environ={"CARRIERTUI_DB": "sqlite:///given.sqlite"})
        == "sqlite:///given.sqlite"
    )

    assert locations.database_url("postgresql://noc@cli/carrier") == "postgresql://noc@cli/carrier"


def test_command_line_database_does_not_need_a_readable_config() -> None:
    write_config("not [ toml")
    assert locations.database_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"


def test_environment_database_url_key_is_a_config_override() -> None:
    environ = {"CARRIERTUI_DATABASE_URL": "postgresql://noc@override/carrier"}
    assert locations.database_url(environ=environ) == "postgresql://noc@override/carrier"


def test_private_directories_are_owner_only(tmp_path: Path) -> None:
    created = locations.ensure_private_dir(tmp_path / "a" / "b")
    assert created.is_dir()
    assert stat.S_IMODE(created.stat().st_mode) & 0o077 == 0


def test_seed_dir_holds_the_password_blocklist() -> None:
    assert (locations.seed_dir() / "common-passwords.txt").is_file()
