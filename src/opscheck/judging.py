"""Judge a measurement: one call per check, whose failure message is the summary line."""

from __future__ import annotations

import dataclasses

from opscheck.errors import CheckFailed, Unmeasurable
from opscheck.measurement import Measurement
from opscheck.recording import record
from opscheck.result import Result
from opscheck.threshold import Threshold
from opscheck.units import format_size, format_value
from opscheck.verdict import DEFAULT_SEVERITY, Verdict


def judge(measurement: Measurement, threshold: Threshold | None = None) -> Result:
    """Judge, record, and raise on CRIT (failed) or UNKNOWN (error); WARN and OK return."""
    __tracebackhide__ = True
    result = record(evaluate(measurement, threshold))
    if result.verdict is Verdict.CRIT:
        raise CheckFailed(result.summary)
    if result.verdict is Verdict.UNKNOWN:
        raise Unmeasurable(result.summary)
    return result


def evaluate(measurement: Measurement, threshold: Threshold | None = None) -> Result:
    """The verdict and one-line summary of `measurement`, without side effects."""
    m = measurement
    target = m.target
    threshold = threshold or m.threshold or (target.threshold if target else None)
    severity = (target.severity if target else None) or DEFAULT_SEVERITY.value
    subject = m.subject or (target.id if target else "")

    if m.error is not None:
        verdict = Verdict.CRIT if m.down else Verdict.UNKNOWN
        error = _without_host(m.error, subject, target)
        summary = f"{subject}: {error}" if subject else error
        return Result(verdict, _with_notes(summary, m), m, severity)

    verdict = Verdict.OK
    parts: list[str] = []
    if m.value is not None and (threshold is not None or m.label):
        reading = f"{subject} {_shown(m.value, m.unit, threshold)}".strip()
        if m.label:
            reading += f" {m.label}"
        if threshold is not None and isinstance(m.value, (int, float)) and not isinstance(m.value, bool):
            verdict = threshold.judge(m.value)
            limits = threshold.describe()
            if limits:
                reading += f" ({limits})"
        parts.append(reading)
    elif subject:
        parts.append(subject)
    problems, warnings = list(m.problems), list(m.warnings)
    for reading in m.readings:
        past = reading.threshold.judge(reading.value)
        if past is Verdict.CRIT:
            problems.append(reading.message)
        elif past is Verdict.WARN:
            warnings.append(reading.message)
    if m.readings:
        # Reports list a check's problems and warnings: the judged readings are among them.
        m = dataclasses.replace(m, problems=tuple(problems), warnings=tuple(warnings))
    if warnings:
        verdict = max(verdict, Verdict.WARN, key=lambda v: v.rank)
    if problems:
        verdict = Verdict.CRIT
    issues = problems + warnings
    summary = parts[0] if parts else ""
    if issues:
        summary = f"{summary}: {'; '.join(issues)}" if summary else "; ".join(issues)
    elif not parts:
        summary = "ok"
    return Result(verdict, _with_notes(summary, m), m, severity)


def _without_host(error: str, subject: str, target) -> str:
    """A host's own error ("app-1: unreachable") under an id that names the host already says it once."""
    host = target.host.name if target is not None and target.host is not None else None
    if host and error.startswith(f"{host}: ") and (subject == host or subject.startswith(f"{host}:")):
        return error[len(host) + 2:]
    return error


def _shown(value, unit: str, threshold: Threshold | None) -> str:
    """The value as the summary prints it: rounded, but never onto a limit it is not equal to.

    The threshold judges the exact value; 80.04 % past warn 80 % must not read "80% (warn 80%)".
    """
    limits = (threshold.warn, threshold.crit) if threshold is not None else ()
    if unit == "B" and isinstance(value, (int, float)) and any(getattr(limit, "decimal", False) for limit in limits):
        return format_size(value, decimal=True)  # beside a limit written in GB, not in GiB
    text = format_value(value, unit)
    if threshold is None or unit not in ("%", "") or not isinstance(value, float):
        return text
    for limit in (threshold.warn, threshold.crit):
        if limit is not None and value != limit and text == format_value(limit, unit):
            for digits in range(2, 7):
                exact = f"{value:.{digits}f}".rstrip("0").rstrip(".")
                if exact != f"{limit:.{digits}f}".rstrip("0").rstrip("."):
                    return f"{exact}{unit}" if unit == "%" else exact
    return text


def _with_notes(summary: str, m: Measurement) -> str:
    return f"{summary} ({'; '.join(m.notes)})" if m.notes else summary
