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
    assert proc.stderr == ""
    first, *rest = proc.stdout.rstrip("\n").split("\n")
    match = LINE.match(first)
    assert match, proc.stdout
    assert match["state"] == state
    assert tuple(int(match[k]) for k in ("ok", "warn", "crit", "unknown")) == counts
    assert len(rs.results()["checks"]) == sum(counts)
    # Long output: the non-OK checks, worst first; then one perfdata entry per measured check.
    long_output = [line for line in rest if not line.startswith(("| '", "'"))]
    expected = [v for v in ("CRIT", "UNKNOWN", "WARN") for _ in range({"CRIT": counts[2], "UNKNOWN": counts[3], "WARN": counts[1]}[v])]
    assert [line.split()[0] for line in long_output] == expected
    perf = [line.removeprefix("| ") for line in rest if line.startswith(("| '", "'"))]
    assert rest[len(long_output)].startswith("| '")
    measured = {k: v for k, v in values.items() if v != "unknown"}
    assert perf == [f"'test_value[{k}]'={v}%;50;90;0;100" for k, v in sorted(measured.items())]


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


def test_perfdata_in_the_plugin_format():
    from opscheck.runner.outcome import perfdata

    base = {"id": "checks/test_tls.py::test_tls_days_left[example.com:443]", "verdict": "WARN"}
    assert perfdata({**base, "value": 20, "unit": "days", "warn": 30, "crit": 7, "direction": "below"}) == "'test_tls_days_left[example.com:443]'=20;30:;7:"
    assert perfdata({**base, "value": 0.0321, "unit": "s", "warn": 0.2, "crit": 1, "direction": "above"}) == "'test_tls_days_left[example.com:443]'=0.0321s;0.2;1"
    assert perfdata({**base, "id": "c::it's=odd", "value": 5, "unit": "B"}) == "'it_s_odd'=5B"
    assert perfdata({**base, "value": None}) is None and perfdata({**base, "value": "text"}) is None


def test_status_reports_the_latest_sealed_run_without_running(suite):
    import subprocess
    import sys

    from runner_support import CLI

    rs = RunnerSuite(suite)
    rs.set_values(a=10, b=95)
    assert rs.run("daily").returncode == 1

    def status(*args):
        return subprocess.run([sys.executable, "-c", CLI, "status", "daily", f"--reports-dir={rs.reports}", *args], capture_output=True, text=True, timeout=60)

    before = sorted(p.name for p in rs.reports.iterdir())
    done = status("--nagios")
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("OPSCHECK CRITICAL - 1 crit, 1 ok | ok=1 warn=0 crit=1 unknown=0 duration=")
    assert lines[1].startswith("CRIT [medium] test_value[b]: b 95%")
    assert lines[2:] == ["| 'test_value[a]'=10%;50;90;0;100", "'test_value[b]'=95%;50;90;0;100"]
    assert sorted(p.name for p in rs.reports.iterdir()) == before  # nothing ran
    import time

    time.sleep(1.2)
    stale = status("--nagios", "--max-age", "1s")
    assert stale.returncode == 3 and stale.stdout.startswith("OPSCHECK UNKNOWN - stale: the latest daily run ")
    other = subprocess.run([sys.executable, "-c", CLI, "status", "weekly", "--nagios", f"--reports-dir={rs.reports}"], capture_output=True, text=True, timeout=60)
    assert other.returncode == 3 and other.stdout.startswith("OPSCHECK UNKNOWN - no sealed run of suite weekly")
