"""Redis checks against redis-server processes the tests start: memory filled past warn and
crit, a background save that fails, an ACL user without INFO, a replica, counters."""

from __future__ import annotations

import json
import threading

import pytest
import redis
from redis_servers import RedisServer, write_tls_files

from conftest import free_port, require_tcp
from opscheck.inventory.model import Inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.probes.redis import client as redis_client
from opscheck.registry import get
from opscheck.verdict import Verdict

ACL_PASSWORD = "acl-Secret-pass-9137"


def results(inventory: dict, kind: str) -> dict:
    inv = Inventory.model_validate(inventory)
    return {t.id: evaluate(probe_once(t)) for t in get(kind).targets(inv)}


def result(inventory: dict, kind: str):
    (only,) = results(inventory, kind).values()
    return only


@pytest.fixture
def server():
    require_tcp("127.0.0.1", 6379, "Redis")  # the suite's Redis: redis-server must be installed and runnable
    node = RedisServer(free_port(), "--maxmemory", "8mb", "--maxmemory-policy", "noeviction")
    yield node
    node.stop()


def test_memory_filled_past_warn_then_crit(server):
    inventory = {"redis": [{"name": "cache", "url": server.url, "memory": {"warn": "50%", "crit": "90%"}}]}
    ok = result(inventory, "redis_memory")
    assert ok.verdict is Verdict.OK and ok.measurement.value < 50

    server.fill_memory(65)
    warn = result(inventory, "redis_memory")
    assert warn.verdict is Verdict.WARN
    assert 50 < warn.measurement.value <= 90
    assert warn.measurement.evidence["maxmemory"] == 8 * 1024 * 1024
    assert warn.measurement.evidence["maxmemory_policy"] == "noeviction"
    assert warn.summary.startswith("memory ") and "of 8MiB) (warn 50%, crit 90%)" in warn.summary

    reached = server.fill_memory(100)
    crit = result(inventory, "redis_memory")
    assert reached > 90
    assert crit.verdict is Verdict.CRIT and crit.measurement.value > 90


def test_no_maxmemory_measured_against_system_memory_and_says_so(server):
    server.client.config_set("maxmemory", "0")
    r = result({"redis": [{"name": "cache", "url": server.url}]}, "redis_memory")
    assert r.verdict is Verdict.OK and 0 <= r.measurement.value < 5
    assert r.measurement.evidence["maxmemory"] == 0 and r.measurement.evidence["total_system_memory"] > 0
    assert "no maxmemory set: measured against system memory" in r.summary


def test_failed_background_save_is_crit():
    # Runs as nobody in a root-owned directory it can read but not write: BGSAVE fails.
    node = RedisServer(free_port(), as_nobody=True, dir_mode=0o755)
    try:
        node.client.set("k", "v")
        node.client.bgsave()
        node.wait_for("persistence", lambda i: i["rdb_bgsave_in_progress"] == 0 and i["rdb_last_bgsave_status"] != "ok")
        r = result({"redis": [{"name": "store", "url": node.url, "last_save": {"crit": "26h"}}]}, "redis_last_save")
    finally:
        node.stop()
    assert r.verdict is Verdict.CRIT
    assert r.measurement.evidence["rdb_last_bgsave_status"] == "err"
    assert r.measurement.evidence["rdb_changes_since_last_save"] == 1
    assert "last background save failed (rdb_last_bgsave_status: err)" in r.summary


def test_successful_save_is_ok_with_its_age(server):
    server.client.set("k", "v")
    server.client.bgsave()
    server.wait_for("persistence", lambda i: i["rdb_bgsave_in_progress"] == 0 and i["rdb_changes_since_last_save"] == 0)
    r = result({"redis": [{"name": "store", "url": server.url, "last_save": {"warn": "1h", "crit": "26h"}}]}, "redis_last_save")
    assert r.verdict is Verdict.OK
    assert r.measurement.value < 60 and r.measurement.evidence["rdb_last_bgsave_status"] == "ok"
    assert r.summary.startswith("last RDB save ")
    assert f"({r.measurement.target.threshold.describe()})" in r.summary  # warn 1h, crit 26h


