"""Hosts over a real sshd on loopback: host keys verified, dead hosts bounded, Ansible inventories."""

from __future__ import annotations

import re
import time

import hosts_sshd
import pytest

from opscheck import connect

sshd = hosts_sshd.sshd
blackhole = hosts_sshd.blackhole


@pytest.fixture(autouse=True)
def _fresh_connections():
    connect.forget_down()
    yield
    connect.forget_down()


def _inventory(hosts: str, extra: str = "") -> str:
    return f"""
environment: test
# Room for a loaded machine: a hung host fails fast on its spec's ConnectTimeout, not on this.
defaults: {{timeout: 20s}}
hosts:
{hosts}
system:
  - load_per_core: {{warn: 1000, crit: 2000}}
services:
  - processes: [{{pattern: "sshd", min: 1}}]
    listening: [{{port}}]
{extra}
"""


def test_ssh_host_is_checked_with_its_host_key_verified(suite, sshd):
    inventory = _inventory(f'  web: [{{name: web-1, spec: "{sshd.spec()}"}}]').replace("{port}", str(sshd.port))
    result = suite.run("-m", "daily", inventory=inventory)
    assert result.ret == 0, result.stdout.str()
    verdicts = suite.verdicts()
    assert verdicts == {
        "test_load_per_core[web-1]": "OK",
        "test_process_running[web-1:sshd]": "OK",
        f"test_port_listening[web-1:{sshd.port}]": "OK",
    }
    port = suite.check(f"test_port_listening[web-1:{sshd.port}]")
    assert port["summary"].startswith(f"tcp/{sshd.port} listening on 127.0.0.1")
    assert "sshd" in port["evidence"][0]
    proc = suite.check("test_process_running[web-1:sshd]")
    assert proc["value"] >= 1 and proc["evidence"][0]["user"] == "root"
    assert {"pid", "user", "uptime", "rss", "command"} <= set(proc["evidence"][0])


def test_unknown_host_key_is_refused_as_unknown(suite, sshd):
    spec = sshd.spec(sshd.untrusted_config)
    inventory = _inventory(f'  web: [{{name: web-1, spec: "{spec}"}}]').replace("{port}", str(sshd.port))
    result = suite.run("-m", "daily", inventory=inventory)
    result.assert_outcomes(errors=3)
    assert set(suite.verdicts().values()) == {"UNKNOWN"}
    summary = suite.check("test_load_per_core[web-1]")["summary"]
    assert "SSH host key not trusted" in summary and "refused to connect" in summary
    assert "Host key verification failed" in summary
    # The host is named once (was "web-1: web-1: SSH host key ...").
    result.stdout.fnmatch_lines(["UNKNOWN: web-1: SSH host key not trusted*"])


def test_a_trusted_connection_is_never_lent_to_an_untrusted_spec(suite, sshd):
    # Same user, address and port, different known_hosts: each spec gets its own SSH master.
    hosts = f'  web: [{{name: web-1, spec: "{sshd.spec()}"}}, {{name: web-2, spec: "{sshd.spec(sshd.untrusted_config)}"}}]'
    inventory = _inventory(hosts).replace("{port}", str(sshd.port))
    result = suite.run("-m", "daily", inventory=inventory)
    verdicts = suite.verdicts()
    assert {v for k, v in verdicts.items() if "web-1" in k} == {"OK"}
    assert {v for k, v in verdicts.items() if "web-2" in k} == {"UNKNOWN"}
    result.assert_outcomes(passed=3, errors=3)
    assert "SSH host key not trusted" in suite.check("test_load_per_core[web-2]")["summary"]


