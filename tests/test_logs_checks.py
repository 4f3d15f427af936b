"""Log checks through the probe (the scanner runs as `python3 -c` on the host) and end to end:
verdicts, counts, presets, and evidence that is redacted and truncated."""

from __future__ import annotations

import gzip
import os
import textwrap
import time
from pathlib import Path

from opscheck import registry
from opscheck.inventory.loader import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.probes import logs

MIN = 60
HOUR = 3600


def measure_all(tmp_path: Path, inventory: str) -> dict:
    """{target id: (result, measurement)} for every log_pattern target."""
    logs._cache.clear()  # each test writes new files under the same kind of key
    path = tmp_path / "inventory.yml"
    path.write_text(textwrap.dedent(inventory))
    out = {}
    for target in registry.get("log_pattern").targets(load_inventory(path)):
        m = probe_once(target)
        out[target.id] = (evaluate(m), m)
    return out


def stamp(age_s: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time.time() - age_s)) + ",000"


def access(age_s: float, status: int, agent: str = "Mozilla/5.0") -> str:
    when = time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", time.gmtime(time.time() - age_s))
    return f'203.0.113.7 - - {when} "GET /api/login HTTP/1.1" {status} 512 "-" "{agent}"\n'


def test_named_patterns_counted_with_redacted_truncated_evidence(tmp_path):
    log = tmp_path / "backend.log"
    lines = [f"{stamp(30 * HOUR)} ERROR ancient failure outside the window\n"]
    lines += [f"{stamp(20 * MIN + i)} INFO ok\n" for i in range(50)]
    lines += [f"{stamp(10 * MIN + i)} ERROR login failed for bob@example.com password=hunter2 token: abc123\n" for i in range(12)]
    lines += [f"{stamp(5 * MIN)} CRITICAL " + "x" * 600 + "\n"]
    log.write_text("".join(lines))
    results = measure_all(tmp_path, f"""
        logs:
          - name: backend
            path: {log}
            window: 24h
            patterns:
              errors: {{regex: "ERROR|CRITICAL", warn: 5, crit: 50}}
              payments: {{regex: "payment declined", crit: 0}}
    """)
    result, m = results["local:backend:errors"]
    assert (result.verdict.value, m.value) == ("WARN", 13)
    assert result.summary == f"{log} errors 13 in the last 1d (warn 5, crit 50)"
    assert m.evidence["counts"] == {"errors": 13, "payments": 0}
    last = m.evidence["last_lines"]
    assert len(last) == 10
    assert last[0].endswith("…") and len(last[0]) == logs.LINE_CHARS
    assert last[1].endswith("ERROR login failed for ***@*** password=*** token: ***")
    assert not any("hunter2" in line or "abc123" in line or "bob@" in line for line in last)
    assert m.evidence["timestamp_format"] == "iso"
    result, m = results["local:backend:payments"]
    assert (result.verdict.value, m.value, m.evidence["last_lines"]) == ("OK", 0, [])


