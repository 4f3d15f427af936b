"""Log checks: how often each named regex matched in the last `window`, per log and host.

Sources: a file's scan (`scan.py`) runs on the log's host, as `python3 -c`, so only
counts and a few lines travel; local:// goes the same way. The journal (`journal.py`)
is read there with `journalctl`, filtered to the window, and counted here (`count.py`).
One entry's patterns are counted in a single pass: the first of its targets to run
reads, the others reuse that result through a small per-process cache (keyed by host,
source and patterns, kept for a minute, one lock per key so concurrent probes wait
instead of reading twice).
"""

from __future__ import annotations

import json
import re
import shlex
import threading
import time
from pathlib import Path

from opscheck.errors import TargetDown, Unmeasurable
from opscheck.host import run
from opscheck.measurement import Measurement, Target
from opscheck.probes.logs import sources
from opscheck.redact import redact
from opscheck.registry import Kind
from opscheck.targets import per_host_item
from opscheck.units import format_duration

from . import journal
from .count import count

SCANNER = Path(__file__).with_name("scan.py")
CACHE_S = 60.0
LAST_LINES = 10
LINE_CHARS = 300
_EMAIL = re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")

_cache: dict[tuple, tuple[float, dict]] = {}
_locks: dict[tuple, threading.Lock] = {}
_guard = threading.Lock()


def clean_line(line: str) -> str:
    """A log line fit for a report: secrets and e-mail addresses masked, then cut short."""
    text = _EMAIL.sub("***@***", redact(line))
    return text if len(text) <= LINE_CHARS else text[: LINE_CHARS - 1] + "…"


def probe(target: Target) -> Measurement:
    item = target.spec
    if item.journal is not None:
        return _facts(target, _once(target, ("journal", item.journal.model_dump_json()), lambda: _journal(target)))
    if item.container is not None:
        return _facts(target, _once(target, ("container", item.container, item.engine), lambda: _container(target)))
    result = _once(target, ("file", item.path, item.format, item.rotated), lambda: _scan(target))
    if result.get("error"):
        if result.get("missing"):
            raise TargetDown(f"log {item.path} does not exist")
        if result.get("denied"):
            raise Unmeasurable(result["error"])
        raise Unmeasurable(f"cannot read {item.path}: {result['error']}")
    if result["lines_read"] > 1 and result["timestamped"] == 0:
        raise Unmeasurable(
            f"no line of {item.source()} has a timestamp opscheck knows (ISO 8601, syslog, nginx combined, "
            "Python logging): cannot tell which lines fall in the window"
        )
    return _facts(target, result, {
        "files": [{"file": f["file"], "bytes_read": f["bytes_read"], "reached_start": f["reached_start"]} for f in result["files"]],
        "bytes_read": result["bytes_read"],
        "lines_read": result["lines_read"],
        "timestamp_format": result["format"],
    })


def _facts(target: Target, result: dict, read: dict | None = None) -> Measurement:
    """The count of the target's pattern, with the evidence every source shares and `read` (how it was read)."""
    item = target.spec
    name = target.params["pattern_name"]
    window = item.window_s()
    count_ = result["counts"][name]
    evidence = {
        "pattern": item.all_patterns()[name].regex,
        "count": count_,
        "counts": result["counts"],
        "window": format_duration(window),
        "window_start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(result["window_start"])),
        "last_lines": [clean_line(line) for line in result["last"][name][:LAST_LINES]],
        **(read if read is not None else result.get("read", {})),
    }
    return Measurement(
        value=count_, unit="", subject=f"{item.source()} {name}", label=f"in the last {format_duration(window)}",
        evidence=evidence,
    )


def _patterns(item) -> dict:
    return {n: [p.regex, p.ignore_case] for n, p in item.all_patterns().items()}


def _once(target: Target, source: tuple, read) -> dict:
    """`read()` once per host, source, window and patterns, shared by the entry's targets for CACHE_S."""
    item = target.spec
    key = (target.host.spec, *source, item.window_s(), json.dumps(_patterns(item), sort_keys=True))
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    if not lock.acquire(timeout=target.timeout):
        raise Unmeasurable(f"another read of {item.source()} is still running after {target.timeout:g}s")
    try:
        cached = _cache.get(key)
        if cached and time.monotonic() - cached[0] < CACHE_S:
            return cached[1]
        result = read()
        if not result.get("error"):
            _cache[key] = (time.monotonic(), result)
        return result
    finally:
        lock.release()


def _id(p) -> str:
    """`host:name:pattern`, the source where the entry has no name (a file's path, `journal:nginx:err`);
    `pattern:` shorthand is named after the entry."""
    name = p.sub[0]
    return ":".join([p.host.name, p.item.name or p.item.source()] + ([name] if name != p.item.name else []))


def _scan(target: Target) -> dict:
    item = target.spec
    args = {"path": item.path, "patterns": _patterns(item), "window": item.window_s(), "format": item.format,
            "rotated": item.rotated, "keep": LAST_LINES}
    command = f"python3 -c {shlex.quote(SCANNER.read_text())} {shlex.quote(json.dumps(args))}"
    out = run(target.host, command, target.timeout)
    if out.rc == 127:
        raise Unmeasurable(f"python3 is needed to scan logs: {out.stderr.strip()[:200]}")
    try:
        return json.loads(out.stdout)
    except ValueError:
        reason = out.stderr.strip().splitlines()[-1:] or [f"exit {out.rc}"]
        raise Unmeasurable(f"log scan of {item.path} failed: {reason[0][:300]}") from None


def _journal(target: Target) -> dict:
    """The journal's window, counted; `read` says which journal and how much came back."""
    got = journal.read(target)
    counted = count(got.lines, _patterns(target.spec), got.window_start, LAST_LINES)
    source = target.spec.journal
    return {**counted, "window_start": got.window_start, "read": {
        "journal": source.model_dump(exclude_none=True, exclude_defaults=True) or "the system journal",
        "journal_files": got.files, "entries_read": len(got.lines), "bytes_read": got.bytes_read,
    }}


def _container(target: Target) -> dict:
    """The container's log over the window (`docker logs --since`), counted; `read` says how much came back."""
    counted = sources.read(target, _patterns(target.spec), LAST_LINES)
    return {**counted, "read": {"container": target.spec.container, "lines_read": counted["lines_read"],
                                "bytes_read": counted["bytes_read"]}}


KINDS = (
    Kind("log_pattern", "log pattern count", "logs", per_host_item(
        lambda item: item.all_patterns().items(), id=_id, check=lambda p: f"log pattern {p.sub[0]}",
        spec=lambda p: p.item, threshold=lambda p: p.sub[1].threshold(), params=lambda p: {"pattern_name": p.sub[0]},
    ), probe),
)
