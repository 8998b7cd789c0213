"""The one place that computes paths and reads the configuration.

Everything the app writes lives under the platformdirs user directories, or under
``CARRIERTUI_HOME`` when it is set, so tests and side-by-side installations never share a file.
Configuration is a TOML file; any key can be overridden by ``CARRIERTUI_<SECTION>_<KEY>``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

APP_NAME = "carriertui"
_PACKAGE_DIR = Path(__file__).resolve().parent


def _home() -> Path | None:
    home = os.environ.get("CARRIERTUI_HOME")
    return Path(home).expanduser() if home else None


def data_dir() -> Path:
    """Where the database, demo database and exports live."""
    home = _home()
    if home is not None:
        return home / "data"
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """Where config.toml and key files live."""
    home = _home()
    if home is not None:
        return home / "config"
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def exports_dir() -> Path:
    """The export folder: the default for CSV exports, and the folder an export may write to
    without asking (a path outside it is confirmed first). ``$CARRIERTUI_HOME/exports``; without
    it the user's documents folder (platformdirs) when it exists, else ``exports/`` in the data
    folder. Not created here: :func:`ensure_exports_dir` does that when an export needs it."""
    home = _home()
    if home is not None:
        return home / "exports"
    import platformdirs

    documents = Path(platformdirs.user_documents_dir())
    if documents.is_dir():
        return documents
    return data_dir() / "exports"


def ensure_exports_dir() -> Path:
    """The export folder, created (private to its owner) when missing."""
    return ensure_private_dir(exports_dir())


def log_path() -> Path:
    """The log file: unexpected errors with their tracebacks (never a password: services never
    put one in an exception)."""
    home = _home()
    if home is not None:
        return home / "logs" / "carriertui.log"
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)) / "carriertui.log"


def config_path() -> Path:
    return config_dir() / "config.toml"


def default_db_path() -> Path:
    return data_dir() / "carriertui.sqlite"


def demo_db_path() -> Path:
    return data_dir() / "demo.sqlite"


def demo_maildir_path() -> Path:
    """Where the demo's mail goes (a Maildir): the whole mail flow works with no mail server."""
    return data_dir() / "demo-mail"


