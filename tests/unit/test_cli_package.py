"""The CLI package: every command group registered, nothing heavy imported to parse or print
help, ``--version``, and the summary's JSON file placed as exports are.

The import checks run real ``carriertui`` processes (``python -X importtime -m carriertui``), so
a module-level import added to any parser module, or to a module they import, fails here; how
long a start takes is measured by ``benchmarks/startup.py``, not asserted.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import carriertui
from carriertui import cli

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(cli.__file__).resolve().parent
# Not command groups: the package's own entry points and the modules every group shares.
SHARED_MODULES = {"__init__", "__main__", "common", "output"}
# What a start must not pay for before it knows which command runs (about 1 s together).
HEAVY = ("sqlalchemy", "sqlmodel", "pydantic", "textual", "rich", "phonenumbers", "argon2")


def imported_by(home: Path, *argv: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime -m carriertui ARGV``; the names of every module it imported."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CARRIERTUI_")}
    env["CARRIERTUI_HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "carriertui", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    modules.discard("imported package")  # importtime's header line
    return result, modules


def heavy_among(modules: set[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in HEAVY)


@pytest.mark.parametrize("argv", [("--help",), ("--version",), ("customers", "--help")])
def test_help_and_version_import_nothing_heavy(tmp_path: Path, argv: tuple[str, ...]) -> None:
    result, modules = imported_by(tmp_path, *argv)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "carriertui.cli" in modules
    assert heavy_among(modules) == []
    assert not (tmp_path / "data").exists()  # no database opened either


def test_help_imports_every_parser_module_so_the_check_covers_them(tmp_path: Path) -> None:
    result, modules = imported_by(tmp_path, "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    files = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert files <= {name.removeprefix("carriertui.cli.") for name in modules}


def test_a_read_command_imports_the_store_but_no_tui(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'read.sqlite'}"
    result, modules = imported_by(tmp_path, "customers", "list", "--db", db)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "sqlmodel" in modules  # the store did its work ...
    assert [
        name for name in heavy_among(modules) if name.split(".")[0] in ("textual", "rich")
    ] == []
    assert "carriertui.app" not in modules  # ... and nothing of the TUI came with it


def test_every_command_group_module_is_registered() -> None:
    """A new group module that is not in GROUPS would never reach the parser."""
    groups = {module.__name__.removeprefix("carriertui.cli.") for module in cli.GROUPS}
    files = {path.stem for path in PACKAGE.glob("*.py")} - SHARED_MODULES
    assert groups == files
    assert all(callable(module.register) for module in cli.GROUPS)


def test_version_prints_the_installed_version_and_exits_0(tmp_path: Path) -> None:
    result, _ = imported_by(tmp_path, "--version")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == f"carriertui {metadata.version('carriertui')}\n"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # The fallback (no installed metadata) says the same as the package's own number.
    assert carriertui.__version__ == project["version"] == metadata.version("carriertui")


def test_version_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"carriertui {cli.version()}\n"


def test_summary_json_file_is_private_and_refuses_a_symbolic_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'summary.sqlite'}"
    assert (
        cli.main(["customers", "add", "--db", db, "--name", "ACME Telecom", "--code", "ACME"]) == 0
    )
    summary = ["summary", "--db", db, "--customer", "ACME", "--view", "daily"]
    summary += ["--from", "2026-03-02", "--to", "2026-03-03", "--format", "json", "-o"]
    target = tmp_path / "summary.json"
    capsys.readouterr()
    assert cli.main([*summary, str(target)]) == 0
    assert capsys.readouterr().out == f"wrote 2 daily rows to {target}\n"
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["customer"] == "ACME" and len(document["rows"]) == 2
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep me\n")
    link = tmp_path / "link.json"
    link.symlink_to(elsewhere)
    assert cli.main([*summary, str(link)]) == 1
    assert "symbolic link" in capsys.readouterr().err
    assert elsewhere.read_text() == "keep me\n"
