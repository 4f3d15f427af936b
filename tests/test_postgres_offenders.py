"""Summaries that name the offender, not only the count: the blocking pid, the oldest session,
the largest unused index, the slowest statement, who holds the connections, the largest table.
On a throwaway cluster, so no other session of the shared server can be the one named."""

from __future__ import annotations

import time

import pytest
from pg_servers import Cluster, Held, admin, dsn, result

from conftest import free_port
from opscheck.probes.postgres import activity as _activity  # noqa: F401 - imported before pytester snapshots sys.modules
from opscheck.probes.postgres import weekly as _weekly  # noqa: F401
from opscheck.probes.postgres.session import close_all
from opscheck.units import format_duration, format_size, format_value
from opscheck.verdict import Verdict


@pytest.fixture(scope="module")
def cluster():
    node = Cluster(free_port(), {"shared_preload_libraries": "pg_stat_statements"})
    try:
        with admin(node.port) as conn:
            conn.execute("CREATE DATABASE shop")
        with admin(node.port, "shop") as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
            conn.execute("CREATE TABLE orders (id int PRIMARY KEY, note text)")
            conn.execute("INSERT INTO orders SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g")
            conn.execute("CREATE INDEX orders_note_idx ON orders (note)")
            conn.execute("CREATE TABLE tiny (id int)")
            conn.execute("CREATE INDEX tiny_id_idx ON tiny (id)")
            conn.execute("ANALYZE")
        yield node
    finally:
        close_all()
        node.stop()


@pytest.fixture
def held(cluster):
    sessions = Held(cluster.port, "shop")
    yield sessions
    sessions.close()


def entry(cluster, **aspects) -> dict:
    return {"postgres": [{"name": "shop", "dsn": dsn("shop", port=cluster.port), **aspects}]}


def test_blocked_names_the_blocking_pid_and_the_longest_waiter(cluster, held):
    holder = held.connect(autocommit=False)
    holder.execute("UPDATE orders SET note = 'y' WHERE id = 1")
    waiter = held.in_background("UPDATE orders SET note = 'z' WHERE id = 1")
    held.wait_for("SELECT 1 WHERE cardinality(pg_blocking_pids(%s)) > 0", (waiter,))
    got = result(entry(cluster, blocked_queries={"crit": 0}), "pg_blocked")
    longest = got.measurement.evidence["longest_wait_s"]
    assert got.verdict is Verdict.CRIT
    assert got.summary == (f"blocked sessions 1 (crit 0) (pid {holder.info.backend_pid} of postgres, idle in transaction,"
                           f" blocks 1; longest wait {format_duration(longest)} by pid {waiter})")


def test_long_running_and_idle_in_transaction_name_the_session(cluster, held):
    sleeper = held.in_background("SELECT pg_sleep(60)")
    idle = held.idle_in_transaction("SELECT 1")
    time.sleep(1.2)
    got = result(entry(cluster, long_running={"warn": "1s", "crit": "1h"}), "pg_long_running")
    age = got.measurement.value
    assert got.verdict is Verdict.WARN
    assert got.summary == (f"oldest active query {format_duration(age)} (warn 1s, crit 1h)"
                           f" (pid {sleeper} postgres@shop opscheck-test; 1 active query session)")
    got = result(entry(cluster, idle_in_transaction={"warn": "1s", "crit": "1h"}), "pg_idle_in_transaction")
    age = got.measurement.value
    assert got.verdict is Verdict.WARN
    assert got.summary == (f"oldest idle in transaction {format_duration(age)} (warn 1s, crit 1h)"
                           f" (pid {idle} postgres@shop opscheck-test; 1 idle in transaction session)")


def test_unused_indexes_name_the_largest(cluster):
    got = result(entry(cluster), "pg_unused_indexes")
    rows = got.measurement.evidence["indexes"]
    assert [r["index"] for r in rows] == ["orders_note_idx", "tiny_id_idx"]
    total = format_size(got.measurement.evidence["total_bytes"])
    assert got.verdict is Verdict.WARN
    assert got.summary == (f"unused indexes 2 ({total}; largest orders_note_idx on public.orders, {rows[0]['size']}) (warn 0)")


def test_slowest_statement_is_named_by_queryid_and_shape(cluster):
    with admin(cluster.port, "shop") as conn:
        for _ in range(5):
            conn.execute("SELECT pg_sleep(0.05), 'slow-marker'")
    got = result(entry(cluster, slow_queries={"warn": "10ms", "min_calls": 5}), "pg_slow_queries")
    slowest = got.measurement.evidence["slowest"][0]
    assert "pg_sleep" in slowest["query"]
    assert got.verdict is Verdict.WARN
    assert got.summary == (f"slowest statement mean time {format_duration(got.measurement.value)}"
                           f" (queryid {slowest['queryid']}: SELECT pg_sleep($1), $2) (warn 10ms)")


def test_connections_name_who_holds_most_and_size_the_largest_table(cluster, held):
    for _ in range(3):
        held.connect()
    got = result(entry(cluster, connections={"warn": "1%"}), "pg_connections")
    top = got.measurement.evidence["top_database_user"][0]
    assert (top["user"], top["database"]) == ("postgres", "shop") and top["n"] >= 4
    used, available = got.measurement.evidence["used"], got.measurement.evidence["available"]
    assert got.summary == (f"connections {format_value(100 * used / available, '%')} used ({used} of {available}) (warn 1%, crit 90%)"
                           f" (most by postgres@shop: {top['n']})")
    got = result(entry(cluster), "pg_database_size")
    largest = got.measurement.evidence["largest_tables"][0]
    assert largest["table"] == "public.orders"
    assert got.summary == f"database shop {format_size(got.measurement.value)} (largest table public.orders {largest['pretty']})"
