"""Sequences near exhaustion, the WAL archiver and requested checkpoints, on throwaway clusters
the tests own (archive_mode and whole-server statistics must never touch the shared 5432)."""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone

import pytest
from pg_servers import Cluster, admin, dsn, result

from conftest import free_port
from opscheck.probes.postgres import sequences as _sequences  # noqa: F401 - imported before pytester snapshots sys.modules
from opscheck.probes.postgres import wal as _wal  # noqa: F401
from opscheck.probes.postgres.sequences import usage
from opscheck.probes.postgres.session import close_all
from opscheck.verdict import Verdict


@pytest.fixture(scope="module")
def plain_cluster():
    node = Cluster(free_port())  # archive_mode off, as initdb leaves it
    try:
        yield node
    finally:
        close_all()
        node.stop()


@pytest.fixture(scope="module")
def archiving_cluster():
    # `false` fails every attempt; the test switches to a working command later. Set with ALTER SYSTEM,
    # since a -c on the server's command line would outrank it.
    node = Cluster(free_port(), {"archive_mode": "on"})
    try:
        with admin(node.port) as conn:
            conn.execute("ALTER SYSTEM SET archive_command = 'false'")
            conn.execute("SELECT pg_reload_conf()")
        yield node
    finally:
        close_all()
        node.stop()


def database(cluster, name: str, *sql: str) -> str:
    with admin(cluster.port) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    with admin(cluster.port, name) as conn:
        for statement in sql:
            conn.execute(statement)
    return name


def entry(cluster, dbname: str, user: str = "postgres", **aspects) -> dict:
    # The issue-17 aspects are opt-in: turned on here unless the test sets them.
    on = {"sequences": True, "archiver": True, "checkpoints": True}
    return {"postgres": [{"name": "db", "dsn": dsn(dbname, user, cluster.port), **on, **aspects}]}


# --- sequences --------------------------------------------------------------------------------

def test_sequence_near_its_max_warn_then_crit_naming_it(plain_cluster):
    name = database(plain_cluster, "seqs", "CREATE SEQUENCE orders_seq MAXVALUE 100", "SELECT setval('orders_seq', 85)",
                    "CREATE SEQUENCE quiet_seq MAXVALUE 100", "SELECT setval('quiet_seq', 10)",
                    "CREATE SEQUENCE loop_seq MAXVALUE 100 CYCLE", "SELECT setval('loop_seq', 99)")
    got = result(entry(plain_cluster, name), "pg_sequences")
    assert got.verdict is Verdict.WARN
    # (85 - 1) / (100 - 1) handed out; the cycling sequence never runs out and is not counted.
    assert got.summary == "sequence public.orders_seq 84.8% used (85 of 100; 15 left) (warn 75%, crit 90%)"
    assert got.measurement.evidence["cycling"] == 1 and got.measurement.evidence["sequences"] == 3
    with admin(plain_cluster.port, name) as conn:
        conn.execute("SELECT setval('orders_seq', 96)")
    got = result(entry(plain_cluster, name), "pg_sequences")
    assert got.verdict is Verdict.CRIT
    assert got.summary == "sequence public.orders_seq 96% used (96 of 100; 4 left) (warn 75%, crit 90%)"
    assert [s["sequence"] for s in got.measurement.evidence["most_used"]] == ["public.orders_seq", "public.quiet_seq"]


def test_bigint_sequence_behind_an_integer_column_is_judged_by_the_column(plain_cluster):
    name = database(plain_cluster, "seqcol", "CREATE TABLE trades (id integer)",
                    "CREATE SEQUENCE trades_id_seq AS bigint OWNED BY trades.id",
                    "SELECT setval('trades_id_seq', 2000000000)")
    got = result(entry(plain_cluster, name), "pg_sequences")
    assert got.verdict is Verdict.CRIT
    assert got.summary == ("sequence public.trades_id_seq 93.1% used (2,000,000,000 of 2,147,483,647, the int4 column"
                           " public.trades.id; 147,483,647 left) (warn 75%, crit 90%)")


def test_sequences_the_role_cannot_read_are_named_never_ok(plain_cluster):
    name = database(plain_cluster, "seqpriv", "CREATE SEQUENCE open_seq MAXVALUE 100", "SELECT setval('open_seq', 5)",
                    "CREATE SEQUENCE hidden_seq MAXVALUE 100", "SELECT setval('hidden_seq', 99)",
                    "DROP ROLE IF EXISTS watcher", "CREATE ROLE watcher LOGIN IN ROLE pg_monitor")
    try:
        got = result(entry(plain_cluster, name, "watcher"), "pg_sequences")
        assert got.verdict is Verdict.UNKNOWN
        assert got.summary == ("db: role watcher may not read the position of any of the 2 sequences (public.hidden_seq,"
                               " public.open_seq): GRANT SELECT ON ALL SEQUENCES IN SCHEMA … TO watcher")
        with admin(plain_cluster.port, name) as conn:
            conn.execute("GRANT SELECT ON open_seq TO watcher")
        got = result(entry(plain_cluster, name, "watcher"), "pg_sequences")
        assert got.verdict is Verdict.WARN
        assert got.summary == ("sequence public.open_seq 4.04% used (5 of 100; 95 left) (warn 75%, crit 90%):"
                               " 1 sequence not readable by role watcher (public.hidden_seq): grant SELECT on them")
    finally:
        close_all()
        with admin(plain_cluster.port) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
            conn.execute("DROP ROLE watcher")


