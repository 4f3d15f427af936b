"""The state file of one suite: the last verdict of every check, and for how many runs.

Notifications are sent on change, so the runner must remember what the previous
run saw. One small JSON file per suite under `<reports dir>/.state/`, replaced
atomically; a missing or unreadable file means "no previous run" (everything not
OK is then new), never a failed run.
"""

from __future__ import annotations

import json
from pathlib import Path

from opscheck.reports.folder import write_atomic

STATE_DIR = ".state"


def state_path(reports_dir: Path, suite: str) -> Path:
    return Path(reports_dir) / STATE_DIR / f"{suite}.json"


def load(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (FileNotFoundError, ValueError, OSError):
        return {"runs": 0, "checks": {}}
    if not isinstance(data, dict) or not isinstance(data.get("checks"), dict):
        return {"runs": 0, "checks": {}}
    return data


def save(path: Path, state: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(state, indent=1, sort_keys=True).encode() + b"\n")
