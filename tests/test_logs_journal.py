"""`logs:` entries with `journal:`: real journal files (made by systemd-journal-remote from an export
stream written here) read by the real journalctl: patterns, priority, unit and identifier filters,
window bounds, presets, and the journals that cannot be read (missing, empty, permission denied)."""

from __future__ import annotations

import os
import tempfile
import textwrap
from pathlib import Path

import pytest
from journal_files import entry, remove, write_journal

from opscheck import registry
from opscheck.errors import InventoryError
from opscheck.inventory.loader import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.probes import logs

MIN = 60
HOUR = 3600


def measure_all(tmp_path: Path, text: str) -> dict:
    """{target id: (result, measurement)} for every log_pattern target of the inventory."""
    logs._cache.clear()
    path = tmp_path / "inventory.yml"
    path.write_text(textwrap.dedent(text))
    out = {}
    for target in registry.get("log_pattern").targets(load_inventory(path)):
        m = probe_once(target)
        out[target.id] = (evaluate(m), m)
    return out


@pytest.fixture
def web_journal(tmp_path):
    """nginx and app entries over the last three hours, at several priorities."""
    return write_journal(tmp_path / "journal", [
        entry(150 * MIN, "upstream timed out while reading response header", priority="err"),       # outside 1h
        entry(50 * MIN, "upstream timed out while reading response header", priority="err"),
        entry(40 * MIN, "upstream timed out (110: Connection timed out)", priority="err"),
        entry(30 * MIN, "upstream timed out, retrying", priority="warning"),                           # below err
        entry(20 * MIN, "worker process 4242 exited on signal 11 (segfault)", priority="crit"),
        entry(10 * MIN, "GET /health 200 password=hunter2-Zq", priority="info"),
        entry(5 * MIN, "upstream timed out in the app", unit="app.service", priority="err"),        # other unit
    ])


def test_patterns_matched_and_not_within_unit_priority_and_window(tmp_path, web_journal):
    results = measure_all(tmp_path, f"""
        logs:
          - name: nginx errors
            journal: {{unit: nginx, priority: err, directory: {web_journal}}}
            window: 1h
            patterns:
              upstream: {{regex: "upstream timed out", warn: 1, crit: 5}}
              segfault: {{regex: "segfault", crit: 0}}
              oom: {{regex: "Out of memory", crit: 0}}
    """)
    upstream, m = results["local:nginx errors:upstream"]
    assert (upstream.verdict.value, m.value) == ("WARN", 2)   # 50 and 40 min ago; not 150 min, not warning, not app
    assert upstream.summary == "journal:nginx:err upstream 2 in the last 1h (warn 1, crit 5)"
    segfault, m = results["local:nginx errors:segfault"]
    assert (segfault.verdict.value, m.value) == ("CRIT", 1)
    assert m.evidence["last_lines"] == [m.evidence["last_lines"][0]]
    assert m.evidence["last_lines"][0].endswith(" web-1 nginx[812]: worker process 4242 exited on signal 11 (segfault)")
    assert m.evidence["journal_files"] == 1 and m.evidence["entries_read"] == 3
    assert m.evidence["journal"] == {"unit": ["nginx"], "priority": "err", "directory": str(web_journal)}
    oom, m = results["local:nginx errors:oom"]
    assert (oom.verdict.value, m.value) == ("OK", 0)


def test_priority_filter_and_window_bounds(tmp_path, web_journal):
    def upstream(priority: str | None, window: str) -> int:
        prio = f", priority: {priority}" if priority else ""
        results = measure_all(tmp_path, f"""
            logs:
              - {{name: n, journal: {{unit: nginx{prio}, directory: {web_journal}}}, window: {window}, pattern: "upstream timed out"}}
        """)
        ((result, m),) = results.values()
        assert result.verdict.value == "OK", result.summary
        return m.value

    assert upstream("err", "1h") == 2
    assert upstream("warning", "1h") == 3          # warning and more severe
    assert upstream(None, "1h") == 3
    assert upstream("err", "3h") == 3              # the 150-minute-old entry is inside 3h
    assert upstream("err", "45m") == 1
    assert upstream("crit", "3h") == 0
    assert upstream("warning..warning", "3h") == 1  # a range: exactly warning


def test_identifier_filter_and_ssh_preset(tmp_path):
    folder = write_journal(tmp_path / "auth", [
        *(entry(m * MIN, f"Failed password for root from 203.0.113.{m} port 22 ssh2", unit="ssh.service", identifier="sshd",
                pid=900 + m) for m in range(1, 13)),
        entry(2 * MIN, "Invalid user admin from 203.0.113.9 port 22", unit="ssh.service", identifier="sshd"),
        entry(3 * MIN, "Failed password for root (not sshd)", unit="cron.service", identifier="CRON"),
        entry(90 * MIN, "Failed password for root from 203.0.113.1 port 22 ssh2", unit="ssh.service", identifier="sshd"),
    ])
    results = measure_all(tmp_path, f"""
        logs:
          - {{name: ssh, journal: {{identifier: sshd, directory: {folder}}}, preset: ssh_failed}}
    """)
    result, m = results["local:ssh:ssh_failed_logins"]
    assert (result.verdict.value, m.value) == ("WARN", 13)   # 12 failed + 1 invalid user in the hour; warn 10, crit 50
    assert m.evidence["last_lines"][0].endswith("sshd[901]: Failed password for root from 203.0.113.1 port 22 ssh2")


