"""Backups: archives a script makes (tar -czf, pg_dump, redis-cli --rdb), their checks (gunzip -t,
tar -tzf) and retention (`find DIR -mtime +N -delete`). Age comes from the crontab that runs the script."""

from __future__ import annotations

import re

from opscheck.importer.recognise import Ctx, flag_value, name, positionals
from opscheck.importer.shell import Pipe

_GLOB = re.compile(r"[*?\[]")


def split_target(target: str) -> tuple[str, str, list[str]]:
    """`/opt/b/*/config.tar.gz` -> (`/opt/b`, `*`, notes): a directory and a file-name glob."""
    notes = []
    target = re.sub(r"\$\{?\w+\}?", "*", target)
    if not target.startswith("/"):
        notes.append("PLACEHOLDER: the runbook writes the backup relative to where the script runs; put that directory here")
        target = "/PLACEHOLDER/backups/" + target.removeprefix("./")
    parts = target.split("/")
    for i, part in enumerate(parts[1:], 1):
        if _GLOB.search(part):
            if i < len(parts) - 1:
                notes.append(f"REVIEW: each run writes into its own directory ({'/'.join(parts[i:])}); the set is those directories")
            return "/".join(parts[:i]) or "/", re.sub(r"\*+", "*", part), notes
    return "/".join(parts[:-1]) or "/", parts[-1], notes


def _integrity(pattern: str) -> list[str]:
    if pattern.endswith((".tar.gz", ".tgz")):
        return ["gzip", "tar"]
    if pattern.endswith(".gz"):
        return ["gzip"]
    if pattern.endswith(".tar"):
        return ["tar"]
    if pattern.endswith(".rdb"):
        return ["rdb"]
    if pattern.endswith((".dump",)):
        return ["pg_custom"]
    return []


_DOUBLE = {"1d": "2d", "7d": "14d", "31d": "62d", "92d": "184d"}


def _entry(ctx: Ctx, target: str, members: list[str] | None = None, kind: str = "backups", integrity=None):
    if re.search(r"\$\{?[0-9@*]", target):
        return None  # written where the script's caller says ($1): not a set the runbook schedules
    path, pattern, notes = split_target(target)
    per_run_dir = any(n.startswith("REVIEW: each run") for n in notes)
    entry: dict = {"path": path, "pattern": pattern}
    limits: dict = {}
    period = ctx.extra.get("period")
    if period:
        entry["max_age"] = {"warn": period, "crit": _DOUBLE.get(period, period)}
        limits["max_age"] = period
    else:
        notes.append("REVIEW: no crontab or schedule in the runbook says how often this runs; set max_age")
    checks = [] if per_run_dir else (integrity or _integrity(pattern))
    if checks:
        entry["integrity"] = checks
    if members and not per_run_dir:
        entry["required_members"] = members
    return ctx.draft("backups", kind, f"{path}/{pattern}", entry, limits=limits, notes=notes)


