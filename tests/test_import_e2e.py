"""End to end: import a runbook, fill its placeholders for a stack this test starts (loopback HTTP,
PostgreSQL 5432 read-only, Redis 6379, files), run the daily suite, get the expected verdicts."""

from __future__ import annotations

import json
import os
import tarfile
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import require_tcp
from opscheck.importer import import_runbook, validate, writer
from opscheck.probes import backups, files, http, logs, postgres, redis, system  # noqa: F401 - before pytester snapshots modules

RUNBOOK = Path(__file__).parent / "data" / "runbooks" / "e2e" / "shop-operations.md"


class _Health(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = json.dumps({"status": "ok", "version": "2.3.1"}).encode()
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def stack(tmp_path):
    """The files the runbook names: a fresh backup, a log with 12 errors, an .env readable by all."""
    log_dir, etc, backup_dir = tmp_path / "log", tmp_path / "etc", tmp_path / "backups"
    for folder in (log_dir, etc, backup_dir):
        folder.mkdir()
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    (log_dir / "app.log").write_text("".join(f"{now} ERROR payment {i} failed\n" for i in range(12)) + f"{now} INFO ok\n")
    (etc / ".env").write_text("SHOP_MODE=live\n")
    os.chmod(etc / ".env", 0o644)
    source = tmp_path / "src"
    (source / "data").mkdir(parents=True)
    (source / "config.yml").write_text("shop: {}\n" * 50)
    (source / "data" / "orders.csv").write_text("id\n1\n" * 200)
    with tarfile.open(backup_dir / f"shop_{datetime.now():%Y%m%d}.tar.gz", "w:gz") as tar:
        tar.add(source / "config.yml", "config.yml")
        tar.add(source / "data", "data")
    return {"/var/log/shop": str(log_dir), "/etc/shop": str(etc), "/var/backups/shop": str(backup_dir)}


def test_imported_runbook_runs_with_expected_verdicts(suite, api, stack):
    require_tcp("127.0.0.1", 5432, "PostgreSQL")
    require_tcp("127.0.0.1", 6379, "Redis")
    result = import_runbook(RUNBOOK)
    text = writer.render(result, writer.gate(writer.build(result.drafts)), "shop")
    assert validate.check_text(text) == []
    assert "placeholder.invalid" in text and "# PLACEHOLDER: the host came from a shell variable" in text
    filled = text.replace("placeholder.invalid", api)
    for placeholder, real in stack.items():
        filled = filled.replace(placeholder, real)
    suite.run("-m", "daily", inventory=filled)
    verdicts = suite.verdicts()
    verdicts = suite.verdicts()
    api_id, log_id = f"http://{api}/health", "local:app.log ERROR"  # host:name, the entry named by the importer
    latency_judged = {"test_pg_connect[test@127.0.0.1]", "test_redis_ping[127.0.0.1:6379]"}  # OK, or WARN on a busy host
    redis_info = {k for k in verdicts if k.startswith("test_redis_") and k not in latency_judged}
    expected = {
        f"test_http_endpoint[{api_id}]": "OK",                                  # status: ok, as the Expected response
        "test_pg_assertion[test@127.0.0.1:SELECT count(*) FROM pg_stat_activity WHERE wait_event_type]": "OK",  # < 50
        f"test_file_permissions[local:{stack['/etc/shop']}/.env]": "CRIT",      # 0644, the runbook's .env at most 0600
        f"test_log_pattern[{log_id}]": "CRIT",                                  # 12 errors, crit above 10
        "test_disk_usage[local:/]": verdicts.get("test_disk_usage[local:/]"),   # this host's disk, judged by the KPI table
        **{f"test_backup_{aspect}[local:{stack['/var/backups/shop']}/shop_*.tar.gz]": "OK"
           for aspect in ("age", "count", "size", "integrity")},
    }
    assert {k: v for k, v in verdicts.items() if k not in latency_judged | redis_info} == expected
    assert all(verdicts[k] in ("OK", "WARN") for k in latency_judged | redis_info), verdicts
    assert len(redis_info) >= 5 and verdicts["test_disk_usage[local:/]"] in ("OK", "WARN", "CRIT")
    disk = json.dumps(suite.check("test_disk_usage[local:/]"))
    assert "warn 98%" in disk and "crit 99%" in disk
    log = suite.check(f"test_log_pattern[{log_id}]")
    assert "12 in the last 1d (crit 10)" in json.dumps(log), log
