"""Measure concurrently, judge in order: same results as one at a time, faster.

A synthetic kind (a module the suite's conftest registers, so xdist workers have
it too) sleeps a set time per target and logs each call to a file, so the tests
see what was measured and how often, without any network.
"""

from __future__ import annotations

import time

import pytest

KIND_MODULE = """
import os, time
from pathlib import Path
from opscheck.errors import TargetDown
from opscheck.measurement import Measurement, Target
from opscheck.threshold import Threshold

CALLS = Path(__file__).parent / "calls.log"


def targets(inventory):
    return [Target(kind="sleepy", id=f"t{i:02d}", check="sleepy", threshold=Threshold(5, 8), timeout=1.0) for i in range(12)]


def probe(target):
    with open(CALLS, "a") as log:  # one short append per call: atomic across processes
        log.write(target.id + "\\n")
    number = int(target.id[1:])
    if number == 3:
        raise RuntimeError("probe bug in t03")
    if number == 4:
        raise TargetDown("t04 refused the connection")
    if number == 5:
        time.sleep(30)  # hangs: the backstop (timeout 1s + grace) must cut it
    time.sleep(0.2)
    return Measurement(value=number, subject=target.id, label="units", evidence={"n": number})
"""

CONFTEST_ADDITION = """

# A synthetic kind for the concurrency tests, registered in every process (xdist workers too).
import opscheck.measuring
from opscheck import registry
import sleepy_kind

registry.add(registry.Kind("sleepy", "sleepy", "sleepy", sleepy_kind.targets, sleepy_kind.probe))
opscheck.measuring.BACKSTOP_GRACE_S = 0.5
"""


@pytest.fixture
def sleepy_suite(suite):
    (suite.path / "sleepy_kind.py").write_text(KIND_MODULE)
    with open(suite.path / "conftest.py", "a") as conftest:
        conftest.write(CONFTEST_ADDITION)
    suite.pytester.syspathinsert(suite.path)
    suite.pytester.makepyfile(**{"checks/test_sleepy": """
        import pytest
        from opscheck import judge, measure
        pytestmark = pytest.mark.weekly

        def test_sleepy(sleepy):
            judge(measure(sleepy))
    """})
    suite.write_inventory("environment: concurrency\n")
    suite.calls = lambda: sorted((suite.path / "calls.log").read_text().split()) if (suite.path / "calls.log").exists() else []
    suite.reset_calls = lambda: (suite.path / "calls.log").unlink(missing_ok=True)
    yield suite
    # In-process runs registered the kind in this interpreter too: take it out again.
    from opscheck import measuring, registry

    registry.remove("sleepy")
    measuring.BACKSTOP_GRACE_S = 5.0


def _comparable(results: dict) -> list[tuple]:
    return [(c["id"], c["verdict"], c["value"], c["summary"], str(c["evidence"])) for c in results["checks"]]


def test_same_results_at_any_concurrency_and_faster(sleepy_suite):
    start = time.perf_counter()
    serial = sleepy_suite.run("-m", "weekly", "--concurrency=1", "checks/test_sleepy.py")
    serial_s = time.perf_counter() - start
    serial_results = _comparable(sleepy_suite.results())
    assert sleepy_suite.calls() == [f"t{i:02d}" for i in range(12)]

    sleepy_suite.reset_calls()
    start = time.perf_counter()
    parallel = sleepy_suite.run("-m", "weekly", "--concurrency=12", "checks/test_sleepy.py")
    parallel_s = time.perf_counter() - start
    assert _comparable(sleepy_suite.results()) == serial_results
    assert sleepy_suite.calls() == [f"t{i:02d}" for i in range(12)], "each target measured exactly once"
    for result in (serial, parallel):
        result.stdout.fnmatch_lines(["checks/test_sleepy.py ...EFEWWWFFF*"])  # judged in collection order
    # 10 probes of 0.2 s plus one 1.5 s backstop: serial ~3.5 s; concurrent ~1.5 s.
    assert parallel_s < serial_s - 1.0, (serial_s, parallel_s)

    verdicts = sleepy_suite.verdicts()
    assert verdicts["test_sleepy[t03]"] == "UNKNOWN"
    assert "probe failed: RuntimeError: probe bug in t03" in sleepy_suite.check("test_sleepy[t03]")["summary"]
    assert verdicts["test_sleepy[t04]"] == "CRIT"
    assert verdicts["test_sleepy[t05]"] == "UNKNOWN"
    assert "probe timed out: no answer after 1.5s (timeout 1s)" in sleepy_suite.check("test_sleepy[t05]")["summary"]
    assert [verdicts[f"test_sleepy[t{i:02d}]"] for i in range(6, 12)] == ["WARN", "WARN", "WARN", "CRIT", "CRIT", "CRIT"]


def test_deselected_checks_are_not_measured(sleepy_suite):
    sleepy_suite.run("-m", "weekly", "--concurrency=8", "-k", "t01 or t02", "checks/test_sleepy.py")
    assert sleepy_suite.calls() == ["t01", "t02"]


def test_concurrency_under_xdist_measures_each_once_per_run(sleepy_suite):
    result = sleepy_suite.run("-m", "weekly", "--concurrency=6", "-n", "2", "checks/test_sleepy.py")
    result.stdout.fnmatch_lines(["*= 4 failed, 3 passed, 2 errors, 3 warned in *"])
    assert sleepy_suite.verdicts()["test_sleepy[t09]"] == "CRIT"
    assert sleepy_suite.verdicts()["test_sleepy[t05]"] == "UNKNOWN"
    assert sleepy_suite.calls() == [f"t{i:02d}" for i in range(12)], "each target measured once across both workers"
