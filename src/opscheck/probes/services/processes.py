"""Process and socket tables of a host: `ps -eo …` and `ss -Htlnp`, parsed into plain records.

Patterns are matched here, not by `pgrep -f` on the host: a pattern passed on a
command line would match the very shell that runs it.
"""

from __future__ import annotations

import ipaddress
import re

from opscheck.errors import Unmeasurable
from opscheck.host import run
from opscheck.measurement import Target
from opscheck.redact import redact
from opscheck.units import format_duration, format_size

_PS_FIELDS = "pid=,user:32=,etimes=,rss=,args="
PS = f"LC_ALL=C ps -ww -eo {_PS_FIELDS}"  # -ww: never cut the command line
SS = "LC_ALL=C ss -Htlnp"
_SS_PROC = re.compile(r'\("([^"]*)",pid=(\d+)')


def processes(target: Target) -> list[dict]:
    result = run(target.host, PS, target.timeout)
    if result.rc != 0:
        raise Unmeasurable(f"ps failed: {result.stderr.strip() or f'exit {result.rc}'}")
    return parse_ps(result.stdout)


def parse_ps(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        fields = line.split(None, 4)
        if len(fields) < 5 or not fields[0].isdigit() or _PS_FIELDS in fields[4]:
            continue  # our own ps and the shells around it
        pid, user, etimes, rss, args = fields
        out.append({"pid": int(pid), "user": user, "etimes": int(etimes) if etimes.isdigit() else 0,
                    "rss_kib": int(rss) if rss.isdigit() else 0, "args": args})
    return out


def matching(procs: list[dict], pattern: str, user: str | None = None) -> list[dict]:
    regex = re.compile(pattern)
    return [p for p in procs if regex.search(p["args"]) and (user is None or p["user"] == user)]


def describe_process(proc: dict) -> dict:
    """The evidence row of a process: pid, user, uptime, RSS, command line (redacted, cut)."""
    return {
        "pid": proc["pid"],
        "user": proc["user"],
        "uptime": format_duration(proc["etimes"]) if proc["etimes"] else "0s",
        "rss": format_size(proc["rss_kib"] * 1024),
        "command": redact(proc["args"])[:300],
    }


def listeners(target: Target) -> list[dict]:
    result = run(target.host, f"command -v ss >/dev/null || {{ echo 'ss (iproute2) not found' >&2; exit 127; }}; {SS}", target.timeout)
    if result.rc != 0:
        raise Unmeasurable(f"cannot list listening sockets: {result.stderr.strip() or f'exit {result.rc}'}")
    return parse_ss(result.stdout)


def parse_ss(text: str) -> list[dict]:
    """`ss -Htlnp` lines -> {port, address, loopback, process}; process is None when not visible."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[0] != "LISTEN":
            continue
        address, _, port = fields[3].rpartition(":")
        if not port.isdigit():
            continue
        names = _SS_PROC.findall(" ".join(fields[5:]))
        process = ", ".join(f"{name} pid {pid}" for name, pid in dict.fromkeys(names)) or None
        out.append({"port": int(port), "address": address, "loopback": is_loopback(address), "process": process})
    return sorted(out, key=lambda s: (s["port"], s["address"]))


def is_loopback(address: str) -> bool:
    host = address.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def describe_listener(sock: dict) -> str:
    return f"tcp/{sock['port']} on {sock['address']}" + (f" ({sock['process']})" if sock["process"] else "")
