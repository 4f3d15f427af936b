"""memcached checks against real memcached servers started on loopback for each test.

Workloads of hits and misses put the hit ratio on either side of its limit; a
server with a 2 MB memory limit is filled until it evicts; held sockets fill
its connection table.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass

import pytest
from pymemcache.client.base import Client

from conftest import free_port
from opscheck.inventory import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import measure
from opscheck.registry import get
from opscheck.units import format_value
from opscheck.verdict import Verdict

KINDS = ("memcached", "memcached_hit_ratio", "memcached_evictions", "memcached_connections", "memcached_memory")


@dataclass
class Server:
    port: int
    process: subprocess.Popen

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self) -> Client:
        return Client(("127.0.0.1", self.port), connect_timeout=3, timeout=3)

    def stats(self) -> dict[str, int]:
        with_bytes = self.client().stats()
        return {k.decode(): v for k, v in with_bytes.items()}


@pytest.fixture
def memcached_server():
    """Start memcached servers (`memcached_server(memory_mb=2, max_conns=32)`); all stopped afterwards."""
    binary = shutil.which("memcached")
    if binary is None:
        pytest.fail("memcached is not installed (Debian package memcached, see .ci/apt/queues.txt)", pytrace=False)
    servers: list[Server] = []

    def start(memory_mb: int = 64, max_conns: int = 1024) -> Server:
        port = free_port()
        argv = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", str(memory_mb), "-c", str(max_conns), "-t", "1"]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]  # memcached refuses to run as root without -u
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        server = Server(port, process)
        servers.append(server)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return server
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"memcached did not start: {process.stderr.read().decode()[:300]}", pytrace=False)
                time.sleep(0.05)

    yield start
    for server in servers:
        server.process.kill()  # a scratch cache has nothing to flush; SIGTERM costs a second each
        server.process.wait(timeout=10)
        server.process.stderr.close()


def judged(kind: str, inventory_text: str, tmp_path):
    path = tmp_path / "inventory.yml"
    path.write_text(inventory_text)
    (target,) = get(kind).targets(load_inventory(path))
    return evaluate(measure(target))


def hits_and_misses(server: Server, hits: int, misses: int) -> None:
    client = server.client()
    client.set("present", b"v")
    for _ in range(hits):
        assert client.get("present") == b"v"
    for i in range(misses):
        assert client.get(f"absent-{i}") is None
    client.close()


def test_hit_ratio_above_then_below_the_threshold(memcached_server, suite):
    server = memcached_server()
    hits_and_misses(server, hits=180, misses=20)
    inventory = f"memcached: [{{name: cache, address: '{server.address}', hit_ratio: {{warn: 80%, crit: 50%}}}}]\n"

    result = suite.run("-m", "daily", inventory=inventory)
    result.assert_outcomes(passed=5)
    check = suite.check("test_memcached_hit_ratio[cache]")
    assert (check["verdict"], check["value"], check["unit"]) == ("OK", 90.0, "%")
    assert check["summary"] == f"{server.address} 90% of gets hit (warn below 80%, crit below 50%)"
    assert check["evidence"]["get_hits"] == 180 and check["evidence"]["get_misses"] == 20

    hits_and_misses(server, hits=0, misses=100)  # 180 of 300: 60 %
    result = suite.run("-m", "daily", inventory=inventory)
    assert result.ret == 0  # WARN does not fail the run
    result.stdout.fnmatch_lines(["*= 4 passed*1 warned in *"])
    check = suite.check("test_memcached_hit_ratio[cache]")
    assert (check["verdict"], check["value"]) == ("WARN", 60.0)
    assert check["summary"] == f"{server.address} 60% of gets hit (warn below 80%, crit below 50%)"

    hits_and_misses(server, hits=0, misses=100)  # 180 of 400: 45 %
    result = suite.run("-m", "daily", inventory=inventory)
    assert result.ret == 1
    check = suite.check("test_memcached_hit_ratio[cache]")
    assert (check["verdict"], check["value"]) == ("CRIT", 45.0)
    assert check["evidence"]["get_misses"] == 220


def test_hit_ratio_of_too_few_gets_is_not_judged(memcached_server, tmp_path):
    server = memcached_server()
    result = judged("memcached_hit_ratio", f"memcached: [{{address: '{server.address}'}}]\n", tmp_path)
    assert (result.verdict, result.measurement.value) == (Verdict.OK, None)
    assert result.summary == f"{server.address} (only 0 gets since start, fewer than min_gets 100: not judged)"

    hits_and_misses(server, hits=1, misses=9)
    result = judged("memcached_hit_ratio", f"memcached: [{{address: '{server.address}'}}]\n", tmp_path)
    assert result.verdict is Verdict.OK
    assert result.measurement.value == 10.0
    assert result.summary == f"{server.address} 10% of gets hit (only 10 gets since start, fewer than min_gets 100: not judged)"


def test_evictions_forced_by_a_tiny_memory_limit(memcached_server, suite):
    server = memcached_server(memory_mb=2)
    client = server.client()
    for i in range(600):  # 6 MB of values into 2 MB
        client.set(f"k{i}", b"x" * 10_000)
    client.close()
    stats = server.stats()
    assert stats["evictions"] > 0

    result = suite.run(
        "-m", "daily",
        inventory=f"""\
        memcached:
          - name: tiny
            address: '{server.address}'
            evictions: {{warn: 1, crit: 10}}
            memory: {{warn: 50%, crit: 99%}}
        """,
    )
    assert result.ret == 1
    evictions = suite.check("test_memcached_evictions[tiny]")
    assert evictions["verdict"] == "CRIT"
    ev = evictions["evidence"]
    assert ev["evictions"] >= stats["evictions"] and ev["limit_maxbytes"] == 2 * 1024 * 1024
    assert evictions["value"] == round(60 * ev["evictions"] / max(ev["uptime_s"], 1), 2) > 10
    assert evictions["summary"].startswith(f"{server.address} {evictions['value']:g} evictions/min since start (warn 1, crit 10) (")
    assert f"({ev['evictions']} evictions in " in evictions["summary"]

    memory = suite.check("test_memcached_memory[tiny]")
    assert memory["verdict"] == "WARN"
    used = memory["evidence"]["bytes"]
    assert memory["value"] == pytest.approx(100 * used / (2 * 1024 * 1024))  # exact: judged unrounded
    assert 50 < memory["value"] <= 99
    assert "of memory limit used (" in memory["summary"] and "of 2MiB)" in memory["summary"]


def test_no_evictions_is_ok(memcached_server, tmp_path):
    server = memcached_server()
    server.client().set("k", b"v")
    result = judged("memcached_evictions", f"memcached: [{{address: '{server.address}'}}]\n", tmp_path)
    assert (result.verdict, result.measurement.value) == (Verdict.OK, 0.0)
    assert result.summary.startswith(f"{server.address} 0 evictions/min since start (warn 1) (0 evictions in ")


def test_connections_against_max_connections(memcached_server, tmp_path):
    server = memcached_server(max_conns=64)
    held = [socket.create_connection(("127.0.0.1", server.port), timeout=3) for _ in range(40)]
    try:
        deadline = time.monotonic() + 5
        while server.stats()["curr_connections"] < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        result = judged(
            "memcached_connections",
            f"memcached: [{{address: '{server.address}', connections: {{warn: 50%, crit: 90%}}}}]\n",
            tmp_path,
        )
    finally:
        for sock in held:
            sock.close()
    ev = result.measurement.evidence
    assert result.verdict is Verdict.WARN, result.summary
    assert ev["max_connections"] == 64 and ev["curr_connections"] >= 41  # the 40 held and the probe's own
    assert result.measurement.value == pytest.approx(100 * ev["curr_connections"] / 64)
    assert result.summary == (
        f"{server.address} {format_value(result.measurement.value, '%')} of max connections ({ev['curr_connections']}/64) (warn 50%, crit 90%)"
    )


def test_reachable_reports_latency_and_version(memcached_server, tmp_path):
    server = memcached_server()
    result = judged("memcached", f"memcached: [{{name: c1, address: '{server.address}'}}]\n", tmp_path)
    assert result.verdict is Verdict.OK
    assert 0 < result.measurement.value < 1
    assert result.measurement.evidence["version"] and result.measurement.evidence["pid"] == str(server.process.pid)
    assert result.summary.startswith(f"memcached {result.measurement.evidence['version']} at {server.address} ")
    assert result.summary.endswith(" to answer stats (warn 100ms, crit 1s)")


def test_a_server_that_is_down_is_crit_in_every_check(suite):
    port = free_port()
    result = suite.run("-m", "daily", inventory=f"memcached: [{{name: gone, address: '127.0.0.1:{port}'}}]\n")
    assert result.ret == 1
    result.assert_outcomes(failed=5)
    verdicts = suite.verdicts()
    assert verdicts == {f"test_{kind}[gone]".replace("test_memcached[", "test_memcached_reachable["): "CRIT" for kind in KINDS}
    check = suite.check("test_memcached_reachable[gone]")
    assert check["summary"].startswith(f"gone: cannot connect to 127.0.0.1:{port}: ")
    assert check["value"] is None


def test_null_limits_drop_checks_but_not_reachability(memcached_server, tmp_path):
    server = memcached_server()
    path = tmp_path / "inventory.yml"
    path.write_text(
        f"memcached: [{{address: '{server.address}', latency: null, hit_ratio: null, evictions: null, connections: null, memory: null}}]\n"
    )
    inventory = load_inventory(path)
    assert [len(get(kind).targets(inventory)) for kind in KINDS] == [1, 0, 0, 0, 0]
    (target,) = get("memcached").targets(inventory)
    result = evaluate(measure(target))
    assert result.verdict is Verdict.OK and result.summary.endswith(" to answer stats")
    assert 0 < result.measurement.value < 1 and target.threshold is None
