"""Earlier runs of a suite, read back from their sealed folders: for history strips and the index.

A run folder is part of the record once its manifest seals it; folders without
one are still being written (or were abandoned) and are left out. Each run's
block comes from its results.json, so nothing but the writers' own output is
trusted, and runs of other suites never enter a suite's history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from opscheck.reports.manifest import FILENAME as MANIFEST


@dataclass
class PastRun:
    folder: Path
    run: dict
    verdicts: dict[str, str] = field(default_factory=dict)  # check id -> verdict

    @property
    def id(self) -> str:
        return self.folder.name

    @property
    def suite(self) -> str:
        return self.run.get("suite") or ""


def sealed_runs(reports_dir: Path, suite: str | None = None, exclude: Path | None = None) -> list[PastRun]:
    """Sealed runs (of `suite`, or all), oldest first by start time."""
    runs = []
    try:
        folders = [p for p in Path(reports_dir).iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
    except OSError:
        return runs
    for folder in folders:
        if exclude is not None and folder.name == exclude.name:
            continue
        if not (folder / MANIFEST).is_file():
            continue
        try:
            document = json.loads((folder / "results.json").read_text())
        except (OSError, ValueError):
            continue
        run = document.get("run") or {}
        if suite is not None and run.get("suite") != suite:
            continue
        verdicts = {c.get("id"): c.get("verdict") for c in document.get("checks", []) if c.get("id")}
        runs.append(PastRun(folder, run, verdicts))
    runs.sort(key=lambda r: (r.run.get("started") or "", r.folder.name))
    return runs


def check_history(reports_dir: Path, suite: str, exclude: Path, limit: int = 10) -> tuple[list[PastRun], dict[str, list[tuple[str, str]]]]:
    """(the last `limit` earlier runs of the suite, check id -> [(run id, verdict)], oldest first)."""
    runs = sealed_runs(reports_dir, suite, exclude)[-limit:]
    strips: dict[str, list[tuple[str, str]]] = {}
    for past in runs:
        for check_id, verdict in past.verdicts.items():
            strips.setdefault(check_id, []).append((past.id, verdict))
    return runs, strips