def test_no_sequence_is_a_fact_said_plainly(plain_cluster):
    name = database(plain_cluster, "noseq")
    got = result(entry(plain_cluster, name), "pg_sequences")
    assert (got.verdict, got.summary) == (Verdict.OK, "no sequences in database noseq")


def test_usage_counts_down_and_never_called():
    down = {"sequence": "s", "increment": -1, "min": -100, "max": -1, "start": -1, "last_value": -91, "column_type": None}
    assert round(usage(down)["percent"], 2) == round(100 * 90 / 99, 2) and usage(down)["left"] == 9
    fresh = {"sequence": "s", "increment": 1, "min": 1, "max": 100, "start": 1, "last_value": None, "column_type": None}
    assert usage(fresh)["percent"] == 0.0 and usage(fresh)["left"] == 100


# --- archiver ---------------------------------------------------------------------------------

def utc(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def wait_archiver(cluster, condition: str, timeout: float = 30) -> dict:
    with admin(cluster.port) as conn:
        deadline = time.monotonic() + timeout
        while True:
            row = conn.execute(f"SELECT archived_count, failed_count FROM pg_stat_archiver WHERE {condition}").fetchone()
            if row:
                return row
            if time.monotonic() > deadline:
                raise AssertionError(f"pg_stat_archiver never showed {condition}")
            time.sleep(0.2)


def test_archiver_failing_is_crit_with_the_last_failure_then_ok_once_it_works(archiving_cluster):
    with admin(archiving_cluster.port) as conn:  # test setup, as superuser: the probe never switches WAL
        conn.execute("CREATE TABLE IF NOT EXISTS t (x int)")
        conn.execute("INSERT INTO t VALUES (1)")
        segment = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()[0]
        conn.execute("SELECT pg_switch_wal()")
    wait_archiver(archiving_cluster, "failed_count > 0")
    got = result(entry(archiving_cluster, "postgres"), "pg_archiver")
    evidence = got.measurement.evidence
    assert got.verdict is Verdict.CRIT
    assert evidence["last_failed_wal"] == segment and evidence["archive_command"] == "false"
    assert got.summary == (f"WAL archiving failing since {utc(evidence['last_failed_time'])} on {segment}:"
                           f" {evidence['failed_count']:,} failed attempt{'s' if evidence['failed_count'] != 1 else ''}, never succeeded")
    assert evidence["waiting_to_archive"] >= 1

    archive = archiving_cluster.dir / "archive"  # the server's OS user reaches it (pytest's tmp_path it may not)
    archive.mkdir()
    shutil.chown(archive, "postgres", "postgres")
    with admin(archiving_cluster.port) as conn:
        conn.execute(f"ALTER SYSTEM SET archive_command = 'cp %p {archive}/%f'")
        conn.execute("SELECT pg_reload_conf()")
    try:
        wait_archiver(archiving_cluster, f"last_archived_wal = '{segment}'", timeout=90)  # the archiver retries after 60 s
        got = result(entry(archiving_cluster, "postgres"), "pg_archiver")
        evidence = got.measurement.evidence
        assert got.verdict is Verdict.OK
        assert got.summary == (f"WAL archiving working: {evidence['archived_count']:,} archived, last {segment} at"
                               f" {utc(evidence['last_archived_time'])} ({evidence['failed_count']:,} earlier"
                               f" failure{'s' if evidence['failed_count'] != 1 else ''},"
                               f" last {utc(evidence['last_failed_time'])})")
        assert (archive / segment).exists()
    finally:
        with admin(archiving_cluster.port) as conn:
            conn.execute("ALTER SYSTEM SET archive_command = 'false'")
            conn.execute("SELECT pg_reload_conf()")


def test_archive_mode_off_is_ok_saying_so_or_crit_when_required(plain_cluster):
    got = result(entry(plain_cluster, "postgres"), "pg_archiver")
    assert (got.verdict, got.summary) == (Verdict.OK, "WAL archiving off (archive_mode=off)")
    got = result(entry(plain_cluster, "postgres", archiver={"required": True}), "pg_archiver")
    assert got.verdict is Verdict.CRIT
    assert got.summary == ("WAL archiving off (archive_mode=off): required (archiver: {required: true}) but archive_mode=off")


# --- checkpoints ------------------------------------------------------------------------------

def test_requested_checkpoints_warn_and_too_few_unknown():
    node = Cluster(free_port())  # its own: the test counts every checkpoint since the cluster started
    try:
        with admin(node.port) as conn:
            conn.execute("SELECT pg_stat_reset_shared('bgwriter')")
            got = result(entry(node, "postgres"), "pg_checkpoints")
            assert got.verdict is Verdict.UNKNOWN
            assert got.summary.startswith("db: only 0 checkpoints since ") and got.summary.endswith(", too few to judge (min_checkpoints 10)")
            for _ in range(12):
                conn.execute("CHECKPOINT")  # test setup, as superuser
        close_all()
        got = result(entry(node, "postgres"), "pg_checkpoints")
        evidence = got.measurement.evidence
        timed, requested = evidence["timed"], evidence["requested"]
        assert requested >= 12 and timed <= 1  # a 5-minute checkpoint_timeout may fire once at most
        assert got.verdict is Verdict.WARN
        share = 100 * requested / (timed + requested)
        assert got.summary == (f"requested checkpoints {share:.0f}% ({requested} of {timed + requested} since {evidence['since']};"
                               f" max_wal_size 1024MB) (warn 50%)")
        got = result(entry(node, "postgres", checkpoints={"warn": "100%"}), "pg_checkpoints")
        assert got.verdict is Verdict.OK  # 100% is not past 100%
    finally:
        close_all()
        node.stop()