def test_hung_host_fails_fast_and_the_rest_still_runs(suite, sshd, blackhole):
    hung = f"ssh://root@127.0.0.1:{blackhole}?ssh_config={sshd.ssh_config}&timeout=2"
    hosts = f'  web: [{{name: web-1, spec: "{sshd.spec()}"}}, {{name: hung-1, spec: "{hung}"}}]'
    inventory = _inventory(hosts).replace("{port}", str(sshd.port))
    start = time.monotonic()
    # One probe at a time, so the later checks of hung-1 can use what the first one learned
    # (measured concurrently, all three wait out the 2s ConnectTimeout together instead).
    result = suite.run("-m", "daily", "--concurrency=1", inventory=inventory)
    elapsed = time.monotonic() - start
    verdicts = suite.verdicts()
    assert {k: v for k, v in verdicts.items() if "web-1" in k} == {
        "test_load_per_core[web-1]": "OK",
        "test_process_running[web-1:sshd]": "OK",
        f"test_port_listening[web-1:{sshd.port}]": "OK",
    }
    assert {k: v for k, v in verdicts.items() if "hung-1" in k} == {
        "test_load_per_core[hung-1]": "CRIT",
        "test_process_running[hung-1:sshd]": "CRIT",
        f"test_port_listening[hung-1:{sshd.port}]": "CRIT",
    }
    result.assert_outcomes(passed=3, failed=3)
    summaries = [c["summary"] for c in suite.results()["checks"] if c["host"] == "hung-1"]
    # Each summary names its target once (hung-1, hung-1:sshd, hung-1:PORT), then the fault.
    assert len(summaries) == 3
    assert all(re.match(r"hung-1(:\w+)?: unreachable: Connection timed out during banner exchange", s) for s in summaries), summaries
    # The first check waits out ConnectTimeout (2s); the others fail at once on what it learned.
    assert sum("not retried" in s for s in summaries) == 2
    assert elapsed < 30, f"a hung host stalled the run for {elapsed:.0f}s"


def _ansible_ini(sshd) -> str:
    return (
        "[app]\napp-1 ansible_connection=local\n\n"
        "[db]\n"
        f"db-1 ansible_host=127.0.0.1 ansible_port={sshd.port} ansible_user=root "
        f"ansible_ssh_private_key_file={sshd.key} "
        f"ansible_ssh_common_args='-o UserKnownHostsFile={sshd.known_hosts} -o GlobalKnownHostsFile=/dev/null'\n"
    )


def test_ansible_inventory_end_to_end_with_xdist(suite, sshd):
    (suite.path / "hosts.ini").write_text(_ansible_ini(sshd))
    inventory = f"""
environment: test
defaults: {{timeout: 10s}}
ansible_inventory: hosts.ini
system:
  - load_per_core: {{warn: 1000, crit: 2000}}
services:
  - on: db
    processes: [{{pattern: "sshd", min: 1}}]
    listening: [{sshd.port}]
"""
    result = suite.run("-m", "daily", "-n", "2", inventory=inventory, subprocess=True)
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=4)
    assert suite.verdicts() == {
        "test_load_per_core[app-1]": "OK",
        "test_load_per_core[db-1]": "OK",
        "test_process_running[db-1:sshd]": "OK",
        f"test_port_listening[db-1:{sshd.port}]": "OK",
    }
    assert suite.check(f"test_port_listening[db-1:{sshd.port}]")["host"] == "db-1"


def test_ansible_host_key_checking_cannot_be_turned_off(suite, sshd):
    # Ansible inventories often carry StrictHostKeyChecking=no; opscheck still verifies.
    ini = (
        f"[db]\ndb-1 ansible_host=127.0.0.1 ansible_port={sshd.port} ansible_user=root "
        f"ansible_ssh_private_key_file={sshd.key} ansible_ssh_common_args='-o StrictHostKeyChecking=no "
        f"-o UserKnownHostsFile={sshd.dir}/empty_known_hosts -o GlobalKnownHostsFile=/dev/null'\n"
    )
    (suite.path / "hosts.ini").write_text(ini)
    result = suite.run("-m", "daily", inventory="ansible_inventory: hosts.ini\nsystem:\n  - load_per_core: {warn: 1000, crit: 2000}\n")
    result.assert_outcomes(errors=1)
    assert suite.verdicts() == {"test_load_per_core[db-1]": "UNKNOWN"}
    assert "SSH host key not trusted" in suite.check("test_load_per_core[db-1]")["summary"]
