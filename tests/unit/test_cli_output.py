"""What the CLI prints: refused searches, a reader that stops early (``| head``), and stored
text sanitised on the way to a pipe (issue 12.9, 12.10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from carriertui.cli import main


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CARRIERTUI_HOME", str(tmp_path))
    for name in ("CARRIERTUI_DB", "CARRIERTUI_BUSY_TIMEOUT", "SSH_CONNECTION", "SSH_CLIENT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("term", ["\x01", "\x1f", "North\x1b", "\ufffe", "\uffff"])
def test_a_search_with_a_control_character_is_refused_in_one_line(
    home: Path, capsys: pytest.CaptureFixture[str], term: str
) -> None:
    assert run(capsys, "customers", "add", "--name", "Northwind Telecom Ltd")[0] == 0
    code, out, err = run(capsys, "customers", "list", "--search", term)
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: search: cannot contain U+"), err
    assert f"U+{ord(term[-1]):04X}" in lines[0]
    # A printable search still answers.
    code, out, err = run(capsys, "customers", "list", "--search", "north")
    assert code == 0 and "Northwind Telecom Ltd" in out


# -- a reader that stops early, and what reaches a pipe -----------------------------------------

HOSTILE = "Hostile \x1b]52;c;aGk=\x07 \x1b]2;PWNED\x07 Ltd\x9b"


def _database(tmp_path: Path, *, bulk: int = 0, hostile: bool = False) -> str:
    """A SQLite database with one customer made by the service, ``bulk`` more written straight
    into the table (enough output to overflow a pipe's buffer), and with ``hostile`` the first
    one renamed to a string of escape sequences, as a foreign writer could (the services refuse
    control characters)."""
    import sqlite3

    from carriertui.store import customers
    from carriertui.store.context import Actor
    from carriertui.store.db.database import open_database
    from carriertui.store.enums import Role

    path = tmp_path / "pipe.sqlite"
    db = open_database(f"sqlite:///{path}")
    customers.create_customer(
        db, Actor("seed", Role.ADMIN, "127.0.0.1"), {"name": "Seed Ltd", "account_code": "SEED"}
    )
    db.dispose()
    with sqlite3.connect(path) as connection:
        names = [row[1] for row in connection.execute("PRAGMA table_info(customer)")]
        first = dict(
            zip(names, connection.execute("SELECT * FROM customer").fetchone(), strict=True)
        )
        first.pop("id")
        keys = list(first)
        rows = []
        for number in range(bulk):
            name = f"Bulk Customer {number:05d} with a long enough name"
            rows.append({**first, "name": name, "name_folded": name.casefold()})
            rows[-1]["account_code"] = None
        marks = ", ".join("?" for _ in keys)
        connection.executemany(
            f"INSERT INTO customer ({', '.join(keys)}) VALUES ({marks})",  # noqa: S608
            [tuple(row[key] for key in keys) for row in rows],
        )
        if hostile:
            connection.execute(
                "UPDATE customer SET name = ?, name_folded = ? WHERE account_code = 'SEED'",
                (HOSTILE, HOSTILE.casefold()),
            )
    return f"sqlite:///{path}"


def _cli(home: Path, url: str, *argv: str) -> list[str]:
    import sys

    return [sys.executable, "-m", "carriertui", "--db", url, *argv]


def _environment(home: Path) -> dict[str, str]:
    import os

    environment = {k: v for k, v in os.environ.items() if not k.startswith("CARRIERTUI_")}
    return {**environment, "CARRIERTUI_HOME": str(home)}


@pytest.mark.parametrize(
    "argv",
    [
        ("customers", "list"),
        ("customers", "list", "--format", "json"),
        ("audit", "export"),  # CSV to standard output
        ("audit", "export", "--format", "json"),
    ],
    ids=["table", "json", "audit-csv", "audit-json"],
)
def test_a_reader_that_stops_early_gets_no_broken_pipe_message(
    home: Path, tmp_path: Path, argv: tuple[str, ...]
) -> None:
    """As ``carriertui customers list | head -1``: the reader reads a line and closes its end
    while the CLI is still writing. Nothing on standard error; exit status 141 (SIGPIPE's)."""
    import subprocess

    url = _database(tmp_path, bulk=4000)
    if argv[0] == "audit":
        from carriertui.store import customers
        from carriertui.store.context import Actor
        from carriertui.store.db.database import open_database
        from carriertui.store.enums import Role

        db = open_database(url)
        actor = Actor("seed", Role.ADMIN, "127.0.0.1")
        for number in range(600):  # about 300 KB of audit export
            customers.create_customer(db, actor, {"name": f"Audited Customer {number:04d}"})
        db.dispose()
    process = subprocess.Popen(
        _cli(home, url, *argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_environment(home),
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    assert first.strip()
    process.stdout.close()  # the reader is gone: the CLI's next writes meet EPIPE
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 141, stderr
    assert stderr == b"", stderr


def test_the_shell_pipe_into_head_is_quiet(home: Path, tmp_path: Path) -> None:
    import shlex
    import subprocess

    url = _database(tmp_path, bulk=4000)
    command = " ".join(shlex.quote(part) for part in _cli(home, url, "customers", "list"))
    result = subprocess.run(  # noqa: S602 (the test's own command line, as a shell runs it)
        f"{command} | head -1",
        shell=True,
        capture_output=True,
        env=_environment(home),
        timeout=60,
        check=False,
    )
    assert result.stdout.decode().startswith("Name ")
    assert result.stderr == b""


def test_stored_escape_sequences_come_out_of_a_pipe_sanitized(home: Path, tmp_path: Path) -> None:
    import subprocess

    url = _database(tmp_path, hostile=True)
    for argv in (
        ("customers", "list"),
        ("customers", "show", "SEED"),
        ("customers", "list", "--format", "json"),
        ("customers", "list", "--search", "hostile"),
    ):
        result = subprocess.run(
            _cli(home, url, *argv),
            capture_output=True,
            env=_environment(home),
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        out = result.stdout.decode()
        assert "Hostile" in out, argv
        for raw in ("\x1b", "\x07", "\x9b"):
            assert raw not in out, (argv, out)
        if "json" in argv:  # JSON stays exact: escaped, not replaced
            assert "\\u001b]52;c;aGk=\\u0007" in out
        else:  # as on screen: control pictures
            assert "\u241b]52;c;aGk=\u2407" in out
