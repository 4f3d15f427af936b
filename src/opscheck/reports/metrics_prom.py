"""metrics.prom: the run in Prometheus text format, for node_exporter's textfile collector.

Written atomically (temporary file in the same folder, then rename), because the
collector may read at any moment; no sample timestamps, as the collector requires.
"""

from __future__ import annotations

from pathlib import Path

from opscheck.redact import redact
from opscheck.reports.folder import write_atomic
from opscheck.reports.run import VERDICTS, Run

FILENAME = "metrics.prom"
STATE_CODES = {"OK": 0, "WARN": 1, "CRIT": 2, "UNKNOWN": 3, "WAIVED": 4}


def write(run: Run, folder: Path) -> Path:
    path = folder / FILENAME
    write_atomic(path, render(run).encode())
    return path


def render(run: Run) -> str:
    base = {"suite": run.suite, "environment": run.environment}
    lines: list[str] = []

    def family(name: str, help_text: str, samples: list[tuple[dict, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        lines.extend(f"{name}{_labels({**base, **labels})} {_number(value)}" for labels, value in samples)

    states, values = [], []
    for check in run.checks:
        labels = {"id": check["id"], "check": check.get("check") or "", "target": check.get("target") or "", "severity": check.get("severity") or ""}
        states.append(({**labels, "verdict": check["verdict"]}, STATE_CODES.get(check["verdict"], 3)))
        value = check.get("value")
        if isinstance(value, (int, float)):
            values.append(({**labels, "unit": check.get("unit") or ""}, float(value)))
    family("opscheck_check_state", "Verdict of each check: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN, 4 WAIVED.", states)
    family("opscheck_check_value", "Measured value of each check, in the unit of its unit label.", values)
    counts = run.counts()
    family("opscheck_run_checks", "Checks of the run per verdict.", [({"verdict": v}, counts.get(v, 0)) for v in VERDICTS])
    family("opscheck_run_timestamp_seconds", "When the run started (Unix time).", [({}, run.started.timestamp())])
    duration = (run.finished - run.started).total_seconds() if run.finished else 0.0
    family("opscheck_run_duration_seconds", "How long the run took.", [({}, duration)])
    return "\n".join(lines) + "\n"


def _labels(labels: dict[str, str]) -> str:
    inner = ",".join(f'{key}="{_escape(redact(str(value)))}"' for key, value in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))