def test_design_shorthand_and_rotated_gz_files(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("".join(f"{stamp(h * HOUR + 30)} ERROR e{h}\n" for h in range(5, -1, -1)))
    older = "".join(f"{stamp(h * HOUR + 30)} ERROR e{h}\n" for h in range(30, 5, -1))
    (tmp_path / "app.log.1.gz").write_bytes(gzip.compress(older.encode()))
    mtime = time.time() - 6 * HOUR
    os.utime(tmp_path / "app.log.1.gz", (mtime, mtime))
    results = measure_all(tmp_path, f"""
        logs:
          - {{name: backend errors, path: {log}, pattern: "ERROR|CRITICAL", window: 12h, warn: 5, crit: 10}}
    """)
    result, m = results["local:backend errors"]
    # 0h..5h in app.log, 6h..11h in app.log.1.gz: 12 inside 12h.
    assert (result.verdict.value, m.value) == ("CRIT", 12)
    assert [f["file"].rsplit("/", 1)[1] for f in m.evidence["files"]] == ["app.log", "app.log.1.gz"]
    assert m.evidence["last_lines"][0].endswith("ERROR e0")


def test_http_status_preset_on_an_access_log(tmp_path):
    log = tmp_path / "access.log"
    lines = [access(2 * HOUR, 401)] * 100  # before the preset's 1h window
    lines += [access(30 * MIN, 401)] * 60 + [access(20 * MIN, 403)] * 7 + [access(10 * MIN, 429)] * 3
    lines += [access(5 * MIN, 200, "sqlmap/1.7#stable")] * 2 + [access(MIN, 200)] * 40
    log.write_text("".join(lines))
    results = measure_all(tmp_path, f"""
        logs:
          - {{name: nginx, path: {log}, preset: http_status, patterns: {{http_403: {{regex: '" 403 ', warn: 5}}}}}}
          - {{name: scanners, path: {log}, preset: scanners}}
    """)
    verdicts = {k.rsplit(":", 1)[1]: (r.verdict.value, m.value) for k, (r, m) in results.items()}
    assert verdicts == {
        "http_401": ("WARN", 60), "http_403": ("WARN", 7), "http_429": ("OK", 3), "scanner_user_agents": ("WARN", 2),
    }
    result, m = results["local:nginx:http_401"]
    assert result.summary == f"{log} http_401 60 in the last 1h (warn 50, crit 500)"
    result, m = results["local:scanners:scanner_user_agents"]
    assert m.evidence["window"] == "1d" and "sqlmap/1.7" in m.evidence["last_lines"][0]


def test_failed_ssh_logins_per_hour(tmp_path):
    log = tmp_path / "auth.log"
    syslog = lambda age: time.strftime("%b %e %H:%M:%S", time.localtime(time.time() - age))  # noqa: E731
    lines = [f"{syslog(3 * HOUR)} bastion sshd[811]: Failed password for root from 198.51.100.4 port 22 ssh2\n"] * 80
    lines += [f"{syslog(40 * MIN)} bastion sshd[812]: Failed password for invalid user admin from 198.51.100.4 port 22 ssh2\n"] * 51
    lines += [f"{syslog(30 * MIN)} bastion sshd[813]: Invalid user oracle from 198.51.100.5 port 4242\n"] * 4
    lines += [f"{syslog(20 * MIN)} bastion sshd[814]: Accepted publickey for deploy from 10.0.0.2 port 5000 ssh2\n"]
    log.write_text("".join(lines))
    results = measure_all(tmp_path, f"logs:\n  - {{name: ssh, path: {log}, preset: ssh_failed}}\n")
    result, m = results["local:ssh:ssh_failed_logins"]
    assert (result.verdict.value, m.value) == ("CRIT", 55)
    assert result.summary == f"{log} ssh_failed_logins 55 in the last 1h (warn 10, crit 50)"
    assert m.evidence["timestamp_format"] == "syslog"


def test_missing_log_is_crit_and_untimed_log_is_unknown(tmp_path):
    results = measure_all(tmp_path, f"logs:\n  - {{name: gone, path: {tmp_path}/gone.log, pattern: ERROR}}\n")
    result, _ = results["local:gone"]
    assert result.verdict.value == "CRIT"
    assert result.summary == f"local:gone: log {tmp_path}/gone.log does not exist"
    (tmp_path / "raw.log").write_text("ERROR something\n" * 20)
    results = measure_all(tmp_path, f"logs:\n  - {{name: raw, path: {tmp_path}/raw.log, pattern: ERROR}}\n")
    result, _ = results["local:raw"]
    assert result.verdict.value == "UNKNOWN"
    assert "has a timestamp opscheck knows" in result.summary


def test_log_checks_end_to_end(suite, tmp_path):
    log = tmp_path / "backend.log"
    log.write_text("".join(f"{stamp(m * MIN)} ERROR boom {m} user=alice@example.org\n" for m in range(8, 0, -1)))
    # Measured concurrently: both patterns' probes share one scan of the file.
    result = suite.run("-m", "daily", "--concurrency=4", inventory=f"""
        logs:
          - name: backend
            path: {log}
            patterns:
              errors: {{regex: ERROR, warn: 5, crit: 50}}
              fatal: {{regex: FATAL, crit: 0}}
    """)
    assert result.ret == 0, result.stdout.str()
    assert suite.verdicts() == {"test_log_pattern[local:backend:errors]": "WARN", "test_log_pattern[local:backend:fatal]": "OK"}
    record = suite.check("test_log_pattern[local:backend:errors]")
    assert record["value"] == 8
    assert "alice@" not in str(record["evidence"]) and "***@***" in str(record["evidence"])
    result.stdout.fnmatch_lines(["*1 passed*1 warned*"])
