"""Per-host facts: df, free, top, netstat/ss, ps/pgrep, ls/stat/find -perm, env flags, updates,
systemctl, a tool's read-only `status` subcommand, npm audit / pip-audit, dig."""

from __future__ import annotations

import ipaddress
import re

from opscheck.importer.recognise import Ctx, flag_value, levels, name, positionals
from opscheck.importer.shell import Pipe

_PORTS = re.compile(r":\(?((?:\d{2,5}\|?)+)\)?|:(\d{2,5})\b")
_FLAG = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")


def df(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    inodes = "-i" in argv or any(a.startswith("-") and "i" in a and not a.startswith("--") for a in argv[1:])
    mounts = [a for a in positionals(argv, ("-t", "-x", "--output")) if a.startswith("/")] or ["/"]
    kind = "system.inodes" if inodes else "system.disk"
    limits = levels(pipe, ctx, "disk", "%")
    drafts = []
    for mount in mounts:
        entry = {"mount": mount, **limits}
        notes = [] if limits else ["REVIEW: no limit in the runbook; opscheck's defaults (warn 80%, crit 90%) apply"]
        drafts.append(ctx.draft("system", kind, mount, {kind.split(".")[1]: [entry]}, limits=limits, notes=notes))
    return drafts


def free(pipe: Pipe, ctx: Ctx):
    limits = levels(pipe, ctx, "memory", "%")
    notes = [] if limits else ["REVIEW: no limit in the runbook; opscheck's defaults (warn 85%, crit 95%) apply"]
    return [ctx.draft("system", "system.memory", "memory", {"memory": limits}, limits=limits, notes=notes)]


def cpu(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    text = " ".join(" ".join(a) for a in [argv, *pipe.filters])
    batch = name(argv) != "top" or "-b" in argv or "-bn1" in argv
    if not batch or (name(argv) == "top" and not re.search(r"cpu|head", text, re.I)):
        return None
    limits = levels(pipe, ctx, "cpu", "%")
    notes = [] if limits else ["REVIEW: no CPU limit in the runbook; choose warn/crit"]
    return [ctx.draft("system", "system.cpu", "cpu", {"cpu": limits or {"warn": "80%", "crit": "95%"}}, limits=limits, notes=notes)]


def uptime(pipe: Pipe, ctx: Ctx):
    limits = levels(pipe, ctx, "load")
    return [ctx.draft("system", "system.load", "load", {"load_per_core": limits}, limits=limits)]


def listening(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    flags = "".join(a.lstrip("-") for a in argv[1:] if a.startswith("-"))
    grep = " ".join(" ".join(f) for f in pipe.filters)
    ports = set()
    for match in _PORTS.finditer(grep):
        ports.update(int(p) for p in (match.group(1) or match.group(2)).split("|") if p)
    listen = "l" in flags or "LISTEN" in grep
    if not ports and not listen:
        return None   # ESTABLISHED counts, routing tables: no check kind
    if not ports:
        ctx.extra.setdefault("listen_only", []).append(ctx.source)
        return [ctx.draft("services", "services.listening", "*", {"listening": []},
                          notes=["REVIEW: the runbook lists listening ports without naming any; add the ports that must listen"])]
    return [ctx.draft("services", "services.listening", str(port), {"listening": [port]}) for port in sorted(ports)]


def processes(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    if name(argv) == "pgrep":
        pattern = positionals(argv, ("-u", "-U", "-g"))
        pattern = pattern[0] if pattern else None
    else:
        greps = [f for f in pipe.filters if name(f) == "grep" and "-v" not in f]
        pattern = positionals(greps[0], ("-e",))[0] if greps and positionals(greps[0], ("-e",)) else None
        if "-p" in argv:
            pid = flag_value(argv, "-p") or ""
            inner = re.search(r"pgrep\s+(?:-\w+\s+)*[\"']?([^\"')]+)", pid)
            pattern = inner.group(1) if inner else pattern
    if not pattern:
        return None
    pattern = pattern.replace("\\|", "|")
    unwanted = re.search(r"suspicious|unexpected|must not|should not|forbidden|malicious", ctx.source.text + " " + pipe.comment, re.I)
    spec = {"pattern": pattern, "min": 0, "max": 0} if unwanted else {"pattern": pattern}
    return [ctx.draft("services", "services.processes", pattern, {"processes": [spec]},
                      limits={"max": 0} if unwanted else {})]


def modes(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    paths = positionals(argv)
    if name(argv) == "find":
        perm = flag_value(argv, "-perm")
        root = paths[0] if paths else "."
        if not perm or not re.fullmatch(r"[-/]?0?[0-7]*[2367]", perm):
            return None
        return [_file_draft(ctx, root, {"no_world_writable": True}, "files.world_writable")]
    if name(argv) == "ls" and not any("l" in a for a in argv[1:] if a.startswith("-")):
        return None
    if name(argv) == "ls" and paths and all("backup" in p.lower() for p in paths):
        from opscheck.importer.recognise.backups import listing

        return listing(pipe, ctx, paths)
    drafts = []
    for path in paths:
        base = path.rstrip("/").rsplit("/", 1)[-1]
        if path.endswith("/") or "private" in path:
            facts = {"not_world_readable": True}
        elif re.search(r"(^|\.)env$|secret|credential|\.key$|\.pem$|id_rsa|passwd|shadow|\.pgpass", base):
            facts = {"max_mode": "0600"}
        else:
            facts = {"exists": True}
        drafts.append(_file_draft(ctx, path, facts, "files"))
    return drafts or None


def _file_draft(ctx: Ctx, path: str, facts: dict, kind: str):
    notes = []
    if not path.startswith("/"):
        notes.append(f"PLACEHOLDER: the runbook names {path!r} relative to the application directory; put its absolute path")
        path = "/PLACEHOLDER/app/" + path.removeprefix("./")
    path = path.rstrip("/") or "/"
    limits = {k: v for k, v in facts.items() if k != "exists"}
    return ctx.draft("files", kind, path, {"path": path, **facts}, limits=limits, notes=notes)


def env_flags(pipe: Pipe, ctx: Ctx):
    """`env | grep FLAG`, `printenv FLAG`, `grep FLAG .env`."""
    argv = pipe.main.argv
    if name(argv) in ("env", "printenv"):
        names = positionals(argv)
        for f in pipe.filters:
            if name(f) == "grep":
                names += positionals(f, ("-e",))
        source = {"process": "PLACEHOLDER-process-pattern"}
        notes = ["PLACEHOLDER: the runbook reads its own shell's environment; name the service's process (a regex)"]
    else:  # grep FLAG FILE
        args = positionals(argv, ("-e",))
        if len(args) < 2 or not re.search(r"(^|/)\.env(\.\w+)?$|\.env$|environment$", args[1]):
            return None
        names, path = [args[0]], args[1]
        notes = []
        if not path.startswith("/"):
            notes.append(f"PLACEHOLDER: {path!r} is relative to the application directory; put its absolute path")
            path = "/PLACEHOLDER/app/" + path.removeprefix("./")
        source = {"file": path}
    names = [n.strip("^=") for n in names]
    names = [n for n in names if _FLAG.match(n)]
    if not names:
        return None
    return [ctx.draft("env_flags", "env_flags", n, {**source, "present": [n]}, notes=notes +
                      ["REVIEW: present: only says it is set; use expect: {NAME: value} for the value it must have"])
            for n in names]


def grep_file(pipe: Pipe, ctx: Ctx):
    return env_flags(pipe, ctx)


def apt_list(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    if name(argv) in ("apt", "apt-get") and "--upgradable" in argv or (name(argv) == "apt-get" and "-s" in argv):
        return [ctx.draft("hygiene", "hygiene.updates", "updates", {"updates": {}, "security_updates": {}})]
    return None


def systemctl(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    words = positionals(argv)
    if not words or words[0] not in ("status", "is-active", "is-failed"):
        return None
    units = [w for w in words[1:] if re.fullmatch(r"[A-Za-z0-9:_.@\\-]+", w)]
    if not units:
        return None
    return [ctx.draft("services", "services.units", u, {"units": [u]}) for u in units]


def ping(pipe: Pipe, ctx: Ctx):
    """`ping -c 4 api.example.com`: a dependency that must resolve (ICMP itself is not checked)."""
    hosts = positionals(pipe.main.argv, ("-c", "-i", "-w", "-W", "-s", "-I", "-t"))
    if not hosts or not re.search(r"[A-Za-z]", hosts[0]) or "." not in hosts[0] or "$" in hosts[0]:
        return None
    return [ctx.draft("dns", "dns", hosts[0], {"query": hosts[0], "type": "A"},
                      notes=["REVIEW: the runbook pings it; opscheck checks that the name resolves (add tcp: host:port to reach it)"])]


def service(pipe: Pipe, ctx: Ctx):
    words = positionals(pipe.main.argv)
    if len(words) == 2 and words[1] == "status":
        return [ctx.draft("services", "services.units", words[0], {"units": [words[0]]})]
    return None


_READ_VERBS = {"status", "env-status", "health", "healthcheck", "check", "version", "--version", "info", "ping", "ls", "list"}


def tool_status(pipe: Pipe, ctx: Ctx):
    """`./run.sh status`, `ufw status`, `pm2 status`: a command whose exit code is the check."""
    argv = pipe.main.argv
    if len(argv) < 2 or argv[1] not in _READ_VERBS:
        return None
    command = argv[:2]
    entry = {"command": command, "read_only": True, "timeout": "30s"}
    notes = ["REVIEW: read_only: true is the importer's reading of the verb; confirm the command changes nothing"]
    if argv[0].startswith("./") or (pipe.cwd and not argv[0].startswith("/")):
        entry["cwd"] = pipe.cwd if pipe.cwd and pipe.cwd.startswith("/") else "/PLACEHOLDER/app"
        if entry["cwd"].startswith("/PLACEHOLDER"):
            notes.append("PLACEHOLDER: the directory the runbook runs this from")
    if name(argv) == "ufw":
        entry["expect"] = {"stdout": "Status: active"}
    if re.search(r"\bsudo\b", ctx.source.text):
        notes.append("REVIEW: the runbook runs it with sudo; opscheck runs it as its own user (without sudo), which must be allowed to")
    return [ctx.draft("commands", "commands", " ".join(command), entry, notes=notes)]


def audit(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    tool = "npm" if name(argv) == "npm" else "pip" if name(argv) == "pip-audit" else None
    if tool == "npm" and (len(argv) < 2 or argv[1] != "audit"):
        return None
    if tool is None:
        return None
    path = pipe.cwd or "."
    notes = []
    if not path.startswith("/"):
        notes.append(f"PLACEHOLDER: the project directory ({path!r} in the runbook) as an absolute path")
        path = "/PLACEHOLDER/app" + ("" if path == "." else "/" + path.strip("./"))
    entry = {"tool": tool, "path": path}
    # Limits are crossed when exceeded: `crit: 0` is "any finding", as the tool's exit code says.
    level = (flag_value(argv, "--audit-level") or "").lower()
    severities = ("info", "low", "moderate", "high", "critical")
    if tool == "pip" or level not in severities:  # pip-audit rates nothing; plain npm audit fails on any finding
        limits = {"total": 0}
    else:  # npm audit --audit-level=L fails on any finding of L or above
        limits = {s: 0 for s in severities[severities.index(level):]}
    entry.update({s: {"crit": 0} for s in limits})
    return [ctx.draft("audits", "audits", path, entry, limits=limits, notes=notes)]


def dig(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    args = [a for a in positionals(argv, ("-t", "-p", "-q")) if not a.startswith("+")]
    server = next((a[1:] for a in args if a.startswith("@")), None)
    names = [a for a in args if not a.startswith("@") and "." in a]
    types = [a.upper() for a in args if a.upper() in ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "SRV", "PTR")]
    if not names or (types and types[0] not in ("A", "AAAA", "CNAME", "MX")):
        return None  # the dns kind answers A, AAAA, CNAME and MX only
    entry = {"query": names[0], "type": types[0] if types else "A"}
    notes = []
    if server:
        try:  # dns: server: is an address (the runner asks it directly), not a name to resolve first
            ipaddress.ip_address(server.strip("[]"))
            entry["server"] = server
        except ValueError:
            notes.append(f"REVIEW: the runbook asks the resolver @{server}; dns: server: takes its IP address")
    return [ctx.draft("dns", "dns", names[0], entry, notes=notes)]


COMMANDS = {
    "df": df, "free": free, "top": cpu, "mpstat": cpu, "vmstat": cpu, "uptime": uptime,
    "netstat": listening, "ss": listening, "ps": processes, "pgrep": processes,
    "ls": modes, "find": modes, "stat": modes, "env": env_flags, "printenv": env_flags,
    "apt": apt_list, "apt-get": apt_list, "systemctl": systemctl, "npm": audit, "pip-audit": audit,
    "dig": dig, "nslookup": dig, "host": dig, "service": service, "ping": ping,
}
