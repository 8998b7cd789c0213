"""README's SSH recipe against a real OpenSSH server: an ``sshd`` of our own on a loopback port,
with its own config, host key and authorized_keys in a temporary directory (never the system's),
the portal as the forced command. ``ssh -tt`` reaches the portal's login and logs in (the IP
whitelist reads SSH_CONNECTION); ``ssh -T`` gets the one-line refusal and leaves nothing
running; a client that goes away leaves no portal behind."""

from __future__ import annotations

import contextlib
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from carriertui.store import audit
from tests.functional.harness import open_db
from tests.functional.portal_harness import ADMIN, CONTACT_EMAIL, CONTACT_PASSWORD, seed_portal
from tests.unit.terminal_harness import PtyApp, app_env

SSHD = shutil.which("sshd") or next(
    (path for path in ("/usr/sbin/sshd", "/usr/local/sbin/sshd") if os.access(path, os.X_OK)), None
)
SSH = shutil.which("ssh")
SSH_KEYGEN = shutil.which("ssh-keygen")

pytestmark = pytest.mark.skipif(
    not (SSHD and SSH and SSH_KEYGEN),
    reason="OpenSSH not installed (sshd, ssh, ssh-keygen): apt-get install openssh-server "
    "openssh-client (.ci/run does)",
)

REFUSAL = "needs an interactive terminal: connect with ssh -t"
USER = os.environ.get("USER") or __import__("pwd").getpwuid(os.getuid()).pw_name


def _free_port() -> int:
    for _ in range(50):
        port = 2222 + random.randrange(20000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port")


def _processes_mentioning(marker: str) -> list[int]:
    """Live processes whose command line or environment holds ``marker`` (the test's
    directory): the portal wherever sshd started it, whatever its parent is now."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
            if stat[stat.rfind(b")") + 2 :].split()[0] in (b"Z", b"X"):
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry))
    return found


@dataclass
class Server:
    port: int
    client_key: Path
    known_hosts: Path
    marker: str
    url: str
    contact_id: int

    def ssh(self, *options: str) -> list[str]:
        assert SSH is not None
        return [
            SSH,
            "-F",
            "/dev/null",
            "-p",
            str(self.port),
            "-i",
            str(self.client_key),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "LogLevel=ERROR",
            *options,
            f"{USER}@127.0.0.1",
        ]

    def wait_nothing_left(self, timeout: float = 5.0) -> list[int]:
        deadline = time.monotonic() + timeout
        while (left := _processes_mentioning(self.marker)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return left


def _keygen(path: Path) -> None:
    assert SSH_KEYGEN is not None
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    assert SSHD is not None
    if os.geteuid() == 0:
        # sshd running as root insists on its privilege separation directory.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    url, contact_id = seed_portal(tmp_path, whitelist="127.0.0.1")
    home = tmp_path / "portal-home"
    ssh_dir = tmp_path / "ssh"
    ssh_dir.mkdir()
    _keygen(ssh_dir / "host_key")
    _keygen(ssh_dir / "client_key")
    # The forced command: sshd gives it a clean environment, so it names everything it needs.
    env = app_env(home)
    command = shlex.join(
        [
            "env",
            f"CARRIERTUI_HOME={env['CARRIERTUI_HOME']}",
            # The portal account signs the audit log with the database's one key.
            f"CARRIERTUI_AUDIT_KEY_FILE={env['CARRIERTUI_AUDIT_KEY_FILE']}",
            f"PYTHONPATH={env['PYTHONPATH']}",
            sys.executable,
            "-m",
            "carriertui",
            "portal",
            "--db",
            url,
        ]
    )
    public = (ssh_dir / "client_key.pub").read_text().strip()
    authorized = ssh_dir / "authorized_keys"
    authorized.write_text(f'restrict,pty,command="{command}" {public}\n')
    authorized.chmod(0o600)
    port = _free_port()
    config = ssh_dir / "sshd_config"
    config.write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {ssh_dir / "host_key"}
PidFile {ssh_dir / "sshd.pid"}
AuthorizedKeysFile {authorized}
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
AllowUsers {USER}
Match User {USER}
    ForceCommand {command}
    PermitTTY yes
    AllowTcpForwarding no
    AllowStreamLocalForwarding no
    AllowAgentForwarding no
    X11Forwarding no
    PermitTunnel no
    PermitUserRC no
"""
    )
    daemon = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(ssh_dir / "sshd.log").open("wb"),
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if daemon.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"sshd did not start: {(ssh_dir / 'sshd.log').read_text()}")
            time.sleep(0.05)
        # The database's path is on the portal's command line and on no one else's.
        marker = url.removeprefix("sqlite:///")
        yield Server(port, ssh_dir / "client_key", ssh_dir / "known_hosts", marker, url, contact_id)
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=5)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        for pid in _processes_mentioning(str(tmp_path)):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def test_ssh_without_a_terminal_is_refused_and_leaves_nothing(server: Server) -> None:
    started = time.monotonic()
    result = subprocess.run(
        server.ssh("-T"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == REFUSAL
    assert result.stdout == ""
    assert time.monotonic() - started < 10
    assert server.wait_nothing_left() == []
    assert not (Path(server.marker).parent / "portal-home" / "data").exists()


def test_ssh_with_a_terminal_reaches_the_portal_and_hangs_up_cleanly(
    server: Server, tmp_path: Path
) -> None:
    client = PtyApp(server.ssh("-tt"), app_env(tmp_path / "client-home"))
    try:
        client.wait_for_text("Customer portal login", "Email", timeout=30)
        client.type(CONTACT_EMAIL + "\r")
        client.idle_for(0.3)
        client.type(CONTACT_PASSWORD + "\r")
        client.wait_for_text("NWT-001", "Northwind Telecom Ltd", timeout=20)
        portal = _processes_mentioning(server.marker)
        assert portal, "no portal process while logged in"

        client.signal(signal.SIGKILL)  # the client vanishes: sshd hangs up the session
        assert client.wait_exit(5) is not None
        client.close_master()
        assert server.wait_nothing_left() == []
    finally:
        client.cleanup()
    login, logout = audit.list_entries(open_db(server.url), ADMIN)[1::-1]
    # The whitelist (127.0.0.1) let the login through: the address came from SSH_CONNECTION.
    assert (login.action, login.ip) == ("LOGIN", "127.0.0.1")
    assert login.primary_key == str(server.contact_id)
    assert (logout.action, logout.ip) == ("LOGOUT", "127.0.0.1")
    assert logout.message.startswith(f"Portal logout of Jane Doe <{CONTACT_EMAIL}> (")