def mail_config(database: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``[mail]`` section, with the demo's Maildir as the default transport on the demo
    database (an explicit ``transport`` in the config still wins)."""
    section = dict(load_config(environ=environ).get("mail", {}))
    if "transport" not in section and database.endswith(str(demo_db_path())):
        section["transport"] = "maildir"
        section.setdefault("maildir", str(demo_maildir_path()))
    return section


# The browser's address, put into the environment of each session `carriertui serve` starts
# (carriertui/web.py); store.context.client_ip reads it. Not a setting.
CLIENT_ADDRESS_ENV = "CARRIERTUI_CLIENT_ADDRESS"

SYSTEM_CONFIG_DIR = Path("/etc/carriertui")
SYSTEM_CONFIG_ENV = "CARRIERTUI_SYSTEM_CONFIG_DIR"


def system_config_dir() -> Path | None:
    """The host-wide folder shared by every account (``/etc/carriertui``; another with
    ``CARRIERTUI_SYSTEM_CONFIG_DIR``). None under ``CARRIERTUI_HOME`` unless that variable is
    set: a self-contained installation (and every test) reads nothing of the host's."""
    configured = os.environ.get(SYSTEM_CONFIG_ENV)
    if configured:
        return Path(configured).expanduser()
    if _home() is not None:
        return None
    return SYSTEM_CONFIG_DIR


def audit_key_path() -> Path:
    """This account's own audit key: where a key is created on first use (mode 0600) when no
    other is configured or installed (see :func:`audit_key_paths`)."""
    return config_dir() / "audit.key"


def system_audit_key_path() -> Path | None:
    """The host-wide audit key (``/etc/carriertui/audit.key``, group-readable by the group of
    the accounts that write the audit log)."""
    system = system_config_dir()
    return None if system is None else system / "audit.key"


def configured_audit_key_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """``[audit] key_file`` in the config (or ``CARRIERTUI_AUDIT_KEY_FILE``)."""
    value = load_config(environ=environ).get("audit", {}).get("key_file")
    return Path(str(value)).expanduser() if value else None


def audit_key_paths() -> list[Path]:
    """Where the audit key is looked for, in order: the configured ``key_file`` alone when set;
    else the host-wide key, then this account's own. (``CARRIERTUI_AUDIT_KEY``, the key itself,
    comes before all of them: store/chain.py.)"""
    configured = configured_audit_key_path()
    if configured is not None:
        return [configured]
    system = system_audit_key_path()
    return [system, audit_key_path()] if system is not None else [audit_key_path()]


def audit_head_path(database: str) -> Path:
    """The audit chain's head (entry count and last MAC) for one database, next to the key.

    ``database`` identifies the database without secrets (its redacted URL); it is hashed, so the
    demo and the real database, or two PostgreSQL servers, never share a head.
    """
    import hashlib

    digest = hashlib.sha256(database.encode("utf-8")).hexdigest()[:16]
    return config_dir() / f"audit-head-{digest}.json"


def seed_dir() -> Path:
    """The read-only seed files shipped with the project (``data/`` in the repository)."""
    installed = _PACKAGE_DIR / "_data"
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / "data"


def ensure_private_dir(path: Path) -> Path:
    """Create a directory readable only by its owner (it holds databases and keys)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


# Every setting the app reads, by section: its keys, or None for a section of free keys
# ([keymap]: binding ids). Each is reachable as ``CARRIERTUI_<SECTION>_<KEY>`` too. The README's
# doc test (tests/unit/test_readme_config.py) checks that every setting it names is here.
SETTINGS: dict[str, frozenset[str] | None] = {
    "database": frozenset({"url"}),  # database_url()
    "mail": frozenset(  # mail_config() -> store.mail.MailSettings.from_config
        {"transport", "host", "port", "security", "user", "password", "from", "maildir"}
    ),
    "keymap": None,  # app.CarrierApp: binding id -> keys
    "portal": frozenset({"idle_minutes"}),  # idle_minutes("portal")
    "tui": frozenset({"idle_minutes"}),  # idle_minutes("tui")
    "audit": frozenset({"key_file"}),  # configured_audit_key_path()
    "web": frozenset({"trusted_proxies"}),  # trusted_proxies()
    "display": frozenset({"charset"}),  # display_charset()
    "alarms": frozenset({"evaluate", "watch_seconds"}),  # alarm_settings()
    # cli/feeds.py feed_settings(): how switch CDR files are read (cdr import, watch, ingest)
    "feeds": frozenset(
        {"format", "tz", "utc", "ambiguous", "template", "freeswitch_config", "direction", "spool"}
    ),
    "cdr": frozenset({"keep_months"}),  # cdr_keep_months()
}


def is_setting(section: str, key: str | None = None) -> bool:
    """Whether ``[section] key`` (or, without ``key``, the section) is one the app reads."""
    if section not in SETTINGS:
        return False
    keys = SETTINGS[section]
    return key is None or keys is None or key in keys


class ConfigError(ValueError):
    """The configuration file cannot be read."""


def load_config(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Read config.toml and apply ``CARRIERTUI_<SECTION>_<KEY>`` overrides.

    The returned mapping is ``{section: {key: value}}`` with lower-case section and key names.
    Environment values stay strings; callers convert them where they read them.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    path = config_path() if path is None else path
    config: dict[str, Any] = {}
    if path.exists():
        import tomllib  # only when there is a file: ``carriertui --help`` never parses TOML

        try:
            with path.open("rb") as handle:
                loaded = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"cannot read {path}: {error}") from error
        for section, values in loaded.items():
            if isinstance(values, dict):
                config[section.lower()] = {k.lower(): v for k, v in values.items()}
    reserved = {"CARRIERTUI_HOME", "CARRIERTUI_DB", SYSTEM_CONFIG_ENV, CLIENT_ADDRESS_ENV}
    for name, value in env.items():
        if (
            not name.startswith("CARRIERTUI_")
            or name in reserved
            or name.startswith("CARRIERTUI_TEST")
        ):
            continue
        rest = name[len("CARRIERTUI_") :].lower()
        section, sep, key = rest.partition("_")
        if sep and key:
            config.setdefault(section, {})[key] = value
    return config


def database_url(cli_value: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The database to open: ``--db``, then ``CARRIERTUI_DB``, then ``[database] url``, then the
    SQLite file in the data directory."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    if cli_value:
        return cli_value
    if env.get("CARRIERTUI_DB"):
        return env["CARRIERTUI_DB"]
    configured = load_config(environ=env).get("database", {}).get("url")
    if configured:
        return str(configured)
    return f"sqlite:///{default_db_path()}"


# Idle logout: `[portal] idle_minutes` (default 15) and `[tui] idle_minutes` (default off), or
# CARRIERTUI_PORTAL_IDLE_MINUTES / CARRIERTUI_TUI_IDLE_MINUTES. 0 turns it off.
IDLE_MINUTES_DEFAULT = {"portal": 15.0, "tui": 0.0}


def idle_minutes(section: str, environ: Mapping[str, str] | None = None) -> float:
    """Minutes without a key press or click before the UI logs out and exits; 0 is never."""
    raw = load_config(environ=environ).get(section, {}).get("idle_minutes")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return IDLE_MINUTES_DEFAULT[section]
    try:
        if isinstance(raw, bool):
            raise ValueError(raw)
        minutes = float(raw)
    except (TypeError, ValueError):
        minutes = -1.0
    if not 0 <= minutes <= 7 * 24 * 60:  # NaN fails here too
        raise ConfigError(
            f"[{section}] idle_minutes must be a number of minutes (0 turns it off), not {raw!r}"
        )
    return minutes


def alarm_settings(environ: Mapping[str, str] | None = None) -> tuple[bool, float]:
    """`[alarms] evaluate` (the running app evaluates the rules on its timer; default off:
    `cdr import` and `alarms check` from cron evaluate) and `[alarms] watch_seconds` (how
    often the app looks for new alarms to toast and count; default 1)."""
    section = load_config(environ=environ).get("alarms", {})
    raw = section.get("evaluate", False)
    if isinstance(raw, str):
        if raw.strip().lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
            raise ConfigError(f"[alarms] evaluate must be true or false, not {raw!r}")
        raw = raw.strip().lower() in ("1", "true", "yes", "on")
    seconds_raw = section.get("watch_seconds", 1.0)
    try:
        seconds = float(seconds_raw) if not isinstance(seconds_raw, bool) else -1.0
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0.2 <= seconds <= 3600:
        raise ConfigError(
            f"[alarms] watch_seconds must be between 0.2 and 3600, not {seconds_raw!r}"
        )
    return bool(raw), seconds


def feeds_spools(environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """`[feeds] spool` (or ``CARRIERTUI_FEEDS_SPOOL``): the spool directories the Feeds screen
    shows. A TOML list, or one string of paths separated by the OS path separator (``:``)."""
    raw = load_config(environ=environ).get("feeds", {}).get("spool")
    if raw is None:
        return ()
    if isinstance(raw, str):
        entries = [entry for entry in raw.split(os.pathsep) if entry.strip()]
    elif isinstance(raw, list) and all(isinstance(entry, str) for entry in raw):
        entries = [entry for entry in raw if entry.strip()]
    else:
        raise ConfigError(f"[feeds] spool must be a list of directories, not {raw!r}")
    return tuple(Path(entry.strip()).expanduser() for entry in entries)


def trusted_proxies(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """`[web] trusted_proxies` (or ``CARRIERTUI_WEB_TRUSTED_PROXIES``): the addresses or networks
    of the reverse proxies whose ``X-Forwarded-For`` `carriertui serve` believes. A TOML list,
    or one string of entries separated by commas or spaces. Empty (the default): none."""
    import ipaddress

    raw = load_config(environ=environ).get("web", {}).get("trusted_proxies")
    if raw is None:
        return ()
    if isinstance(raw, str):
        entries = raw.replace(",", " ").split()
    elif isinstance(raw, list) and all(isinstance(entry, str) for entry in raw):
        entries = [entry.strip() for entry in raw if entry.strip()]
    else:
        raise ConfigError(f"[web] trusted_proxies must be a list of addresses, not {raw!r}")
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(
                f"[web] trusted_proxies: {entry!r} is not an address or a network"
            ) from None
    return tuple(entries)


DISPLAY_CHARSETS = ("auto", "ascii", "unicode")


def display_charset(environ: Mapping[str, str] | None = None) -> str:
    """``[display] charset`` (or ``CARRIERTUI_DISPLAY_CHARSET``): "auto" (the default: ASCII
    when the locale is not UTF-8, carriertui.charset), "ascii" or "unicode"."""
    raw = load_config(environ=environ).get("display", {}).get("charset")
    value = "auto" if raw is None or not str(raw).strip() else str(raw).strip().lower()
    if value not in DISPLAY_CHARSETS:
        raise ConfigError(
            f"[display] charset must be one of {', '.join(DISPLAY_CHARSETS)}, not {raw!r}"
        )
    return value


# `[cdr] keep_months` (or CARRIERTUI_CDR_KEEP_MONTHS): whole months of raw CDRs that
# `carriertui cdr prune` without --before keeps, the current one not counted.
CDR_KEEP_MONTHS_DEFAULT = 12


def cdr_keep_months(environ: dict[str, str] | None = None) -> int:
    raw = load_config(environ=environ).get("cdr", {}).get("keep_months")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return CDR_KEEP_MONTHS_DEFAULT
    try:
        if isinstance(raw, bool) or float(raw) != int(raw):
            raise ValueError(raw)
        months = int(raw)
    except (TypeError, ValueError):
        months = 0
    if not 1 <= months <= 1200:
        raise ConfigError(
            f"[cdr] keep_months must be a whole number of months (1 or more), not {raw!r}"
        )
    return months
