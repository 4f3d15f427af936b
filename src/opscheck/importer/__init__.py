"""`opscheck import`: a Markdown runbook of shell snippets -> a drafted, reviewable inventory.

markdown (blocks, headings) -> shell (bashlex pipelines) -> recognise/* (drafts) and
state (what is never imported) -> prose (thresholds) -> writer (YAML with comments).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from opscheck.importer import markdown, prose, shell, state
from opscheck.importer.model import Draft, Skipped, Source
from opscheck.importer.recognise import Ctx, name, recognisers
from opscheck.importer.recognise.backups import PRODUCERS
from opscheck.importer.recognise.data import memcached
from opscheck.importer.recognise.host import _READ_VERBS, tool_status
from opscheck.importer.recognise.web import nc

# Commands that only talk to the reader or steer the script: neither checks nor actions.
NOISE = {"echo", "printf", "sleep", "cd", "exit", "true", "false", "date", "read", "set", "export", "source", ".",
         "clear", "wait", "return", "local", "shift", "unset", "pwd", "whoami", "hostname", "then", "fi", "done",
         "break", "continue", ":", "usage", "trap"}
SCHEDULE_WORDS = {"daily": "daily", "morning": "daily", "evening": "daily", "end of day": "daily", "weekly": "weekly",
                  "monthly": "monthly", "quarterly": "quarterly", "smoke": "smoke", "after deploy": "smoke"}
PERIODS = {"daily": "1d", "weekly": "7d", "monthly": "31d", "quarterly": "92d"}
_MASKS = [
    (re.compile(r"(Bearer|Basic|Token)\s+(?!\$)[A-Za-z0-9._~+/=-]{6,}", re.I), r"\1 ***"),
    (re.compile(r"(://[^/:@\s]+:)(?!\$)[^@\s]+@"), r"\1***@"),
    (re.compile(r"((?:password|passwd|pwd|token|secret|api_?key|apikey)[=:]\s*)(?!\$)[^\s&\"']+", re.I), r"\1***"),
    (re.compile(r"(\s-a\s+|--pass\s+|-p)(?!\$)(\S{6,})(?=\s|$)"), r"\1***"),
    (re.compile(r"(PGPASSWORD=|MYSQL_PWD=|REDISCLI_AUTH=)(?!\$)\S+"), r"\1***"),
]


def mask(text: str) -> str:
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


@dataclass
class Result:
    path: str
    drafts: list[Draft] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def changes_state(self) -> list[Skipped]:
        return [s for s in self.skipped if s.reason == "changes state"]

    def not_recognised(self) -> list[Skipped]:
        return [s for s in self.skipped if s.reason == "not recognised"]


def cron_schedule(expr: str) -> str | None:
    """`*/5 * * * *` -> daily, `0 2 * * 0` -> weekly, `0 4 1 * *` -> monthly."""
    if expr.startswith("@"):
        return {"@daily": "daily", "@hourly": "daily", "@weekly": "weekly", "@monthly": "monthly"}.get(expr)
    minute, hour, day, month, weekday = expr.split()
    if month != "*" and day != "*":
        return "quarterly" if "/3" in month or "," in month else "monthly"
    if day != "*":
        return "monthly"
    if weekday != "*":
        return "weekly"
    return "daily"


def _tokens(text: str) -> set[str]:
    return {t for t in re.split(r"[^a-z0-9]+", text.lower()) if len(t) > 2 and t not in ("the", "and", "script", "check", "opt", "home", "user", "scripts")}


def _block_schedule(block: markdown.Block, crons: list[tuple[shell.Cron, int]]) -> tuple[str | None, str | None, list[int]]:
    """(schedule, period for backups, lines of crontab entries used) for a block."""
    head = " ".join(block.text.splitlines()[:3]).lower()
    label = f"{block.label} {head}"
    own = range(block.first_line, block.first_line + len(block.text.splitlines()))
    for cron, line in crons:
        if line in own:  # a crontab block names scripts; it is not one of them
            continue
        script = cron.command.split()[0].rsplit("/", 1)[-1]
        base = script.rsplit(".", 1)[0]
        if script.lower() in head or (len(_tokens(base) & _tokens(label)) >= 2 and len(_tokens(base)) >= 2):
            sched = cron_schedule(cron.schedule)
            period = PERIODS.get(sched or "")
            return sched, period, [line]
    text = f"{block.heading} > {block.label}".lower()
    found = None
    for word, sched in SCHEDULE_WORDS.items():
        position = text.rfind(word)
        if position >= 0 and (found is None or position > found[0]):
            found = (position, sched)
    sched = found[1] if found else None
    return sched, PERIODS.get(sched or ""), []


def _as_input(pipe: shell.Pipe) -> shell.Pipe:
    """`echo stats | nc HOST 11211`: the echo is input; the command is what it feeds."""
    if len(pipe.stages) > 1 and name(pipe.stages[0].argv) in ("echo", "printf"):
        from dataclasses import replace

        return replace(pipe, stages=pipe.stages[1:], input=" ".join(pipe.stages[0].argv[1:]))
    return pipe


def classify(pipe: shell.Pipe, ctx: Ctx, table: dict) -> list[Draft] | Skipped | None:
    pipe = _as_input(pipe)
    main = pipe.main.argv
    command = name(main)
    writes = any(op in (">", ">>") and not t.startswith("/dev/") and "LOG" not in t.upper()
                 for stage in pipe.stages for op, t in stage.redirects)
    if (command in NOISE or main[0].startswith("$")) and not writes:
        return None
    producer = PRODUCERS.get(command)
    if producer:
        drafts = producer(pipe, ctx)
        if drafts:
            why = state.reason(pipe)
            if why:  # the command itself is never run; what it leaves behind is checked
                ctx.extra["also_skip"] = Skipped("changes state", ctx.source, f"{why}; its result is checked by the backups entry")
            return drafts
    why = state.reason(pipe)
    if why:
        return Skipped("changes state", ctx.source, why)
    drafts = None
    if command in ("nc", "ncat", "netcat"):
        drafts = memcached(pipe, ctx) or nc(pipe, ctx)
    elif command in table:
        drafts = table[command](pipe, ctx)
    if not drafts and len(main) > 1 and main[1] in _READ_VERBS and command not in table:
        drafts = tool_status(pipe, ctx)
    if drafts:
        return drafts
    if "skip_reason" in ctx.extra:
        reason, why = ctx.extra.pop("skip_reason")
        return Skipped(reason, ctx.source, why)
    return Skipped("not recognised", ctx.source)


def import_runbook(path: str | Path, text: str | None = None) -> Result:
    path = Path(path)
    text = path.read_text(encoding="utf-8") if text is None else text
    doc = markdown.parse(path.name, text)
    hints = prose.hints(doc.lines)
    table = recognisers()
    result = Result(str(path))
    parsed = [(block, shell.parse_block(block.text)) for block in doc.blocks]
    crons = [(cron, block.first_line + cron.line) for block, p in parsed for cron in p.crons]
    used_cron_lines: set[int] = set()
    for index, (block, blockparse) in enumerate(parsed):
        schedule, period, cron_lines = _block_schedule(block, crons)
        used_cron_lines.update(cron_lines)
        if block.lang not in markdown.SHELL_LANGS or not _looks_like_shell(block, table):
            continue
        expected = _expected_after(doc, index)
        for line in blockparse.unparsed:
            number = block.first_line + line
            words = doc.lines[number - 1].split("#")[0].split()
            words = shell.unwrap(words)[0] if words else words
            why = state.stage_reason(shell.Stage(words)) if words else None
            if why:
                result.skipped.append(Skipped("changes state", _source(doc, block, number), why))
            elif words and words[0] not in NOISE:
                result.skipped.append(Skipped("not recognised", _source(doc, block, number), "the shell parser cannot read it"))
        seen_lines: set[int] = set()
        for pipe in blockparse.pipes:
            number = block.first_line + pipe.line
            source = _source(doc, block, number)
            ctx = Ctx(source, block, hints, schedule, expected, {"period": period, "file_tests": blockparse.file_tests})
            try:
                outcome = classify(pipe, ctx, table)
            except Exception as exc:  # noqa: BLE001 - one odd line must not stop the import; it is listed
                outcome = Skipped("not recognised", source, f"importer error: {type(exc).__name__}")
            if isinstance(outcome, Skipped):
                if (number, outcome.reason) not in seen_lines:
                    result.skipped.append(outcome)
                    seen_lines.add((number, outcome.reason))
            elif outcome:
                if "also_skip" in ctx.extra:
                    result.skipped.append(ctx.extra.pop("also_skip"))
                for draft in outcome:
                    draft.source = source
                result.drafts.extend(outcome)
    for _cron, line in crons:
        if line not in used_cron_lines:
            block = next(b for b in doc.blocks if b.first_line <= line < b.first_line + len(b.text.splitlines()) + 1)
            result.skipped.append(Skipped("not recognised", _source(doc, block, line),
                                          "a crontab entry whose script the runbook does not show"))
    result.drafts = dedupe(result.drafts)
    return result


def _looks_like_shell(block: markdown.Block, table: dict) -> bool:
    """A fence with no language may hold a template or prose: read it only if most lines are commands."""
    if block.lang not in ("", "text"):
        return True
    known = set(table) | set(PRODUCERS) | NOISE | {"sudo", "docker", "docker-compose", "watch", "if", "for", "while"}
    lines = [text.strip() for text in block.text.splitlines() if text.strip() and not text.strip().startswith("#")]
    commands = [text for text in lines if text.split()[0].rsplit("/", 1)[-1] in known or text.startswith(("./", "/", "$ "))
                or re.match(r"^[A-Z_]+=", text) or shell._CRON.match(text)]
    return bool(lines) and len(commands) * 2 >= len(lines)


def _expected_after(doc: markdown.Document, index: int):
    """A JSON block right after, introduced as the expected response, belongs to the block's request."""
    import json

    if index + 1 >= len(doc.blocks):
        return None
    nxt = doc.blocks[index + 1]
    if nxt.lang in ("json", "") and re.search(r"expected|example|returns|response", nxt.before[-200:], re.I):
        try:
            return json.loads(nxt.text)
        except ValueError:
            return None
    return None


