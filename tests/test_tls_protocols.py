"""Old TLS protocols an endpoint still accepts, against real `openssl s_server`s started here.

OpenSSL 3 negotiates TLS 1.0/1.1 only at security level 0, so the legacy servers
run with `-cipher DEFAULT:@SECLEVEL=0` (and the probe offers the same).
"""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
from http_tls_servers import Pki

from conftest import free_port
from opscheck import registry
from opscheck.errors import InventoryError
from opscheck.inventory import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.verdict import Verdict

LEGACY = ["-cipher", "DEFAULT:@SECLEVEL=0"]
SERVERS = {
    "legacy": ["-min_protocol", "TLSv1", *LEGACY],  # everything from TLS 1.0 up
    "tls11": ["-tls1_1", *LEGACY],  # TLS 1.1 only
    "modern": [],  # OpenSSL 3's defaults: TLS 1.2 and 1.3
}


@pytest.fixture(scope="module")
def s_servers(tmp_path_factory):
    cert, key = Pki(tmp_path_factory.mktemp("tls-protocols")).leaf("protocols")
    running, endpoints = [], {}
    for name, flags in SERVERS.items():
        port = free_port()
        proc = subprocess.Popen(
            ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key), "-www", *flags],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        running.append(proc)
        endpoints[name] = f"127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"openssl s_server {name} exited: {proc.stderr.read()}", pytrace=False)
                time.sleep(0.05)
    yield endpoints
    for proc in running:
        proc.terminate()
        proc.wait(timeout=10)


def judged(tmp_path, entry: str):
    path = tmp_path / "inventory.yml"
    path.write_text(f"tls:\n  - {entry}\n")
    (target,) = registry.get("tls_protocols").targets(load_inventory(path))
    m = probe_once(target)
    return m, evaluate(m)


def test_a_server_accepting_tls10_and_tls11_is_crit_naming_both(tmp_path, s_servers):
    endpoint = s_servers["legacy"]
    m, result = judged(tmp_path, f"{{endpoint: '{endpoint}'}}")
    assert (result.verdict, m.value) == (Verdict.CRIT, 2)
    assert result.summary == (f"{endpoint}: accepts TLSv1.0 (older than min_protocol TLSv1.2); "
                              "accepts TLSv1.1 (older than min_protocol TLSv1.2) (min_protocol TLSv1.2)")
    assert m.evidence["attempts"]["TLSv1.0"].startswith("accepted (TLSv1.0, cipher ")
    assert "-tls1_1 -cipher DEFAULT:@SECLEVEL=0" in m.evidence["command"]


def test_a_tls11_only_server_is_crit_naming_tls11(tmp_path, s_servers):
    m, result = judged(tmp_path, f"{{endpoint: '{s_servers['tls11']}'}}")
    assert (result.verdict, m.problems) == (Verdict.CRIT, ("accepts TLSv1.1 (older than min_protocol TLSv1.2)",))
    assert m.evidence["attempts"]["TLSv1.0"].startswith("refused (")


def test_a_modern_server_is_ok_unless_tls12_is_too_old(tmp_path, s_servers):
    endpoint = s_servers["modern"]
    m, result = judged(tmp_path, f"{{endpoint: '{endpoint}'}}")
    assert (result.verdict, m.value) == (Verdict.OK, 0)
    assert result.summary == f"{endpoint} refuses TLSv1.0, TLSv1.1 (min_protocol TLSv1.2)"
    assert set(m.evidence["attempts"]) == {"TLSv1.0", "TLSv1.1"}
    assert all(v.startswith("refused (") for v in m.evidence["attempts"].values()), m.evidence

    m, result = judged(tmp_path, f"{{endpoint: '{endpoint}', min_protocol: TLSv1.3}}")
    assert (result.verdict, m.problems) == (Verdict.CRIT, ("accepts TLSv1.2 (older than min_protocol TLSv1.3)",))


def test_a_closed_port_is_crit_and_the_check_can_be_turned_off(tmp_path):
    endpoint = f"127.0.0.1:{free_port()}"
    m, result = judged(tmp_path, f"{{endpoint: '{endpoint}'}}")
    assert (result.verdict, result.summary) == (Verdict.CRIT, f"{endpoint}: TLS handshake failed: connection refused")
    path = tmp_path / "off.yml"
    path.write_text(f"tls:\n  - {{endpoint: '{endpoint}', old_protocols: false}}\n")
    inventory = load_inventory(path)
    assert registry.get("tls_protocols").targets(inventory) == []
    assert len(registry.get("tls_endpoint").targets(inventory)) == 1


def test_old_protocols_belongs_to_endpoints(tmp_path):
    path = tmp_path / "inventory.yml"
    path.write_text("tls:\n  - {file: /c.pem, old_protocols: true}\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    (problem,) = caught.value.problems
    assert "tls[0]: old_protocols: only for an endpoint: entry, not a file" in problem.replace("Value error, ", "")


def test_suite_end_to_end(suite, s_servers):
    legacy, modern = s_servers["legacy"], s_servers["modern"]
    suite.run("-m", "daily", "-k", "old_protocols", inventory=f"""
        tls:
          - {{endpoint: '{legacy}', insecure: true}}
          - {{name: modern, endpoint: '{modern}', insecure: true}}
        """)
    assert suite.verdicts() == {f"test_tls_old_protocols[{legacy}]": "CRIT", "test_tls_old_protocols[modern]": "OK"}  # named entries by name