def test_acl_user_without_info_unknown_and_password_never_shown(suite, server, monkeypatch):
    server.client.execute_command("ACL", "SETUSER", "monitor", "on", f">{ACL_PASSWORD}", "~*", "+@all", "-info")
    monkeypatch.setenv("OPSCHECK_TEST_REDIS_PASS", ACL_PASSWORD)
    run = suite.run("-m", "daily", "-k", "redis_ping or redis_memory", inventory=f"""
        redis:
          - name: cache
            url: "{server.url}"
            username: monitor
            password: env:OPSCHECK_TEST_REDIS_PASS
        """)
    assert run.ret == 1
    assert suite.verdicts() == {"test_redis_ping[cache]": "OK", "test_redis_memory[cache]": "UNKNOWN"}
    memory = suite.check("test_redis_memory[cache]")
    assert memory["summary"].startswith("cache: the ACL user may not run INFO: ")
    assert "no permissions to run the 'info' command" in memory["summary"]
    ping = suite.check("test_redis_ping[cache]")
    assert "no permissions to run the 'info' command" in ping["evidence"]["info"]
    everything = run.stdout.str() + "".join(p.read_text(errors="replace") for p in suite.reports.rglob("*") if p.is_file())
    assert ACL_PASSWORD not in everything


def test_wrong_password_unknown(server, monkeypatch):
    server.client.execute_command("ACL", "SETUSER", "monitor", "on", f">{ACL_PASSWORD}", "~*", "+@all")
    monkeypatch.setenv("OPSCHECK_TEST_REDIS_URL", f"redis://monitor:wrong-{ACL_PASSWORD}@127.0.0.1:{server.port}/0")
    r = result({"redis": [{"name": "cache", "url": "env:OPSCHECK_TEST_REDIS_URL"}]}, "redis_ping")
    assert r.verdict is Verdict.UNKNOWN
    assert r.summary.startswith("cache: cannot log in: ")
    assert f"wrong-{ACL_PASSWORD}" not in json.dumps(r.to_dict())


def test_replica_link_and_lag_from_both_sides(server):
    replica = RedisServer(free_port(), "--replicaof", "127.0.0.1", str(server.port))
    try:
        replica.wait_for("replication", lambda i: i.get("master_link_status") == "up")
        server.wait_for("replication", lambda i: i.get("connected_slaves") == 1 and i["slave0"]["state"] == "online")
        found = results({"redis": [
            {"name": "master", "url": server.url, "replication": {"min_replicas": 1}},
            {"name": "replica", "url": replica.url},
            {"name": "wants two", "url": server.url, "replication": {"min_replicas": 2}},
        ]}, "redis_replication")
        assert found["master"].verdict is Verdict.OK
        (seen,) = found["master"].measurement.evidence["replicas"]
        assert seen["port"] == replica.port and seen["state"] == "online"
        assert "master with 1 replica" in found["master"].summary
        assert found["replica"].verdict is Verdict.OK
        assert found["replica"].measurement.evidence["master_link_status"] == "up"
        assert found["wants two"].verdict is Verdict.CRIT
        assert "1 replicas connected, expected at least 2" in found["wants two"].summary

        server.stop()
        replica.wait_for("replication", lambda i: i.get("master_link_status") == "down")
        down = result({"redis": [{"name": "replica", "url": replica.url}]}, "redis_replication")
        assert down.verdict is Verdict.CRIT
        assert f"link to master 127.0.0.1:{server.port} is down" in down.summary
    finally:
        replica.stop()


def test_counters_hit_ratio_clients(server):
    for i in range(20):
        server.client.set(f"k{i}", i)
    for i in range(200):
        server.client.get(f"k{i % 40}")  # half hit, half miss
    blocked = redis.Redis(host="127.0.0.1", port=server.port)
    waiter = threading.Thread(target=lambda: blocked.blpop(["never"], timeout=3), daemon=True)
    waiter.start()
    server.wait_for("clients", lambda i: i["blocked_clients"] == 1)
    inventory = {"redis": [{
        "name": "cache", "url": server.url,
        "hit_ratio": {"warn": "80%", "crit": "20%", "min_lookups": 100},
        "blocked_clients": {"warn": 0},
        "clients": {"warn": "50%", "crit": "90%"},
    }]}
    hits = result(inventory, "redis_hit_ratio")
    assert hits.verdict is Verdict.WARN and hits.measurement.value == 50.0
    assert hits.summary == "keyspace hit ratio 50% (warn below 80%, crit below 20%)"
    block = result(inventory, "redis_blocked_clients")
    assert block.verdict is Verdict.WARN and block.measurement.value == 1
    clients = result(inventory, "redis_clients")
    assert clients.verdict is Verdict.OK and clients.measurement.evidence["maxclients"] > 0
    evictions = result(inventory, "redis_evictions")
    assert evictions.verdict is Verdict.OK and evictions.measurement.value == 0
    assert "since start" in evictions.summary
    waiter.join(timeout=10)
    blocked.close()