def _source(doc: markdown.Document, block: markdown.Block, number: int) -> Source:
    heading = " > ".join(p for p in (block.heading, block.label) if p)
    return Source(doc.path, heading, number, mask(doc.lines[number - 1].strip()))


def _same_check(draft: Draft) -> str:
    """What makes two drafts the same check: an endpoint's path without its query, a pattern's words."""
    if draft.kind == "http":
        return draft.target.split("?", 1)[0]
    return draft.target


def _alternatives(pattern: str) -> set[str]:
    return {p.strip("() ").lower() for p in pattern.removeprefix("(?i)").split("|")}


def _subsumed(drafts: list[Draft]) -> list[Draft]:
    """Drop a log pattern whose alternatives another pattern on the same log already covers,
    and a process pattern contained in a more specific one."""
    keep = []
    for draft in drafts:
        bigger = None
        for other in drafts:
            if other is draft or other.kind != draft.kind:
                continue
            if draft.kind == "logs" and "pattern" in draft.entry and "pattern" in other.entry:
                same_log = {k: v for k, v in draft.entry.items() if k in ("path", "container", "journal")} == \
                    {k: v for k, v in other.entry.items() if k in ("path", "container", "journal")}
                a, b = _alternatives(draft.entry["pattern"]), _alternatives(other.entry["pattern"])
                if same_log and a <= b and (a < b or drafts.index(other) < drafts.index(draft)):
                    bigger = other
            elif draft.kind == "services.listening" and draft.target == "*" and other.target != "*" or draft.kind == "services.processes" and draft.target != other.target and draft.target in other.target \
                    and not draft.limits:
                bigger = other
            if bigger:
                break
        if bigger:
            bigger.also.append(draft.source)
            if draft.entry.get("pattern", "").startswith("(?i)") and not bigger.entry["pattern"].startswith("(?i)"):
                bigger.entry["pattern"] = "(?i)" + bigger.entry["pattern"]
            bigger.limits.update({k: v for k, v in draft.limits.items() if k not in bigger.limits})
        else:
            keep.append(draft)
    return keep


