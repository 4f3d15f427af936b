"""What a run would do: every check id with its schedules, severity and target, nothing measured.

`opscheck inventory list` and `opscheck run SUITE --dry-run` ask pytest itself
(`--collect-only` with the suite's plugins), so the list is exactly what a run of
that suite would select, severities settled the same way. This module is also the
small pytest plugin (`-p opscheck.cli.listing`) that writes the rows, as JSON lines,
to the file named by OPSCHECK_LIST_OUT.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SCHEDULES = ("daily", "weekly", "monthly", "quarterly", "smoke")


def pytest_collection_finish(session) -> None:
    out = os.environ.get("OPSCHECK_LIST_OUT")
    if not out:
        return
    from opscheck.plugin.collection import SEVERITY, targets_of

    with open(out, "w", encoding="utf-8") as sink:
        for item in session.items:
            targets = targets_of(item)
            target = targets[0] if targets else None
            row = {
                "id": item.nodeid,
                "schedules": sorted({m.name for m in item.iter_markers() if m.name in SCHEDULES}, key=SCHEDULES.index),
                "severity": item.stash.get(SEVERITY, "medium"),
                "target": target.id if target else "",
                "host": target.host.name if target is not None and target.host is not None else "",
            }
            sink.write(json.dumps(row) + "\n")


def collect(suite_dir: Path, inventory: Path, markexpr: str | None, severity: str | None = None) -> tuple[int, list[dict], str]:
    """(pytest exit code, rows, pytest's output) for the checks `markexpr` selects."""
    from opscheck.runner.invoke import SUITE_PLUGINS

    with tempfile.NamedTemporaryFile(prefix="opscheck-list-", suffix=".jsonl", delete=False) as handle:
        out = handle.name
    argv = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    argv += [arg for module in (*SUITE_PLUGINS, "opscheck.cli.listing") for arg in ("-p", module)]
    argv += [f"--inventory={inventory}", "--no-reports"]
    if markexpr:
        argv += ["-m", markexpr]
    if severity:
        argv.append(f"--severity={severity}")
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "OPSCHECK_LIST_OUT": out}
    try:
        done = subprocess.run(argv, cwd=suite_dir, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        rows = [json.loads(line) for line in Path(out).read_text(encoding="utf-8").splitlines() if line.strip()]
    finally:
        Path(out).unlink(missing_ok=True)
    return done.returncode, rows, done.stdout + done.stderr


def table(rows: list[dict]) -> list[str]:
    """Aligned lines: check id, schedules, severity, target."""
    header = {"id": "CHECK", "schedules": "SCHEDULES", "severity": "SEVERITY", "target": "TARGET"}
    cells = [header] + [{**r, "schedules": ",".join(r["schedules"]) or "-"} for r in rows]
    widths = {k: max(len(str(c[k])) for c in cells) for k in ("id", "schedules", "severity")}
    return [
        f"{c['id']:<{widths['id']}}  {c['schedules']:<{widths['schedules']}}  {c['severity']:<{widths['severity']}}  {c['target']}".rstrip()
        for c in cells
    ]


def errors_of(output: str) -> list[str]:
    keep = ("ERROR", "E ", "error:")
    lines = [line.strip() for line in output.splitlines() if line.startswith(keep)]
    return lines[:20] or output.strip().splitlines()[-10:]
