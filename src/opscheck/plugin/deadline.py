"""The run's overall deadline: checks not measured in time are UNKNOWN, never missing.

A cron run must end before the next one starts. After `--deadline` every check
whose measurement is not finished is recorded as UNKNOWN ("not run: deadline of
10m reached") without running, so the reports stay complete; a check whose probe
finished (prefetched while an earlier check hung) is still judged: that costs no
time and throws nothing measured away. A check still running is cut by
pytest-timeout, whose per-check limit is shortened to the time left. The deadline
is a wall-clock instant, handed to xdist workers so that all of them share it.
"""

from __future__ import annotations

import atexit
import os
import sys
import time

import pytest

from opscheck.errors import Unmeasurable
from opscheck.measurement import Measurement
from opscheck.plugin.collection import SEVERITY, targets_of
from opscheck.result import Result
from opscheck.units import parse_seconds
from opscheck.verdict import DEFAULT_SEVERITY, Verdict

WORKER_KEY = "opscheck_deadline"
AT_ENV = "OPSCHECK_DEADLINE_AT"  # set by `opscheck run` (runner.invoke): the instant, counted from its start
# Under `opscheck run`, checks stop this long before the deadline: writing the reports, exiting and
# the runner's summary fit in it (0.3-0.6 s measured on the 2-core CI machine at load 7).
RESERVE_S = 0.5
CUT_AFTER_S = 0.05  # a running check is cut this long after the deadline: the next ones must find it passed
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
    seconds = parse_deadline(text)
    spawned_at = os.environ.get(AT_ENV)
    if spawned_at:
        return Deadline(float(spawned_at) - RESERVE_S, text, fast_exit=True)
    return Deadline(time.time() + seconds, text)


class Deadline:
    def __init__(self, at: float, text: str, fast_exit: bool = False) -> None:
        self.at = at
        self.text = text
        self.message = f"not run: deadline of {label(text)} reached"
        self.fast_exit = fast_exit
        self.session: pytest.Session | None = None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Past the deadline, in `opscheck run`'s own pytest process: reports are written, so exit now.

        The interpreter's teardown (module and thread finalisation) costs most of a second on a busy
        machine, and a probe thread still hung in a socket read is nothing left to wait for.
        """
        if not self.fast_exit or self.session is None or time.time() < self.at:
            return
        if getattr(config, "workerinput", None) is not None:
            return  # an xdist worker: its controller decides when the run ends
        status = int(self.session.exitstatus)
        atexit._run_exitfuncs()  # connections closed politely, as at a normal exit
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)

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
                item.add_marker(pytest.mark.timeout(left + CUT_AFTER_S))
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
        from opscheck.measuring import finished
        from opscheck.plugin import outcomes
        from opscheck.plugin.collection import is_check

        __tracebackhide__ = True
        if is_check(item):
            targets = targets_of(item)
            if targets and all(finished(t) for t in targets):
                return
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
