"""A real OpenSSH server on a loopback port, with a host key and a client key made for the test.

Use them in a test module as `sshd = hosts_sshd.sshd`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import free_port

SSHD = "/usr/sbin/sshd"


@dataclass
class Sshd:
    port: int
    dir: Path
    ssh_config: Path          # trusts the server's host key
    untrusted_config: Path    # same client key, empty known_hosts
    key: Path
    known_hosts: Path

    def spec(self, config: Path | None = None, **query: str) -> str:
        params = "&".join([f"ssh_config={config or self.ssh_config}", *(f"{k}={v}" for k, v in query.items())])
        return f"ssh://root@127.0.0.1:{self.port}?{params}"


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "opscheck-test", "-f", str(path)], check=True)


def _client_config(path: Path, key: Path, known_hosts: Path) -> None:
    path.write_text(
        f"Host *\n  IdentityFile {key}\n  IdentitiesOnly yes\n  UserKnownHostsFile {known_hosts}\n"
        "  GlobalKnownHostsFile /dev/null\n  LogLevel ERROR\n"
    )


@pytest.fixture(scope="module")
def sshd(tmp_path_factory) -> Sshd:
    if not Path(SSHD).exists() or shutil.which("ssh") is None:
        pytest.fail("openssh-server and openssh-client are needed (.ci/apt/hosts.txt)", pytrace=False)
    base = tmp_path_factory.mktemp("sshd")
    port = free_port()
    _keygen(base / "host_key")
    _keygen(base / "client_key")
    (base / "authorized_keys").write_text((base / "client_key.pub").read_text())
    (base / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {base}/host_key\nPidFile {base}/sshd.pid\n"
        f"AuthorizedKeysFile {base}/authorized_keys\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "UsePAM no\nPermitRootLogin prohibit-password\nStrictModes no\nMaxStartups 200\nMaxSessions 100\n"
        "LogLevel ERROR\n"
    )
    host_key = (base / "host_key.pub").read_text().split()
    (base / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    (base / "empty_known_hosts").write_text("")
    _client_config(base / "ssh_config", base / "client_key", base / "known_hosts")
    _client_config(base / "untrusted_config", base / "client_key", base / "empty_known_hosts")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(base / "sshd_config")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"sshd did not start: {proc.stdout.read().decode(errors='replace')}", pytrace=False)
            time.sleep(0.1)
    try:
        yield Sshd(port, base, base / "ssh_config", base / "untrusted_config", base / "client_key", base / "known_hosts")
    finally:
        from opscheck.connect import close_masters

        close_masters()  # multiplexed sessions of in-process runs would outlive the listener
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def blackhole():
    """A loopback port that completes TCP handshakes but never says a word (a hung host)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(100)
    yield sock.getsockname()[1]
    sock.close()
