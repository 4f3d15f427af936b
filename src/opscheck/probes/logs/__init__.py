"""Log checks: how often each named regex matched in the last `window`, per log and host.

The scan itself (`scan.py`) runs on the log's host, as `python3 -c`, so only
counts and a few lines travel; local:// goes the same way. One entry's patterns are
counted in a single pass: the first of its targets to run scans, the others reuse that
result through a small per-process cache (keyed by host, file and patterns, kept for a
minute, one lock per key so concurrent probes wait instead of scanning twice).
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
    name = target.params["pattern_name"]
    pattern = item.all_patterns()[name]
    window = item.window_s()
    result = _scan(target)
    if result.get("error"):
        if result.get("missing"):
            raise TargetDown(f"log {item.source()} does not exist on {target.host}")
        raise Unmeasurable(f"cannot read {item.source()} on {target.host}: {result['error']}")
    if result["lines_read"] > 1 and result["timestamped"] == 0:
        raise Unmeasurable(
            f"no line of {item.source()} has a timestamp opscheck knows (ISO 8601, syslog, nginx combined, "
            "Python logging): cannot tell which lines fall in the window"
        )
    count = result["counts"][name]
    evidence = {
        "pattern": pattern.regex,
        "count": count,
        "counts": result["counts"],
        "window": format_duration(window),
        "window_start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(result["window_start"])),
        "last_lines": [clean_line(line) for line in result["last"][name][:LAST_LINES]],
        "files": [{"file": f["file"], "bytes_read": f["bytes_read"], "reached_start": f["reached_start"]} for f in result["files"]],
        "bytes_read": result["bytes_read"],
        "lines_read": result["lines_read"],
        "timestamp_format": result["format"],
    }
    return Measurement(
        value=count, unit="", subject=f"{item.source()} {name}", label=f"in the last {format_duration(window)}",
        evidence=evidence,
    )


def _scan(target: Target) -> dict:
    item = target.spec
    patterns = {n: [p.regex, p.ignore_case] for n, p in item.all_patterns().items()}
    key = (target.host.spec, item.source(), item.engine, item.window_s(), item.format, item.rotated, json.dumps(patterns, sort_keys=True))
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    if not lock.acquire(timeout=target.timeout):
        raise Unmeasurable(f"another scan of {item.path} is still running after {target.timeout:g}s")
    try:
        cached = _cache.get(key)
        if cached and time.monotonic() - cached[0] < CACHE_S:
            return cached[1]
        if sources.source_of(item) is not None:
            result = sources.read(target, patterns, LAST_LINES)
            _cache[key] = (time.monotonic(), result)
            return result
        args = {"path": item.path, "patterns": patterns, "window": item.window_s(), "format": item.format,
                "rotated": item.rotated, "keep": LAST_LINES}
        command = f"python3 -c {shlex.quote(SCANNER.read_text())} {shlex.quote(json.dumps(args))}"
        out = run(target.host, command, target.timeout)
        if out.rc == 127:
            raise Unmeasurable(f"python3 is needed on {target.host} to scan logs: {out.stderr.strip()[:200]}")
        try:
            result = json.loads(out.stdout)
        except ValueError:
            reason = out.stderr.strip().splitlines()[-1:] or [f"exit {out.rc}"]
            raise Unmeasurable(f"log scan of {item.path} failed: {reason[0][:300]}") from None
        if not result.get("error"):
            _cache[key] = (time.monotonic(), result)
        return result
    finally:
        lock.release()


KINDS = (
    Kind("log_pattern", "log pattern count", "logs", per_host_item(
        lambda item: item.all_patterns().items(), id=lambda p: f"{p.host.name}:{p.item.source()}:{p.sub[0]}", check=lambda p: f"log pattern {p.sub[0]}",
        spec=lambda p: p.item, threshold=lambda p: p.sub[1].threshold(), params=lambda p: {"pattern_name": p.sub[0]},
    ), probe),
)
