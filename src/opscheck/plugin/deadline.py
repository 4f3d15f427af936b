"""The run's overall deadline: checks not started in time are UNKNOWN, never missing.

A cron run must end before the next one starts. After `--deadline` every check
not yet started is recorded as UNKNOWN ("not run: deadline of 10m reached")
without running, so the reports stay complete; a check still running is cut by
pytest-timeout, whose per-check limit is shortened to the time left. The deadline
is a wall-clock instant, handed to xdist workers so that all of them share it.
"""

from __future__ import annotations

import math
import time

import pytest

from opscheck.errors import Unmeasurable
from opscheck.measurement import Measurement
from opscheck.plugin.collection import SEVERITY, targets_of
from opscheck.result import Result
from opscheck.units import parse_seconds
from opscheck.verdict import DEFAULT_SEVERITY, Verdict

WORKER_KEY = "opscheck_deadline"
CUT = pytest.StashKey[bool]()


class DeadlineReached(Unmeasurable):
    """The run's deadline passed before this check started."""


def parse_deadline(text: str) -> float:
    """`90s`, `10m`, `1h`, or a bare number of seconds."""
    try:
        seconds = parse_seconds(text)
    except ValueError as exc:
        raise pytest.UsageError(f"--deadline: {exc}") from None
    if seconds <= 0:
        raise pytest.UsageError(f"--deadline: expected a positive duration, found {text!r}")
    return seconds


def label(text: str) -> str:
    try:
        return f"{float(text):g}s"
    except ValueError:
        return text


def plugin_for(config: pytest.Config) -> Deadline | None:
    """The deadline plugin for this process, or None when the run has no deadline."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and WORKER_KEY in workerinput:
        at, text = workerinput[WORKER_KEY]
        return Deadline(at, text)
    text = config.getoption("deadline", None)
    if not text:
        return None
    return Deadline(time.time() + parse_deadline(text), text)


class Deadline:
    def __init__(self, at: float, text: str) -> None:
        self.at = at
        self.text = text
        self.message = f"not run: deadline of {label(text)} reached"

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        node.workerinput[WORKER_KEY] = (self.at, self.text)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem):
        # Before pytest-timeout reads the item's limit: a check may not outlive the run.
        left = self.at - time.time()
        if left > 0 and _has_timeout_plugin(item.config):
            current = _timeout_of(item)
            if not current or left < current:
                # Fire just after the deadline, never before it: the next checks must find it passed.
                item.add_marker(pytest.mark.timeout(math.ceil(left * 10) / 10 + 0.2))
                item.stash[CUT] = True
        return (yield)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        record = getattr(report, "opscheck", None)
        if item.stash.get(CUT, False) and record and record.get("verdict") == "UNKNOWN" and "Timeout" in str(record.get("summary")):
            record["summary"] = f"cut: deadline of {label(self.text)} reached while it ran"
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if time.time() < self.at:
            return
        from opscheck.plugin import outcomes
        from opscheck.plugin.collection import is_check

        __tracebackhide__ = True
        if is_check(item):
            targets = targets_of(item)
            target = targets[0] if targets else None
            subject = target.id if target else item.name
            severity = item.stash.get(SEVERITY, None) or DEFAULT_SEVERITY.value
            measurement = Measurement(target=target, subject=subject, error=self.message)
            item.stash[outcomes.RESULT] = Result(Verdict.UNKNOWN, self.message, measurement, severity)
        raise DeadlineReached(self.message)


def _has_timeout_plugin(config: pytest.Config) -> bool:
    # Its entry-point name when autoloaded, its module name when loaded with `-p` (opscheck run).
    return any(config.pluginmanager.hasplugin(name) for name in ("timeout", "pytest_timeout"))


def _timeout_of(item: pytest.Item) -> float | None:
    marker = item.get_closest_marker("timeout")
    if marker is not None:
        value = marker.args[0] if marker.args else marker.kwargs.get("timeout")
    else:
        value = item.config.getoption("timeout", None) or item.config.getini("timeout")
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
