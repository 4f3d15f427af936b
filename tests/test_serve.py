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
    # Without a suite: every suite's latest run (smoke has no metrics.prom, daily's stay visible).
    assert _get(port, "/metrics")[:2] == (200, 'opscheck_checks{verdict="OK"} 2\n')
    assert _get(port, "/metrics?suite=smoke")[:2] == (404, "no metrics.prom in 20261101T070000Z-smoke\n")
    stale = served(max_age_s=3600.0, suite="daily")
    status, body, _ = _get(stale, "/healthz")
    assert status == 503 and body.startswith("stale: 20261101T060000Z-daily finished ") and "(limit 1h)" in body


def test_basic_auth_from_env(serve_cli, reports):
    port = serve_cli("--reports-dir", str(reports), "--max-age", "1000d", "--auth-user", "auditor", "--auth-password", "env:SERVE_PW", env={"SERVE_PW": "pw-9d2e-serve"})
    status, _, headers = _get(port, "/reports/")
    assert status == 401 and headers["WWW-Authenticate"] == 'Basic realm="opscheck"'
    wrong = base64.b64encode(b"auditor:nope").decode()
    assert _get(port, "/healthz?suite=daily", {"Authorization": f"Basic {wrong}"})[0] == 401
    good = base64.b64encode(b"auditor:pw-9d2e-serve").decode()
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
def test_without_a_suite_a_smoke_run_does_not_hide_the_daily_crit(tmp_path):
    from opscheck.serve.runs import health, merged_metrics

    root = tmp_path / "reports"
    for name, verdicts, finished in (
        ("20261101T090000Z-daily", ["CRIT", "OK"], "2026-11-01T09:00:05Z"),
        ("20261101T091000Z-smoke", ["OK"], "2026-11-01T09:10:05Z"),
    ):
        (root / name).mkdir(parents=True)
        suite = name.split("-", 1)[1]
        checks = [{"id": f"checks/test_x.py::test_{suite}{i}", "verdict": v} for i, v in enumerate(verdicts)]
        (root / name / "results.json").write_text(json.dumps({"run": {"suite": suite, "finished": finished}, "checks": checks}))
        (root / name / "metrics.prom").write_text(
            f'# HELP opscheck_run_checks Checks.\n# TYPE opscheck_run_checks gauge\nopscheck_run_checks{{suite="{suite}"}} {len(verdicts)}\n'
        )
    (root / "latest").symlink_to("20261101T091000Z-smoke")
    now = __import__("datetime").datetime(2026, 11, 1, 9, 15, tzinfo=__import__("datetime").timezone.utc)
    assert health(root, None, 3600, now) == (False, "CRIT: 20261101T090000Z-daily: 1 crit, 1 ok; test_daily0")
    assert merged_metrics(root) == (
        "# HELP opscheck_run_checks Checks.\n# TYPE opscheck_run_checks gauge\n"
        'opscheck_run_checks{suite="daily"} 2\nopscheck_run_checks{suite="smoke"} 1\n'
    )
    (root / "20261101T090000Z-daily" / "results.json").write_text(
        json.dumps({"run": {"suite": "daily", "finished": "2026-11-01T09:00:05Z"}, "checks": [{"id": "x::y", "verdict": "OK"}]})
    )
    healthy, reason = health(root, None, 3600, now)
    assert healthy and reason == "OK: 2 suite(s), newest 20261101T091000Z-smoke finished 4.9m ago: daily 1 ok; smoke 1 ok"


def _raw(port: int, data: bytes, host: str = "127.0.0.1") -> bytes:
    import socket

    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_200_concurrent_healthz_and_metrics_are_all_answered(serve_cli, reports):
    """The default listen backlog of 5 reset a burst like this; every request must be answered."""
    from concurrent.futures import ThreadPoolExecutor

    port = serve_cli("--reports-dir", str(reports), "--max-age", "1000d")
    barrier = threading.Barrier(200)

    def one(i: int) -> tuple[str, int]:
        path = "/healthz?suite=daily" if i % 2 else "/metrics?suite=daily"
        barrier.wait(30)
        answer = _raw(port, f"GET {path} HTTP/1.0\r\n\r\n".encode())
        return path, int(answer.split(b" ", 2)[1])

    with ThreadPoolExecutor(200) as pool:
        answers = list(pool.map(one, range(200)))
    assert len(answers) == 200
    assert {status for path, status in answers} == {200}


def test_idle_connections_are_capped_and_dropped(served):
    import socket

    port = served(max_age_s=1e9, read_timeout_s=1.0, max_connections=20)
    before = threading.active_count()
    idle = []
    try:
        for _ in range(1000):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET /healthz HTTP/1.0\r\n")  # half a request, never finished
            idle.append(sock)
        time.sleep(0.3)
        # A thousand idle sockets hold at most the cap of handler threads, not a thousand.
        assert threading.active_count() - before <= 20
        # Beyond the cap a client is told at once, not queued behind the idle ones.
        assert _raw(port, b"GET /healthz HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 503 Service Unavailable\r\n")
        # The read timeout frees the slots: the server answers again while the idle sockets stay open.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            answer = _raw(port, b"GET /healthz?suite=daily HTTP/1.0\r\n\r\n")
            if b" 200 " in answer.split(b"\r\n", 1)[0]:
                break
            time.sleep(0.2)
        assert answer.split(b"\r\n", 1)[0] == b"HTTP/1.0 200 OK"
    finally:
        for sock in idle:
            sock.close()


def test_overlong_path_is_404_without_a_traceback(reports):
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "serve", "--port", "0", "--reports-dir", str(reports), "--max-age", "1000d"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        port = int(proc.stdout.readline().split("http://127.0.0.1:", 1)[1].split("/", 1)[0])
        for path in ("/reports/" + "a" * 300, "/reports/20261101T060000Z-daily/" + "b" * 5000, "/reports/" + "/".join(["c" * 255] * 20)):
            status, body, _ = _get(port, path)
            assert (status, body) == (404, "not found\n"), path[:40]
        assert _get(port, "/healthz?suite=daily")[0] == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "Traceback" not in err and "Error" not in err, err


def test_bind_ipv6_loopback(reports):
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "serve", "--port", "0", "--bind", "::1", "--quiet", "--reports-dir", str(reports), "--max-age", "1000d"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("opscheck serve: http://[::1]:"), line + proc.stderr.read()
        port = int(line.split("]:", 1)[1].split("/", 1)[0])
        answer = _raw(port, b"GET /healthz?suite=daily HTTP/1.0\r\n\r\n", host="::1")
        assert answer.startswith(b"HTTP/1.0 200 OK\r\n") and answer.endswith(b" ago: 2 ok\n")
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
