"""SQL assertions and the read-only guarantee, and the whole set run by a pg_monitor role.

Writes are attempted as the superuser on purpose: what refuses them is the READ
ONLY transaction, not missing privileges.
"""

from __future__ import annotations

import pytest
from pg_servers import MAIN_HOST, MAIN_PORT, admin, drop_database, drop_role, dsn, results, unique

from conftest import require_tcp
from opscheck.errors import Unmeasurable
from opscheck.inventory.model import Inventory
from opscheck.probes.postgres.session import close_all, read_only
from opscheck.registry import get
from opscheck.verdict import Verdict


@pytest.fixture(scope="module")
def db():
    require_tcp(MAIN_HOST, MAIN_PORT, "PostgreSQL")
    name = unique("opscheck_sql")
    with admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with admin(dbname=name) as conn:
        conn.execute(
            "CREATE TABLE trade_executions (id serial PRIMARY KEY, symbol text NOT NULL,"
            " is_paper_trade boolean NOT NULL, amount numeric NOT NULL)"
        )
        conn.execute(
            "INSERT INTO trade_executions (symbol, is_paper_trade, amount) VALUES"
            " ('BTC', true, 1.5), ('ETH', true, 20), ('SOL', false, 3), ('ADA', true, 7)"
        )
        conn.execute("CREATE TABLE audit_log (id serial PRIMARY KEY, event text NOT NULL)")
        conn.execute("INSERT INTO audit_log (event) VALUES ('LOGIN'), ('PAPER_TRADE')")
        conn.execute("CREATE INDEX trade_symbol_idx ON trade_executions (symbol)")
        # A volatile function that writes: SELECTing it must not write either.
        conn.execute(
            "CREATE FUNCTION sneaky_write() RETURNS int LANGUAGE sql VOLATILE AS"
            " $$ INSERT INTO audit_log (event) VALUES ('SNEAKY') RETURNING id $$"
        )
    yield name
    drop_database(MAIN_PORT, name)


def snapshot(db: str) -> tuple:
    """Everything the write attempts could change, to prove they did not."""
    with admin(dbname=db) as conn:
        trades = conn.execute("SELECT * FROM trade_executions ORDER BY id").fetchall()
        audit = conn.execute("SELECT * FROM audit_log ORDER BY id").fetchall()
        tables = conn.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 1").fetchall()
        seq = conn.execute("SELECT last_value FROM audit_log_id_seq").fetchone()
    return trades, audit, tables, seq


WRITES = {
    "delete returning": "DELETE FROM trade_executions WHERE NOT is_paper_trade RETURNING id",
    "create table": "CREATE TABLE evil (id int)",
    "volatile function": "SELECT sneaky_write()",
    "smuggled commit": "COMMIT; BEGIN READ WRITE; DELETE FROM trade_executions",
    "read write again": "SET TRANSACTION READ WRITE",
    "update in cte": "WITH gone AS (UPDATE trade_executions SET is_paper_trade = true RETURNING id) SELECT count(*) FROM gone",
}


def test_a_function_that_writes_passes_the_guard_but_the_server_refuses_it(db):
    """The guard cannot see into functions the database defines: the READ ONLY transaction stops them."""
    before = snapshot(db)
    found = results({"postgres": [{"name": "main", "dsn": dsn(db), "assertions": [
        {"name": "volatile function", "sql": WRITES["volatile function"], "expect": {"rows": 0}}]}]}, "pg_assertion")

    r = found["main:volatile function"]
    assert r.verdict is Verdict.UNKNOWN, r.summary
    assert "cannot execute INSERT in a read-only transaction" in r.summary
    assert snapshot(db) == before
    # The session is still healthy and read-only afterwards.
    ok = results({"postgres": [{"name": "main", "dsn": dsn(db), "assertions": [
        {"name": "ro", "sql": "SELECT current_setting('transaction_read_only')", "expect": "on"}]}]}, "pg_assertion")
    assert ok["main:ro"].verdict is Verdict.OK


