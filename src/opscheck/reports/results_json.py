"""results.json: every measurement of the run, the record other tools build on."""

from __future__ import annotations

import json
from pathlib import Path

from opscheck.redact import redact_data
from opscheck.reports.folder import write_atomic
from opscheck.reports.run import Run

FILENAME = "results.json"


def write(run: Run, folder: Path) -> Path:
    document = {"run": run.meta(), "checks": run.checks}
    path = folder / FILENAME
    write_atomic(path, json.dumps(redact_data(document), indent=1, default=str).encode() + b"\n")
    return path
