"""Retention: prune old run folders, and say which, so verification of the rest still holds.

The pruned runs (id and manifest hash) go into the new run's manifest: a chain
link to a missing run is then a recorded pruning, not a deletion.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from opscheck.reports.manifest import FILENAME, read, sealed_runs, sha256_file

ALLURE_HTML_DIR = "allure"


def prune(reports_dir: Path, current: Path, keep_runs: int | None, keep_days: float | None) -> list[dict]:
    """Remove sealed runs beyond the newest `keep_runs` (this one included) or older than `keep_days`."""
    if not keep_runs and not keep_days:
        return []
    runs = sealed_runs(reports_dir, exclude=current)
    doomed: list[Path] = []
    if keep_runs:
        doomed.extend(runs[: max(0, len(runs) - (keep_runs - 1))])
    if keep_days:
        cutoff = datetime.now(timezone.utc) - timedelta(days=keep_days)
        for path in runs:
            started = _parse((read(path) or {}).get("run", {}).get("started"))
            if started is not None and started < cutoff and path not in doomed:
                doomed.append(path)
    pruned = []
    for path in doomed:
        run = (read(path) or {}).get("run", {})
        pruned.append({"run": path.name, "manifest_sha256": sha256_file(path / FILENAME), "started": run.get("started"), "finished": run.get("finished")})
        shutil.rmtree(path)
        (reports_dir / ALLURE_HTML_DIR / f"{path.name}.html").unlink(missing_ok=True)
    return pruned


def _parse(moment: str | None) -> datetime | None:
    if not moment:
        return None
    try:
        return datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None