def tar(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    if len(argv) < 2:
        return None
    mode = argv[1].lstrip("-")
    args = positionals(argv)
    bare = not argv[1].startswith("-")   # tar czf FILE ...: the mode is the first word
    archive = flag_value(argv, "-f", "--file")
    if archive is None and "f" in mode:
        archive = args[1] if bare and len(args) > 1 else args[0] if not bare and args else None
    if mode.startswith("c") or "c" in mode and "x" not in mode and "t" not in mode:
        if not archive:
            return None
        values = ("-f", "--file", "-C", "--exclude", "-X")
        members = [m for m in positionals(argv, values) if m not in (archive, argv[1])
                   and not m.startswith("/") and not _GLOB.search(m)]
        draft = _entry(ctx, archive, [m.rstrip("/") + ("/" if m.endswith("/") else "") for m in members] or None)
        return [draft] if draft else None
    if "x" in mode and archive:
        return _extract_drill(pipe, ctx, argv, archive)
    if "t" in mode and archive:
        draft = _entry(ctx, archive, kind="backups.integrity")
        if draft is None:
            return None
        draft.entry["integrity"] = ["tar"] + (["gzip"] if "z" in mode else [])
        draft.limits["integrity"] = "tar"
        return [draft]
    return None


def _extract_drill(pipe: Pipe, ctx: Ctx, argv: list[str], archive: str):
    """`tar -xzf ARCHIVE -C DIR` then `[ -f DIR/.env ]`: the restore test, as an extraction drill."""
    target = flag_value(argv, "-C", "--directory")
    if not target:
        return None
    required = [t[len(target):].lstrip("/") for t in ctx.extra.get("file_tests", []) if t.startswith(target.rstrip("/") + "/")]
    if not required:
        return None
    draft = _entry(ctx, archive, kind="backups.extract")
    if draft is None:
        return None
    draft.entry = {k: v for k, v in draft.entry.items() if k in ("path", "pattern")}  # the drill's schedule is not the backups' age
    draft.entry["extract"] = {"required": required}
    draft.limits = {"required": required}
    draft.target = archive
    draft.notes = [n for n in draft.notes if not n.startswith("REVIEW: no crontab")]
    if not _GLOB.search(archive):
        draft.notes.append("REVIEW: the runbook extracts one fixed file; widen pattern: to the backups it stands for")
    return [draft]


def listing(pipe: Pipe, ctx: Ctx, paths: list[str]):
    """`ls -lt /var/backups/db/` ("check the last backup"): the set's age and count."""
    drafts = []
    for path in paths:
        target = path.rstrip("/") + "/*" if path.endswith("/") or not _GLOB.search(path.rsplit("/", 1)[-1]) else path
        draft = _entry(ctx, target)
        if draft:
            drafts.append(draft)
    return drafts or None


def gunzip(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    if "-t" not in argv and not (name(argv) == "gzip" and "-t" in argv):
        return None
    files = positionals(argv)
    if not files:
        return None
    draft = _entry(ctx, files[0], kind="backups.integrity")
    if draft is None:
        return None
    draft.entry["integrity"] = ["gzip"]
    draft.limits["integrity"] = "gzip"
    return [draft]


def retention(pipe: Pipe, ctx: Ctx):
    """`find DIR -name P -mtime +N -delete` keeps N days: nothing older may remain."""
    argv = pipe.main.argv
    mtime = flag_value(argv, "-mtime", "-ctime")
    removes = "-delete" in argv or ("-exec" in argv and any(a in ("rm", "/bin/rm") for a in argv))
    if not removes or not mtime or not mtime.startswith("+") or not mtime[1:].isdigit():
        return None
    roots = positionals(argv)
    root = roots[0] if roots else "."
    pattern = flag_value(argv, "-name", "-iname") or "*"
    days = int(mtime[1:])
    draft = _entry(ctx, f"{root.rstrip('/')}/{pattern}")
    if draft is None:
        return None
    draft.kind = "backups.retention"
    draft.entry = {k: v for k, v in draft.entry.items() if k in ("path", "pattern")}
    draft.entry["keep_days"] = days
    draft.limits = {"keep_days": days}
    draft.notes = [n for n in draft.notes if not n.startswith("REVIEW: no crontab")]
    draft.target = draft.entry["path"]
    return [draft]


def pg_dump(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    target = flag_value(argv, "-f", "--file") or next((t for op, t in pipe.main.redirects if op == ">"), None)
    for stage in pipe.stages[1:]:
        target = target or next((t for op, t in stage.redirects if op == ">"), None)
    if not target:
        return None
    fmt = flag_value(argv, "-F", "--format") or ""
    draft = _entry(ctx, target, integrity=["pg_custom"] if fmt.startswith("c") else None)
    return [draft] if draft else None


def redis_rdb(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    target = flag_value(argv, "--rdb")
    if not target:
        return None
    draft = _entry(ctx, target, integrity=["rdb"])
    return [draft] if draft else None


COMMANDS = {"tar": tar, "gunzip": gunzip, "gzip": gunzip, "pg_dump": pg_dump, "pg_dumpall": pg_dump}
# Checked before the state filter: these write, but what they write is what a backups check watches.
PRODUCERS = {"tar": tar, "pg_dump": pg_dump, "pg_dumpall": pg_dump, "find": retention, "redis-cli": redis_rdb}
