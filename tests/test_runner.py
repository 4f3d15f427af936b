"""`opscheck run` end to end: real pytest subprocesses on a scratch suite.

Covers exit codes, cron-mail output, the lock, the overall deadline, per-check
timeouts, empty selections, inventory errors and xdist host grouping.
"""

from __future__ import annotations

import hashlib
import json
import re
import time

import pytest
from runner_support import RunnerSuite

from opscheck.runner import exitcodes
from opscheck.runner.lock import Locked, RunLock


@pytest.fixture
def rs(suite) -> RunnerSuite:
    return RunnerSuite(suite)


@pytest.mark.parametrize(
    ("values", "extra", "code", "state"),
    [
        ({"a": 10, "b": 20}, (), exitcodes.OK, "OK"),
        ({"a": 10, "b": 60}, (), exitcodes.OK, "WARN"),
        ({"a": 10, "b": 60}, ("--fail-on", "warn"), exitcodes.CRIT, "WARN"),
        ({"a": 10, "u": "unknown"}, (), exitcodes.UNKNOWN, "UNKNOWN"),
        ({"b": 60, "d": 95, "u": "unknown"}, (), exitcodes.CRIT, "CRIT"),
    ],
    ids=["ok", "warn", "warn-fails", "unknown", "crit-beats-unknown"],
)
def test_exit_code_and_cron_output(rs, values, extra, code, state):
    rs.set_values(**values)
    proc = rs.run("daily", *extra)
    assert proc.returncode == code, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"opscheck daily on test: {state} - "), lines
    verdicts = rs.verdicts()
    # The audit anchor closes every run's output (docs/reports.md).
    assert re.fullmatch(r"manifest sha256 [0-9a-f]{64} \d{8}T\d{6}Z-daily", lines[-1]), lines
    assert lines[-1].split()[2] == hashlib.sha256((rs.reports / "latest" / "manifest.json").read_bytes()).hexdigest()
    lines = lines[:-1]
    listed = [line.split()[0] for line in lines[1:-1]]
    # Only non-OK checks, worst first, each with its summary.
    order = {"CRIT": 0, "UNKNOWN": 1, "WARN": 2}
    assert listed == sorted((v for v in verdicts.values() if v != "OK"), key=order.get)
    assert lines[-1].startswith("report: ") and str(rs.reports) in lines[-1]
    if "d" in values:
        assert "  CRIT    [medium] test_value[d]: d 95% (warn 50, crit 90)" in lines
        assert rs.check("test_value[d]")["value"] == 95
    if "u" in values:
        assert "  UNKNOWN [medium] test_value[u]: RuntimeError: cannot read u" in lines
    assert "test_value[a]" not in proc.stdout


def test_quiet_prints_only_the_manifest_hash_when_ok(rs):
    proc = rs.run("daily", "--quiet")
    digest = hashlib.sha256((rs.reports / "latest" / "manifest.json").read_bytes()).hexdigest()
    name = (rs.reports / "latest").resolve().name
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"manifest sha256 {digest} {name}\n", "")
    assert rs.verdicts() == {"test_value[a]": "OK"}


def test_two_runs_started_together_one_exits_75_at_once(rs):
    rs.set_values(a="slow:4")
    first, second = rs.start("daily"), rs.start("daily")
    started = time.monotonic()
    procs = {first: None, second: None}
    ended = {}
    while len(ended) < 2 and time.monotonic() - started < 120:
        for proc in procs:
            if proc not in ended and proc.poll() is not None:
                ended[proc] = time.monotonic() - started
        time.sleep(0.05)
    codes = sorted(proc.returncode for proc in procs)
    assert codes == [exitcodes.OK, exitcodes.LOCKED]
    loser = next(p for p in procs if p.returncode == exitcodes.LOCKED)
    winner = next(p for p in procs if p is not loser)
    # "At once": the loser did not wait for the winner's 4-second check.
    assert ended[loser] < ended[winner]
    out, err = loser.communicate()
    assert out == ""
    assert err.count("\n") == 1
    assert "another opscheck run holds the lock" in err and ".opscheck-daily.lock" in err
    assert f"pid {winner.pid}" in err and "suite daily" in err and "exit 75" in err
    winner.communicate()
    assert rs.verdicts() == {"test_value[a]": "OK"}


