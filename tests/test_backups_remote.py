"""The same probes on an ssh:// host (a real OpenSSH server on loopback): the tools and the
log scanner run on the remote side, under the probe's timeout."""

from __future__ import annotations

import gzip
import textwrap
import time

import hosts_sshd

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


def test_backup_checks_over_ssh(tmp_path, sshd):
    directory = tmp_path / "db"
    directory.mkdir()
    (directory / "db_1.gz").write_bytes(gzip.compress(b"row\n" * 100_000)[:-6])
    inventory = f"""
        hosts: {{db: [{{name: db-1, spec: "{sshd.spec()}"}}]}}
        backups:
          - {{name: dumps, on: db, path: {directory}, pattern: "db_*.gz", max_age: 4h, integrity: gzip}}
    """
    result, m = measure(tmp_path, "backup_age", inventory)["db-1:dumps"]
    assert (result.verdict.value, m.evidence["newest"]["file"]) == ("OK", "db_1.gz")
    result, _ = measure(tmp_path, "backup_integrity", inventory)["db-1:dumps"]
    assert (result.verdict.value, result.summary) == ("CRIT", "db_1.gz (gzip): gzip: unexpected end of file")


def test_log_scan_over_ssh(tmp_path, sshd):
    logs._cache.clear()
    log = tmp_path / "app.log"
    stamp = lambda age: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - age)) + "Z"  # noqa: E731
    log.write_text("".join(f"{stamp(age)} ERROR e{age}\n" for age in (7200, 1800, 600, 60)))
    inventory = f"""
        hosts: {{app: [{{name: app-1, spec: "{sshd.spec()}"}}]}}
        logs:
          - {{name: errors, on: app, path: {log}, window: 1h, pattern: ERROR, warn: 2}}
    """
    result, m = measure(tmp_path, "log_pattern", inventory)["app-1:errors"]  # host:name
    assert (result.verdict.value, m.value) == ("WARN", 3)
    assert m.evidence["last_lines"][0].endswith("ERROR e60")
