"""Throwaway clusters the tests own: saturation at a low max_connections, password
authentication, pg_stat_statements, a streaming replica, and a server that goes away."""

from __future__ import annotations

import json
import time

import psycopg
import pytest
from pg_servers import Cluster, admin, dsn, result, results

from conftest import free_port
from opscheck.probes.postgres.session import close_all
from opscheck.verdict import Verdict

RIGHT_PASSWORD = "Right-horse-battery-731"
WRONG_PASSWORD = "Wrong-staple-correct-482"


@pytest.fixture(scope="module")
def cluster():
    # 10 connections, 3 reserved for superusers: 7 for everyone else.
    node = Cluster(free_port(), {
        "max_connections": "10", "superuser_reserved_connections": "3",
        "shared_preload_libraries": "pg_stat_statements",
    })
    try:
        with admin(node.port) as conn:
            conn.execute(f"CREATE ROLE app LOGIN PASSWORD '{RIGHT_PASSWORD}'")
            conn.execute("CREATE DATABASE app OWNER app")
        node.hba_prepend("host all app 127.0.0.1/32 scram-sha-256")
        yield node
    finally:
        close_all()
        node.stop()


@pytest.fixture
def clients(cluster):
    conns: list[psycopg.Connection] = []
    yield conns
    for conn in conns:
        conn.close()


def open_as_app(cluster, n: int, conns: list) -> None:
    for _ in range(n):
        conns.append(psycopg.connect(dsn("app", "app", cluster.port), password=RIGHT_PASSWORD, autocommit=True))


def test_connection_saturation_crit_then_no_slot_left(cluster, clients, monkeypatch):
    monkeypatch.setenv("OPSCHECK_TEST_PGPASS", RIGHT_PASSWORD)
    superuser = {"postgres": [{"name": "c", "dsn": dsn("postgres", port=cluster.port), "connections": {"warn": "50%", "crit": "80%"}}]}
    as_app = {"postgres": [{"name": "c", "dsn": dsn("app", "app", cluster.port), "password": "env:OPSCHECK_TEST_PGPASS",
                            "connections": {"warn": "50%", "crit": "80%"}}]}

    open_as_app(cluster, 6, clients)
    r = result(superuser, "pg_connections")
    assert r.verdict is Verdict.CRIT
    assert r.measurement.value == 100.0  # 6 idle + the probe itself, of 10 - 3 reserved
    assert r.measurement.evidence["max_connections"] == 10
    assert r.measurement.evidence["superuser_reserved"] == 3
    assert r.measurement.evidence["by_state"] == {"idle": 6, "active": 1}
    assert r.summary == "connections 100% used (7 of 7) (warn 50%, crit 80%) (most by app@app: 6)"

    close_all()  # the superuser's cached connection holds a slot; the app's probe must find none
    open_as_app(cluster, 1, clients)
    full = result(as_app, "pg_connections")
    assert full.verdict is Verdict.CRIT
    assert full.measurement.error.startswith("no connection slot left: ")
    assert "reserved" in full.summary
    assert RIGHT_PASSWORD not in full.summary
    # Other aspects cannot measure, and say why, rather than each paging for the same outage.
    blocked = result(as_app, "pg_blocked")
    assert blocked.verdict is Verdict.UNKNOWN and "no connection slot left" in blocked.summary


def test_wrong_password_unknown_and_never_shown(suite, cluster, monkeypatch):
    monkeypatch.setenv("OPSCHECK_TEST_PGPASS", WRONG_PASSWORD)
    monkeypatch.setenv("OPSCHECK_TEST_PGURL", f"postgresql://app:{WRONG_PASSWORD}@127.0.0.1:{cluster.port}/app")
    run = suite.run("-m", "daily", "-k", "pg_connect and not connections", "-rA", inventory=f"""
        postgres:
          - {{name: keyword, dsn: "{dsn('app', 'app', cluster.port)}", password: env:OPSCHECK_TEST_PGPASS}}
          - {{name: url, dsn: env:OPSCHECK_TEST_PGURL}}
        """)

    assert run.ret == 1
    run.assert_outcomes(errors=2)
    assert suite.verdicts() == {"test_pg_connect[keyword]": "UNKNOWN", "test_pg_connect[url]": "UNKNOWN"}
    record = suite.check("test_pg_connect[keyword]")
    assert 'password authentication failed for user "app"' in record["summary"]
    assert record["summary"].startswith("keyword: cannot log in: ")
    everything = run.stdout.str() + run.stderr.str() + "".join(
        p.read_text(errors="replace") for p in suite.reports.rglob("*") if p.is_file()
    )
    assert WRONG_PASSWORD not in everything
    assert "password authentication failed" in everything


def test_right_password_connects_as_app(cluster, monkeypatch):
    monkeypatch.setenv("OPSCHECK_TEST_PGPASS", RIGHT_PASSWORD)
    r = result({"postgres": [{"name": "c", "dsn": dsn("app", "app", cluster.port), "password": "env:OPSCHECK_TEST_PGPASS"}]}, "pg_connect")
    assert r.verdict is Verdict.OK
    assert r.measurement.evidence["user"] == "app" and r.measurement.evidence["database"] == "app"
    assert RIGHT_PASSWORD not in json.dumps(r.to_dict())