def test_the_read_only_session_refuses_writes_the_guard_would_have_stopped(db):
    """Defence in depth: past the static guard (SQL sent by hand), the session itself still refuses to write."""
    before = snapshot(db)
    inv = Inventory.model_validate({"postgres": [{"name": "main", "dsn": dsn(db)}]})
    (target,) = get("pg_connect").targets(inv)
    errors = {}
    for name, sql in WRITES.items():
        with pytest.raises(Unmeasurable) as info, read_only(target) as session:
            session.rows(sql)
        errors[name] = str(info.value)
    assert "cannot execute DELETE in a read-only transaction" in errors["delete returning"]
    assert "cannot execute CREATE TABLE in a read-only transaction" in errors["create table"]
    assert "cannot execute INSERT in a read-only transaction" in errors["volatile function"]
    assert "cannot insert multiple commands into a prepared statement" in errors["smuggled commit"]
    assert "transaction read-write mode must be set before any query" in errors["read write again"]
    assert "in a read-only transaction" in errors["update in cte"]  # PostgreSQL names the outer SELECT
    assert snapshot(db) == before


def test_expectations_value_rows_and_comparisons(db):
    assertions = [
        {"name": "no real trades", "sql": "SELECT count(*) FROM trade_executions WHERE NOT is_paper_trade", "expect": 0},
        {"name": "real trades empty", "sql": "SELECT id, symbol, amount FROM trade_executions WHERE is_paper_trade = false", "expect": {"rows": 0}},
        {"name": "no real trade attempts", "sql": "SELECT * FROM audit_log WHERE event = 'REAL_TRADE_ATTEMPT'", "expect": {"rows": 0}},
        {"name": "some paper trades", "sql": "SELECT count(*) FROM trade_executions WHERE is_paper_trade", "expect": ">= 3"},
        {"name": "few symbols", "sql": "SELECT count(DISTINCT symbol) FROM trade_executions", "expect": "< 3"},
        {"name": "mode", "sql": "SELECT 'paper'::text", "expect": "paper"},
        {"name": "percent sign", "sql": "SELECT count(*) FROM trade_executions WHERE symbol LIKE 'B%'", "expect": 1},
        {"name": "two columns", "sql": "SELECT 1, 2", "expect": 1},
    ]
    found = results({"postgres": [{"name": "main", "dsn": dsn(db), "assertions": assertions}]}, "pg_assertion")

    crit = found["main:no real trades"]
    assert crit.verdict is Verdict.CRIT and crit.measurement.value == 1
    assert crit.summary == "no real trades: value 1, expected value == 0"

    rows = found["main:real trades empty"]
    assert rows.verdict is Verdict.CRIT and rows.measurement.value == 1
    assert rows.summary == "real trades empty: 1 row, expected rows == 0"
    assert rows.measurement.evidence["rows"] == [{"id": 3, "symbol": "SOL", "amount": "3"}]
    assert rows.measurement.evidence["columns"] == ["id", "symbol", "amount"]

    empty = found["main:no real trade attempts"]
    assert empty.verdict is Verdict.OK and empty.measurement.value == 0
    assert empty.summary == "no real trade attempts (0 rows; expected rows == 0)"

    assert found["main:some paper trades"].verdict is Verdict.OK
    assert found["main:some paper trades"].measurement.value == 3
    few = found["main:few symbols"]
    assert few.verdict is Verdict.CRIT and few.summary == "few symbols: value 4, expected value < 3"
    assert found["main:mode"].verdict is Verdict.OK
    assert found["main:percent sign"].verdict is Verdict.OK
    shape = found["main:two columns"]
    assert shape.verdict is Verdict.UNKNOWN and "use expect: {rows: N}" in shape.summary


@pytest.fixture(scope="module")
def monitor(db):
    """A non-superuser with only pg_monitor, CONNECT and SELECT on the tables assertions read."""
    role = unique("opscheck_mon")
    with admin() as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER')
        conn.execute(f'GRANT pg_monitor TO "{role}"')
        conn.execute(f'GRANT CONNECT ON DATABASE "{db}" TO "{role}"')
    with admin(dbname=db) as conn:
        conn.execute(f'GRANT SELECT ON trade_executions, audit_log TO "{role}"')
    yield role
    close_all()
    with admin(dbname=db) as conn:
        conn.execute(f'REVOKE ALL ON trade_executions, audit_log FROM "{role}"')
    with admin() as conn:
        conn.execute(f'REVOKE ALL ON DATABASE "{db}" FROM "{role}"')
    drop_role(MAIN_PORT, role)