def dedupe(drafts: list[Draft]) -> list[Draft]:
    """One draft per (kind, target): the runbook often repeats a check; keep the one with limits."""
    out: dict[tuple[str, str], Draft] = {}
    for draft in drafts:
        key = (draft.kind, _same_check(draft))
        kept = out.get(key)
        if kept is None:
            out[key] = draft
            continue
        kept.also.append(draft.source)
        for k, v in draft.limits.items():
            kept.limits.setdefault(k, v)
        _merge(kept.entry, draft.entry)
        kept.placeholders.update(draft.placeholders)
        kept.notes = [n for n in kept.notes if not (n.startswith("REVIEW: no") and draft.limits)] + \
            [n for n in draft.notes if n not in kept.notes and not (n.startswith("REVIEW: no") and kept.limits)]
        if draft.schedule and kept.schedule and draft.schedule != kept.schedule:
            kept.schedules = sorted({*kept.all_schedules(), draft.schedule})
    return _subsumed(list(out.values()))


def _merge(into: dict, other: dict) -> None:
    for key, value in other.items():
        if key not in into or into[key] in ({}, [], None):
            into[key] = value
        elif isinstance(into[key], dict) and isinstance(value, dict):
            _merge(into[key], value)
        elif isinstance(into[key], list) and isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and isinstance(into[key][0] if into[key] else None, dict):
                    match = next((i for i in into[key] if i.get("mount", i.get("pattern")) == item.get("mount", item.get("pattern"))), None)
                    if match is not None:
                        for k, v in item.items():
                            match.setdefault(k, v)
                        continue
                if item not in into[key]:
                    into[key].append(item)
