"""The UIs without a terminal (``ssh -T``, sftp, a probe): refused at once, nothing left running;
the CLI keeps working on pipes; the idle settings; and the clean-up of child processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from carriertui import locations, terminal
from tests.unit.terminal_harness import app_env, carriertui_argv, processes_where

REFUSAL = "needs an interactive terminal: connect with ssh -t"
UI_COMMANDS = ([], ["portal"], ["demo"], ["demo", "--reset"])
# `demo --build-only` on pipes: tests/unit/test_demo.py's build runs with pytest's stdin, which
# is no terminal either.


def _files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


@pytest.mark.parametrize("stdin", [subprocess.PIPE, subprocess.DEVNULL], ids=["pipe", "devnull"])
@pytest.mark.parametrize("command", UI_COMMANDS, ids=lambda c: " ".join(c) or "tui")
def test_ui_refuses_to_start_on_pipes(tmp_path: Path, command: list[str], stdin: int) -> None:
    home = tmp_path / "home"
    db_file = tmp_path / "never.sqlite"
    argv = carriertui_argv(*command)
    if command[:1] != ["demo"]:
        argv += ["--db", f"sqlite:///{db_file}"]
    started = time.monotonic()
    process = subprocess.Popen(
        argv,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=app_env(home),
        start_new_session=True,  # its own session: anything it left behind is findable
    )
    try:
        out, err = process.communicate(timeout=2)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    elapsed = time.monotonic() - started
    assert process.returncode == 2, (out, err)
    assert elapsed < 2
    assert err.decode() == REFUSAL + "\n"
    assert out == b""
    assert not db_file.exists()
    assert _files_under(home) == []  # no database, no demo build, no config, no audit key
    assert processes_where(3, process.pid) == []  # nothing of its session runs on


def test_refusal_comes_before_textual_and_the_store(tmp_path: Path) -> None:
    """Not even imported: the refusal costs a fraction of a second, not the 1 s of imports."""
    code = (
        "import sys\n"
        "from carriertui.cli import main\n"
        "code = main(['portal'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'sqlmodel',"
        " 'sqlalchemy', 'rich', 'argon2') or m == 'carriertui.app')\n"
        "print(code, heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=app_env(tmp_path / "home"),
        timeout=10,
        check=False,
    )
    assert result.stdout.strip() == "2 []", result.stderr
    assert result.stderr == REFUSAL + "\n"


@pytest.mark.parametrize(
    "command",
    [
        ["--help"],
        ["portal", "--help"],
        ["demo", "--help"],
        ["config", "path"],
        ["demo", "--print-db"],
    ],
    ids=lambda c: " ".join(c),
)
def test_help_and_cli_commands_work_on_pipes(tmp_path: Path, command: list[str]) -> None:
    result = subprocess.run(
        carriertui_argv(*command),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=app_env(tmp_path / "home"),
        timeout=20,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert REFUSAL not in result.stdout + result.stderr


def test_cli_commands_with_the_database_work_on_pipes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    env = app_env(tmp_path / "home")
    for command in (["init"], ["customers", "list", "--format", "json"]):
        result = subprocess.run(
            carriertui_argv("--db", url, *command),
            stdin=subprocess.PIPE,
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- the idle settings ------------------------------------------------------------------------


def _write_config(text: str) -> None:
    path = locations.config_path()  # under the test's CARRIERTUI_HOME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_idle_minutes_defaults_config_and_environment() -> None:
    assert locations.idle_minutes("portal", {}) == 15
    assert locations.idle_minutes("tui", {}) == 0  # off by default
    _write_config("[portal]\nidle_minutes = 5\n[tui]\nidle_minutes = 30.5\n")
    assert locations.idle_minutes("portal", {}) == 5
    assert locations.idle_minutes("tui", {}) == 30.5
    env = {"CARRIERTUI_PORTAL_IDLE_MINUTES": "0.05", "CARRIERTUI_TUI_IDLE_MINUTES": "0"}
    assert locations.idle_minutes("portal", env) == 0.05
    assert locations.idle_minutes("tui", env) == 0


@pytest.mark.parametrize("bad", ["soon", "-1", "nan", "inf", "true"])
def test_idle_minutes_refuses_nonsense(bad: str) -> None:
    with pytest.raises(locations.ConfigError, match=r"\[portal\] idle_minutes"):
        locations.idle_minutes("portal", {"CARRIERTUI_PORTAL_IDLE_MINUTES": bad})


def test_idle_minutes_refuses_a_toml_boolean() -> None:
    _write_config("[portal]\nidle_minutes = true\n")
    with pytest.raises(locations.ConfigError):
        locations.idle_minutes("portal", {})


# -- child processes ---------------------------------------------------------------------------


def test_end_children_stops_and_reaps_every_child() -> None:
    """One child ends on SIGTERM, one ignores it and is killed; neither is left, not even as a
    zombie. (Run in a subprocess: the test process has children of its own.)"""
    code = (
        "import signal, subprocess, sys, time\n"
        "from carriertui.terminal import child_pids, end_children\n"
        "polite = subprocess.Popen(['sleep', '60'])\n"
        "stubborn = subprocess.Popen([sys.executable, '-c', "
        "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print(1, flush=True); time.sleep(60)'], stdout=subprocess.PIPE)\n"
        "stubborn.stdout.readline()\n"
        "before = sorted(child_pids())\n"
        "started = time.monotonic()\n"
        "ended = sorted(end_children(grace_s=0.3))\n"
        "print(before == ended == sorted([polite.pid, stubborn.pid]), child_pids(),"
        " round(time.monotonic() - started, 1) < 2)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=False
    )
    assert result.stdout.strip() == "True [] True", result.stderr


def test_child_pids_reads_the_parent_from_proc() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert child.pid in terminal.child_pids()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.pid not in terminal.child_pids()