def test_pg_monitor_role_runs_the_whole_set(suite, db, monitor):
    run = suite.run("-m", "daily or weekly", "--concurrency=4", inventory=f"""
        postgres:
          - name: main
            dsn: "{dsn(db, user=monitor)}"
            connections: {{warn: 90%, crit: 99%}}
            long_running: {{warn: 1h, crit: 2h}}
            idle_in_transaction: {{warn: 1h, crit: 2h}}
            dead_tuples: {{warn: 99%}}
            assertions:
              - {{name: no real trade attempts, sql: "SELECT * FROM audit_log WHERE event = 'REAL_TRADE_ATTEMPT'", expect: {{rows: 0}}, severity: critical}}
              - {{name: paper only, sql: "SELECT count(*) FROM trade_executions WHERE NOT is_paper_trade", expect: 0, schedule: [smoke]}}
        """)

    verdicts = suite.verdicts()
    assert verdicts == {
        "test_pg_connect[main]": "OK",
        "test_pg_connections[main]": "OK",
        "test_pg_blocked[main]": "OK",
        "test_pg_long_running[main]": "OK",
        "test_pg_idle_in_transaction[main]": "OK",
        "test_pg_database_size[main]": "OK",
        "test_pg_wraparound[main]": "OK",
        "test_pg_replication[main]": "OK",
        "test_pg_assertion[main:no real trade attempts]": "OK",
        "test_pg_assertion[main:paper only]": "CRIT",
        "test_pg_dead_tuples[main]": "OK",
        "test_pg_unused_indexes[main]": "WARN",
        "test_pg_slow_queries[main]": "UNKNOWN",
    }, run.stdout.str()
    assert run.ret == 1
    connect = suite.check("test_pg_connect[main]")
    assert connect["evidence"]["user"] == monitor and connect["evidence"]["role"] == "primary"
    assert connect["evidence"]["server_version"].startswith(("1", "2"))
    assert suite.check("test_pg_assertion[main:no real trade attempts]")["severity"] == "critical"
    slow = suite.check("test_pg_slow_queries[main]")
    assert "pg_stat_statements is not installed in database" in slow["summary"]
    unused = suite.check("test_pg_unused_indexes[main]")
    assert [i["index"] for i in unused["evidence"]["indexes"]] == ["trade_symbol_idx"]
    assert unused["value"] == 1 and unused["warn"] == 0
    size = suite.check("test_pg_database_size[main]")
    assert size["unit"] == "B" and size["value"] > 1_000_000
    assert "public.trade_executions" in [t["table"] for t in size["evidence"]["largest_tables"]]
    # smoke selects only the assertion that asked for it
    smoke = suite.run("-m", "smoke")
    smoke.assert_outcomes(failed=1)
    assert suite.verdicts() == {"test_pg_assertion[main:paper only]": "CRIT"}


def test_hand_written_check_with_pg_query_is_read_only(suite, db):
    before = snapshot(db)
    suite.pytester.makepyfile(**{"checks/test_by_hand": """
        import pytest

        @pytest.mark.daily
        def test_paper_only(pg_query):
            rows = pg_query("main", "SELECT symbol FROM trade_executions WHERE NOT is_paper_trade ORDER BY id")
            assert rows == [], f"real trades: {rows}"

        @pytest.mark.daily
        def test_cannot_write(pg_query):
            pg_query("main", "DELETE FROM trade_executions")
        """})
    run = suite.run("-m", "daily", "-k", "by_hand", inventory=f"""
        postgres:
          - {{name: main, dsn: "{dsn(db)}"}}
        """)
    assert suite.verdicts() == {"test_paper_only": "CRIT", "test_cannot_write": "UNKNOWN"}
    assert "real trades: [{'symbol': 'SOL'}]" in suite.check("test_paper_only")["summary"]
    assert "refused, not a read-only query: expected a SELECT, WITH … SELECT, VALUES, TABLE or SHOW, found DELETE" in suite.check("test_cannot_write")["summary"]
    assert run.ret == 1
    assert snapshot(db) == before
