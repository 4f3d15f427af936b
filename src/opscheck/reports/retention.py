"""Retention: prune one suite's old run folders, and say which, so verification of the rest holds.

Only the runs of the suite being run are candidates: `--keep-runs 3` on a smoke run
keeps three smoke runs and leaves daily and weekly runs alone. A run is deleted
only after its folder and its successor's link to it verify: pruning must never
erase the evidence of tampering. The pruned runs (id and manifest hash) go into
the new run's manifest, so a chain link to a missing run is a recorded pruning,
not a deletion; the run's rendered Allure HTML goes with it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from opscheck.reports.manifest import FILENAME, read, sealed_runs, sha256_file

ALLURE_HTML_DIR = "allure"


@dataclass
class Pruning:
    pruned: list[dict] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # runs kept because they did not verify, and why


def prune(reports_dir: Path, current: Path, keep_runs: int | None, keep_days: float | None, suite: str | None = None) -> Pruning:
    """Remove `suite`'s sealed runs beyond the newest `keep_runs` (this one included) or older than `keep_days`."""
    outcome = Pruning()
    if not keep_runs and not keep_days:
        return outcome
    runs = [p for p in sealed_runs(reports_dir, exclude=current) if suite is None or _suite(p) == suite]
    doomed: list[Path] = []
    if keep_runs:
        doomed.extend(runs[: max(0, len(runs) - (keep_runs - 1))])
    if keep_days:
        cutoff = datetime.now(timezone.utc) - timedelta(days=keep_days)
        for path in runs:
            started = _parse((read(path) or {}).get("run", {}).get("started"))
            if started is not None and started < cutoff and path not in doomed:
                doomed.append(path)
    if not doomed:
        return outcome
    from opscheck.reports.verify import verify_before_pruning

    problems = verify_before_pruning(reports_dir, [p.name for p in doomed])
    for path in doomed:
        if problems.get(path.name):
            outcome.refused.append(f"{path.name}: not pruned, it does not verify ({problems[path.name][0]})")
            continue
        run = (read(path) or {}).get("run", {})
        outcome.pruned.append({
            "run": path.name, "suite": run.get("suite"), "manifest_sha256": sha256_file(path / FILENAME),
            "started": run.get("started"), "finished": run.get("finished"),
        })
        shutil.rmtree(path)
        (reports_dir / ALLURE_HTML_DIR / f"{path.name}.html").unlink(missing_ok=True)
    return outcome


def _suite(path: Path) -> str | None:
    return ((read(path) or {}).get("run") or {}).get("suite")


def _parse(moment: str | None) -> datetime | None:
    if not moment:
        return None
    try:
        return datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None
