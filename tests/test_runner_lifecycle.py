"""No run is ever lost: suites side by side, killed and stopped runners, retention, full disks.

Real `opscheck run` processes on the scratch suite of runner_support.py, real
signals, a real tmpfs for the full reports disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from runner_support import RunnerSuite

from opscheck.cli import main as cli
from opscheck.reports.folder import point_latest
from opscheck.runner import exitcodes


@pytest.fixture
def rs(suite) -> RunnerSuite:
    return RunnerSuite(suite)


def _wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _run_folders(reports: Path) -> list[str]:
    if not reports.is_dir():
        return []
    return sorted(p.name for p in reports.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith((".", "allure")))


def test_different_suites_run_at_once(rs):
    """daily and another suite overlapping: both run, neither exits 75."""
    rs.set_values(a="slow:3")
    first = rs.start("daily")
    second = rs.start("daily and not weekly")
    out1, err1 = first.communicate(timeout=120)
    out2, err2 = second.communicate(timeout=120)
    assert (first.returncode, second.returncode) == (exitcodes.OK, exitcodes.OK), err1 + err2
    folders = _run_folders(rs.reports)
    assert len(folders) == 2 and {f.split("-", 1)[1] for f in folders} == {"daily", "daily-and-not-weekly"}
    assert (rs.reports / "latest-daily").resolve().name.endswith("-daily")
    assert (rs.reports / "latest-daily-and-not-weekly").resolve().name.endswith("-daily-and-not-weekly")
    # The two runs sealed one after the other: one chain, no fork.
    assert cli(["verify", "-q", str(rs.reports)]) == 0


def test_same_suite_waits_with_wait(rs):
    rs.set_values(a="slow:2")
    first = rs.start("daily")
    _wait_for(lambda: (rs.reports / ".opscheck-daily.lock").exists() and (rs.reports / ".opscheck-daily.lock").read_text(), what="the lock")
    second = rs.start("daily", "--wait", "2m")
    for proc in (first, second):
        proc.communicate(timeout=120)
    assert (first.returncode, second.returncode) == (exitcodes.OK, exitcodes.OK)
    assert len(_run_folders(rs.reports)) == 2


def test_sigkill_of_the_runner_kills_pytest_and_keeps_latest(rs):
    rs.set_values(a=10)
    assert rs.run("daily").returncode == exitcodes.OK
    before = (rs.reports / "latest").resolve().name
    rs.set_values(a="hang")
    runner = rs.start("daily")
    pytest_pid = _wait_for(lambda: _children(runner.pid), what="the pytest child")[0]
    _wait_for(lambda: len(_run_folders(rs.reports)) == 2, what="the new run folder")
    writing = next(f for f in _run_folders(rs.reports) if f != before)
    _wait_for(lambda: (rs.reports / writing / ".opscheck-in-progress").exists(), what="the in-progress marker")
    # A run being written is in progress, not tampering.
    done = subprocess.run([sys.executable, "-m", "opscheck", "verify", str(rs.reports)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert f"{writing}: in progress (being written, not sealed yet)" in done.stdout
    os.kill(runner.pid, signal.SIGKILL)
    runner.communicate(timeout=30)
    # The kernel's parent-death signal took pytest with the runner.
    _wait_for(lambda: not _alive(pytest_pid), timeout=15, what="pytest to die with its runner")
    # The lock is free again at once: the next run goes ahead, and `latest` moves only forward.
    rs.set_values(a=10)
    done = rs.run("daily")
    assert done.returncode == exitcodes.OK, done.stderr
    after = (rs.reports / "latest").resolve().name
    assert after > before
    done = subprocess.run([sys.executable, "-m", "opscheck", "verify", str(rs.reports)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stderr == f"{writing}: never sealed (its run died before the end: killed, or the machine went down)\n"


def test_a_child_holding_the_lock_keeps_it(rs, tmp_path):
    """The lock lives as long as any part of the run: pytest inherits it."""
    rs.set_values(a="hang")
    runner = rs.start("daily")
    pytest_pid = _wait_for(lambda: _children(runner.pid), what="the pytest child")[0]
    fds = [os.readlink(f"/proc/{pytest_pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pytest_pid}/fd")]
    assert str(rs.reports / ".opscheck-daily.lock") in fds
    os.kill(runner.pid, signal.SIGKILL)
    runner.communicate(timeout=30)
    _wait_for(lambda: not _alive(pytest_pid), timeout=15, what="pytest to die")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_stop_the_run_with_its_reports(rs, sig):
    rs.set_values(a=10, b="hang", c=20)
    runner = rs.start("daily", "--pytest", "-p", "no:randomly")
    _wait_for(lambda: _children(runner.pid), what="the pytest child")
    folder = _wait_for(lambda: _run_folders(rs.reports), what="the run folder")[0]
    # test_value[a] is done (and the hung b running) once allure-pytest wrote a's result.
    _wait_for(lambda: list((rs.reports / folder / "allure-results").glob("*-result.json")), what="a finished check")
    runner.send_signal(sig)
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == exitcodes.UNKNOWN, out + err
    name = signal.Signals(sig).name
    assert f"note: stopped by {name}: checks not run are UNKNOWN" in out
    assert (rs.reports / "latest").resolve().name == folder
    verdicts = rs.verdicts()
    assert verdicts["test_value[a]"] == "OK"
    assert verdicts["test_value[b]"] == verdicts["test_value[c]"] == "UNKNOWN"
    assert rs.check("test_value[c]")["summary"] == "not run: the run was interrupted"
    assert cli(["verify", "-q", str(rs.reports)]) == 0
    assert out.splitlines()[-1].startswith("manifest sha256 ")


def test_sigterm_stops_a_run_started_with_sigint_ignored(rs):
    """`opscheck run … &` from a script, or nohup, ignores SIGINT, and an ignored signal stays ignored
    across exec: pytest shrugged off the runner's SIGINT and was killed after the grace, no report."""
    rs.set_values(a=10, b="hang")
    runner = subprocess.Popen(rs.argv("daily", "--pytest", "-p", "no:randomly"), cwd=rs.path, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    folder = _wait_for(lambda: _run_folders(rs.reports), what="the run folder")[0]
    _wait_for(lambda: list((rs.reports / folder / "allure-results").glob("*-result.json")), what="a finished check")
    runner.send_signal(signal.SIGTERM)
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == exitcodes.UNKNOWN, out + err
    assert "note: stopped by SIGTERM: checks not run are UNKNOWN" in out, out + err
    assert rs.verdicts() == {"test_value[a]": "OK", "test_value[b]": "UNKNOWN"}


def test_latest_never_moves_backwards(tmp_path):
    for name in ("20261122T090000Z-daily", "20261122T080000Z-daily", "20261122T090000Z-daily.1"):
        (tmp_path / name).mkdir()
    assert point_latest(tmp_path, tmp_path / "20261122T090000Z-daily") is True
    # A straggler that started earlier but sealed later leaves `latest` alone.
    assert point_latest(tmp_path, tmp_path / "20261122T080000Z-daily") is False
    assert os.readlink(tmp_path / "latest") == "20261122T090000Z-daily"
    assert point_latest(tmp_path, tmp_path / "20261122T090000Z-daily.1") is True
    assert os.readlink(tmp_path / "latest") == "20261122T090000Z-daily.1"


def test_metrics_file_per_suite_and_no_reports(rs, tmp_path):
    metrics = tmp_path / "textfile"
    rs.set_values(a=10, d=95)
    done = rs.run("daily", f"--metrics-dir={metrics}")
    assert done.returncode == exitcodes.CRIT
    text = (metrics / "opscheck_daily.prom").read_text()
    assert 'opscheck_check_state{suite="daily",environment="test",id="checks/test_mix.py::test_value[d]"' in text
    assert sorted(p.name for p in metrics.iterdir()) == ["opscheck_daily.prom"]  # no temporary file left
    folders = _run_folders(rs.reports)
    done = rs.run("daily", "--no-reports")
    assert done.returncode == exitcodes.CRIT
    assert "report:" not in done.stdout and "manifest sha256" not in done.stdout
    assert done.stdout.startswith("opscheck daily on test: CRIT - 1 crit, 1 ok")
    assert _run_folders(rs.reports) == folders
    assert rs.state()["runs"] == 2  # the state (notifications) still advanced


def test_unwritable_metrics_dir_costs_neither_the_run_nor_its_seal(rs, tmp_path):
    """node_exporter's directory is elsewhere: failing to write there is said, and the run is sealed as usual."""
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the directory should be\n")
    rs.set_values(a=10)
    done = rs.run("daily", f"--metrics-dir={blocked}")
    assert done.returncode == exitcodes.OK, done.stdout + done.stderr
    assert "manifest sha256" in done.stdout
    (name,) = _run_folders(rs.reports)
    folder = rs.reports / name
    assert (folder / "manifest.json").exists() and not (folder / ".opscheck-in-progress").exists()


def test_runbook_next_to_the_verdict_in_cron_mail_and_pytest(rs):
    rs.set_values(a=10)
    rs.write_inventory(
        """
        environment: test
        system:
          - memory: {warn: 0.001%, crit: 0.002%}
            runbook: https://wiki.example.com/runbooks/memory
        """
    )
    done = rs.run("daily", "-k", "memory")
    assert done.returncode == exitcodes.CRIT, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    crit = next(i for i, line in enumerate(lines) if line.startswith("  CRIT "))
    assert lines[crit + 1] == "          runbook: https://wiki.example.com/runbooks/memory"
    plain = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "daily", "-k", "memory", f"--inventory={rs.inventory}", "--no-reports", "-p", "no:randomly"],
        cwd=rs.path, capture_output=True, text=True, timeout=120,
    )
    assert plain.returncode == 1
    assert "runbook: https://wiki.example.com/runbooks/memory" in plain.stdout


