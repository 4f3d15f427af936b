"""What is on a host now: mounts, listeners, running units, certificates, engines, logs, backups.

Every fact comes through `opscheck.host.run`, so the same code reads the local machine
and a host over SSH (testinfra), each command under a timeout. A fact that cannot be
read is `None` with the reason, never an empty list: "no systemd" must not read as
"no units".
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

from opscheck.errors import TargetDown, Unmeasurable
from opscheck.host import run
from opscheck.measurement import HostRef

# Filesystems worth a disk check; pseudo, in-memory and network filesystems are left out
# (a hung NFS mount must not become a daily CRIT the user never asked for).
DISK_TYPES = re.compile(r"^(ext[234]|xfs|btrfs|zfs|f2fs|jfs|reiserfs|bcachefs|vfat|exfat)$")

# Services on their usual ports: section, port, process names.
SERVICES = {
    "postgres": (5432, ("postgres", "postmaster")),
    "redis": (6379, ("redis-server", "redis")),
    "rabbitmq": (5672, ("beam.smp", "rabbitmq-server")),
    "memcached": (11211, ("memcached",)),
}

# Logs of services found, by process or unit name: globs and what to count in them.
LOGS = {
    "postgres": ("/var/log/postgresql/*.log", r"FATAL|PANIC"),
    "redis-server": ("/var/log/redis/*.log", r"# (WARNING|Error)|MISCONF|OOM"),
    "beam.smp": ("/var/log/rabbitmq/rabbit*@*.log", r"\[error\]|\[critical\]"),
    "mariadbd": ("/var/log/mysql/error.log", r"\[ERROR\]"),
    "mysqld": ("/var/log/mysql/error.log", r"\[ERROR\]"),
    "nginx": ("/var/log/nginx/error.log", r"\[(crit|alert|emerg)\]"),
    "apache2": ("/var/log/apache2/error.log", r":(crit|alert|emerg)\]"),
    "mosquitto": ("/var/log/mosquitto/mosquitto.log", r"Error|error:"),
}

CERT_ROOTS = ("/etc/letsencrypt/live", "/etc/ssl")


@dataclass(frozen=True)
class Mount:
    mount: str
    fstype: str
    used_percent: float


@dataclass(frozen=True)
class Listener:
    address: str
    port: int
    process: str  # "" when ss could not name it (another user's process, not root)
    pid: int = 0
    age_s: float | None = None  # how long its process has run

    @property
    def loopback(self) -> bool:
        return self.address.startswith("127.") or self.address in ("::1", "[::1]")


@dataclass(frozen=True)
class BackupSet:
    path: str
    pattern: str
    count: int
    newest_age_s: float


@dataclass
class HostFacts:
    host: HostRef
    mounts: list[Mount] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)
    ephemeral: tuple[int, int] = (32768, 60999)
    units: list[str] | None = None
    certs: list[str] = field(default_factory=list)
    containers: list[dict] | None = None
    compose: list[dict] | None = None
    logs: list[tuple[str, str, str]] = field(default_factory=list)  # (service, path, regex)
    backups: list[BackupSet] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why a fact is missing, for the draft's comments


def gather(host: HostRef, backups: list[str] = (), timeout: float = 10.0, cert_roots: tuple[str, ...] = CERT_ROOTS) -> HostFacts:
    """Every fact of `host`; a host that cannot run commands raises TargetDown."""
    facts = HostFacts(host)
    for step in (_mounts, _listeners, _units, _certs, _docker):
        try:
            if step is _certs:
                step(facts, timeout, cert_roots)
            else:
                step(facts, timeout)
        except TargetDown:
            raise
        except Unmeasurable as exc:
            facts.notes.append(f"{step.__name__.strip('_')}: {exc}")
    _logs(facts, timeout)
    for path in backups:
        _backups(facts, path, timeout)
    return facts


def _sh(host: HostRef, command: str, timeout: float) -> str:
    result = run(host, command, timeout)
    if result.rc != 0:
        raise Unmeasurable(f"`{command.split()[0]}` exited {result.rc}: {(result.stderr or result.stdout).strip()[:200]}")
    return result.stdout


def _mounts(facts: HostFacts, timeout: float) -> None:
    # `|| true`: df exits 1 when one mount (a stale NFS) fails, but prints the others.
    out = run(facts.host, "df -PT 2>/dev/null || true", timeout).stdout
    seen = set()
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 7 or not parts[5].endswith("%"):
            continue
        fstype, mount = parts[1], " ".join(parts[6:])
        if not DISK_TYPES.match(fstype) or mount in seen or mount.startswith(("/snap/", "/boot/efi")):
            continue
        seen.add(mount)
        facts.mounts.append(Mount(mount, fstype, float(parts[5].rstrip("%"))))


_SS = re.compile(r"^\S+\s+\d+\s+\d+\s+(\S+):(\d+)\s+\S+\s*(.*)$")


def _listeners(facts: HostFacts, timeout: float) -> None:
    out = _sh(facts.host, "ss -Hltnp", timeout)
    found = {}
    for line in out.splitlines():
        match = _SS.match(line.strip())
        if not match:
            continue
        address, port, rest = match.group(1).strip("[]"), int(match.group(2)), match.group(3)
        process = re.search(r'users:\(\("([^"]+)",pid=(\d+)', rest)
        key = (address, port)
        found[key] = Listener(address, port, process.group(1) if process else "", int(process.group(2)) if process else 0)
    pids = sorted({s.pid for s in found.values() if s.pid})
    ages: dict[int, float] = {}
    if pids:
        out = run(facts.host, f"ps -o pid=,etimes= -p {','.join(map(str, pids))}", timeout).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                ages[int(parts[0])] = float(parts[1])
    found = {k: Listener(s.address, s.port, s.process, s.pid, ages.get(s.pid)) for k, s in found.items()}
    facts.listeners = sorted(found.values(), key=lambda s: (s.port, s.address))
    try:
        low, high = _sh(facts.host, "cat /proc/sys/net/ipv4/ip_local_port_range", timeout).split()
        facts.ephemeral = (int(low), int(high))
    except (Unmeasurable, ValueError):
        pass


def _units(facts: HostFacts, timeout: float) -> None:
    result = run(facts.host, "test -d /run/systemd/system && systemctl list-units --type=service --state=running --no-legend --plain --no-pager", timeout)
    if result.rc != 0:
        facts.notes.append("units: no systemd on this host (/run/systemd/system is absent): no unit checks drafted")
        return
    running = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    if not running:
        facts.units = []
        return
    # One unit per line, named: is-enabled prints nothing for some units, so positions cannot be trusted.
    script = "for u in " + " ".join(shlex.quote(u) for u in running) + '; do echo "$u $(systemctl is-enabled -- "$u" 2>/dev/null)"; done'
    states = dict(line.split(None, 1) for line in run(facts.host, script, timeout).stdout.splitlines() if " " in line.strip())
    facts.units = [unit.removesuffix(".service") for unit in running if states.get(unit, "").strip() == "enabled"]


def _certs(facts: HostFacts, timeout: float, cert_roots: tuple[str, ...] = CERT_ROOTS) -> None:
    roots = " ".join(shlex.quote(r) for r in cert_roots)
    # <root>/certs is a CA store (/etc/ssl/certs: hashed links, ca-certificates.crt); private/ holds keys.
    prune = " ".join(f"-path {shlex.quote(f'{r}/{d}')} -prune -o" for r in cert_roots for d in ("certs", "private"))
    command = (
        f"find {roots} {prune} "
        r"-type f \( -name '*.pem' -o -name '*.crt' \) -print 2>/dev/null | "
        "while read -r f; do n=$(grep -c 'BEGIN CERTIFICATE' \"$f\" 2>/dev/null); echo \"$n $f\"; done"
    )
    out = run(facts.host, command, timeout).stdout
    for line in out.splitlines():
        count, _, path = line.partition(" ")
        if not count.isdigit() or int(count) == 0:
            continue
        name = path.rsplit("/", 1)[-1]
        if "/letsencrypt/live/" in path:
            if name != "cert.pem":  # chain.pem and fullchain.pem repeat cert.pem and its issuer
                continue
        elif int(count) > 3 or re.search(r"(^|[-_.])(ca|bundle|chain|root)([-_.]|$)", name, re.I):
            continue  # a CA bundle, not a certificate this host presents
        facts.certs.append(path)
    facts.certs.sort()


def _docker(facts: HostFacts, timeout: float) -> None:
    if run(facts.host, "command -v docker >/dev/null && docker info --format '{{.ServerVersion}}' >/dev/null 2>&1", timeout).rc != 0:
        return  # no engine answers: nothing to draft, and nothing to say
    ps = run(facts.host, "docker ps --format '{{json .}}'", timeout).stdout
    facts.containers = [json.loads(line) for line in ps.splitlines() if line.strip().startswith("{")]
    ls = run(facts.host, "docker compose ls --format json 2>/dev/null", timeout)
    try:
        facts.compose = json.loads(ls.stdout) if ls.rc == 0 and ls.stdout.strip() else []
    except json.JSONDecodeError:
        facts.compose = []


def _logs(facts: HostFacts, timeout: float) -> None:
    services = {s.process for s in facts.listeners} | set(facts.units or ())
    wanted = [(name, *LOGS[name]) for name in sorted(services) if name in LOGS]
    for name, pattern, regex in wanted:
        # Readable by us (the checks run as the same user) and not empty rotation leftovers.
        out = run(facts.host, f"for f in {pattern}; do [ -f \"$f\" ] && [ -r \"$f\" ] && echo \"$f\"; done; true", timeout).stdout
        for path in out.split():
            if not path.endswith("_upgrade.log"):
                facts.logs.append((name, path, regex))


_DIGITS = re.compile(r"\d+")


def _backups(facts: HostFacts, path: str, timeout: float) -> None:
    out = run(facts.host, f"find {shlex.quote(path)} -maxdepth 1 -type f -printf '%T@ %f\\n' 2>&1; echo rc=$?", timeout).stdout
    lines = out.strip().splitlines()
    if not lines or lines[-1] != "rc=0":
        facts.notes.append(f"backups: {path}: cannot list ({' '.join(lines[:-1])[:200] or 'no such folder'})")
        return
    now = float(_sh(facts.host, "date +%s.%N", timeout).strip())
    files = []
    for line in lines[:-1]:
        stamp, _, name = line.partition(" ")
        files.append((float(stamp), name))
    if not files:
        facts.notes.append(f"backups: {path}: empty folder, nothing to learn a pattern from")
        return
    # The pattern is the newest file's name with its digits (dates, counters) as `*`.
    newest = max(files)
    pattern = _DIGITS.sub("*", newest[1])
    pattern = re.sub(r"\*(?:[-_.T:]*\*)+", "*", pattern)
    from fnmatch import fnmatch

    matching = [f for f in files if fnmatch(f[1], pattern)]
    facts.backups.append(BackupSet(path.rstrip("/") or "/", pattern, len(matching), max(0.0, now - newest[0])))
