"""Read-only for real: hostile SQL refused at load, with the exact line, and nothing changed
on a superuser's server; powerful roles WARN; pooled sessions keep no state between probes.

Everything that touches the server runs on a private throwaway cluster (it reloads
configuration, resets statistics, kills sessions when something goes wrong), connected
as the superuser on purpose: what stops the corpus must be opscheck, not missing grants.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest
from pg_servers import Cluster, Held, admin, dsn

from conftest import free_port
from opscheck.errors import InventoryError, Unmeasurable
from opscheck.inventory import sqlguard
from opscheck.inventory.loader import load_inventory
from opscheck.inventory.model import Inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.probes.postgres.session import close_all, read_only
from opscheck.registry import get
from opscheck.verdict import Verdict

MARKER = f"/tmp/opscheck-hostile-{uuid.uuid4().hex[:8]}"
_ALLOWED = "expected a SELECT, WITH … SELECT, VALUES, TABLE or SHOW, found"

# name -> (statement, the guard's exact reason). Each one did damage as a superuser before the guard.
HOSTILE = {
    "copy to program": (f"COPY (SELECT 1) TO PROGRAM 'touch {MARKER}-copy'", f"{_ALLOWED} COPY"),
    "copy to file": (f"COPY trade_executions TO '{MARKER}-file'", f"{_ALLOWED} COPY"),
    "dblink_exec": ("SELECT dblink_exec('dbname=app', 'INSERT INTO audit_log (event) VALUES (''DBLINK'')')",
                    "calls dblink_exec(), which runs SQL over another connection (dblink/postgres_fdw)"),
    "dblink in from": ("SELECT * FROM dblink('dbname=app', 'DELETE FROM trade_executions RETURNING id') AS t(id int)",
                       "calls dblink(), which runs SQL over another connection (dblink/postgres_fdw)"),
    "physical slot": ("SELECT pg_create_physical_replication_slot('opscheck_evil', true)",
                      "calls pg_create_physical_replication_slot(), which changes replication slots, origins or logical decoding state"),
    "logical slot": ("SELECT * FROM pg_create_logical_replication_slot('opscheck_evil2', 'test_decoding')",
                     "calls pg_create_logical_replication_slot(), which changes replication slots, origins or logical decoding state"),
    "terminate": ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'opscheck-test'",
                  "calls pg_terminate_backend(), which signals or terminates server processes"),
    "cancel in where": ("SELECT pid FROM pg_stat_activity WHERE pg_cancel_backend(pid)",
                        "calls pg_cancel_backend(), which signals or terminates server processes"),
    "advisory lock": ("SELECT pg_advisory_lock(1)",
                      "calls pg_advisory_lock(), which takes or releases advisory locks (a session lock outlives ROLLBACK)"),
    "advisory in lateral": ("SELECT * FROM generate_series(1, 2) g, LATERAL (SELECT pg_try_advisory_lock(g)) l",
                            "calls pg_try_advisory_lock(), which takes or releases advisory locks (a session lock outlives ROLLBACK)"),
    "reload conf": ("SELECT pg_reload_conf()", "calls pg_reload_conf(), which reloads the configuration or rotates the log"),
    "stat reset": ("SELECT pg_stat_reset()", "calls pg_stat_reset(), which resets statistics"),
    "schema-qualified reset": ("SELECT pg_catalog.pg_stat_reset_shared('bgwriter')",
                               "calls pg_stat_reset_shared(), which resets statistics"),
    "read file": ("SELECT pg_read_file('/etc/passwd')", "calls pg_read_file(), which reads or writes the server's files"),
    "quoted name": ('SELECT "pg_read_binary_file"(\'/etc/passwd\')',
                    "calls pg_read_binary_file(), which reads or writes the server's files"),
    "ls_dir in order by": ("SELECT 1 ORDER BY (SELECT count(*) FROM pg_ls_dir('.'))",
                           "calls pg_ls_dir(), which reads or writes the server's files"),
    "stat_file in subquery": ("SELECT 1 WHERE EXISTS (SELECT pg_stat_file('postgresql.conf'))",
                              "calls pg_stat_file(), which reads or writes the server's files"),
    "lo_import": ("SELECT lo_import('/etc/passwd')",
                  "calls lo_import(), which reads or writes large objects (lo_import/lo_export touch server files)"),
    "lo_export": (f"SELECT lo_export(lo_from_bytea(0, 'x'), '{MARKER}-lo')",
                  "calls lo_export(), which reads or writes large objects (lo_import/lo_export touch server files)"),
    "set_config session": ("SELECT set_config('work_mem', '1MB', false)",
                           "calls set_config() without is_local => true, which changes a setting for the whole session"),
    "set_config named": ("SELECT set_config(setting_name => 'work_mem', new_value => '1MB', is_local => false)",
                         "calls set_config() without is_local => true, which changes a setting for the whole session"),
    "set_config role": ("SELECT set_config('role', 'postgres', true)",
                        "calls set_config('role', …), which changes the session's role"),
    "nextval": ("SELECT nextval('audit_log_id_seq')", "calls nextval(), which advances or sets a sequence"),
    "setval in cte": ("WITH s AS (SELECT setval('audit_log_id_seq', 1000)) SELECT * FROM s",
                      "calls setval(), which advances or sets a sequence"),
    "attribute notation": ("SELECT t.nextval FROM trade_executions t", "calls nextval(), which advances or sets a sequence"),
    "select into": ("SELECT * INTO stolen FROM trade_executions", "SELECT … INTO creates a table: write a plain SELECT"),
    "data-modifying cte": ("WITH gone AS (DELETE FROM trade_executions RETURNING id) SELECT count(*) FROM gone",
                           "a WITH clause that runs DELETE modifies data"),
    "for update": ("SELECT * FROM trade_executions FOR UPDATE", "FOR UPDATE/FOR SHARE locks rows: write a plain SELECT"),
    "two statements": ("SELECT 1; SELECT pg_reload_conf()", "expected exactly one statement, found 2"),
    "comment hides a second statement": ("SELECT 1 -- harmless\n; DELETE FROM trade_executions",
                                         "expected exactly one statement, found 2"),
    "comment inside the call": ("SELECT pg_terminate_backend/* nothing to see */(pid) FROM pg_stat_activity",
                                "calls pg_terminate_backend(), which signals or terminates server processes"),
    "unicode escape": ('SELECT U&"pg\\005freload\\005fconf"()',
                       "calls pg_reload_conf(), which reloads the configuration or rotates the log"),
    "do block": ("DO $$ BEGIN PERFORM pg_reload_conf(); END $$", f"{_ALLOWED} DO"),
    "call": ("CALL opscheck_proc()", f"{_ALLOWED} CALL"),
    "explain analyze": ("EXPLAIN ANALYZE DELETE FROM trade_executions", f"{_ALLOWED} EXPLAIN"),
    "alter system": ("ALTER SYSTEM SET work_mem = '1MB'", f"{_ALLOWED} ALTER SYSTEM"),
    "switch wal": ("SELECT pg_switch_wal()", "calls pg_switch_wal(), which controls WAL, backups or recovery"),
    "notify": ("SELECT pg_notify('opscheck_chan', 'boom')", "calls pg_notify(), which sends a notification"),
    "txid": ("SELECT txid_current()", "calls txid_current(), which assigns a transaction id or exports a snapshot"),
    "dynamic sql": ("SELECT query_to_xml('SELECT pg_reload_conf()', true, false, '')",
                    "calls query_to_xml(), which runs SQL text the guard cannot check"),
    "listen": ("LISTEN opscheck_chan", f"{_ALLOWED} LISTEN"),
    "not sql": ("SELEC 1", 'not valid SQL: syntax error at or near "SELEC"'),
}

# What the guard must let through: the runbooks' queries.
BENIGN = {
    "count": "SELECT count(*) FROM trade_executions WHERE NOT is_paper_trade",
    "with": "WITH real AS (SELECT * FROM trade_executions WHERE NOT is_paper_trade) SELECT count(*) FROM real",
    "recursive": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT count(*) FROM r",
    "values": "VALUES (0)",
    "table": "TABLE audit_log",
    "show": "SHOW default_transaction_read_only",
    "local setting": "SELECT set_config('work_mem', '2MB', true) IS NOT NULL AND current_setting('work_mem') = '2MB'",
    "catalog": "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid < 0",
    "comment": "SELECT 1 /* ; DROP TABLE trade_executions */",
}


@pytest.fixture(scope="module")
def cluster():
    node = Cluster(free_port(), {"wal_level": "logical", "max_replication_slots": "4", "max_wal_senders": "4"})
    try:
        with admin(node.port) as conn:
            conn.execute("CREATE DATABASE app")
        with admin(node.port, "app") as conn:
            conn.execute(
                "CREATE TABLE trade_executions (id serial PRIMARY KEY, symbol text NOT NULL, is_paper_trade boolean NOT NULL);"
                " INSERT INTO trade_executions (symbol, is_paper_trade) VALUES ('BTC', true), ('SOL', false);"
                " CREATE TABLE audit_log (id serial PRIMARY KEY, event text NOT NULL);"
                " INSERT INTO audit_log (event) VALUES ('LOGIN');"
                " CREATE EXTENSION dblink;"
                " CREATE PROCEDURE opscheck_proc() LANGUAGE sql AS $$ DELETE FROM trade_executions $$"
            )
        yield node
    finally:
        close_all()
        node.stop()
        for path in glob.glob(f"{MARKER}*"):
            os.remove(path)


@pytest.fixture
def others(cluster):
    """Other sessions of the server: two idle ones and one listening on the channel the corpus notifies."""
    held = Held(cluster.port, "app")
    held.connect()
    held.connect()
    listener = held.connect()
    listener.execute("LISTEN opscheck_chan")
    yield held, listener
    held.close()


def snapshot(cluster) -> dict:
    """Everything the corpus could change, anywhere: data, slots, sessions, settings, statistics, files."""
    with admin(cluster.port, "app") as conn:
        def q(sql):
            return conn.execute(sql).fetchall()

        state = {
            "data": q("SELECT * FROM trade_executions ORDER BY id") + q("SELECT * FROM audit_log ORDER BY id"),
            "sequence": q("SELECT last_value, is_called FROM audit_log_id_seq"),
            "relations": q("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                           " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1, 2"),
            "large_objects": q("SELECT oid FROM pg_largeobject_metadata ORDER BY 1"),
            "slots": q("SELECT slot_name, slot_type, active FROM pg_replication_slots ORDER BY 1"),
            "sessions": q("SELECT pid, backend_start, state FROM pg_stat_activity WHERE application_name = 'opscheck-test' ORDER BY 1"),
            "advisory_locks": q("SELECT objid, pid FROM pg_locks WHERE locktype = 'advisory' ORDER BY 1"),
            "prepared_xacts": q("SELECT gid FROM pg_prepared_xacts"),
            "settings": q("SELECT name, setting FROM pg_settings ORDER BY 1"),
            "config_loaded": q("SELECT pg_conf_load_time()"),
            "stats_reset": q("SELECT stats_reset FROM pg_stat_database WHERE datname = 'app'")
            + q("SELECT stats_reset FROM pg_stat_bgwriter") + q("SELECT stats_reset FROM pg_stat_archiver"),
            "wal_file": q("SELECT pg_walfile_name(pg_current_wal_lsn())"),
            "roles": q("SELECT rolname, rolsuper FROM pg_roles ORDER BY 1"),
        }
    state["data_dir"] = sorted(os.listdir(cluster.data)) + sorted(os.listdir(cluster.data / "pg_replslot"))
    state["auto_conf"] = (cluster.data / "postgresql.auto.conf").read_text()
    state["marker_files"] = sorted(glob.glob(f"{MARKER}*"))
    return state


def no_notification(listener) -> list:
    return [n.payload for n in listener.notifies(timeout=0.5, stop_after=1)]


def write_inventory(path, db_dsn: str, statements: dict[str, str]):
    """An inventory at `path` with one assertion per line; returns its path and the line of each."""
    lines = ["postgres:", "  - name: main", f"    dsn: {json.dumps(db_dsn)}", "    assertions:"]
    where = {}
    for name, sql in statements.items():
        lines.append(f"      - {{name: {json.dumps(name)}, sql: {json.dumps(sql)}, expect: {{rows: 0}}}}")
        where[name] = len(lines)
    path.write_text("\n".join(lines) + "\n")
    return path, where


def expected_lines(path, where: dict) -> list[str]:
    return [
        f"{path}:{where[name]}: postgres[0].assertions[{i}].sql: not a read-only query: {reason}"
        for i, (name, (_, reason)) in enumerate(HOSTILE.items())
    ]


def test_the_corpus_is_large_and_each_refusal_has_its_reason():
    assert len(HOSTILE) >= 25
    for name, (sql, reason) in HOSTILE.items():
        assert sqlguard.problem(sql) == reason, name
        with pytest.raises(sqlguard.Refused, match="^" + reason.replace("(", r"\(").replace(")", r"\)")):
            sqlguard.check(sql)
    for name, sql in BENIGN.items():
        assert sqlguard.problem(sql) is None, name


def test_every_hostile_statement_is_an_inventory_error_with_its_line(tmp_path):
    path, where = write_inventory(tmp_path / "hostile.yml", "host=db.internal dbname=app user=opscheck", {n: s for n, (s, _) in HOSTILE.items()})
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert info.value.problems == expected_lines(path, where)


def test_the_guard_also_covers_restore_verification_sql(tmp_path):
    path = tmp_path / "inv.yml"
    path.write_text(textwrap.dedent("""\
        backups:
          - name: db
            path: /var/backups/db
            restore:
              dsn: "host=dr dbname=postgres"
              database: scratch
              scratch: true
              verify:
                - {name: users, sql: "SELECT count(*) FROM users"}
                - {name: evil, sql: "SELECT count(*) FROM users WHERE pg_terminate_backend(1)"}
        """))
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert info.value.problems == [
        f"{path}:10: backups[0].restore.verify[1].sql: not a read-only query:"
        " calls pg_terminate_backend(), which signals or terminates server processes"
    ]


def test_inventory_check_exits_3_with_one_line_each(tmp_path):
    path, where = write_inventory(tmp_path / "hostile.yml", "host=db.internal dbname=app user=opscheck", {n: s for n, (s, _) in HOSTILE.items()})
    done = subprocess.run([sys.executable, "-m", "opscheck", "inventory", "check", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 3
    assert done.stderr.splitlines() == expected_lines(path, where)
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_hostile_run_as_superuser_stops_at_load_and_changes_nothing(suite, cluster, others, tmp_path):
    _, listener = others
    before = snapshot(cluster)
    path, where = write_inventory(suite.inventory, dsn("app", port=cluster.port), {n: s for n, (s, _) in HOSTILE.items()})

    run = suite.run("-m", "daily")

    assert run.ret == 4
    shown = os.path.relpath(path, suite.path)  # the plugin names the inventory as given, relative to the run
    assert [line.removeprefix("ERROR: ") for line in run.stderr.lines if line.strip()] == expected_lines(shown, where)
    assert not suite.reports.exists()
    assert snapshot(cluster) == before
    assert no_notification(listener) == []


def test_hostile_sql_that_skipped_the_loader_is_refused_at_run_time_and_changes_nothing(cluster, others):
    """Entries built in code (and hand-written checks through pg_query) meet the same guard before the server."""
    _, listener = others
    before = snapshot(cluster)
    inventory = Inventory.model_validate({"postgres": [{"name": "main", "dsn": dsn("app", port=cluster.port),
                                                         "assertions": [{"name": "ok", "sql": "SELECT 0", "expect": 0}]}]})
    (benign,) = get("pg_assertion").targets(inventory)

    results = {}
    for name, (sql, _) in HOSTILE.items():
        spec = benign.spec.model_copy(update={"name": name, "sql": sql})  # model_copy skips validation
        results[name] = evaluate(probe_once(dataclasses.replace(benign, id=f"main:{name}", spec=spec)))
    refused_by_session = {}
    for name, (sql, _) in HOSTILE.items():
        with pytest.raises(Unmeasurable) as info, read_only(benign) as session:
            session.guarded_rows(sql)
        refused_by_session[name] = str(info.value)

    for name, (_, reason) in HOSTILE.items():
        assert results[name].verdict is Verdict.UNKNOWN, name
        assert results[name].summary == f"main:{name}: refused, not a read-only query: {reason}"
        assert refused_by_session[name] == f"refused, not a read-only query: {reason}"
    assert not any("root:x:0:0" in json.dumps(r.measurement.evidence, default=str) + r.summary for r in results.values())
    assert snapshot(cluster) == before
    assert no_notification(listener) == []
    assert evaluate(probe_once(benign)).verdict is Verdict.OK  # the pooled session still works


def test_the_snapshot_would_have_seen_the_damage(cluster, others):
    """Control: the same statements sent past opscheck do change what the snapshot compares."""
    before = snapshot(cluster)
    with admin(cluster.port, "app") as raw:
        raw.execute("SELECT pg_advisory_lock(1)")
        raw.execute(HOSTILE["copy to program"][0])
        raw.execute(HOSTILE["physical slot"][0])
        raw.execute(HOSTILE["nextval"][0])
        during = snapshot(cluster)
        raw.execute("SELECT pg_drop_replication_slot('opscheck_evil'); SELECT pg_advisory_unlock_all();"
                    " SELECT setval('audit_log_id_seq', 1)")
    changed = {key for key in before if before[key] != during[key]}
    assert {"advisory_locks", "marker_files", "slots", "sequence", "data_dir"} <= changed
    os.remove(f"{MARKER}-copy")


def test_benign_queries_pass_and_run(cluster):
    found = {
        t.id: evaluate(probe_once(t))
        for t in get("pg_assertion").targets(Inventory.model_validate({"postgres": [{
            "name": "main", "dsn": dsn("app", port=cluster.port),
            "assertions": [{"name": name, "sql": sql, "expect": {"rows": "> 0"}} for name, sql in BENIGN.items()],
        }]}))
    }
    assert {name: r.verdict for name, r in found.items()} == {f"main:{name}": Verdict.OK for name in BENIGN}, \
        {name: r.summary for name, r in found.items()}


# --- sessions on a pooled connection keep nothing between probes ------------------------------

def _state(session) -> dict:
    return session.rows(
        "SELECT pg_backend_pid() AS pid, current_user AS user, current_setting('work_mem') AS work_mem,"
        " current_setting('default_transaction_read_only') AS default_ro,"
        " current_setting('transaction_read_only') AS ro,"
        " (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS advisory,"
        " (SELECT count(*) FROM pg_prepared_statements WHERE from_sql) AS prepared,"
        " (SELECT count(*) FROM pg_listening_channels()) AS listening,"
        " (SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()) AS temp_tables,"
        " (SELECT count(*) FROM pg_cursors WHERE is_holdable) AS cursors"
    )[0]


@pytest.fixture
def weak_role(cluster):
    with admin(cluster.port) as conn:
        conn.execute("CREATE ROLE opscheck_weak NOLOGIN; GRANT pg_monitor TO opscheck_weak")
    yield "opscheck_weak"
    close_all()
    with admin(cluster.port) as conn:
        conn.execute("DROP ROLE opscheck_weak")


@pytest.mark.parametrize("run_as", [None, "opscheck_weak"])
def test_no_session_state_survives_a_probe(cluster, weak_role, run_as):
    entry = {"name": "main", "dsn": dsn("app", port=cluster.port)}
    if run_as:
        entry["run_as"] = run_as
    (target,) = get("pg_connect").targets(Inventory.model_validate({"postgres": [entry]}))
    close_all()
    with read_only(target) as session:
        clean = _state(session)
        # What a hand-written check could leave behind: its transaction is not the only state.
        session.rows("SELECT pg_advisory_lock(4242)")
        session.conn.execute("COMMIT")  # out of the READ ONLY transaction, as a careless check might
        session.conn.execute("SET work_mem = '77MB'")
        session.conn.execute("SET default_transaction_read_only = off")
        session.conn.execute("PREPARE leftover AS SELECT 1")
        session.conn.execute("LISTEN leftover_channel")
        session.conn.execute("CREATE TEMP TABLE leftover (id int)")
        session.conn.execute("DECLARE leftover_cursor CURSOR WITH HOLD FOR SELECT 1")
        session.conn.execute("SET ROLE NONE" if run_as else "SELECT 1")
        dirty = _state(session)
    with read_only(target) as session:
        after = _state(session)

    assert dirty["advisory"] == 1 and dirty["work_mem"] == "77MB" and dirty["prepared"] == 1
    assert dirty["listening"] == 1 and dirty["temp_tables"] == 1 and dirty["cursors"] == 1
    assert after["pid"] == clean["pid"]  # the same pooled connection, reset rather than replaced
    assert after == clean
    assert after["user"] == (run_as or "postgres")
    assert (after["default_ro"], after["ro"]) == ("on", "on")


# --- who the checks run as ---------------------------------------------------------------------

@pytest.fixture
def roles(cluster):
    made = {
        "opscheck_mon": "LOGIN",
        "opscheck_repl": "LOGIN REPLICATION",
        "opscheck_signal": "LOGIN",
        "opscheck_prog": "LOGIN",
    }
    with admin(cluster.port) as conn:
        for role, attributes in made.items():
            conn.execute(f"CREATE ROLE {role} {attributes}")
            conn.execute(f"GRANT pg_monitor TO {role}")
        conn.execute("GRANT pg_signal_backend TO opscheck_signal")
        conn.execute("GRANT pg_execute_server_program, pg_read_server_files TO opscheck_prog")
    yield list(made)
    close_all()
    with admin(cluster.port) as conn:
        for role in made:
            conn.execute(f"DROP ROLE {role}")


def connect_result(cluster, **entry):
    inventory = {"postgres": [{"name": "main", "dsn": dsn("app", entry.pop("user", "postgres"), cluster.port), **entry}]}
    (target,) = get("pg_connect").targets(Inventory.model_validate(inventory))
    return evaluate(probe_once(target))


def test_powerful_roles_warn_and_say_why(cluster, roles):
    expected = {
        "postgres": ["superuser"],
        "opscheck_repl": ["REPLICATION"],
        "opscheck_signal": ["pg_signal_backend"],
        "opscheck_prog": ["pg_execute_server_program", "pg_read_server_files"],
    }
    for user, powers in expected.items():
        r = connect_result(cluster, user=user)
        assert r.verdict is Verdict.WARN, (user, r.summary)
        assert r.measurement.evidence["privileges_beyond_pg_monitor"] == powers
        assert (f"role {user} has {', '.join(powers)}: checks need no more than pg_monitor"
                " (a weaker role, or run_as: ROLE)") in r.summary
    mon = connect_result(cluster, user="opscheck_mon")
    assert mon.verdict is Verdict.OK, mon.summary
    assert mon.measurement.evidence["privileges_beyond_pg_monitor"] == "none"


def test_run_as_sets_a_weaker_role_before_any_sql_and_is_judged(cluster, roles):
    r = connect_result(cluster, run_as="opscheck_mon")
    assert r.verdict is Verdict.OK, r.summary
    evidence = r.measurement.evidence
    assert (evidence["user"], evidence["login_user"], evidence["privileges_beyond_pg_monitor"]) == ("opscheck_mon", "postgres", "none")
    # The assertion runs as the weak role: it may not read what pg_monitor was not granted.
    found = {t.id: evaluate(probe_once(t)) for t in get("pg_assertion").targets(Inventory.model_validate({"postgres": [{
        "name": "main", "dsn": dsn("app", port=cluster.port), "run_as": "opscheck_mon",
        "assertions": [{"name": "who", "sql": "SELECT current_user::text", "expect": "opscheck_mon"},
                       {"name": "no grant", "sql": "SELECT count(*) FROM trade_executions", "expect": 0}]}]}))}
    assert found["main:who"].verdict is Verdict.OK, found["main:who"].summary
    assert found["main:no grant"].verdict is Verdict.UNKNOWN
    assert "permission denied for table trade_executions" in found["main:no grant"].summary


def test_run_as_a_role_the_login_cannot_take_is_unknown(cluster, roles):
    r = connect_result(cluster, user="opscheck_mon", run_as="opscheck_signal")
    assert r.verdict is Verdict.UNKNOWN
    assert r.summary == "main: cannot SET ROLE opscheck_signal (run_as): permission denied to set role \"opscheck_signal\""


def test_run_as_must_be_a_role_name(tmp_path):
    path = tmp_path / "inv.yml"
    path.write_text('postgres:\n  - {name: main, dsn: "host=db", run_as: ""}\n')
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert info.value.problems == [f"{path}:2: postgres[0].run_as: expected a role name of 1 to 63 characters"]


def test_pg_query_placeholders_pass_the_guard(cluster):
    (target,) = get("pg_connect").targets(Inventory.model_validate({"postgres": [{"name": "main", "dsn": dsn("app", port=cluster.port)}]}))
    with read_only(target) as session:
        rows = session.guarded_rows("SELECT count(*) AS n FROM trade_executions WHERE symbol LIKE %s AND '%%' = '%%'", ("B%",))
    assert rows == [{"n": 1}]
    with pytest.raises(Unmeasurable, match="calls nextval"), read_only(target) as session:
        session.guarded_rows("SELECT nextval(%s)", ("audit_log_id_seq",))


@pytest.fixture(autouse=True)
def _fresh_pool():
    yield
    close_all()

