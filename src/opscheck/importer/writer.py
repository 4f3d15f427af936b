"""The drafted inventory as YAML a reviewer reads: each entry quotes its runbook lines.

Entries of kinds the installed opscheck does not know yet (asked of its loader at
runtime) go into a commented block, so the file loads today; once the kind exists
they are written live.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from opscheck.importer import validate
from opscheck.importer.model import Draft

# Where several drafts become one entry: the key they share within their section.
_ONE_ENTRY = {"system", "services", "hygiene"}
_KEY = {"http": "url", "tls": None, "postgres": "dsn", "redis": "url", "rabbitmq": "url", "memcached": "address",
        "tcp": "endpoint", "dns": "query", "files": "path", "audits": "path", "commands": None, "logs": None}
ORDER = ["system", "services", "containers", "tcp", "files", "env_flags", "hygiene", "http", "tls", "dns", "postgres",
         "redis", "rabbitmq", "memcached", "backups", "logs", "commands", "audits"]
_IDENTITY = ("name", "on", "path", "file", "url", "dsn", "address", "endpoint", "query", "command", "container", "journal")


@dataclass
class Entry:
    section: str
    body: dict
    drafts: list[Draft] = field(default_factory=list)
    pending: str | None = None   # "the containers kind": what this opscheck lacks


def _group_key(draft: Draft):
    if draft.section in _ONE_ENTRY:
        return draft.section
    if draft.section == "backups":
        return (draft.entry["path"], draft.entry.get("pattern", "*"))
    if draft.section == "containers":
        return str(draft.entry.get("names") or (draft.entry.get("compose_project"), draft.entry.get("services")))
    if draft.section == "env_flags":
        return draft.entry.get("file") or draft.entry.get("process")
    if draft.section == "postgres":  # pg_isready names no user, psql does: the same database
        return re.sub(r"\s*user=\S+", "", str(draft.entry.get("dsn")))
    key = _KEY.get(draft.section)
    return draft.entry.get(key) if key else draft.target


def build(drafts: list[Draft]) -> list[Entry]:
    from opscheck.importer import _merge

    groups: dict[tuple, Entry] = {}
    retention = []
    for draft in drafts:
        if draft.kind == "backups.retention":
            retention.append(draft)
            continue
        key = (draft.section, str(_group_key(draft)))
        entry = groups.get(key)
        if entry is None:
            groups[key] = Entry(draft.section, _copy(draft.entry), [draft])
        else:
            longer = draft.entry.get("dsn") if len(str(draft.entry.get("dsn", ""))) > len(str(entry.body.get("dsn", ""))) else None
            _merge(entry.body, _copy(draft.entry))
            if longer:
                entry.body["dsn"] = longer
            entry.drafts.append(draft)
    for draft in retention:  # keep_days joins the backups kept in the directory it cleans
        same = [e for (s, _), e in groups.items() if s == "backups" and e.body["path"] == draft.entry["path"]
                and draft.entry.get("pattern", "*") in ("*", e.body.get("pattern")) and "extract" not in e.body]
        for entry in same:
            entry.body["keep_days"] = draft.entry["keep_days"]
            entry.drafts.append(draft)
        if not same:
            groups[("backups", f"{draft.entry['path']}/{draft.entry.get('pattern')}")] = Entry("backups", _copy(draft.entry), [draft])
    entries = list(groups.values())
    for entry in entries:
        services = entry.body.get("listening")
        if isinstance(services, list):
            entry.body["listening"] = sorted(p for p in services if isinstance(p, int))
            if not entry.body["listening"]:
                entry.body.pop("listening")
        if entry.section == "services" and not any(entry.body.get(k) for k in ("listening", "processes", "units")):
            entry.body["listening"] = []
        schedules = sorted({s for d in entry.drafts for s in d.all_schedules()})
        if schedules and entry.section not in ("system", "services"):
            entry.body["schedule"] = schedules[0] if len(schedules) == 1 else schedules
        entry.body["runbook"] = entry.drafts[0].source.ref()
    entries.sort(key=lambda e: (ORDER.index(e.section) if e.section in ORDER else 99, e.drafts[0].source.line))
    return entries


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


# Keys of issue 17 with an equivalent this opscheck already loads: (section, key) -> rewrite.
def _postgres_only(entry: dict) -> dict | None:
    """`only: [connect]` is, today, every other aspect turned off."""
    from opscheck.inventory.sections.postgres import PostgresItem

    aspects = {"connect": "latency"}
    keep = {aspects.get(a, a) for a in entry.get("only", [])}
    known = ("latency", "connections", "blocked_queries", "long_running", "idle_in_transaction", "database_size",
             "wraparound", "replication", "dead_tuples", "unused_indexes", "slow_queries")
    out = {k: v for k, v in entry.items() if k != "only"}
    out.update({a: False for a in known if a in PostgresItem.model_fields and a not in keep and a not in out})
    return out


EQUIVALENTS = {("postgres", "only"): _postgres_only}


def gate(entries: list[Entry], live_all: bool = False) -> list[Entry]:
    """Split off what this opscheck cannot load yet (unless `live_all`)."""
    if live_all:
        return entries
    out = []
    for entry in entries:
        problem = validate.entry_problem(entry.section, entry.body)
        if problem is None:
            out.append(entry)
            continue
        what, detail = problem
        if what == "kind" and " " in detail:  # known section, unknown keys: try the rest live
            keys = detail.split(" ", 1)[1].replace(" keys", "").replace(" key", "").split(", ")
            rewrite = EQUIVALENTS.get((entry.section, keys[0])) if len(keys) == 1 else None
            if rewrite:
                today = rewrite(entry.body)
                if today is not None and validate.entry_problem(entry.section, today) is None:
                    out.append(Entry(entry.section, today, entry.drafts))
                    out.append(Entry(entry.section, {k: v for k, v in entry.body.items() if k in (*keys, *_IDENTITY, "runbook")},
                                     entry.drafts, f"the {detail} (written above as what it means today)"))
                    continue
            rest = {k: v for k, v in entry.body.items() if k not in keys}
            substantive = set(rest) - {"name", "on", "schedule", "runbook"}
            if substantive and validate.entry_problem(entry.section, rest) is None:
                moved = {k: v for k, v in entry.body.items() if k in keys or k in _IDENTITY or k == "runbook"}
                owners = [d for d in entry.drafts if set(d.entry) & set(keys)]
                out.append(Entry(entry.section, rest, [d for d in entry.drafts if d not in owners] or entry.drafts))
                out.append(Entry(entry.section, moved, owners or entry.drafts, f"the {detail}"))
                continue
        out.append(Entry(entry.section, entry.body, entry.drafts,
                         f"the {detail} kind" if what == "kind" and " " not in detail else
                         f"the {detail}" if what == "kind" else f"a fix: {detail}"))
    return out


def _flow(value) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 20, sort_keys=False, allow_unicode=True).strip()
    return text[:-4].strip() if text.endswith("\n...") else text.removesuffix("...").strip()


def render_entry(entry: Entry, prefix: str = "") -> list[str]:
    lines = []
    seen = set()
    for draft in entry.drafts:
        for source in [draft.source, *draft.also]:
            if source.line in seen:
                continue
            seen.add(source.line)
            lines.append(f"# line {source.line}: {source.text}")
    notes = []
    for draft in entry.drafts:
        notes += [n for n in draft.notes if n not in notes]
    if entry.body.get("listening"):
        notes = [n for n in notes if "without naming any" not in n]
    lines += [f"# {n}" for n in notes]
    body = dict(entry.body)
    keys = [k for k in ("name",) if k in body] + [k for k in body if k not in ("name", "schedule", "runbook")] + \
        [k for k in ("schedule", "runbook") if k in body]
    first = True
    for key in keys:
        lines.append(("- " if first else "  ") + f"{key}: {_flow(body[key])}")
        first = False
    return [prefix + line for line in lines]


def render(result, entries: list[Entry], environment: str) -> str:
    out = [
        f"# Drafted by `opscheck import` from {Path(result.path).name}: review every entry before you rely on it.",
        "# Each entry names its source (runbook:) and quotes the runbook line(s) it replaces.",
        "# Checks run on the hosts of `on:` (default: this machine); add hosts: for remote servers.",
    ]
    placeholders: dict[str, str] = {}
    for entry in entries:
        for draft in entry.drafts:
            placeholders.update(draft.placeholders)
    if placeholders:
        out.append("# Set these before running (placeholders the runbook could not fill):")
        out += [f"#   {name}: {what}" for name, what in sorted(placeholders.items())]
    if any("/PLACEHOLDER" in _flow(e.body) or "PLACEHOLDER-" in _flow(e.body) for e in entries):
        out.append("# Paths and names starting with /PLACEHOLDER or PLACEHOLDER- are yours to fill; the checks report them until then.")
    out += [f"environment: {_flow(environment)}", ""]
    for section in dict.fromkeys(e.section for e in entries if not e.pending):
        out.append(f"{section}:")
        for entry in entries:
            if entry.section == section and not entry.pending:
                out += render_entry(entry, "  ")
        out.append("")
    pending: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.pending:
            pending.setdefault(entry.pending, []).append(entry)
    for what, group in pending.items():
        verb = "needs opscheck with" if not what.startswith("a fix") else "needs"
        out.append(f"# {verb} {what}:")
        for section in dict.fromkeys(e.section for e in group):
            out.append(f"# {section}:")
            for entry in group:
                if entry.section == section:
                    out += ["#   " + line for line in render_entry(entry)]
        out.append("")
    for reason in ("changes state", "not recognised"):
        items = [s for s in result.skipped if s.reason == reason]
        if items:
            out.append(f"# not imported: {reason}")
            for s in sorted(items, key=lambda s: s.source.line):
                why = f"  ({s.why})" if s.why else ""
                out.append(f"#   line {s.source.line}: {s.source.text}{why}")
            out.append("")
    return "\n".join(out).rstrip() + "\n"
