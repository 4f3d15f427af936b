"""metrics.prom: the run in Prometheus text format, for node_exporter's textfile collector.

Naming follows Prometheus' conventions so alert rules need no glue:
- a check's state is one series whose *value* changes (0 OK, 1 WARN, 2 CRIT,
  3 UNKNOWN, 4 WAIVED), never a `verdict` label, which would make the series
  change identity with the state and break `changes()` and `for:`;
- values are in base units named in the metric: `_seconds` (durations, days
  left included), `_bytes`, `_ratio` (percentages / 100); other counts keep
  their unit as a label;
- a certificate's expiry is a Unix timestamp, as blackbox_exporter's
  `probe_ssl_earliest_cert_expiry`, so `... - time() < 86400 * 7` works;
- `+Inf`, `-Inf` and `NaN` are spelled as Prometheus spells them.

Written atomically (temporary file in the same folder, then rename), because the
collector may read at any moment; no sample timestamps, as the collector requires.
`promtool check metrics` accepts the file (tests/test_metrics_prom.py).
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

from opscheck.redact import redact
from opscheck.reports.folder import write_atomic
from opscheck.reports.run import VERDICTS, Run
from opscheck.reports.words import overall_state

FILENAME = "metrics.prom"
STATE_CODES = {"OK": 0, "WARN": 1, "CRIT": 2, "UNKNOWN": 3, "WAIVED": 4}
# unit -> (metric suffix, factor to the base unit)
BASE_UNITS = {
    "s": ("seconds", 1.0),
    "ms": ("seconds", 0.001),
    "days": ("seconds", 86400.0),
    "B": ("bytes", 1.0),
    "%": ("ratio", 0.01),
}


def write(run: Run, folder: Path) -> Path:
    path = folder / FILENAME
    write_atomic(path, render(run).encode())
    return path


def render(run: Run) -> str:
    base = {"suite": run.suite, "environment": run.environment}
    lines: list[str] = []

    def family(name: str, help_text: str, samples: list[tuple[dict, float]], kind: str = "gauge") -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(f"{name}{_labels({**base, **labels})} {number(value)}" for labels, value in samples)

    states: list = []
    durations: list = []
    values: dict[str, list] = {}
    expiries: list = []
    for check in run.checks:
        labels = {"id": check["id"], "check": check.get("check") or "", "target": check.get("target") or "", "severity": check.get("severity") or ""}
        states.append((labels, STATE_CODES.get(check["verdict"], 3)))
        if check.get("duration_s") is not None:
            durations.append((labels, float(check["duration_s"])))
        value = check.get("value")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            unit = check.get("unit") or ""
            if unit in BASE_UNITS:
                suffix, factor = BASE_UNITS[unit]
                values.setdefault(suffix, []).append((labels, float(value) * factor))
            else:
                values.setdefault("", []).append(({**labels, "unit": unit}, float(value)))
        expiry = earliest_expiry(check.get("evidence"))
        if expiry is not None:
            expiries.append((labels, expiry))
    family("opscheck_check_state", "Verdict of each check: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN, 4 WAIVED.", states)
    family("opscheck_check_duration_seconds", "How long each check's probe took.", durations)
    helps = {
        "seconds": "Measured value of each check whose unit is time (latency, age, days left), in seconds.",
        "bytes": "Measured value of each check whose unit is a size, in bytes.",
        "ratio": "Measured value of each check whose unit is a percentage, as a ratio 0..1.",
        "": "Measured value of each check counted in other units (messages, files, ...), named in the unit label.",
    }
    for suffix in ("seconds", "bytes", "ratio", ""):
        if values.get(suffix):
            name = "opscheck_check_value" + (f"_{suffix}" if suffix else "")
            family(name, helps[suffix], values[suffix])
    if expiries:
        family("opscheck_check_cert_earliest_expiry_timestamp_seconds", "When the certificate of the chain that expires first does (Unix time), as blackbox_exporter's probe_ssl_earliest_cert_expiry.", expiries)
    counts = run.counts()
    family("opscheck_run_checks", "Checks of the run per verdict.", [({"verdict": v}, counts.get(v, 0)) for v in VERDICTS])
    family("opscheck_run_state", "Overall state of the run: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN.", [({}, STATE_CODES[overall_state(counts)])])
    family("opscheck_run_timestamp_seconds", "When the run started (Unix time).", [({}, run.started.timestamp())])
    duration = (run.finished - run.started).total_seconds() if run.finished else 0.0
    family("opscheck_run_duration_seconds", "How long the run took.", [({}, duration)])
    return "\n".join(lines) + "\n"


def earliest_expiry(evidence) -> float | None:
    """The earliest `not_after` of a TLS probe's chain (or a certificate file's), as Unix time."""
    if not isinstance(evidence, dict):
        return None
    chain = evidence.get("chain") or evidence.get("certificates")
    if not isinstance(chain, list):
        return None
    stamps = []
    for cert in chain:
        text = cert.get("not_after") if isinstance(cert, dict) else None
        if not isinstance(text, str):
            continue
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            continue
        stamps.append(moment.timestamp())
    return min(stamps) if stamps else None


def _labels(labels: dict[str, str]) -> str:
    inner = ",".join(f'{key}="{_escape(redact(str(value)))}"' for key, value in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def number(value: float) -> str:
    """Prometheus' spelling: `+Inf`, `-Inf`, `NaN`; integers without a trailing `.0`."""
    if isinstance(value, bool):
        return "1" if value else "0"
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
