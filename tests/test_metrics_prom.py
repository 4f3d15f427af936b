"""metrics.prom as Prometheus and promtool read it: names, base units, state without a verdict label."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from opscheck.reports import metrics_prom
from opscheck.reports.run import Run

STARTED = datetime(2026, 11, 22, 6, 0, tzinfo=timezone.utc)


def check(id_, verdict, value=None, unit="", **extra):
    return {"id": f"checks/test_x.py::{id_}", "check": id_, "target": "t", "severity": "high", "verdict": verdict,
            "value": value, "unit": unit, "duration_s": 0.25, **extra}


@pytest.fixture
def text():
    run = Run(id="r", suite="daily", environment="prod", started=STARTED, finished=STARTED + timedelta(seconds=3))
    run.checks = [
        check("latency", "WARN", 0.3, "s"),
        check("disk", "OK", 85.5, "%"),
        check("size", "OK", 2048, "B"),
        check("tls", "OK", 12, "days", evidence={"chain": [
            {"not_after": "2026-12-04T06:00:00Z"}, {"not_after": "2030-01-01T00:00:00Z"}]}),
        check("queue", "CRIT", 1200, "messages"),
        check("ratio", "UNKNOWN", float("inf"), ""),
        check("nan", "OK", float("nan"), ""),
        check("negative", "OK", float("-inf"), ""),
    ]
    return metrics_prom.render(run)


def samples(text: str, name: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line.rsplit(" ", 1)
            out[labels.split('id="', 1)[1].split('"', 1)[0].split("::")[1]] = value
    return out


def test_state_is_a_value_not_a_label(text):
    assert samples(text, "opscheck_check_state") == {
        "latency": "1", "disk": "0", "size": "0", "tls": "0", "queue": "2", "ratio": "3", "nan": "0", "negative": "0"}
    assert all("verdict=" not in ln for ln in text.splitlines() if ln.startswith("opscheck_check_state{"))
    assert 'opscheck_run_state{suite="daily",environment="prod"} 2' in text


def test_values_in_base_units(text):
    assert samples(text, "opscheck_check_value_seconds") == {"latency": "0.3", "tls": str(12 * 86400)}
    assert samples(text, "opscheck_check_value_ratio") == {"disk": "0.855"}
    assert samples(text, "opscheck_check_value_bytes") == {"size": "2048"}
    assert samples(text, "opscheck_check_value") == {"queue": "1200", "ratio": "+Inf", "nan": "NaN", "negative": "-Inf"}
    assert 'unit="messages"' in next(ln for ln in text.splitlines() if "::queue" in ln and ln.startswith("opscheck_check_value{"))
    expiry = datetime(2026, 12, 4, 6, tzinfo=timezone.utc).timestamp()
    assert samples(text, "opscheck_check_cert_earliest_expiry_timestamp_seconds") == {"tls": str(int(expiry))}
    assert samples(text, "opscheck_check_duration_seconds")["disk"] == "0.25"


def test_promtool_accepts_the_file(text, tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian package prometheus, .ci/apt/reports.txt)", pytrace=False)
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr
    # promtool does catch what we avoid: a counter without _total, say.
    bad = text.replace("# TYPE opscheck_run_checks gauge", "# TYPE opscheck_run_checks counter")
    done = subprocess.run([promtool, "check", "metrics"], input=bad, capture_output=True, text=True, timeout=60)
    assert "counter metrics should have \"_total\" suffix" in done.stdout + done.stderr
