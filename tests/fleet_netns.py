"""A fleet of test hosts: each its own network namespace, address and sshd, reachable only over veth.

Used by tests/test_fleet.py and benchmarks/fleet.py (no pytest here). Layout, all in
namespaces this module creates and deletes (nothing touches the machine's own network):

    <tag>-sw     a bridge; every other namespace has one veth end on it
    <tag>-h<N>   one host: 10.213.<N//250>.<N%250+1>/16 on its eth0, its own sshd on port 22
    <tag>-r<K>   a runner: 10.213.250.<K+1>/16; the suite runs inside it (`ip netns exec`)

Host keys are generated per host and written to one known_hosts; the client key and
ssh_config are shared. `Fleet.close()` kills the sshds, deletes the namespaces and the
keys, even after a failure half-way through building.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "opscheck-fleet", "-f", str(path)], check=True)


@dataclass
class Host:
    name: str
    netns: str
    address: str
    proc: subprocess.Popen | None = None


@dataclass
class Fleet:
    tag: str
    dir: Path
    hosts: list[Host] = field(default_factory=list)
    runners: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)

    @property
    def ssh_config(self) -> Path:
        return self.dir / "ssh_config"

    def spec(self, host: Host, config: Path | None = None) -> str:
        return f"ssh://root@{host.address}?ssh_config={config or self.ssh_config}"

    def in_runner(self, argv: list[str], runner: int = 0) -> list[str]:
        """`argv` run inside runner namespace `runner`: it reaches the hosts, and nothing else."""
        return ["ip", "netns", "exec", self.runners[runner], *argv]

    def stop_host(self, host: Host) -> None:
        """Kill a host's sshd (the host is then down: its address refuses connections)."""
        if host.proc is not None and host.proc.poll() is None:
            host.proc.kill()
            host.proc.wait()

    def close(self) -> None:
        for host in self.hosts:
            self.stop_host(host)
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def address(index: int) -> str:
    return f"10.213.{index // 250}.{index % 250 + 1}"


def build(count: int, runners: int = 1, tag: str | None = None) -> Fleet:
    """`count` hosts and `runners` runner namespaces; on any failure everything built is removed."""
    if os.geteuid() != 0 or shutil.which("ip") is None or not Path(SSHD).exists():
        raise RuntimeError("a fleet needs root, iproute2 and openssh-server (.ci/apt/fleet.txt)")
    if count > 250 * 250:
        raise ValueError("at most 62,500 hosts in 10.213.0.0/16")
    tag = tag or f"ocf{os.getpid()}"
    fleet = Fleet(tag, Path(tempfile.mkdtemp(prefix=f"opscheck-{tag}-")))
    try:
        _build(fleet, count, runners)
    except BaseException:
        fleet.close()
        raise
    return fleet


def _netns(fleet: Fleet, name: str) -> str:
    _ip("netns", "add", name)
    fleet.namespaces.append(name)
    _ip("-n", name, "link", "set", "lo", "up")
    return name