def test_e2e_whole_set_and_a_server_that_is_down(suite, server):
    gone = free_port()
    run = suite.run("-m", "daily", inventory=f"""
        redis:
          - {{name: cache, url: "{server.url}"}}
          - {{name: gone, url: "redis://127.0.0.1:{gone}", timeout: 2s, memory: false, evictions: false,
              rejected_connections: false, clients: false, last_save: false, replication: false,
              hit_ratio: false}}
        """)
    verdicts = suite.verdicts()
    assert verdicts == {
        "test_redis_ping[cache]": "OK", "test_redis_memory[cache]": "OK", "test_redis_evictions[cache]": "OK",
        "test_redis_rejected_connections[cache]": "OK", "test_redis_clients[cache]": "OK",
        "test_redis_last_save[cache]": "OK", "test_redis_replication[cache]": "OK",
        "test_redis_hit_ratio[cache]": "OK", "test_redis_blocked_clients[cache]": "OK",
        "test_redis_ping[gone]": "CRIT", "test_redis_blocked_clients[gone]": "UNKNOWN",
    }
    assert run.ret == 1
    assert "cannot connect (see redis_ping)" in suite.check("test_redis_blocked_clients[gone]")["summary"]
    assert suite.check("test_redis_ping[gone]")["summary"].startswith("gone: no answer: ")
    assert "no persistence configured" in suite.check("test_redis_last_save[cache]")["summary"]


def test_hand_written_check_with_redis_info(suite, server):
    server.client.set("queue:1", "job")
    suite.pytester.makepyfile(**{"checks/test_by_hand": """
        import pytest

        @pytest.mark.daily
        def test_few_keys(redis_info):
            keys = redis_info("cache", "keyspace")["db0"]["keys"]
            assert keys == 0, f"{keys} keys waiting"
        """})
    run = suite.run("-m", "daily", "-k", "by_hand", inventory=f"""
        redis:
          - {{name: cache, url: "{server.url}"}}
        """)
    assert run.ret == 1
    assert suite.verdicts() == {"test_few_keys": "CRIT"}
    assert "1 keys waiting" in suite.check("test_few_keys")["summary"]


def test_least_privilege_acl_from_the_docs_runs_the_whole_set(server, monkeypatch):
    acl = "opscheck on >{} ~* resetchannels -@all +ping +info +config|get +client|setname +hello +auth +select"
    server.client.execute_command("ACL", "SETUSER", *acl.format(ACL_PASSWORD).split())
    monkeypatch.setenv("OPSCHECK_TEST_REDIS_PASS", ACL_PASSWORD)
    entry = {"name": "cache", "url": server.url + "/0", "username": "opscheck", "password": "env:OPSCHECK_TEST_REDIS_PASS"}
    kinds = ("redis_ping", "redis_memory", "redis_evictions", "redis_rejected_connections", "redis_clients",
             "redis_last_save", "redis_replication", "redis_hit_ratio", "redis_blocked_clients")
    verdicts = {kind: result({"redis": [entry]}, kind).verdict for kind in kinds}
    assert verdicts == dict.fromkeys(kinds, Verdict.OK)
    # and it cannot write
    limited = redis.Redis(host="127.0.0.1", port=server.port, username="opscheck", password=ACL_PASSWORD)
    with pytest.raises(redis.exceptions.NoPermissionError):
        limited.set("k", "v")
    limited.close()