def test_stale_and_expired_waivers_are_in_the_cron_mail(rs, tmp_path):
    waivers = tmp_path / "waivers.yml"
    waivers.write_text(
        "waivers:\n"
        "  - {id: 'checks/test_mix.py::test_value[gone]', justification: decommissioned, approver: ops-lead, expires: 2099-01-01}\n"
        "  - {id: 'checks/test_mix.py::test_value[a]', justification: known, approver: ops-lead, expires: 2020-01-01}\n"
    )
    done = rs.run("daily", "--quiet", f"--waivers={waivers}")
    assert done.returncode == exitcodes.OK, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == [
        "waiver 'checks/test_mix.py::test_value[gone]': stale (matches no check): remove it",
        "waiver 'checks/test_mix.py::test_value[a]': expired 2020-01-01: renew or remove it",
    ]
    assert lines[2].startswith("manifest sha256 ")


def test_keep_runs_prints_what_it_pruned(rs):
    for _ in range(2):
        assert rs.run("daily").returncode == exitcodes.OK
    old = _run_folders(rs.reports)
    done = rs.run("daily", "--keep-runs", "1")
    assert done.returncode == exitcodes.OK
    for name in old:
        assert any(line.startswith(f"pruned old run {name} (manifest sha256 ") for line in done.stdout.splitlines()), done.stdout
    assert _run_folders(rs.reports) == [(rs.reports / "latest").resolve().name]


