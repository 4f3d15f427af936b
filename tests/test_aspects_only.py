"""`only:` allow-lists of postgres and redis aspects: exactly the listed checks, unknown names
and contradictions one line each."""

from __future__ import annotations

import textwrap

import pytest
from pg_servers import Cluster, dsn

from conftest import free_port
from opscheck.errors import InventoryError
from opscheck.inventory.loader import load_inventory
from opscheck.probes.postgres.session import close_all
from opscheck.registry import get, names


def load(tmp_path, text: str):
    path = tmp_path / "inv.yml"
    path.write_text(textwrap.dedent(text))
    return load_inventory(path)


def problems(tmp_path, text: str) -> list[str]:
    with pytest.raises(InventoryError) as info:
        load(tmp_path, text)
    return list(info.value.problems)


def kinds_made(inventory, section: str) -> dict[str, list[str]]:
    out = {}
    for name in sorted(names()):
        kind = get(name)
        if kind.section == section:
            ids = [t.id for t in kind.targets(inventory)]
            if ids:
                out[name] = ids
    return out


def test_postgres_only_makes_exactly_those_checks_and_keeps_assertions(tmp_path):
    inventory = load(tmp_path, """
        postgres:
          - name: main
            dsn: host=127.0.0.1 dbname=test user=postgres
            only: [connect, blocked_queries]
            blocked_queries: {crit: 2}
            assertions:
              - {name: no live trades, sql: "select count(*) from pg_class where false", expect: 0}
          - name: all
            dsn: host=127.0.0.1 dbname=postgres user=postgres
            archiver: true
          - name: listed
            dsn: host=127.0.0.1 dbname=postgres user=postgres
            only: [sequences, checkpoints]
    """)
    made = kinds_made(inventory, "postgres")
    assert {k for k, ids in made.items() if "main" in ids} == {"pg_connect", "pg_blocked"}
    assert made["pg_assertion"] == ["main:no live trades"]
    assert inventory.postgres[0].blocked_queries.crit == 2  # a listed aspect keeps its limits
    # Without only: every aspect but the opt-in ones of issue 17, which run when set.
    assert {k for k, ids in made.items() if "all" in ids} == {
        "pg_connect", "pg_connections", "pg_blocked", "pg_long_running", "pg_idle_in_transaction", "pg_database_size",
        "pg_wraparound", "pg_replication", "pg_dead_tuples", "pg_unused_indexes", "pg_slow_queries", "pg_archiver",
    }
    assert {k for k, ids in made.items() if "listed" in ids} == {"pg_sequences", "pg_checkpoints"}
    assert inventory.postgres[2].sequences.warn == 75.0 and inventory.postgres[2].checkpoints.min_checkpoints == 10


def test_redis_only_makes_exactly_those_checks(tmp_path):
    inventory = load(tmp_path, """
        redis:
          - {name: cache, url: "redis://127.0.0.1:6379", only: [ping, memory], memory: {warn: 60%}}
    """)
    assert kinds_made(inventory, "redis") == {"redis_memory": ["cache"], "redis_ping": ["cache"]}
    assert inventory.redis[0].memory.warn == 60.0


def test_unknown_aspect_one_line_listing_the_valid_names(tmp_path):
    found = problems(tmp_path, """
        postgres:
          - {dsn: "host=h dbname=d", only: [connect, blocked_querys]}
        redis:
          - {url: "redis://h:6379", only: [pong]}
    """)
    assert found == [
        f"{tmp_path / 'inv.yml'}:3: postgres[0].only: unknown aspect 'blocked_querys' (valid: connect, connections,"
        " blocked_queries, long_running, idle_in_transaction, database_size, wraparound, replication, dead_tuples,"
        " unused_indexes, slow_queries, sequences, archiver, checkpoints); did you mean 'blocked_queries'?",
        f"{tmp_path / 'inv.yml'}:5: redis[0].only: unknown aspect 'pong' (valid: ping, memory, evictions,"
        " rejected_connections, clients, last_save, replication, hit_ratio, blocked_clients); did you mean 'ping'?",
    ]


def test_only_and_explicit_aspects_that_contradict_it_are_errors(tmp_path):
    found = problems(tmp_path, """
        postgres:
          - name: a
            dsn: "host=h dbname=d"
            only: [connect]
            sequences: {warn: 50%}
          - name: b
            dsn: "host=h dbname=d"
            only: [connect, archiver]
            archiver: false
          - name: c
            dsn: "host=h dbname=d"
            only: []
    """)
    assert [p.split(": ", 1)[1] for p in found] == [
        "postgres[0]: sequences is set but not listed in only: [connect]: add sequences to only: or drop sequences:",
        "postgres[1]: archiver is listed in only: but set to false: drop one of the two",
        "postgres[2].only: an empty allow-list checks nothing: list aspects (valid: connect, connections, blocked_queries,"
        " long_running, idle_in_transaction, database_size, wraparound, replication, dead_tuples, unused_indexes,"
        " slow_queries, sequences, archiver, checkpoints)",
    ]


def test_a_redundant_false_beside_only_is_accepted(tmp_path):
    inventory = load(tmp_path, """
        postgres:
          - {name: m, dsn: "host=h dbname=d", only: [latency], slow_queries: false}
    """)
    assert kinds_made(inventory, "postgres") == {"pg_connect": ["m"]}


def test_e2e_only_runs_exactly_the_listed_checks(suite):
    """A daily and weekly run over a private cluster and the shared Redis (PING and INFO only)."""
    node = Cluster(free_port())
    try:
        suite.run("-m", "daily or weekly", inventory=f"""
            postgres:
              - name: main
                dsn: "{dsn('postgres', port=node.port)}"
                only: [connect, blocked_queries, sequences]
                latency: {{warn: 10s, crit: 20s}}
            redis:
              - {{name: cache, url: "redis://127.0.0.1:6379", only: [ping], latency: {{warn: 10s, crit: 20s}}}}
            """)
        verdicts = suite.verdicts()
    finally:
        close_all()
        node.stop()
    # pg_connect WARNs: this DSN logs in as the superuser; a fresh cluster has no sequences (OK, said so).
    assert verdicts == {"test_pg_connect[main]": "WARN", "test_pg_blocked[main]": "OK", "test_pg_sequences[main]": "OK",
                        "test_redis_ping[cache]": "OK"}