def test_rediss_with_a_private_ca(tmp_path):
    cert, key, ca = write_tls_files(tmp_path)
    node = RedisServer(free_port(), tls=(cert, key, ca))
    try:
        # Trust is what this test is about, not speed: a loaded machine may take over 100 ms to ping.
        base = {"name": "tls", "url": node.url, "timeout": "3s", "latency": {"warn": "2s", "crit": "3s"}}
        trusted = result({"redis": [{**base, "tls_ca": str(ca)}]}, "redis_ping")
        untrusted = result({"redis": [base]}, "redis_ping")
        unverified = result({"redis": [{**base, "tls_verify": False}]}, "redis_memory")
    finally:
        node.stop()
    assert node.url.startswith("rediss://")
    assert trusted.verdict is Verdict.OK and trusted.measurement.evidence["redis_version"]
    assert untrusted.verdict is Verdict.CRIT and "certificate verify failed" in untrusted.summary
    assert unverified.verdict is Verdict.OK


def test_server_refusing_writes_after_a_failed_save_is_named_not_hidden():
    """MISCONF (stop-writes-on-bgsave-error) refuses PING but answers INFO: last_save is CRIT naming the
    failed save, ping is CRIT naming the refusal, the INFO-based checks are measured as usual, also on
    pooled connections idle long enough for a client health check."""
    node = RedisServer(free_port(), "--save", "3600 1", as_nobody=True, dir_mode=0o755)
    inventory = {"redis": [{"name": "store", "url": node.url, "last_save": {"crit": "26h"}, "latency": {"warn": "1s"}}]}
    kinds = ("redis_ping", "redis_last_save", "redis_memory", "redis_clients", "redis_evictions", "redis_blocked_clients")
    try:
        assert {k: result(inventory, k).verdict for k in kinds} == dict.fromkeys(kinds, Verdict.OK)
        node.client.set("k", "v")
        node.client.bgsave()
        node.wait_for("persistence", lambda i: i["rdb_bgsave_in_progress"] == 0 and i["rdb_last_bgsave_status"] != "ok")
        with pytest.raises(redis.exceptions.ResponseError, match="MISCONF"):
            node.client.ping()
        found = {}
        for kind in kinds:
            # The pooled connections of the first round as if idle past any health-check interval.
            for cached in redis_client._clients.values():
                for connection in cached.connection_pool._available_connections:
                    connection.next_health_check = 0
            found[kind] = result(inventory, kind)
    finally:
        node.stop()
    last_save = found["redis_last_save"]
    assert last_save.verdict is Verdict.CRIT, last_save.summary
    assert "last background save failed (rdb_last_bgsave_status: err)" in last_save.summary
    ping = found["redis_ping"]
    assert ping.verdict is Verdict.CRIT, ping.summary
    assert ping.summary.startswith("ping ")
    assert "server refuses writes: MISCONF Redis is configured to save RDB snapshots" in ping.summary
    assert 0 < ping.measurement.value < 1
    for kind in ("redis_memory", "redis_clients", "redis_evictions", "redis_blocked_clients"):
        assert found[kind].verdict is Verdict.OK, found[kind].summary
        assert found[kind].measurement.value is not None


@pytest.mark.parametrize(("kind", "section", "field"), [
    ("redis_blocked_clients", "clients", "blocked_clients"),
    ("redis_evictions", "stats", "evicted_keys"),
    ("redis_rejected_connections", "stats", "rejected_connections"),
    ("redis_hit_ratio", "stats", "keyspace_hits"),
    ("redis_replication", "replication", "connected_slaves"),
    ("redis_memory", "memory", "maxmemory"),
])
def test_a_number_info_leaves_out_is_unknown_never_zero(server, monkeypatch, kind, section, field):
    """A Redis-compatible server (or an old one) whose INFO lacks a field: UNKNOWN naming it, not a 0 judged OK."""
    from opscheck.probes.redis import server as redis_probe

    real = redis_probe.info

    def without_field(target, wanted=None):
        found = dict(real(target, wanted))
        if wanted == section:
            found.pop(field, None)
        return found

    monkeypatch.setattr(redis_probe, "info", without_field)
    r = result({"redis": [{"name": "cache", "url": server.url}]}, kind)
    assert r.verdict is Verdict.UNKNOWN, r.summary
    assert r.summary == f"cache: INFO {section} does not report {field}"
