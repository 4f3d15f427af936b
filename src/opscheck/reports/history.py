"""Earlier runs of a suite, read back from their sealed folders: for history strips and the index.

A run folder is part of the record once its manifest seals it; folders without
one are still being written (or were abandoned) and are left out. A folder's
name says its start and suite (`20261122T060000Z-daily.1`), so picking a
suite's runs costs a directory listing; the run block comes from the manifest
and a run's per-check verdicts from its results.json, read only for the few
runs a history strip shows (a reports dir of many large runs stays cheap).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from opscheck.reports.manifest import FILENAME as MANIFEST


@dataclass
class PastRun:
    folder: Path
    _manifest: dict | None = field(default=None, repr=False)
    _verdicts: dict[str, str] | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return self.folder.name

    @property
    def suite(self) -> str:
        return self.run.get("suite") or suite_of(self.folder.name)

    @property
    def manifest(self) -> dict:
        if self._manifest is None:
            try:
                self._manifest = json.loads((self.folder / MANIFEST).read_text())
            except (OSError, ValueError):
                self._manifest = {}
        return self._manifest

    @property
    def run(self) -> dict:
        return self.manifest.get("run") or {}

    @property
    def verdicts(self) -> dict[str, str]:
        """check id -> verdict, from results.json."""
        if self._verdicts is None:
            try:
                checks = json.loads((self.folder / "results.json").read_text()).get("checks", [])
            except (OSError, ValueError, AttributeError):
                checks = []
            self._verdicts = {c.get("id"): c.get("verdict") for c in checks if isinstance(c, dict) and c.get("id")}
        return self._verdicts


def suite_of(name: str) -> str:
    """`20261122T060000Z-daily.1` was a run of `daily`."""
    rest = name.split("-", 1)[1] if "-" in name else name
    head, _, tail = rest.rpartition(".")
    return head if head and tail.isdigit() else rest


def _order(folder: Path) -> tuple[str, int]:
    head, _, tail = folder.name.rpartition(".")
    return (head, int(tail)) if head and tail.isdigit() else (folder.name, 0)


def sealed_runs(reports_dir: Path, suite: str | None = None, exclude: Path | None = None) -> list[PastRun]:
    """Sealed runs (of `suite`, or all), oldest first (folder names start with the UTC start time)."""
    try:
        folders = [p for p in Path(reports_dir).iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
    except OSError:
        return []
    runs = []
    for folder in sorted(folders, key=_order):
        if exclude is not None and folder.name == exclude.name:
            continue
        if suite is not None and suite_of(folder.name) != suite:
            continue
        if (folder / MANIFEST).is_file():
            runs.append(PastRun(folder))
    return runs


def check_history(reports_dir: Path, suite: str, exclude: Path, limit: int = 10) -> list[PastRun]:
    """The last `limit` earlier sealed runs of the suite, oldest first."""
    return sealed_runs(reports_dir, suite, exclude)[-limit:]
