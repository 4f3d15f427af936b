"""Certificate files on a remote host: read through testinfra over a real SSH connection."""

from __future__ import annotations

import hosts_sshd
from http_tls_servers import Pki

from opscheck import registry
from opscheck.inventory import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once

sshd = hosts_sshd.sshd


def test_certificate_file_over_ssh(sshd, tmp_path):
    pki = Pki(tmp_path)
    cert, key = pki.leaf("remote", days=20)
    path = tmp_path / "inventory.yml"
    path.write_text(
        f"hosts: {{web: ['{sshd.spec()}']}}\n"
        f"tls:\n  - {{file: '{cert}', key: '{key}', on: web}}\n  - {{file: '{tmp_path}/absent.pem', on: web}}\n"
    )
    present, absent = registry.get("cert_file").targets(load_inventory(path))
    assert present.host.spec.startswith("ssh://")
    result = evaluate(probe_once(present))
    assert result.verdict.value == "WARN", result.summary
    assert result.measurement.value == 20
    assert result.summary.startswith(f"{cert} 20 days left on CN=remote.test (until ")
    assert result.measurement.evidence["key"] == {"file": str(key), "matches_first_certificate": True}
    assert result.measurement.evidence["host"] == present.host.name
    missing = evaluate(probe_once(absent))
    assert missing.verdict.value == "CRIT"
    assert missing.summary == f"{absent.id}: the certificate file does not exist"