@contextlib.contextmanager
def _tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True, capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


FILL = '''
import os, pathlib
import pytest

pytestmark = pytest.mark.daily


def test_fill_the_reports_disk():
    """Stands for everything else on that disk: it fills up while the run goes."""
    target = pathlib.Path(os.environ["OPSCHECK_REPORTS_DIR"]) / ".filler"
    try:
        with open(target, "wb") as handle:
            while True:
                handle.write(b"x" * 65536)
    except OSError:
        pass
'''


def test_full_reports_disk_is_one_line_exit_3_and_keeps_latest(rs, tmp_path):
    with _tmpfs(tmp_path / "disk", "24m") as disk:
        reports = disk / "reports"
        rs.reports = reports
        env = {"OPSCHECK_REPORTS_DIR": str(reports)}
        argv = [a for a in rs.argv("daily") if not a.startswith("--reports-dir")]
        first = subprocess.run(argv, cwd=rs.path, capture_output=True, text=True, timeout=120, env={**os.environ, **env})
        assert first.returncode == exitcodes.OK, first.stderr
        before = (reports / "latest").resolve().name
        # Nearly full: the disk fills while the run goes, its reports cannot be written.
        (rs.path / "checks" / "test_fill.py").write_text(FILL)
        done = subprocess.run(argv, cwd=rs.path, capture_output=True, text=True, timeout=120, env={**os.environ, **env})
        assert done.returncode == exitcodes.USAGE, done.stdout + done.stderr
        assert done.stdout == ""
        assert len(done.stderr.splitlines()) == 1, done.stderr
        line = done.stderr.strip()
        assert line.startswith(f"opscheck run: cannot write reports: {reports}/") and line.endswith("[Errno 28] No space left on device"), line
        assert "Traceback" not in done.stderr
        assert (reports / "latest").resolve().name == before
        assert _run_folders(reports) == [before]
        # Full: refused before anything runs, same shape.
        done = subprocess.run(argv, cwd=rs.path, capture_output=True, text=True, timeout=120, env={**os.environ, **env})
        assert done.returncode == exitcodes.USAGE
        assert done.stderr.startswith(f"opscheck run: {reports}: [Errno 28] No space left on device (") and done.stderr.count("\n") == 1
        assert (reports / "latest").resolve().name == before
        (reports / ".filler").unlink()
        assert cli(["verify", "-q", str(reports)]) == 0
        assert json.loads((reports / "latest" / "results.json").read_text())["run"]["suite"] == "daily"


def test_quiet_run_still_says_when_retention_refused_to_prune(rs):
    for _ in range(2):
        assert rs.run("daily").returncode == exitcodes.OK
    first = _run_folders(rs.reports)[0]
    (rs.reports / first / "results.json").write_text('{"checks": []}\n')
    done = rs.run("daily", "--quiet", "--keep-runs", "1")
    assert done.returncode == exitcodes.OK
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"retention: {first}: not pruned, it does not verify ({first}/results.json: altered")
    assert lines[-1].startswith("manifest sha256 ") and len(lines) == 2
    assert (rs.reports / first).is_dir()


def test_sigterm_under_xdist_still_lists_every_check(rs):
    rs.set_values(a=10, b="hang", c="hang", d=20, e=30)
    runner = rs.start("daily", "-n", "2")
    _wait_for(lambda: _run_folders(rs.reports), what="the run folder")
    folder = rs.reports / _run_folders(rs.reports)[0]
    # test_value[a] is done once allure-pytest (on a worker) wrote its result.
    _wait_for(lambda: list((folder / "allure-results").glob("*-result.json")), what="a finished check")
    runner.send_signal(signal.SIGTERM)
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == exitcodes.UNKNOWN, out + err
    verdicts = rs.verdicts()
    assert sorted(verdicts) == [f"test_value[{k}]" for k in "abcde"]
    assert verdicts["test_value[b]"] == verdicts["test_value[c]"] == "UNKNOWN"
    assert "OK" in verdicts.values()
    assert cli(["verify", "-q", str(rs.reports)]) == 0
