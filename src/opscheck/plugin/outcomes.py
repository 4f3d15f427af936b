"""Verdicts onto pytest outcomes: OK passed, WARN passed-but-warned, CRIT failed, UNKNOWN error.

pytest has no third outcome, and a custom `report.outcome` drops the test from
JUnit XML and breaks pytest-html, so WARN stays *passed* and travels as the
`verdict` user property and the `report.opscheck` record (which xdist carries
from workers to the controller like any other report attribute).
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from opscheck import recording
from opscheck.errors import CheckFailed, TargetDown, Unmeasurable
from opscheck.judging import evaluate
from opscheck.measurement import Measurement
from opscheck.measuring import measure
from opscheck.plugin import waivers
from opscheck.plugin.collection import SEVERITY, targets_of
from opscheck.redact import redact
from opscheck.result import Result
from opscheck.verdict import DEFAULT_SEVERITY, Verdict

RESULT = pytest.StashKey[Result]()
WARNED = ("warned", "W", ("WARN", {"yellow": True}))


def setup_measurements(item: pytest.Item) -> None:
    """Measure the item's targets during setup, so "could not measure" is a pytest *error*."""
    __tracebackhide__ = True
    recording.set_sink(lambda result: _store(item, result))
    for target in targets_of(item):
        m = measure(target)
        if m.error is not None and not m.down:
            result = _store(item, evaluate(m))
            raise Unmeasurable(result.summary)


def teardown(item: pytest.Item) -> None:
    recording.set_sink(None)


def make_report(item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport) -> None:
    if report.when == "setup" and report.passed:
        return
    if report.when == "teardown" and (report.passed or RESULT in item.stash):
        return
    result = item.stash.get(RESULT, None)
    if result is None or (report.when == "call" and report.failed and call.excinfo and not call.excinfo.errisinstance((CheckFailed, Unmeasurable))):
        result = _store(item, _from_outcome(item, call, report))
    fail_on = item.config.getoption("fail_on")
    if result.verdict is Verdict.WARN and fail_on == "warn" and report.passed:
        report.outcome = "failed"
        report.longrepr = f"WARN (--fail-on=warn): {result.summary}"
    if call.excinfo is not None and call.excinfo.errisinstance((CheckFailed, Unmeasurable)):
        # The check's source line says nothing an SRE needs; the verdict, summary and evidence do.
        report.longrepr = failure_text(result)
    result = waivers.apply(item, result, report)
    record = result.to_dict()
    record["id"] = item.nodeid
    report.opscheck = record
    for name, value in (("verdict", result.verdict.value), ("severity", result.severity)):
        if (name, value) not in item.user_properties:
            item.user_properties.append((name, value))
            report.user_properties.append((name, value))


def failure_text(result: Result, evidence_lines: int = 20) -> str:
    text = f"{result.verdict.value}: {result.summary}"
    record = result.to_dict()
    if record.get("runbook"):
        text += f"\nrunbook: {record['runbook']}"
    evidence = record["evidence"]
    if evidence:
        if not isinstance(evidence, str):
            evidence = json.dumps(evidence, indent=1, default=str)
        lines = evidence.splitlines()
        more = f"\n  ... {len(lines) - evidence_lines} more lines in the report" if len(lines) > evidence_lines else ""
        text += "\nevidence:\n" + "\n".join("  " + line for line in lines[:evidence_lines]) + more
    return text


def report_status(report: pytest.TestReport):
    record = getattr(report, "opscheck", None)
    if not record or report.when not in ("setup", "call"):
        return None
    verdict = record.get("verdict")
    if report.when == "call" and report.passed and verdict == "WARN":
        return WARNED
    if report.when == "call" and report.failed and verdict == "UNKNOWN":
        return "error", "E", "ERROR"
    return None


def _store(item: pytest.Item, result: Result) -> Result:
    severity = item.stash.get(SEVERITY, None) or result.severity or DEFAULT_SEVERITY.value
    result = dataclasses.replace(result, severity=severity)
    item.stash[RESULT] = result
    return result


def _from_outcome(item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport) -> Result:
    """A result for a check that did not call `judge` (plain asserts), or that crashed."""
    targets = targets_of(item)
    target = targets[0] if targets else None
    check = getattr(item, "originalname", item.name).removeprefix("test_").replace("_", " ")
    if report.passed:
        verdict, summary = Verdict.OK, "passed"
    else:
        message = _crash_message(call, report)
        if call.excinfo is not None and call.excinfo.errisinstance((AssertionError, TargetDown)):
            verdict = Verdict.CRIT
        else:
            verdict = Verdict.UNKNOWN
        summary = message
    m = Measurement(target=target, subject=target.id if target else check)
    if target is None:
        m = dataclasses.replace(m, target=None)
    return Result(verdict, redact(summary), m, item.stash.get(SEVERITY, DEFAULT_SEVERITY.value))


def _crash_message(call: pytest.CallInfo, report: pytest.TestReport) -> str:
    if call.excinfo is not None:
        text = call.excinfo.exconly().strip().splitlines()
        return text[0][:500] if text else call.excinfo.typename
    return str(report.longrepr).strip().splitlines()[-1][:500] if report.longrepr else "failed"
