"""What a finished run says: exit code, cron-mail text and the Nagios line, from results.json.

Cron mails whatever a job prints, so the text is short: one summary line, then
only the checks that need a look (worst first) with their one-line summaries,
then where the report is.
"""

from __future__ import annotations

import json
from pathlib import Path

from opscheck.runner import exitcodes

# Worst first; WAIVED is counted but not listed: it was looked at and signed off.
LISTED = ("CRIT", "UNKNOWN", "WARN")
COUNT_ORDER = ("CRIT", "UNKNOWN", "WARN", "WAIVED")


def load_results(folder: Path) -> dict:
    return json.loads((Path(folder) / "results.json").read_text())


def counts_of(results: dict) -> dict[str, int]:
    counts = {v: 0 for v in ("OK", "WARN", "CRIT", "UNKNOWN", "WAIVED")}
    for check in results.get("checks", []):
        counts[check["verdict"]] = counts.get(check["verdict"], 0) + 1
    return counts


def short_id(check_id: str) -> str:
    """`checks/test_system.py::test_disk_usage[app:/]` reads as `test_disk_usage[app:/]`."""
    return check_id.split("::", 1)[-1]


def counts_text(counts: dict[str, int]) -> str:
    parts = [f"{counts[v]} {v.lower()}" for v in COUNT_ORDER if counts.get(v)]
    parts.append(f"{counts.get('OK', 0)} ok")
    return ", ".join(parts)


def report_location(folder: Path, report_url: str | None = None) -> str:
    folder = Path(folder)
    name = "report.html" if (folder / "report.html").exists() else ""
    if report_url:
        return f"{report_url.rstrip('/')}/{folder.name}/{name}"
    return str(folder / name) if name else f"{folder}/"


def duration_of(results: dict) -> float:
    return float(results.get("run", {}).get("duration_s") or 0.0)


def run_state(counts: dict[str, int], exit_code: int) -> str:
    """The run's worst verdict; UNKNOWN too when the run itself ended abnormally."""
    for verdict in ("CRIT", "UNKNOWN", "WARN"):
        if counts.get(verdict):
            state = verdict
            break
    else:
        state = "OK"
    if exit_code == exitcodes.UNKNOWN and state in ("OK", "WARN"):
        return "UNKNOWN"
    if exit_code == exitcodes.CRIT and state == "OK":
        return "CRIT"  # failures outside the checks
    return state


def cron_text(results: dict, folder: Path, exit_code: int, report_url: str | None = None, reports: bool = True) -> list[str]:
    run = results.get("run", {})
    counts = counts_of(results)
    state = run_state(counts, exit_code)
    environment = f" on {run['environment']}" if run.get("environment") else ""
    lines = [
        f"opscheck {run.get('suite', '')}{environment}: {state} - {counts_text(counts)} in {duration_of(results):.1f}s"
    ]
    problems = [c for c in results.get("checks", []) if c["verdict"] in LISTED]
    problems.sort(key=lambda c: LISTED.index(c["verdict"]))
    for check in problems:
        lines.append(f"  {check['verdict']:<7} [{check.get('severity') or '-'}] {short_id(check['id'])}: {check.get('summary', '')}")
        if check.get("runbook"):
            lines.append(f"          runbook: {check['runbook']}")
    if reports:
        lines.append(f"report: {report_location(folder, report_url)}")
    return lines


def manifest_line(folder: Path) -> str:
    """`manifest sha256 <hex> <run>`: the anchor to keep outside the box (docs/reports.md)."""
    from opscheck.reports.manifest import FILENAME, sha256_file

    try:
        return f"manifest sha256 {sha256_file(Path(folder) / FILENAME)} {Path(folder).name}"
    except OSError as exc:
        return f"manifest: none for {Path(folder).name} ({exc.strerror}): the run was not sealed"


def waiver_lines(results: dict) -> list[str]:
    """Waivers that no longer do anything (expired, or matching no check) belong in the mail."""
    lines = []
    for waiver in results.get("run", {}).get("waivers") or []:
        if waiver.get("status") == "expired":
            lines.append(f"waiver {waiver.get('id')!r}: expired {waiver.get('expires', '')}".rstrip() + ": renew or remove it")
        elif waiver.get("status") == "stale":
            lines.append(f"waiver {waiver.get('id')!r}: stale (matches no check): remove it")
    return lines


def retention_lines(folder: Path) -> list[str]:
    from opscheck.reports.manifest import read

    document = read(Path(folder)) or {}
    return [f"pruned old run {p.get('run')} (manifest sha256 {p.get('manifest_sha256')})" for p in document.get("pruned") or []]


def nagios_line(results: dict) -> tuple[str, int]:
    """`OPSCHECK CRITICAL - 1 crit, 2 warn, 40 ok | ok=40 warn=2 crit=1 unknown=0 duration=3.2s`."""
    counts = counts_of(results)
    state = exitcodes.nagios_state(counts)
    perf = (
        f"ok={counts['OK']} warn={counts['WARN']} crit={counts['CRIT']} unknown={counts['UNKNOWN']}"
        + (f" waived={counts['WAIVED']}" if counts.get("WAIVED") else "")
        + f" duration={duration_of(results):.1f}s"
    )
    return f"OPSCHECK {state} - {counts_text(counts)} | {perf}", exitcodes.NAGIOS[state]


# Nagios plugin UOMs; other units (messages, files, days) are plain numbers.
PERF_UNITS = {"s": "s", "ms": "ms", "%": "%", "B": "B"}


def nagios_output(results: dict) -> tuple[str, int]:
    """The plugin line, then the non-OK checks one per line (long output), then per-check perfdata.

    As the Nagios plugin API has it: text after the first `|` of a later line is
    perfdata, one `'label'=value[UOM];warn;crit;min;max` per line.
    """
    line, code = nagios_line(results)
    checks = results.get("checks", [])
    problems = sorted((c for c in checks if c["verdict"] in LISTED), key=lambda c: LISTED.index(c["verdict"]))
    lines = [line]
    lines += [f"{c['verdict']} [{c.get('severity') or '-'}] {short_id(c['id'])}: {' '.join(str(c.get('summary') or '').split())}".replace("|", "/") for c in problems]
    perf = [p for p in (perfdata(c) for c in checks) if p]
    if perf:
        lines.append("| " + perf[0])
        lines += perf[1:]
    return "\n".join(lines), code


def perfdata(check: dict) -> str | None:
    """`'test_disk_usage[app:/]'=91.2%;80;90;0;100`; thresholds as Nagios ranges (`30:` = alert below 30)."""
    value = check.get("value")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value or value in (float("inf"), float("-inf")):
        return None
    unit = check.get("unit") or ""
    uom = PERF_UNITS.get(unit, "")
    label = short_id(check["id"]).replace("'", "_").replace("=", "_")
    below = check.get("direction") == "below"

    def limit(threshold) -> str:
        if threshold is None:
            return ""
        return f"{_num(threshold)}:" if below else _num(threshold)

    bounds = ("0", "100") if unit == "%" else ("", "")
    fields = [f"{_num(value)}{uom}", limit(check.get("warn")), limit(check.get("crit")), *bounds]
    return f"'{label}'=" + ";".join(fields).rstrip(";")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def nagios_error(message: str) -> tuple[str, int]:
    """A run that produced no verdicts is UNKNOWN to Nagios, with the reason on the same line."""
    return f"OPSCHECK UNKNOWN - {' '.join(message.split())}", exitcodes.NAGIOS["UNKNOWN"]
