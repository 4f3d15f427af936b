"""Blocked sessions, long-running queries and idle transactions, made real on the server on :5432."""

from __future__ import annotations

import re
import time

import pytest
from pg_servers import MAIN_HOST, MAIN_PORT, Held, admin, drop_database, dsn, result, unique

from conftest import require_tcp
from opscheck.verdict import Verdict


@pytest.fixture(scope="module")
def db():
    require_tcp(MAIN_HOST, MAIN_PORT, "PostgreSQL")
    name = unique("opscheck_act")
    with admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with admin(dbname=name) as conn:
        conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)")
        conn.execute("INSERT INTO accounts VALUES (1, 100), (2, 200)")
    yield name
    drop_database(MAIN_PORT, name)


@pytest.fixture
def held(db):
    sessions = Held(MAIN_PORT, db)
    yield sessions
    sessions.close()


def inventory(db: str, **aspects) -> dict:
    return {"postgres": [{"name": "main", "dsn": dsn(db), **aspects}]}


def test_lock_held_by_one_session_blocks_another_crit_with_both_pids(db, held):
    holder = held.connect(autocommit=False)
    holder.execute("UPDATE accounts SET balance = balance - 10 WHERE id = 1")
    blocker_pid = holder.info.backend_pid
    blocked_pid = held.in_background("UPDATE accounts SET balance = balance + 25 WHERE id = 1")
    held.wait_for("SELECT 1 WHERE cardinality(pg_blocking_pids(%s)) > 0", (blocked_pid,))

    r = result(inventory(db, blocked_queries={"crit": 0}), "pg_blocked")

    assert r.verdict is Verdict.CRIT
    assert r.measurement.value >= 1
    blocked = {row["pid"]: row for row in r.measurement.evidence["blocked"]}
    blocking = {row["pid"]: row for row in r.measurement.evidence["blocking"]}
    assert blocked[blocked_pid]["blocked_by"] == [blocker_pid]
    assert blocked[blocked_pid]["waiting_on"].startswith("Lock:")
    # Literals are masked: the report shows the statement's shape, not its values.
    assert blocked[blocked_pid]["query"] == "UPDATE accounts SET balance = balance + ? WHERE id = ?"
    assert blocking[blocker_pid]["state"] == "idle in transaction"
    assert blocking[blocker_pid]["user"] == "postgres"
    # The summary names the blocker (the session to look at) and the longest waiter.
    assert re.fullmatch(r"blocked sessions \d+ \(crit 0\) \(pid \d+ of \w+, [a-z ()]+, blocks \d+; longest wait \S+ by pid \d+\)", r.summary), r.summary


def test_no_blocked_sessions_is_ok(db, held):
    held.idle_in_transaction("UPDATE accounts SET balance = balance WHERE id = 2")  # a lock nobody waits for
    r = result(inventory(db, blocked_queries={"crit": 0}), "pg_blocked")
    assert r.verdict is Verdict.OK
    assert r.measurement.value == 0
    assert r.measurement.evidence["blocked"] == []


def test_long_running_query_warn_then_crit(db, held):
    pid = held.in_background("SELECT pg_sleep(60)")
    time.sleep(2.2)

    warn = result(inventory(db, long_running={"warn": "1s", "crit": "1h"}), "pg_long_running")
    crit = result(inventory(db, long_running={"warn": "1s", "crit": "2s"}), "pg_long_running")

    assert warn.verdict is Verdict.WARN
    assert crit.verdict is Verdict.CRIT
    assert crit.measurement.value >= 2.0
    oldest = crit.measurement.evidence["oldest"]
    mine = next(row for row in oldest if row["pid"] == pid)
    assert mine["query"] == "SELECT pg_sleep(?)" and mine["state"] == "active" and mine["age_s"] >= 2.0
    assert "oldest active query" in crit.summary and "crit 2s" in crit.summary


def test_idle_in_transaction_warn_with_the_session_in_evidence(db, held):
    pid = held.idle_in_transaction("SELECT balance FROM accounts WHERE id = 1")
    time.sleep(2.2)

    r = result(inventory(db, idle_in_transaction={"warn": "2s", "crit": "1h"}), "pg_idle_in_transaction")

    assert r.verdict is Verdict.WARN
    assert r.measurement.value >= 2.0
    mine = next(row for row in r.measurement.evidence["oldest"] if row["pid"] == pid)
    assert mine["state"] == "idle in transaction"
    assert mine["query"] == "SELECT balance FROM accounts WHERE id = ?"
    assert "oldest idle in transaction" in r.summary and "warn 2s" in r.summary


def test_probe_never_waits_on_the_lock_it_observes(db, held):
    """The probe reads catalog views only: an ACCESS EXCLUSIVE lock on a user table does not stall it."""
    holder = held.connect(autocommit=False)
    holder.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
    start = time.monotonic()
    for kind in ("pg_connect", "pg_connections", "pg_blocked", "pg_long_running", "pg_database_size", "pg_wraparound"):
        assert result(inventory(db), kind).verdict in (Verdict.OK, Verdict.WARN), kind
    assert time.monotonic() - start < 8  # generous: six probes on a loaded 2-core machine


def test_e2e_blocked_session_fails_the_run(suite, db, held):
    holder = held.connect(autocommit=False)
    holder.execute("SELECT * FROM accounts WHERE id = 2 FOR UPDATE")
    blocked_pid = held.in_background("DELETE FROM accounts WHERE id = 2")
    held.wait_for("SELECT 1 WHERE cardinality(pg_blocking_pids(%s)) > 0", (blocked_pid,))

    run = suite.run("-m", "daily", "-k", "pg_blocked or (pg_connect and not connections)", inventory=f"""
        postgres:
          - name: main
            dsn: "{dsn(db)}"
            blocked_queries: {{crit: 0}}
        """)

    assert run.ret == 1
    outcomes = run.parseoutcomes()
    assert (outcomes.get("failed"), outcomes.get("warned")) == (1, 1), outcomes
    # pg_connect WARNs: this DSN logs in as the superuser.
    assert suite.verdicts() == {"test_pg_blocked[main]": "CRIT", "test_pg_connect[main]": "WARN"}
    record = suite.check("test_pg_blocked[main]")
    assert record["value"] >= 1 and record["crit"] == 0
    assert blocked_pid in [row["pid"] for row in record["evidence"]["blocked"]]
    assert holder.info.backend_pid in [row["pid"] for row in record["evidence"]["blocking"]]
    run.stdout.fnmatch_lines(["*CRIT: blocked sessions * (crit 0)*"])