def test_lock_is_released_and_kernel_drops_it(tmp_path):
    path = tmp_path / "x.lock"
    with RunLock(path, "daily"):
        with pytest.raises(Locked) as info:
            RunLock(path, "smoke").acquire()
        assert info.value.holder["suite"] == "daily"
        assert "another opscheck run holds the lock" in str(info.value)
    with RunLock(path, "smoke"):
        assert json.loads(path.read_text())["suite"] == "smoke"


def test_deadline_cuts_a_hung_check_and_marks_the_rest_unknown(rs):
    rs.set_values(a=10, c="hang", d=95, e=10)
    started = time.monotonic()
    # The deadline counts from opscheck run's start, imports included: 15s leaves a loaded machine
    # room to finish `a` first, and is still far below the hung check's hour.
    proc = rs.run("daily", "--deadline", "15s", "--timeout", "10m")
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"the run took {elapsed:.1f}s past a 15s deadline"
    assert proc.returncode == exitcodes.UNKNOWN, proc.stdout + proc.stderr
    results = rs.results()
    assert results["run"]["counts"] == {"OK": 1, "WARN": 0, "CRIT": 0, "UNKNOWN": 3, "WAIVED": 0}
    assert rs.verdicts() == {"test_value[a]": "OK", "test_value[c]": "UNKNOWN", "test_value[d]": "UNKNOWN", "test_value[e]": "UNKNOWN"}
    assert rs.check("test_value[c]")["summary"] == "cut: deadline of 15s reached while it ran"
    assert rs.check("test_value[d]")["summary"] == "not run: deadline of 15s reached"
    assert rs.check("test_value[d]")["value"] is None
    assert "  UNKNOWN [medium] test_value[e]: not run: deadline of 15s reached" in proc.stdout.splitlines()
    # Every report of the run (DESIGN.md's run folder) was still written.
    folder = rs.reports / "latest"
    expected = {"results.json", "report.html", "junit.xml", "metrics.prom", "manifest.json", "allure-results"}
    assert {p.name for p in folder.iterdir()} >= expected
    # Plugins loaded with -p (autoload off) are still named, with their versions, for a reader to reproduce the run.
    assert {"opscheck", "pytest-timeout", "pytest-xdist", "allure-pytest"} <= set(results["run"]["plugins"])


def test_per_check_timeout_makes_a_hung_check_unknown(rs):
    rs.set_values(a=10, c="hang")
    started = time.monotonic()
    proc = rs.run("daily", "--timeout", "2s")
    assert time.monotonic() - started < 40
    assert proc.returncode == exitcodes.UNKNOWN, proc.stdout + proc.stderr
    assert rs.verdicts() == {"test_value[a]": "OK", "test_value[c]": "UNKNOWN"}
    assert "Timeout (>2.0s) from pytest-timeout" in rs.check("test_value[c]")["summary"]


def test_a_selection_without_checks_is_exit_3(rs):
    proc = rs.run("weekly")
    assert proc.returncode == exitcodes.USAGE
    assert proc.stdout == ""
    assert "no check selected by -m 'weekly'" in proc.stderr and "nothing was checked" in proc.stderr
    assert not (rs.reports / "latest").exists()


def test_a_bad_inventory_is_exit_3_before_any_check(rs):
    rs.write_inventory("environment: test\nnotify:\n  webhooks: [{url: http://127.0.0.1:9/, format: teams}]\n")
    proc = rs.run("daily")
    assert proc.returncode == exitcodes.USAGE
    assert "notify.webhooks[0].format" in proc.stderr and "teams" in proc.stderr
    assert not (rs.reports / "latest").exists()


