"""Run the project's audit tool on the host and count its findings by severity.

The tool's exit code cannot tell "vulnerabilities found" from "could not audit"
(npm exits 1 for both), so the verdict comes from its JSON alone: a report with
counts is measured; anything else (no lockfile, registry unreachable, a
dependency the advisory service does not know) is UNKNOWN with the tool's own
words, never an empty, reassuring OK.
"""

from __future__ import annotations

import json
import shlex

from opscheck.errors import Unmeasurable
from opscheck.host import run
from opscheck.inventory.sections.audits import SEVERITIES, AuditItem
from opscheck.measurement import Measurement, Reading, Target
from opscheck.redact import redact

_NO_FOLDER, _NO_TOOL, _NO_FILE = "opscheck-no-folder", "opscheck-no-tool", "opscheck-no-file"
_SHOWN = 5  # offenders named per severity in the summary


def executable(item: AuditItem) -> str:
    return item.executable or item.program


def command(item: AuditItem) -> str:
    exe = shlex.quote(executable(item))
    steps = [
        f"cd -- {shlex.quote(item.path)} 2>/dev/null || {{ echo {_NO_FOLDER} >&2; exit 3; }}",
        f"command -v {exe} >/dev/null 2>&1 || {{ echo {_NO_TOOL} >&2; exit 3; }}",
    ]
    if item.program == "npm":
        steps.append(f"{exe} audit --json" + (" --omit=dev" if item.omit_dev else ""))
    else:
        req = shlex.quote(item.requirements)
        steps.append(f"[ -f {req} ] || {{ echo {_NO_FILE} >&2; exit 3; }}")
        # --disable-pip --no-deps: audit the pinned file as written; never build a venv or install on the host.
        steps.append(f"{exe} -r {req} --disable-pip --no-deps -f json --progress-spinner off")
    return "; ".join(steps)


def probe(target: Target) -> Measurement:
    item: AuditItem = target.spec
    cmd = command(item)
    result = run(target.host, cmd, target.timeout)
    where = f"{target.host.name}:{item.path}"
    exe = executable(item)
    if _NO_FOLDER in result.stderr:
        raise Unmeasurable(f"{item.program}: folder {item.path} does not exist on {target.host.name}")
    if _NO_TOOL in result.stderr:
        raise Unmeasurable(f"{exe} is not installed on {target.host.name} (or not on the PATH of sh; set executable:)")
    if _NO_FILE in result.stderr:
        raise Unmeasurable(f"pip-audit: no {item.requirements} in {where}")
    parse = npm_counts if item.program == "npm" else pip_audit_counts
    counts, findings, notes = parse(result.stdout, result.stderr)
    return measurement(item, counts, findings, notes, cmd)


def measurement(item: AuditItem, counts: dict[str, int], findings: list[dict], notes: list[str], cmd: str) -> Measurement:
    readings = []
    for severity, limits in item.limits().items():
        if severity == "total":
            continue  # the measured value itself
        named = [f["package"] for f in findings if f["severity"] == severity]
        shown = ", ".join(named[:_SHOWN]) + (f" and {len(named) - _SHOWN} more" if len(named) > _SHOWN else "")
        threshold = limits.threshold()
        message = f"{counts.get(severity, 0)} {severity}" + (f": {shown}" if shown else "") + f" ({threshold.describe()})"
        readings.append(Reading(counts.get(severity, 0), threshold, message))
    # npm counts vulnerable packages (each at its worst advisory); pip-audit lists advisories.
    subject = f"npm audit {item.path}" if item.program == "npm" else f"pip-audit {item.path}/{item.requirements}"
    return Measurement(
        value=counts["total"], subject=subject, label="vulnerable packages" if item.program == "npm" else "vulnerabilities",
        readings=tuple(readings), warnings=tuple(notes),
        evidence={"counts": counts, "findings": findings[:100], "command": redact(cmd)},
    )


def _json(stdout: str, stderr: str, tool: str):
    try:
        return json.loads(stdout)
    except ValueError:
        lines = [line.strip() for line in (stderr or stdout).splitlines() if line.strip()]
        said = lines[-1] if lines else "no output"
        raise Unmeasurable(f"{tool} failed: {redact(said)[:300]}") from None


def npm_counts(stdout: str, stderr: str) -> tuple[dict[str, int], list[dict], list[str]]:
    """`npm audit --json` (report version 2, npm 7+, or npm 6's advisories) -> counts, offenders."""
    report = _json(stdout, stderr, "npm audit")
    if not isinstance(report, dict):
        raise Unmeasurable(f"npm audit printed no report: {stdout[:200]!r}")
    metadata = (report.get("metadata") or {}).get("vulnerabilities")
    if not isinstance(metadata, dict):
        # {"error": {code, summary, detail}} (no lockfile), or {"message": ...} (the registry refused or is unreachable)
        error = report.get("error") if isinstance(report.get("error"), dict) else {}
        said = error.get("summary") or report.get("message") or error.get("detail") or "no vulnerability counts in its report"
        code = f"{error['code']}: " if error.get("code") else ""
        raise Unmeasurable(f"npm audit failed: {code}{redact(str(said)).strip()[:300]}")
    counts = {s: int(metadata.get(s, 0)) for s in SEVERITIES}
    counts["total"] = int(metadata.get("total", sum(counts.values())))
    findings = []
    for name, vuln in (report.get("vulnerabilities") or {}).items():
        via = [v for v in vuln.get("via", []) if isinstance(v, dict)]
        findings.append({"package": name, "severity": vuln.get("severity"), "range": vuln.get("range"),
                         "advisories": [v.get("url") or v.get("title") for v in via], "fix_available": bool(vuln.get("fixAvailable"))})
    for advisory in (report.get("advisories") or {}).values():  # npm 6
        findings.append({"package": advisory.get("module_name"), "severity": advisory.get("severity"),
                         "range": advisory.get("vulnerable_versions"), "advisories": [advisory.get("url")],
                         "fix_available": bool(advisory.get("patched_versions"))})
    order = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    findings.sort(key=lambda f: (order.get(f["severity"], 9), f["package"] or ""))
    return counts, findings, []


def pip_audit_counts(stdout: str, stderr: str) -> tuple[dict[str, int], list[dict], list[str]]:
    """`pip-audit -f json` -> counts (all unrated), offenders; dependencies it skipped are said, never passed over."""
    report = _json(stdout, stderr, "pip-audit")
    deps = report.get("dependencies") if isinstance(report, dict) else report  # the list is pip-audit < 2.5's format
    if not isinstance(deps, list):
        raise Unmeasurable(f"pip-audit printed no dependency list: {stdout[:200]!r}")
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = [d for d in deps if "vulns" in d]
    if not audited:
        reason = skipped[0]["skip_reason"] if skipped else "the requirements list no dependency"
        raise Unmeasurable(f"pip-audit audited no dependency ({len(skipped)} skipped): {redact(reason)[:300]}")
    findings = [
        {"package": f"{d['name']} {d.get('version', '')}".strip(), "severity": "unrated", "id": v.get("id"),
         "aliases": v.get("aliases", []), "fix_versions": v.get("fix_versions", [])}
        for d in audited for v in d["vulns"]
    ]
    notes = []
    if skipped:
        names = ", ".join(d["name"] for d in skipped[:_SHOWN]) + (f" and {len(skipped) - _SHOWN} more" if len(skipped) > _SHOWN else "")
        notes.append(f"{len(skipped)} not audited: {names} ({skipped[0]['skip_reason'].split(':')[0]})")
    counts = {s: 0 for s in SEVERITIES} | {"unrated": len(findings), "total": len(findings)}
    return counts, findings, notes