def _attach(fleet: Fleet, name: str, port: str, addr: str) -> None:
    switch = fleet.namespaces[0]
    _ip("-n", switch, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", name)
    _ip("-n", switch, "link", "set", port, "master", "br0", "up")
    _ip("-n", name, "addr", "add", f"{addr}/16", "dev", "eth0")
    _ip("-n", name, "link", "set", "eth0", "up")


def _build(fleet: Fleet, count: int, runners: int) -> None:
    base = fleet.dir
    switch = _netns(fleet, f"{fleet.tag}-sw")
    _ip("-n", switch, "link", "add", "br0", "type", "bridge")
    _ip("-n", switch, "link", "set", "br0", "up")
    _keygen(base / "client_key")
    (base / "authorized_keys").write_text((base / "client_key.pub").read_text())
    (base / "ssh_config").write_text(
        f"Host *\n  IdentityFile {base}/client_key\n  IdentitiesOnly yes\n  UserKnownHostsFile {base}/known_hosts\n"
        "  GlobalKnownHostsFile /dev/null\n  LogLevel ERROR\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    for k in range(runners):
        name = _netns(fleet, f"{fleet.tag}-r{k}")
        _attach(fleet, name, f"r{k}", f"10.213.250.{k + 1}")
        fleet.runners.append(name)
    known = []
    for i in range(count):
        host = Host(f"host-{i + 1:03d}", _netns(fleet, f"{fleet.tag}-h{i}"), address(i))
        _attach(fleet, host.netns, f"h{i}", host.address)
        folder = base / host.name
        folder.mkdir()
        _keygen(folder / "host_key")
        (folder / "sshd_config").write_text(
            f"Port 22\nListenAddress {host.address}\nHostKey {folder}/host_key\nPidFile {folder}/sshd.pid\n"
            f"AuthorizedKeysFile {base}/authorized_keys\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "UsePAM no\nPermitRootLogin prohibit-password\nStrictModes no\nMaxStartups 100\nMaxSessions 100\n"
            "LogLevel ERROR\n"
        )
        key = (folder / "host_key.pub").read_text().split()
        known.append(f"{host.address} {key[0]} {key[1]}\n")
        host.proc = subprocess.Popen(
            ["ip", "netns", "exec", host.netns, SSHD, "-D", "-e", "-f", str(folder / "sshd_config")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        fleet.hosts.append(host)
    (base / "known_hosts").write_text("".join(known))
    _wait_listening(fleet)


def _wait_listening(fleet: Fleet, wait: float = 30.0) -> None:
    """Every sshd answers on its address, as seen from the first runner namespace."""
    probe = (
        "import socket,sys,time\n"
        "left=set(sys.argv[1:]);end=time.monotonic()+" + str(wait) + "\n"
        "while left and time.monotonic()<end:\n"
        "    for a in list(left):\n"
        "        try: socket.create_connection((a,22),timeout=1).close(); left.discard(a)\n"
        "        except OSError: pass\n"
        "    time.sleep(0.05)\n"
        "sys.exit(' '.join(sorted(left)) if left else 0)\n"
    )
    for host in fleet.hosts:
        if host.proc.poll() is not None:
            raise RuntimeError(f"sshd of {host.name} exited with {host.proc.returncode}")
    done = subprocess.run(fleet.in_runner(["python3", "-c", probe, *(h.address for h in fleet.hosts)]),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"sshd not answering on: {done.stderr.strip()}")


def daily_files(folder: Path) -> dict[str, Path]:
    """What the daily suite looks at on every host (the hosts share this machine's files)."""
    import datetime
    import gzip

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    env = folder / "app.env"
    env.write_text("APP_MODE=fleet\n")
    env.chmod(0o600)
    now = time.time()
    stamp = datetime.datetime.now(datetime.timezone.utc)
    log = folder / "app.log"
    log.write_text("".join(f"{(stamp - datetime.timedelta(minutes=m)).strftime('%Y-%m-%dT%H:%M:%S')} "
                           f"{'ERROR' if m % 20 == 0 else 'INFO'} request {m}\n" for m in range(120, -1, -1)))
    backups = folder / "backups"
    backups.mkdir(exist_ok=True)
    for n in range(3):
        dump = backups / f"db_{n}.sql.gz"
        dump.write_bytes(gzip.compress(b"CREATE TABLE t (id int);\n" * 50))
        os.utime(dump, (now - 3600 * (2 - n), now - 3600 * (2 - n)))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fleet.test")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(stamp - datetime.timedelta(days=1))
            .not_valid_after(stamp + datetime.timedelta(days=90)).sign(key, hashes.SHA256()))
    pem = folder / "cert.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return {"env": env, "log": log, "backups": backups, "cert": pem}


def daily_inventory(fleet: Fleet, hosts: list[Host], files: dict[str, Path], path: Path, timeout: str = "30s") -> Path:
    """The daily suite on `hosts`: 9 checks each (system, services, files, logs, backups, TLS file)."""
    entries = ", ".join(f'{{name: {h.name}, spec: "{fleet.spec(h)}"}}' for h in hosts)
    path.write_text(f"""environment: fleet
defaults: {{timeout: {timeout}}}
hosts:
  fleet: [{entries}]
system:
  - disk: {{mount: /, warn: 99%, crit: 100%}}
    memory: {{warn: 99%, crit: 100%}}
    load_per_core: {{warn: 1000, crit: 2000}}
services:
  - processes: [{{pattern: "sshd", min: 1}}]
    listening: [22]
files:
  - {{path: {files['env']}, max_mode: "0600"}}
logs:
  - {{name: app, path: {files['log']}, window: 24h, pattern: ERROR, warn: 10, crit: 50}}
backups:
  - {{name: db dumps, path: {files['backups']}, pattern: "db_*.sql.gz", max_age: 4h, keep_days: 7}}
tls:
  - {{name: site cert, file: {files['cert']}}}
""")
    return path