def test_bad_options_are_exit_3(rs):
    proc = rs.run("daily", "--deadline", "soon")
    assert proc.returncode == exitcodes.USAGE
    assert "--deadline soon: expected" in proc.stderr
    proc = rs.run("daily", "--no-such-option")
    assert proc.returncode == exitcodes.USAGE
    assert "unrecognized arguments: --no-such-option" in proc.stderr
    for args, message in (
        (("--wait", "nan"), "--wait nan: expected a duration like 30s"),  # as for --deadline (tests/data/malformed)
        (("--keep-runs", "0"), "argument --keep-runs: expected a whole number of runs of at least 1, found '0'"),
        (("--keep-days", "inf"), "argument --keep-days: expected a positive number of days, found 'inf'"),
    ):
        proc = rs.run("daily", *args)
        assert proc.returncode == exitcodes.USAGE and message in proc.stderr, proc.stderr
    assert not rs.reports.exists() or not any(p.is_dir() and not p.name.startswith(".") for p in rs.reports.iterdir())


def test_xdist_keeps_each_hosts_checks_on_one_worker(rs):
    (rs.path / "checks" / "test_worker.py").write_text(
        "import os, pathlib, pytest\n"
        "from opscheck import judge, measure\n"
        "pytestmark = pytest.mark.daily\n"
        "def _note(target):\n"
        "    folder = pathlib.Path(__file__).parent.parent / 'workers'\n"
        "    folder.mkdir(exist_ok=True)\n"
        "    (folder / f'{target.host.name}-{target.kind}').write_text(os.environ.get('PYTEST_XDIST_WORKER', 'none'))\n"
        "def test_memory_worker(memory):\n    _note(memory); judge(measure(memory))\n"
        "def test_swap_worker(swap):\n    _note(swap); judge(measure(swap))\n"
        "def test_load_worker(load_per_core):\n    _note(load_per_core); judge(measure(load_per_core))\n"
    )
    rs.write_inventory(
        """\
        environment: test
        hosts:
          one: [{name: h1, spec: "local://"}]
          two: [{name: h2, spec: "local://"}]
        system:
          - memory: {warn: 99%, crit: 100%}
            swap: {warn: 99%, crit: 100%}
            load_per_core: {warn: 1000, crit: 2000}
        """
    )
    proc = rs.run("daily", "-n", "2", "-k", "worker", "--pytest", "-p", "no:randomly")
    assert proc.returncode == exitcodes.OK, proc.stdout + proc.stderr
    verdicts = rs.verdicts()
    # Plain ids: xdist's `@group` suffix does not leak into results.json.
    assert sorted(verdicts) == sorted(
        f"test_{k}_worker[{h}]" for k in ("memory", "swap", "load") for h in ("h1", "h2")
    )
    assert set(verdicts.values()) == {"OK"}
    assert rs.check("test_memory_worker[h1]")["summary"].startswith("memory ")
    seen = {}
    for note in (rs.path / "workers").iterdir():
        host = note.name.split("-", 1)[0]
        seen.setdefault(host, set()).add(note.read_text())
    assert sorted(seen) == ["h1", "h2"]
    for host, workers in seen.items():
        assert len(workers) == 1 and workers != {"none"}, (host, workers)


def test_plugins_suite_loads_exactly_what_the_suite_uses(tmp_path):
    from opscheck.runner.invoke import SUITE_PLUGINS, Invocation

    suite = Invocation(suite_dir=tmp_path, markexpr="daily", suite="daily", reports_dir=tmp_path / "r")
    argv = suite.argv()
    loaded = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-p"]
    assert loaded[: len(SUITE_PLUGINS)] == list(SUITE_PLUGINS)
    assert suite.env()["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] == "1"
    everything = Invocation(suite_dir=tmp_path, markexpr="daily", suite="daily", reports_dir=tmp_path / "r", plugins="all")
    assert "opscheck.plugin" not in everything.argv()
    assert "PYTEST_DISABLE_PLUGIN_AUTOLOAD" not in everything.env() or everything.env()["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] == __import__("os").environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
