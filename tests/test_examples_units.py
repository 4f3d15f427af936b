"""The shipped examples work as written: systemd units verified by systemd, crontab lines by our parser.

`systemd-analyze verify` (Debian's systemd package, .ci/apt/runs.txt) loads each
unit with its drop-ins offline; it also insists that ExecStart's binary exists, so
the venv path /opt/opscheck/venv/bin/opscheck is pointed at this test's venv in a copy.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from opscheck.cli import run as run_cli
from opscheck.units import parse_seconds

ROOT = Path(__file__).resolve().parent.parent
SYSTEMD = ROOT / "examples" / "systemd"
VENV_OPSCHECK = "/opt/opscheck/venv/bin/opscheck"
SUITES = {"smoke": 300, "daily": 86400, "weekly": 7 * 86400, "monthly": 28 * 86400, "quarterly": 90 * 86400}


@pytest.fixture(scope="module")
def units(tmp_path_factory) -> Path:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze missing: apt-get install systemd (.ci/apt/runs.txt)")
    copy = tmp_path_factory.mktemp("units") / "systemd"
    shutil.copytree(SYSTEMD, copy)
    real = shutil.which("opscheck")
    assert real, "the opscheck console script is not on PATH"
    for unit in copy.glob("*.service"):
        unit.write_text(unit.read_text().replace(VENV_OPSCHECK, real))
    return copy


def _dump(units: Path, *names: str) -> str:
    """Verify the units (exit 0, nothing on stderr) and return systemd's view of them."""
    done = subprocess.run(
        ["systemd-analyze", "verify", *(str(units / n) for n in names)],
        capture_output=True, text=True, timeout=60, env={"SYSTEMD_LOG_LEVEL": "debug", "PATH": "/usr/bin:/bin"},
    )
    quiet = subprocess.run(["systemd-analyze", "verify", *(str(units / n) for n in names)], capture_output=True, text=True, timeout=60)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", ""), quiet.stderr
    return done.stdout + done.stderr


def test_every_suite_has_its_own_schedule():
    schedules = {re.search(r"^OnCalendar=(.+)$", (SYSTEMD / f"opscheck-{s}.timer").read_text(), re.M).group(1) for s in SUITES}
    assert len(schedules) == len(SUITES)
    assert not (SYSTEMD / "opscheck@.timer").exists()  # the template that gave every suite 09:00


def _hms(text: str) -> float:
    total = 0.0
    for number, unit in re.findall(r"(\d+)(h|min|s)", text):
        total += int(number) * {"h": 3600, "min": 60, "s": 1}[unit]
    return total


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_each_suite_has_its_own_verified_timer_service_and_limits(units, suite):
    dump = _dump(units, f"opscheck@{suite}.service", f"opscheck-{suite}.timer")
    assert f"DropIn Path: {units}/opscheck@{suite}.service.d/suite.conf" in dump
    calendars = re.findall(r"OnCalendar: (.+)", dump)
    timer = (SYSTEMD / f"opscheck-{suite}.timer").read_text()
    shipped = re.search(r"^OnCalendar=(.+)$", timer, re.M).group(1)
    normalized = subprocess.run(["systemd-analyze", "calendar", shipped], capture_output=True, text=True, timeout=30).stdout
    assert calendars == [re.search(r"Normalized form: (.+)", normalized).group(1)]
    assert f"Unit=opscheck@{suite}.service" in timer
    env = dict(re.findall(r"Environment: (DEADLINE|CHECK_TIMEOUT|KEEP_DAYS)=(\S+)", dump))
    deadline = parse_seconds(env["DEADLINE"])
    start_limit = _hms(re.search(r"TimeoutStartSec: (.+)", dump).group(1))
    # systemd must not kill a run before the runner's own last resort (deadline + 30 s or 10 %).
    assert start_limit > deadline + max(30.0, deadline * 0.1), (suite, env, start_limit)
    assert parse_seconds(env["CHECK_TIMEOUT"]) <= deadline
    assert float(env["KEEP_DAYS"]) > 0
    service = (SYSTEMD / "opscheck@.service").read_text()
    assert f"ExecStart={VENV_OPSCHECK} run %i " in service and "/usr/local/bin" not in service
    assert "--keep-days ${KEEP_DAYS}" in service and "KillMode=mixed" in service


def test_the_drop_in_advice_replaces_the_schedule_instead_of_adding_one(units):
    timer = (SYSTEMD / "opscheck-daily.timer").read_text()
    advice = [line.lstrip("# ").rstrip() for line in timer.splitlines() if line.startswith("#   ")]
    assert advice[:1] == ["systemctl edit opscheck-daily.timer"] and advice[2:4] == ["OnCalendar=", "OnCalendar=<your schedule>"]
    dropin = units / "opscheck-daily.timer.d"
    dropin.mkdir()
    (dropin / "override.conf").write_text("[Timer]\nOnCalendar=\nOnCalendar=*-*-* 07:30:00\n")
    try:
        dump = _dump(units, "opscheck-daily.timer")
    finally:
        shutil.rmtree(dropin)
    assert re.findall(r"OnCalendar: (.+)", dump) == ["*-*-* 07:30:00"]


def test_serve_unit_verifies_and_uses_the_venv(units):
    _dump(units, "opscheck-serve.service")
    text = (SYSTEMD / "opscheck-serve.service").read_text()
    assert f"ExecStart={VENV_OPSCHECK} serve " in text


def _cron_runs() -> list[tuple[str, list[str]]]:
    lines = []
    for line in (ROOT / "examples" / "crontab").read_text().splitlines():
        if not line.strip() or line.startswith("#") or re.match(r"^[A-Z_]+=", line):
            continue
        fields = line.split(None, 5)
        command = fields[5].split("&&", 1)[1].split()
        lines.append((" ".join(fields[:5]), command))
    return lines


def test_crontab_lines_use_the_venv_and_cannot_lose_a_run():
    runs = _cron_runs()
    assert sorted(cmd[2] for _, cmd in runs) == sorted(SUITES)
    parser = argparse.ArgumentParser()
    run_cli.add_parser(parser.add_subparsers())
    for _schedule, command in runs:
        assert command[0] == VENV_OPSCHECK, command
        args = parser.parse_args(command[1:])
        interval = SUITES[args.suite]
        assert args.keep_days or args.keep_runs, command
        # A run of the same suite still going (deadline + the runner's grace) is waited for.
        deadline = parse_seconds(args.deadline)
        assert args.wait and parse_seconds(args.wait) + interval > deadline + max(30.0, deadline * 0.1), command
    env = dict(re.findall(r"^([A-Z_]+)=(.*)$", (ROOT / "examples" / "crontab").read_text(), re.M))
    assert env["OPSCHECK_METRICS_DIR"] and env["OPSCHECK_REPORTS_DIR"]


def test_github_gate_checks_the_deploy_and_its_commit():
    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "github-actions-smoke.yml").read_text())
    job = workflow["jobs"]["smoke"]
    assert "github.event.workflow_run.conclusion == 'success'" in job["if"]
    checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout"))
    assert "github.event.workflow_run.head_sha" in checkout["with"]["ref"]
    assert workflow["permissions"]["checks"] == "write"
    assert any(s.get("uses", "").startswith("mikepenz/action-junit-report") for s in job["steps"])
