"""Find the latest run (of a suite) in a reports dir, and judge whether it is healthy."""

from __future__ import annotations

import json
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


def suite_of(folder: Path) -> str:
    """`20261122T060000Z-daily.1` was a run of `daily`."""
    name = folder.name.split("-", 1)[1] if "-" in folder.name else folder.name
    head, _, tail = name.rpartition(".")
    return head if head and tail.isdigit() else name


def latest_run(reports_dir: Path, suite: str | None = None) -> LatestRun | None:
    reports_dir = Path(reports_dir)
    if suite is None and (reports_dir / "latest").is_dir():
        candidates = [(reports_dir / "latest").resolve()]
    else:
        try:
            folders = [p for p in reports_dir.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
        except FileNotFoundError:
            return None
        candidates = sorted((f for f in folders if suite is None or suite_of(f) == suite), key=_order, reverse=True)
    for folder in candidates:
        try:
            return LatestRun(folder, json.loads((folder / "results.json").read_text()))
        except (OSError, ValueError):
            continue  # a run still being written, or a foreign folder
    return None


def _order(folder: Path) -> tuple[str, int]:
    head, _, tail = folder.name.rpartition(".")
    return (head, int(tail)) if head and tail.isdigit() else (folder.name, 0)


def health(reports_dir: Path, suite: str | None, max_age_s: float, now: datetime | None = None) -> tuple[bool, str]:
    """(healthy, one-line reason): the latest run exists, is younger than max_age_s and has no CRIT."""
    what = f"suite {suite}" if suite else "any suite"
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


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}".replace(".0" + unit, unit)
    return f"{seconds:.0f}s"