def test_binary_and_multiline_messages_and_masked_secrets(tmp_path):
    folder = write_journal(tmp_path / "bin", [
        entry(60, b"ERROR bad byte \xff in payload"),
        entry(50, "ERROR first line\nsecond line with token=Zq-cmdj-token-991"),
    ])
    results = measure_all(tmp_path, f"""
        logs:
          - {{name: e, journal: {{unit: nginx, file: {folder}/system.journal}}, window: 10m, pattern: ERROR}}
    """)
    ((result, m),) = results.values()
    assert m.value == 2
    assert m.evidence["last_lines"][0].endswith("nginx[812]: ERROR first line\nsecond line with token=***")
    assert m.evidence["last_lines"][1].endswith("nginx[812]: ERROR bad byte \ufffd in payload")


def test_missing_empty_and_unreadable_journals_are_unknown(tmp_path):
    results = measure_all(tmp_path, f"""
        logs:
          - {{name: gone, journal: {{unit: nginx, directory: {tmp_path}/nowhere}}, pattern: ERROR}}
          - {{name: gone file, journal: {{file: {tmp_path}/nowhere.journal}}, pattern: ERROR}}
    """)
    result, _ = results["local:gone"]
    assert result.verdict.value == "UNKNOWN"
    assert result.summary == f"local:gone: cannot read {tmp_path}/nowhere on local: {tmp_path}/nowhere does not exist"
    result, _ = results["local:gone file"]
    assert result.verdict.value == "UNKNOWN" and f"{tmp_path}/nowhere.journal does not exist" in result.summary

    (tmp_path / "empty").mkdir()
    results = measure_all(tmp_path, f"""
        logs:
          - {{name: empty, journal: {{unit: nginx, directory: {tmp_path}/empty}}, pattern: ERROR}}
    """)
    ((result, _),) = results.values()
    assert result.verdict.value == "UNKNOWN"
    assert f"no journal files in {tmp_path}/empty on local" in result.summary

    # A real permission problem: journalctl as `nobody` (testinfra's sudo) on a root-only journal file.
    shared = Path(tempfile.mkdtemp(prefix="opscheck-journal-", dir="/tmp"))
    try:
        os.chmod(shared, 0o755)
        folder = write_journal(shared / "j", [entry(60, "ERROR root only")])
        os.chmod(folder, 0o755)
        os.chmod(folder / "system.journal", 0o600)
        results = measure_all(tmp_path, f"""
            hosts: {{web: ["local://?sudo=true&sudo_user=nobody"]}}
            logs:
              - {{name: denied, on: web, journal: {{unit: nginx, directory: {folder}}}, pattern: ERROR}}
        """)
        ((result, _),) = results.values()
        assert result.verdict.value == "UNKNOWN"
        assert f"permission denied reading {folder} on " in result.summary
        assert "systemd-journal" in result.summary
    finally:
        remove(shared)


@pytest.mark.parametrize("entry_text, message", [
    ("{name: x, pattern: E}", "logs[0]: give exactly one source: path: (a log file), journal: (journalctl) or container: (docker logs)"),
    ("{name: x, path: /var/log/x.log, journal: {unit: nginx}, pattern: E}", "logs[0]: give exactly one source"),
    ("{name: x, journal: {unit: nginx, priority: loud}, pattern: E}", "logs[0].journal.priority: expected a syslog priority"),
    ("{name: x, journal: {unit: nginx}, rotated: 3, pattern: E}", "logs[0]: rotated apply to log files, not to journal:"),
    ("{name: x, journal: {unit: nginx, directory: var/log/journal}, pattern: E}", "logs[0].journal.directory: expected an absolute path"),
    ("{name: x, journal: {untis: nginx}, pattern: E}", "logs[0].journal.untis: unknown key"),
])
def test_journal_inventory_errors(tmp_path, entry_text, message):
    path = tmp_path / "inventory.yml"
    path.write_text(f"environment: test\nlogs:\n  - {entry_text}\n")
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    (line,) = info.value.problems
    assert line.startswith(f"{path}:3: "), line
    assert message in line, line


def test_journal_checks_end_to_end(suite, tmp_path):
    folder = write_journal(tmp_path / "e2e", [
        entry(30 * MIN, "upstream timed out", priority="err"),
        entry(20 * MIN, "upstream timed out", priority="err"),
        entry(10 * MIN, "all fine", priority="info"),
    ])
    result = suite.run("-m", "daily", "--concurrency=4", inventory=f"""
        logs:
          - {{name: nginx errors, journal: {{unit: nginx, priority: err, directory: {folder}}}, window: 1h, crit: 1}}
          - {{name: nginx info, journal: {{unit: nginx, priority: info, directory: {folder}}}, window: 1h, pattern: fine, warn: 5}}
    """)
    assert result.ret == 1, result.stdout.str()
    assert suite.verdicts() == {
        "test_log_pattern[local:nginx errors]": "CRIT",
        "test_log_pattern[local:nginx info]": "OK",
    }
    record = suite.check("test_log_pattern[local:nginx errors]")
    assert record["value"] == 2 and record["summary"].startswith("journal:nginx:err nginx errors 2 in the last 1h (crit 1)")
