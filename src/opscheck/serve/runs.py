"""Find the latest run (of a suite) in a reports dir, and judge whether it is healthy.

Per suite by default: `latest-<suite>` (or the newest folder of the suite) for one
suite; without a suite, the latest run of every suite, so that a 5-minute smoke
run neither hides the daily run's CRIT nor its metrics.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from opscheck.runner.outcome import counts_of, counts_text, short_id


@dataclass(frozen=True)
class LatestRun:
    folder: Path
    results: dict

    @property
    def finished(self) -> datetime | None:
        run = self.results.get("run", {})
        text = run.get("finished") or run.get("started")
        if not text:
            return None
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _results(folder: Path) -> dict:
    """results.json of a run, parsed once per version of the file (a burst of probes reads the same one)."""
    path = folder / "results.json"
    info = os.stat(path)
    return _parse(str(path), info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=64)
def _parse(path: str, _mtime_ns: int, _size: int) -> dict:
    with open(path, "rb") as handle:
        return json.loads(handle.read())


def suite_of(folder: Path) -> str:
    """`20261122T060000Z-daily.1` was a run of `daily`."""
    name = folder.name.split("-", 1)[1] if "-" in folder.name else folder.name
    head, _, tail = name.rpartition(".")
    return head if head and tail.isdigit() else name


def latest_run(reports_dir: Path, suite: str | None = None) -> LatestRun | None:
    reports_dir = Path(reports_dir)
    link = reports_dir / ("latest" if suite is None else f"latest-{suite}")
    if link.is_dir():
        candidates = [link.resolve()]
    else:
        try:
            folders = [p for p in reports_dir.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
        except FileNotFoundError:
            return None
        candidates = sorted((f for f in folders if suite is None or suite_of(f) == suite), key=_order, reverse=True)
    for folder in candidates:
        try:
            return LatestRun(folder, _results(folder))
        except (OSError, ValueError):
            continue  # a run still being written, or a foreign folder
    return None


def latest_runs(reports_dir: Path) -> dict[str, LatestRun]:
    """The latest readable run of every suite in the reports dir."""
    try:
        folders = [p for p in Path(reports_dir).iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
    except FileNotFoundError:
        return {}
    runs: dict[str, LatestRun] = {}
    for folder in sorted(folders, key=_order, reverse=True):
        suite = suite_of(folder)
        if suite in runs or not (folder / "results.json").is_file():
            continue
        try:
            runs[suite] = LatestRun(folder, _results(folder))
        except (OSError, ValueError):
            continue
    return runs


def merged_metrics(reports_dir: Path) -> str | None:
    """The metrics.prom of every suite's latest run as one exposition: each family's HELP and TYPE
    once, its samples together (every sample carries its `suite` label)."""
    versions = []
    for _suite, run in sorted(latest_runs(reports_dir).items()):
        try:
            info = os.stat(run.folder / "metrics.prom")
        except OSError:
            continue
        versions.append((str(run.folder / "metrics.prom"), info.st_mtime_ns, info.st_size))
    return _merge(tuple(versions)) if versions else None


@functools.lru_cache(maxsize=8)
def _merge(versions: tuple[tuple[str, int, int], ...]) -> str | None:
    families: dict[str, list[str]] = {}
    headers: dict[str, list[str]] = {}
    found = False
    for path, _mtime_ns, _size in versions:
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        found = True
        for line in text.splitlines():
            if line.startswith("#"):
                parts = line.split(None, 3)
                if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                    kinds = headers.setdefault(parts[2], [])
                    if not any(h.split(None, 2)[1] == parts[1] for h in kinds):
                        kinds.append(line)
                continue
            if line.strip():
                name = line.split("{", 1)[0].split(" ", 1)[0]
                families.setdefault(name, []).append(line)
    if not found:
        return None
    out: list[str] = []
    for name in dict.fromkeys([*headers, *families]):
        out += headers.get(name, []) + families.get(name, [])
    return "\n".join(out) + "\n"


def _order(folder: Path) -> tuple[str, int]:
    head, _, tail = folder.name.rpartition(".")
    return (head, int(tail)) if head and tail.isdigit() else (folder.name, 0)


def health(reports_dir: Path, suite: str | None, max_age_s: float, now: datetime | None = None) -> tuple[bool, str]:
    """(healthy, one-line reason): the latest run exists, is younger than max_age_s and has no CRIT.

    Without a suite: no suite's latest run has a CRIT, and the newest run of all is younger than
    max_age_s (the scheduler is alive); suites run at different paces, so give each its own probe
    (`?suite=weekly&max_age=8d`) to judge its age."""
    if suite is None:
        return _health_of_all(reports_dir, max_age_s, now)
    what = f"suite {suite}"
    run = latest_run(reports_dir, suite)
    if run is None:
        return False, f"no run of {what} in {reports_dir}"
    now = now or datetime.now(timezone.utc)
    finished = run.finished
    if finished is None:
        return False, f"{run.folder.name}: results.json has no finish time"
    age = (now - finished).total_seconds()
    if age > max_age_s:
        return False, f"stale: {run.folder.name} finished {_ago(age)} ago (limit {_ago(max_age_s)})"
    counts = counts_of(run.results)
    if counts.get("CRIT"):
        crit = [short_id(c["id"]) for c in run.results.get("checks", []) if c["verdict"] == "CRIT"]
        more = f" (+{len(crit) - 3} more)" if len(crit) > 3 else ""
        return False, f"CRIT: {run.folder.name}: {counts_text(counts)}; {', '.join(crit[:3])}{more}"
    return True, f"OK: {run.folder.name} finished {_ago(age)} ago: {counts_text(counts)}"


def _health_of_all(reports_dir: Path, max_age_s: float, now: datetime | None) -> tuple[bool, str]:
    runs = latest_runs(reports_dir)
    if not runs:
        return False, f"no run of any suite in {reports_dir}"
    for suite in sorted(runs, key=lambda s: _order(runs[s].folder), reverse=True):
        healthy, reason = health(reports_dir, suite, float("inf"), now)
        if not healthy:
            return False, reason
    newest = max(runs.values(), key=lambda r: _order(r.folder))
    healthy, reason = health(reports_dir, suite_of(newest.folder), max_age_s, now)
    if not healthy:
        return False, reason
    counts = "; ".join(f"{s} {counts_text(counts_of(r.results))}" for s, r in sorted(runs.items()))
    return True, f"OK: {len(runs)} suite(s), newest {reason.split(': ', 1)[1].split(':', 1)[0]}: {counts}"


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}".replace(".0" + unit, unit)
    return f"{seconds:.0f}s"
