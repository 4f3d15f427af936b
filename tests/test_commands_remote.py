"""Commands and the journal on an ssh:// host (a real OpenSSH server on loopback): the command and
journalctl run on the remote side, under the probe's timeout, with the same verdicts as local://."""

from __future__ import annotations

import textwrap

import hosts_sshd
from journal_files import entry, write_journal

from opscheck import registry
from opscheck.inventory.loader import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.probes import logs

sshd = hosts_sshd.sshd


def measure(tmp_path, kind: str, inventory: str) -> dict:
    path = tmp_path / "inventory.yml"
    path.write_text(textwrap.dedent(inventory))
    return {t.id: (evaluate(m := probe_once(t)), m) for t in registry.get(kind).targets(load_inventory(path))}


def test_commands_over_ssh(tmp_path, sshd):
    run = tmp_path / "run.sh"
    run.write_text('#!/bin/sh\necho "mode: $MODE in $(pwd)"\n[ "$1" = fail ] && { echo "fatal: no db" >&2; exit 4; }\nexit 0\n')
    run.chmod(0o755)
    results = measure(tmp_path, "command", f"""
        hosts: {{app: [{{name: app-1, spec: "{sshd.spec()}"}}]}}
        commands:
          - {{name: status, on: app, command: ["{run}", "a b"], cwd: {tmp_path}, env: {{MODE: "paper trading"}}, read_only: true,
              expect: {{stdout: "^mode: paper trading in {tmp_path}$"}}}}
          - {{name: failing, on: app, command: ["{run}", "fail"], read_only: true}}
          - {{name: slow, on: app, shell: "sleep 30", read_only: true, timeout: 1s}}
          - {{name: missing, on: app, command: ["opscheck-no-such-tool"], read_only: true}}
    """)
    assert results["app-1:status"][0].verdict.value == "OK", results["app-1:status"][0].summary
    failing, m = results["app-1:failing"]
    assert (failing.verdict.value, failing.summary) == ("CRIT", "failing: exit 4, expected 0: fatal: no db")
    assert m.evidence["stdout_tail"].startswith("mode:  in ")
    slow, _ = results["app-1:slow"]
    assert (slow.verdict.value, slow.summary) == ("CRIT", "slow: `sleep 30` timed out after 1 s")
    missing, _ = results["app-1:missing"]
    assert missing.verdict.value == "UNKNOWN"
    assert missing.summary.startswith("app-1:missing: command not found on app-1: `opscheck-no-such-tool`")


def test_journal_over_ssh(tmp_path, sshd):
    logs._cache.clear()
    folder = write_journal(tmp_path / "journal", [
        entry(7200, "upstream timed out", priority="err"),
        entry(600, "upstream timed out", priority="err"),
        entry(300, "upstream timed out", priority="info"),
    ])
    results = measure(tmp_path, "log_pattern", f"""
        hosts: {{web: [{{name: web-1, spec: "{sshd.spec()}"}}]}}
        logs:
          - {{name: nginx errors, on: web, journal: {{unit: nginx, priority: err, directory: {folder}}}, window: 1h, crit: 0}}
    """)
    result, m = results["web-1:nginx errors"]
    assert (result.verdict.value, m.value) == ("CRIT", 1)
    assert m.evidence["last_lines"][0].endswith("web-1 nginx[812]: upstream timed out")
