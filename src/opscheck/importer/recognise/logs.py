"""Log patterns: grep -c / grep | wc -l on a file, tail -f | grep, docker logs, journalctl."""

from __future__ import annotations

import re

from opscheck.importer.recognise import Ctx, flag_value, levels, name, positionals
from opscheck.importer.shell import Pipe

# A pattern worth alerting on; counting "Client connected" or "trade|buy" is a report, not a check.
_PROBLEM = re.compile(r"error|exception|fail|critical|crit\b|fatal|panic|denied|refused|timeout|timed out|warn|slow|"
                      r"traceback|segfault|oom|killed|unauthori[sz]ed|forbidden|invalid user|\b5\d\d\b|emerg|alert", re.I)
_GREP_VALUE = ("-e", "-f", "-m", "-A", "-B", "-C", "--max-count")


def _grep_pattern(argv: list[str], variables: dict | None = None) -> tuple[str | None, list[str]]:
    args = positionals(argv, _GREP_VALUE)
    pattern = flag_value(argv, "-e") or (args[0] if args else None)
    files = args[1:] if not flag_value(argv, "-e") else args
    if pattern is None:
        return None, files
    pattern = pattern.replace("\\|", "|").replace("\\(", "(").replace("\\)", ")")
    if any(a.startswith("-") and not a.startswith("--") and "i" in a for a in argv[1:]):
        pattern = "(?i)" + pattern
    return pattern, files


def _window(pipe: Pipe, ctx: Ctx, argv: list[str]) -> str | None:
    since = flag_value(argv, "--since")
    if since:
        match = re.fullmatch(r"(\d+)\s*(m|h|d|s|min|minutes?|hours?|days?)", since.strip('"'))
        if match:
            return f"{match.group(1)}{match.group(2)[0]}"
    text = f"{pipe.comment} {ctx.source.text}".lower()
    if re.search(r"last hour|past hour|-mmin -60", text):
        return "1h"
    if re.search(r"last 24 ?h|today|last day", text):
        return "24h"
    return None


def _draft(ctx, pipe, pattern, target_key, target, window, extra_notes=()):
    limits = levels(pipe, ctx, None)
    entry: dict = dict(target_key)
    entry["pattern"] = pattern
    if window:
        entry["window"] = window
    entry.update(limits)
    notes = list(extra_notes)
    if not limits:
        notes.append("REVIEW: the runbook gives no count limit; the check reports the count — add warn:/crit:")
    return ctx.draft("logs", "logs", f"{target}:{pattern.removeprefix('(?i)').lower()}", entry, limits=limits, notes=notes)


def _path(path: str) -> tuple[str, list[str]]:
    if path.startswith("/"):
        return path, []
    return "/PLACEHOLDER/app/" + path.removeprefix("./"), [f"PLACEHOLDER: {path!r} is relative to the application directory; put its absolute path"]


def grep(pipe: Pipe, ctx: Ctx):
    from opscheck.importer.recognise.host import env_flags

    argv = pipe.main.argv
    pattern, files = _grep_pattern(argv)
    if not pattern or not files:
        return None
    if re.search(r"(^|/)\.env(\.\w+)?$", files[0]):
        return env_flags(pipe, ctx)
    if not _PROBLEM.search(pattern):
        return None
    if "Failed password" in pattern or "Invalid user" in pattern:
        path, notes = _path(files[0])
        limits = levels(pipe, ctx, None)
        return [ctx.draft("logs", "logs", f"{path}:ssh_failed", {"path": path, "preset": "ssh_failed"}, limits=limits, notes=notes)]
    path, notes = _path(files[0])
    return [_draft(ctx, pipe, pattern, _named(path, pattern), path, _window(pipe, ctx, argv), notes)]


def _named(path: str, pattern: str) -> dict:
    """The check id shows the log and what it counts: `app.log:ERROR`."""
    words = pattern.removeprefix("(?i)")
    return {"name": f"{path.rsplit('/', 1)[-1]} {words}"[:60].strip(), "path": path}


def _filter_pattern(pipe: Pipe) -> str | None:
    for argv in pipe.filters:
        if name(argv) in ("grep", "egrep") and not any(a in ("-v", "--invert-match") for a in argv):
            pattern, _ = _grep_pattern(argv)
            return pattern
    return None


def tail(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    files = positionals(argv, ("-n", "-c"))
    pattern = _filter_pattern(pipe)
    if not files or not pattern or not _PROBLEM.search(pattern):
        return None
    path, notes = _path(files[0])
    return [_draft(ctx, pipe, pattern, _named(path, pattern), path, _window(pipe, ctx, argv), notes)]


def container_logs(pipe: Pipe, ctx: Ctx, argv: list[str]):
    pattern = _filter_pattern(pipe)
    services = positionals(argv, ("--since", "--tail", "-n", "--until"))
    if not pattern or not services or not _PROBLEM.search(pattern):
        return None
    service = services[0]
    words = pattern.removeprefix("(?i)")
    # name: is the check id: the container and what it counts, distinct for two patterns on one container.
    return [_draft(ctx, pipe, pattern, {"name": f"{service} {words}"[:60].strip(), "container": service},
                   f"container:{service}", _window(pipe, ctx, argv) or "24h")]


def journalctl(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    unit = flag_value(argv, "-u", "--unit")
    priority = flag_value(argv, "-p", "--priority")
    pattern = _filter_pattern(pipe) or flag_value(argv, "-g", "--grep")
    if not unit or not (priority or (pattern and _PROBLEM.search(pattern))):
        return None
    journal = {"unit": unit.removesuffix(".service")}
    if priority:
        journal["priority"] = priority
    entry = {"name": f"{journal['unit']} journal", "journal": journal}
    if pattern:
        entry["pattern"] = pattern
    window = _window(pipe, ctx, argv) or "1h"
    entry["window"] = window
    limits = levels(pipe, ctx, None)
    entry.update(limits or {"crit": 0})  # limits are crossed when exceeded: crit 0 is any entry
    notes = [] if limits else ["REVIEW: no count limit in the runbook; crit: 0 makes any matching entry CRIT"]
    return [ctx.draft("logs", "logs", f"journal:{journal['unit']}", entry, limits=limits, notes=notes)]


COMMANDS = {"grep": grep, "egrep": grep, "tail": tail, "journalctl": journalctl}
