"""Facts -> inventory entries, each with the comments a reviewer needs.

An entry is *active* when it passes `opscheck inventory check` as is and, run now on
the same host, measured OK (trial.py makes sure); otherwise it is written commented
out with the reason: it needs a secret first, or it was not OK when drafted. Service
DSNs are `env:` placeholders, never a secret and never a guess at one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opscheck.discover.facts import SERVICES, HostFacts
from opscheck.measurement import HostRef

STEADY_S = 600


@dataclass
class Block:
    section: str
    entry: dict[str, Any]
    comments: list[str] = field(default_factory=list)
    active: bool = True
    host: HostRef | None = None


@dataclass
class Draft:
    hosts: dict[str, list[HostRef]]
    blocks: list[Block] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # top-of-file comments

    def add(self, section: str, entry: dict, *comments: str, active: bool = True, host: HostRef | None = None) -> Block:
        block = Block(section, entry, [c for c in comments if c], active, host)
        self.blocks.append(block)
        return block

    def data(self) -> dict[str, Any]:
        """The active part as inventory data, for validation and the trial run."""
        out: dict[str, Any] = {"environment": "discovered", "hosts": {g: [h.spec for h in hs] for g, hs in self.hosts.items()}}
        for block in self.blocks:
            if block.active:
                out.setdefault(block.section, []).append(block.entry)
        return out


def env_name(section: str, host: HostRef, many_hosts: bool) -> str:
    base = {"postgres": "PG_DSN", "redis": "REDIS_URL", "rabbitmq": "AMQP_URL", "memcached": "MEMCACHED"}[section]
    if not many_hosts:
        return base
    return f"{base}_{''.join(c if c.isalnum() else '_' for c in host.name).upper()}"


def build(all_facts: list[HostFacts], hosts: dict[str, list[HostRef]]) -> Draft:
    draft = Draft(hosts)
    many = len(all_facts) > 1
    for facts in all_facts:
        h = facts.host
        on = h.name
        draft.notes += [f"{h.name}: {note}" for note in facts.notes]
        if facts.mounts:
            draft.add(
                "system",
                {
                    "on": on,
                    "disk": [{"mount": m.mount, "warn": "80%", "crit": "90%"} for m in facts.mounts],
                    "inodes": [{"mount": m.mount, "warn": "80%", "crit": "90%"} for m in facts.mounts],
                    "memory": {"warn": "85%", "crit": "95%"},
                    "swap": {"warn": "50%", "crit": "80%"},
                    "load_per_core": {"warn": 1.5, "crit": 3.0},
                },
                f"{h.name}: " + ", ".join(f"{m.mount} ({m.fstype}) {m.used_percent:g}% used" for m in facts.mounts) + " when drafted",
                host=h,
            )
        _services(draft, facts, on)
        for path in facts.certs:
            draft.add("tls", {"name": f"{h.name} {path}", "file": path, "on": on, "days": {"warn": 30, "crit": 7}}, host=h)
        for service, port_names in SERVICES.items():
            port, names = port_names
            found = [s for s in facts.listeners if s.port == port and (not s.process or s.process in names)]
            if found:
                _service_entry(draft, service, facts, found[0], env_name(service, h, many))
        _docker(draft, facts)
        for service, path, regex in facts.logs:
            draft.add(
                "logs",
                {"name": f"{h.name} {path.rsplit('/', 1)[-1]}", "on": on, "path": path, "pattern": regex, "window": "24h", "warn": 10, "crit": 100},
                f"{service}'s log: lines matching {regex} in the last 24h",
                host=h,
            )
        for backup in facts.backups:
            age_h = backup.newest_age_s / 3600
            max_age = f"{max(26, int(age_h * 1.5) + 2)}h"
            draft.add(
                "backups",
                {"name": f"{h.name} {backup.path}", "on": on, "path": backup.path, "pattern": backup.pattern, "max_age": max_age, "integrity": "auto"},
                f"{backup.count} files match {backup.pattern}; the newest is {age_h:.1f}h old. max_age is a guess: "
                "set it to your schedule (a daily job: 26h) and keep_days to your retention",
                host=h,
            )
    return draft


def _services(draft: Draft, facts: HostFacts, on: str) -> None:
    low, high = facts.ephemeral
    outside = [s for s in facts.listeners if not (low <= s.port <= high)]
    # Ports of services that must always listen: named processes outside the ephemeral range
    # that have run a while (a debug server or a test's private one started minutes ago is not one).
    steady = [s for s in outside if s.age_s is None or s.age_s >= STEADY_S]
    young = sorted({(s.port, s.process) for s in outside if s.process and s.age_s is not None and s.age_s < STEADY_S})
    named = sorted({s.port for s in steady if s.process})
    exposed = sorted({s.port for s in facts.listeners if not s.loopback})
    entry: dict[str, Any] = {"name": f"{facts.host.name} services", "on": on}
    comments = []
    if facts.units:
        entry["units"] = facts.units
    elif facts.units is None:
        comments.append("no systemd here: units are left out (a unit check would be UNKNOWN)")
    if named:
        entry["listening"] = named
        listed = ", ".join(sorted({f"{s.port} {s.process}" for s in steady if s.process and s.port in named}, key=lambda t: int(t.split()[0])))
        comments.append(f"listening now: {listed}")
    if young:
        comments.append(f"left out, started less than {STEADY_S // 60} minutes ago (add them if they must always run): {', '.join(f'{p} {n}' for p, n in young)}")
    unnamed = sorted({s.port for s in steady if not s.process})
    if unnamed:
        comments.append(f"also listening, process not visible to this user (run as root to name them): {', '.join(map(str, unnamed))}")
    ephemeral = sorted({s.port for s in facts.listeners if low <= s.port <= high})
    if ephemeral:
        comments.append(f"left out, in the ephemeral range {low}-{high} (short-lived): {', '.join(map(str, ephemeral))}")
    # The allow-list: what is reachable from outside now; loopback listeners come and go
    # (test servers, tunnels) and expose nothing, so they are ignored.
    entry["only"] = exposed
    entry["ignore_loopback"] = True
    comments.append("only: the ports reachable from other hosts now; any new one is CRIT")
    if len(entry) > 2:
        draft.add("services", entry, *comments, host=facts.host)


def _service_entry(draft: Draft, service: str, facts: HostFacts, listener, var: str) -> None:
    h = facts.host
    address = "127.0.0.1" if listener.loopback or listener.address in ("0.0.0.0", "*", "::") else listener.address
    where = f"{address}:{listener.port}"
    example = {
        "postgres": f"postgresql://monitor@{where}/postgres",
        "redis": f"redis://{where}/0",
        "rabbitmq": f"amqp://monitor@{where}/",
        "memcached": where,
    }[service]
    key = {"postgres": "dsn", "redis": "url", "rabbitmq": "url", "memcached": "address"}[service]
    entry = {"name": f"{h.name} {service}", key: f"env:{var}"}
    if service == "rabbitmq":
        entry["password"] = f"env:{var.replace('URL', 'PASSWORD')}"
    draft.add(
        service,
        entry,
        f"{service} listens on {listener.address}:{listener.port} ({listener.process or 'process not visible'})",
        f"needs a secret first: export {var}='{example}'"
        + (f" and {var.replace('URL', 'PASSWORD')}" if service == "rabbitmq" else "")
        + ", then uncomment (a read-only role is enough: see docs)",
        active=False,
        host=h,
    )


def _docker(draft: Draft, facts: HostFacts) -> None:
    if facts.containers is None:
        return
    names = ", ".join(sorted(c.get("Names", "?") for c in facts.containers)) or "none running"
    projects = ", ".join(f"{p.get('Name')} ({p.get('Status')}, {p.get('ConfigFiles')})" for p in facts.compose or []) or "none"
    draft.notes.append(
        f"{facts.host.name}: a Docker engine answers; containers: {names}; compose projects: {projects}. "
        "opscheck has no containers kind yet: check their published ports under services.listening"
    )


def entry_label(block: Block) -> str:
    return str(block.entry.get("name") or block.entry.get("file") or block.section)


__all__ = ["Block", "Draft", "build", "entry_label"]
