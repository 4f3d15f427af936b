"""`opscheck run --nagios`: one plugin line with perfdata, and Nagios exit codes 0/1/2/3."""

from __future__ import annotations

import re

import pytest
from runner_support import RunnerSuite

from opscheck.runner.lock import RunLock
from opscheck.runner.outcome import nagios_error, nagios_line

LINE = re.compile(
    r"^OPSCHECK (?P<state>OK|WARNING|CRITICAL|UNKNOWN) - (?P<text>[^|]+) \| "
    r"ok=(?P<ok>\d+) warn=(?P<warn>\d+) crit=(?P<crit>\d+) unknown=(?P<unknown>\d+) duration=\d+\.\ds$"
)


def _results(duration=3.2, **counts):
    checks = [{"id": f"c::{v}{i}", "verdict": v} for v, n in counts.items() for i in range(n)]
    return {"run": {"duration_s": duration}, "checks": checks}


@pytest.mark.parametrize(
    ("counts", "line", "code"),
    [
        ({"OK": 40, "WARN": 2, "CRIT": 1}, "OPSCHECK CRITICAL - 1 crit, 2 warn, 40 ok | ok=40 warn=2 crit=1 unknown=0 duration=3.2s", 2),
        ({"OK": 3, "UNKNOWN": 1, "CRIT": 2}, "OPSCHECK CRITICAL - 2 crit, 1 unknown, 3 ok | ok=3 warn=0 crit=2 unknown=1 duration=3.2s", 2),
        ({"OK": 3, "UNKNOWN": 1, "WARN": 1}, "OPSCHECK UNKNOWN - 1 unknown, 1 warn, 3 ok | ok=3 warn=1 crit=0 unknown=1 duration=3.2s", 3),
        ({"OK": 5, "WARN": 1}, "OPSCHECK WARNING - 1 warn, 5 ok | ok=5 warn=1 crit=0 unknown=0 duration=3.2s", 1),
        ({"OK": 5}, "OPSCHECK OK - 5 ok | ok=5 warn=0 crit=0 unknown=0 duration=3.2s", 0),
        ({"OK": 5, "WAIVED": 1}, "OPSCHECK OK - 1 waived, 5 ok | ok=5 warn=0 crit=0 unknown=0 waived=1 duration=3.2s", 0),
    ],
    ids=["crit-warn", "crit-unknown", "unknown-warn", "warn", "ok", "waived"],
)
def test_nagios_line_for_each_verdict_mix(counts, line, code):
    assert nagios_line(_results(**counts)) == (line, code)


def test_nagios_error_is_one_unknown_line():
    assert nagios_error("a: bad\n  b: worse") == ("OPSCHECK UNKNOWN - a: bad b: worse", 3)


@pytest.mark.parametrize(
    ("values", "state", "code", "counts"),
    [
        ({"a": 10}, "OK", 0, (1, 0, 0, 0)),
        ({"a": 10, "b": 60}, "WARNING", 1, (1, 1, 0, 0)),
        ({"a": 10, "b": 60, "d": 95, "u": "unknown"}, "CRITICAL", 2, (1, 1, 1, 1)),
        ({"a": 10, "u": "unknown"}, "UNKNOWN", 3, (1, 0, 0, 1)),
    ],
    ids=["ok", "warning", "critical", "unknown"],
)
def test_run_nagios_prints_one_line_and_exits_like_a_plugin(suite, values, state, code, counts):
    rs = RunnerSuite(suite)
    rs.set_values(**values)
    proc = rs.run("daily", "--nagios")
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert proc.stdout.count("\n") == 1 and proc.stderr == ""
    match = LINE.match(proc.stdout.rstrip("\n"))
    assert match, proc.stdout
    assert match["state"] == state
    assert tuple(int(match[k]) for k in ("ok", "warn", "crit", "unknown")) == counts
    assert len(rs.results()["checks"]) == sum(counts)


def test_run_nagios_usage_errors_and_lock_are_unknown(suite):
    rs = RunnerSuite(suite)
    rs.write_inventory("environment: test\nsystem: [{memroy: {warn: 1%}}]\n")
    proc = rs.run("daily", "--nagios")
    assert proc.returncode == 3
    assert proc.stdout.startswith("OPSCHECK UNKNOWN - ") and "memroy" in proc.stdout and proc.stdout.count("\n") == 1
    rs.write_inventory("environment: test\n")
    with RunLock(rs.reports / ".opscheck-daily.lock", "daily"):
        proc = rs.run("daily", "--nagios")
    assert proc.returncode == 3
    assert proc.stdout.startswith("OPSCHECK UNKNOWN - another opscheck run holds the lock ")
