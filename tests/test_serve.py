"""`opscheck serve`: /healthz, /metrics and /reports/ over a real reports dir.

The server runs in a subprocess (the CLI, port 0) for the end-to-end test with
real `opscheck run`s, and on a thread for the routing and security tests.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from runner_support import CLI, RunnerSuite

from opscheck.reports.manifest import seal
from opscheck.serve.server import ServeSettings, make_server


def _get(port: int, path: str, headers: dict | None = None) -> tuple[int, str, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})  # sent as is: no client-side normalising
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace"), dict(response.getheaders())
    finally:
        conn.close()


@pytest.fixture
def serve_cli():
    procs = []

    def start(*args: str, env: dict | None = None) -> int:
        proc = subprocess.Popen(
            [sys.executable, "-c", CLI, "serve", "--port", "0", "--quiet", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        procs.append(proc)
        line = proc.stdout.readline()
        assert line.startswith("opscheck serve: http://127.0.0.1:"), line + proc.stderr.read()
        return int(line.split("http://127.0.0.1:", 1)[1].split("/", 1)[0])

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def test_healthz_follows_real_runs_ok_then_crit_then_stale(suite, serve_cli):
    rs = RunnerSuite(suite)
    port = serve_cli("--reports-dir", str(rs.reports), "--suite", "daily", "--max-age", "1h")
    status, body, _ = _get(port, "/healthz")
    assert (status, body) == (503, f"no run of suite daily in {rs.reports}\n")

    rs.set_values(a=10, b=60)
    assert rs.run("daily").returncode == 0
    status, body, _ = _get(port, "/healthz")
    run_id = rs.results()["run"]["id"]
    assert status == 200
    assert body.startswith(f"OK: {run_id} finished ") and body.endswith(" ago: 1 warn, 1 ok\n")

    rs.set_values(a=10, d=95)
    assert rs.run("daily").returncode == 1
    crit_id = rs.results()["run"]["id"]
    status, body, _ = _get(port, "/healthz")
    assert (status, body) == (503, f"CRIT: {crit_id}: 1 crit, 1 ok; test_value[d]\n")

    time.sleep(1.2)
    status, body, _ = _get(port, "/healthz?suite=daily&max_age=1s")
    assert status == 503
    assert body.startswith(f"stale: {crit_id} finished ") and body.endswith(" ago (limit 1s)\n")

    # /metrics serves the latest run's metrics.prom, byte for byte, when the run wrote one.
    prom = rs.reports / crit_id / "metrics.prom"
    status, body, headers = _get(port, "/metrics")
    if prom.exists():
        assert (status, body) == (200, prom.read_text())
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    else:
        assert (status, body) == (404, f"no metrics.prom in {crit_id}\n")
    status, body, _ = _get(port, f"/reports/{crit_id}/results.json")
    assert status == 200 and json.loads(body)["run"]["id"] == crit_id


@pytest.fixture
def reports(tmp_path) -> Path:
    root = tmp_path / "reports"
    for name, counts, finished in (
        ("20261101T060000Z-daily", {"OK": 2, "CRIT": 0}, "2026-11-01T06:00:05Z"),
        ("20261101T070000Z-smoke", {"OK": 1, "CRIT": 1}, "2026-11-01T07:00:05Z"),
    ):
        folder = root / name
        folder.mkdir(parents=True)
        checks = [{"id": f"checks/test_x.py::test_{v.lower()}{i}", "verdict": v} for v, n in counts.items() for i in range(n)]
        run = {"id": name, "suite": name.split("-", 1)[1], "finished": finished}
        (folder / "results.json").write_text(json.dumps({"run": run, "checks": checks}))
    for name in ("20261101T060000Z-daily", "20261101T070000Z-smoke"):
        document = {"format": "opscheck-manifest/1", "run": {"id": name}, "previous": None, "files": {}}
        document["seal"] = seal(document)
        (root / name / "manifest.json").write_text(json.dumps(document))
    (root / "20261102T060000Z-daily").mkdir()  # a run still being written: no manifest yet
    (root / "README.md").write_text("output only\n")
    (root / "20261101T060000Z-daily" / "metrics.prom").write_text("opscheck_checks{verdict=\"OK\"} 2\n")
    (root / "latest").symlink_to("20261101T070000Z-smoke")
    (root / ".state").mkdir()
    (root / ".state" / "daily.json").write_text("{}")
    (tmp_path / "secret.txt").write_text("outside the reports dir")
    (root / "20261101T060000Z-daily" / "escape").symlink_to(tmp_path / "secret.txt")
    return root


@pytest.fixture
def served(reports):
    servers = []

    def start(**settings) -> int:
        server = make_server(ServeSettings(reports_dir=reports, quiet=True, **settings))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return server.server_address[1]

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_reports_are_served_read_only_without_traversal(served, reports):
    port = served(max_age_s=1e9)
    status, body, _ = _get(port, "/reports/20261101T060000Z-daily/results.json")
    assert status == 200 and json.loads(body)["run"]["suite"] == "daily"
    status, body, _ = _get(port, "/reports/")
    assert status == 200 and 'href="20261101T060000Z-daily/"' in body and ".state" not in body
    assert "README.md" not in body and "20261102T060000Z-daily" not in body and 'href="latest/"' in body
    status, _, headers = _get(port, "/reports/latest")
    assert status == 301 and headers["Location"] == "/reports/latest/"
    for path in (
        "/reports/../secret.txt",
        "/reports/%2e%2e/secret.txt",
        "/reports/20261101T060000Z-daily/../../secret.txt",
        "/reports/..%2fsecret.txt",
        "/reports/20261101T060000Z-daily/escape",  # a symlink out of the reports dir
        "/reports/.state/daily.json",
        "/reports/nothing-here",
    ):
        status, body, _ = _get(port, path)
        assert (status, body) == (404, "not found\n"), path
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("PUT", "/reports/x", body=b"x")
    assert conn.getresponse().status == 501
    conn.close()
    assert not (reports / "x").exists()


def test_healthz_and_metrics_per_suite(served):
    port = served(max_age_s=1e9)
    assert _get(port, "/healthz")[:2] == (503, "CRIT: 20261101T070000Z-smoke: 1 crit, 1 ok; test_crit0\n")
    status, body, _ = _get(port, "/healthz?suite=daily")
    assert status == 200 and body.startswith("OK: 20261101T060000Z-daily finished ") and body.endswith(" ago: 2 ok\n")
    assert _get(port, "/healthz?suite=weekly")[0] == 503
    assert _get(port, "/healthz?max_age=soon")[0] == 400
    assert _get(port, "/metrics?suite=daily")[:2] == (200, 'opscheck_checks{verdict="OK"} 2\n')
    assert _get(port, "/metrics")[:2] == (404, "no metrics.prom in 20261101T070000Z-smoke\n")
    stale = served(max_age_s=3600.0, suite="daily")
    status, body, _ = _get(stale, "/healthz")
    assert status == 503 and body.startswith("stale: 20261101T060000Z-daily finished ") and "(limit 1h)" in body


def test_basic_auth_from_env(serve_cli, reports):
    port = serve_cli("--reports-dir", str(reports), "--max-age", "1000d", "--auth-user", "auditor", "--auth-password", "env:SERVE_PW", env={"SERVE_PW": "pw-9d2e"})
    status, _, headers = _get(port, "/reports/")
    assert status == 401 and headers["WWW-Authenticate"] == 'Basic realm="opscheck"'
    wrong = base64.b64encode(b"auditor:nope").decode()
    assert _get(port, "/healthz?suite=daily", {"Authorization": f"Basic {wrong}"})[0] == 401
    good = base64.b64encode(b"auditor:pw-9d2e").decode()
    status, body, _ = _get(port, "/healthz?suite=daily", {"Authorization": f"Basic {good}"})
    assert status == 200 and body.startswith("OK: 20261101T060000Z-daily")


def test_serve_refuses_a_literal_password():
    proc = subprocess.run(
        [sys.executable, "-c", CLI, "serve", "--auth-user", "a", "--auth-password", "hunter2"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 3
    assert "--auth-password: secrets do not belong in the inventory" in proc.stderr or "use env:NAME" in proc.stderr
    assert "hunter2" not in proc.stderr


def test_root_is_the_index_of_sealed_runs(served):
    port = served(max_age_s=1e9)
    status, body, headers = _get(port, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    rows = [line for line in body.split("<tr ")[1:]]
    assert [r.split('data-suite="')[1].split('"')[0] for r in rows] == ["smoke", "daily"]  # newest first
    assert 'href="/reports/20261101T070000Z-smoke/report.html"' in body and 'href="/healthz"' in body
    assert "sealed, first of the chain" in body and "20261102T060000Z-daily" not in body
    assert "<svg" in body and "http" not in body.split("<svg", 1)[1].split("</svg>")[0].replace("http://www.w3.org/2000/svg", "")