def test_slow_queries_from_pg_stat_statements(cluster):
    with admin(cluster.port) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        for _ in range(3):
            conn.execute("SELECT pg_sleep(0.3)")
        for _ in range(5):
            conn.execute("SELECT 1 + 1")
    inventory = {"postgres": [{"name": "c", "dsn": dsn("postgres", port=cluster.port),
                               "slow_queries": {"warn": "200ms", "crit": "5s", "min_calls": 3}}]}
    r = result(inventory, "pg_slow_queries")
    assert r.verdict is Verdict.WARN
    assert 0.3 <= r.measurement.value < 5
    slowest = r.measurement.evidence["slowest"][0]
    assert slowest["query"] == "SELECT pg_sleep($1)" and slowest["calls"] == 3
    assert "slowest statement mean time" in r.summary and "warn 200ms" in r.summary


def test_concurrent_probes_share_one_connection_and_agree_with_sequential(cluster):
    """On the private cluster: nothing else runs there to change verdicts between the two passes."""
    from concurrent.futures import ThreadPoolExecutor

    from opscheck.inventory.model import Inventory
    from opscheck.judging import evaluate
    from opscheck.measuring import probe_once
    from opscheck.registry import get

    kinds = ("pg_connect", "pg_connections", "pg_blocked", "pg_long_running", "pg_idle_in_transaction",
             "pg_database_size", "pg_wraparound", "pg_replication", "pg_dead_tuples", "pg_unused_indexes")
    inv = Inventory.model_validate({"postgres": [{"name": "main", "dsn": dsn("postgres", port=cluster.port)}]})
    targets = [t for kind in kinds for t in get(kind).targets(inv)] * 5
    close_all()
    sequential = [evaluate(probe_once(t)).verdict for t in targets]
    with ThreadPoolExecutor(8) as pool:
        concurrent = [evaluate(m).verdict for m in pool.map(probe_once, targets)]
    assert concurrent == sequential
    assert Verdict.UNKNOWN not in concurrent
    with admin(cluster.port) as conn:
        (n,) = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'postgres' AND application_name = 'opscheck'"
        ).fetchone()
    assert n == 1

@pytest.fixture(scope="module")
def replica(cluster):
    standby = Cluster(free_port(), {"max_connections": "10", "superuser_reserved_connections": "3"}, base=cluster)
    try:
        with admin(cluster.port) as conn:
            deadline = time.monotonic() + 30
            while not conn.execute("SELECT 1 FROM pg_stat_replication WHERE state = 'streaming' AND replay_lsn IS NOT NULL").fetchall():
                assert time.monotonic() < deadline, "the replica never started streaming"
                time.sleep(0.1)
        yield standby
    finally:
        close_all()
        standby.stop()


def test_streaming_replica_seen_from_both_sides(cluster, replica):
    with admin(cluster.port) as conn:
        conn.execute("SELECT pg_create_physical_replication_slot('forgotten_replica')")
        conn.execute("CREATE TABLE IF NOT EXISTS churn AS SELECT generate_series(1, 20000) AS n")
        conn.execute("SELECT pg_switch_wal()")
    try:
        found = results({"postgres": [
            {"name": "primary", "dsn": dsn("postgres", port=cluster.port), "replication": {"min_replicas": 1}},
            {"name": "standby", "dsn": dsn("postgres", port=replica.port)},
            {"name": "wants two", "dsn": dsn("postgres", port=cluster.port), "replication": {"min_replicas": 2}},
        ]}, "pg_replication")
    finally:
        with admin(cluster.port) as conn:
            conn.execute("SELECT pg_drop_replication_slot('forgotten_replica')")

    primary = found["primary"]
    assert primary.verdict is Verdict.WARN  # the inactive slot, not the healthy replica
    (streaming,) = primary.measurement.evidence["replicas"]
    assert streaming["state"] == "streaming" and streaming["replay_lag_bytes"] >= 0
    assert "slot forgotten_replica inactive, retaining" in primary.summary
    assert "primary with 1 replica" in primary.summary

    standby = found["standby"]
    assert standby.verdict is Verdict.OK
    assert standby.measurement.evidence["role"] == "standby"
    assert standby.measurement.evidence["receiver_status"] == "streaming"
    assert standby.measurement.value < 30

    assert found["wants two"].verdict is Verdict.CRIT
    assert "1 replica connected, expected at least 2" in found["wants two"].summary

    connect = result({"postgres": [{"name": "s", "dsn": dsn("postgres", port=replica.port)}]}, "pg_connect")
    assert connect.measurement.evidence["role"] == "standby"


def test_server_down_is_crit_for_connect_unknown_for_the_rest():
    port = free_port()
    inventory = {"postgres": [{"name": "gone", "dsn": dsn("postgres", port=port), "timeout": "3s"}]}
    down = result(inventory, "pg_connect")
    assert down.verdict is Verdict.CRIT
    assert down.summary.startswith("gone: cannot connect: connection failed")
    assert str(port) in down.summary
    other = result(inventory, "pg_long_running")
    assert other.verdict is Verdict.UNKNOWN and "see pg_connect" in other.summary
