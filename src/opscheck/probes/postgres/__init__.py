"""`postgres:` — one check per aspect of each database entry (`test_pg_blocked[main]`).

Probes live in `server` (connect, connections, size, wraparound), `activity`
(blocked, long-running, idle in transaction), `replication`, `weekly` (dead
tuples, unused indexes, slow queries), `sequences`, `wal` (archiver,
checkpoints) and `assertions`; all SQL runs through
`session.read_only`.
"""

from __future__ import annotations

import dataclasses

from opscheck.registry import Kind
from opscheck.targets import make_target, per_aspect


def entry_name(item, index: int) -> str:
    """The entry's `name`, else `dbname@host` from the DSN (never its password)."""
    if item.name:
        return item.name
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(item.dsn.reveal())
    except Exception:  # noqa: BLE001 - validated on load; keep ids stable whatever happens
        params = {}
    if params.get("dbname") or params.get("host"):
        return f"{params.get('dbname', '')}@{params.get('host', 'local')}"
    return f"postgres[{index}]"


def _assertion_targets(inventory) -> list:
    """One target per SQL assertion of each entry; an assertion inherits what it does not set."""
    out = []
    for index, item in enumerate(inventory.postgres):
        for assertion in item.assertions:
            target = make_target(
                inventory, assertion, kind="pg_assertion", id=f"{entry_name(item, index)}:{assertion.name}",
                check=f"postgres assertion: {assertion.name}", spec=assertion, entry=item,
            )
            out.append(
                dataclasses.replace(
                    target,
                    severity=assertion.severity or item.severity,
                    schedules=tuple(dict.fromkeys((*item.schedule, *assertion.schedule))),
                    runbook=assertion.runbook or item.runbook,
                    timeout=inventory.timeout_for(assertion) if assertion.timeout is not None else inventory.timeout_for(item),
                )
            )
    return out


def _aspect(key: str):
    return per_aspect(key, entry_name)


KINDS = (
    Kind("pg_connect", "postgres connect", "postgres", _aspect("latency"), ".server:probe_connect"),
    Kind("pg_connections", "postgres connections", "postgres", _aspect("connections"), ".server:probe_connections"),
    Kind("pg_blocked", "postgres blocked sessions", "postgres", _aspect("blocked_queries"), ".activity:probe_blocked"),
    Kind("pg_long_running", "postgres long-running queries", "postgres", _aspect("long_running"), ".activity:probe_long_running"),
    Kind("pg_idle_in_transaction", "postgres idle in transaction", "postgres", _aspect("idle_in_transaction"),
         ".activity:probe_idle_in_transaction"),
    Kind("pg_database_size", "postgres database size", "postgres", _aspect("database_size"), ".server:probe_database_size"),
    Kind("pg_wraparound", "postgres transaction id wraparound", "postgres", _aspect("wraparound"), ".server:probe_wraparound"),
    Kind("pg_replication", "postgres replication", "postgres", _aspect("replication"), ".replication:probe_replication"),
    Kind("pg_dead_tuples", "postgres dead tuples", "postgres", _aspect("dead_tuples"), ".weekly:probe_dead_tuples"),
    Kind("pg_unused_indexes", "postgres unused indexes", "postgres", _aspect("unused_indexes"), ".weekly:probe_unused_indexes"),
    Kind("pg_slow_queries", "postgres slow queries", "postgres", _aspect("slow_queries"), ".weekly:probe_slow_queries"),
    Kind("pg_sequences", "postgres sequences", "postgres", _aspect("sequences"), ".sequences:probe_sequences"),
    Kind("pg_archiver", "postgres wal archiver", "postgres", _aspect("archiver"), ".wal:probe_archiver"),
    Kind("pg_checkpoints", "postgres requested checkpoints", "postgres", _aspect("checkpoints"), ".wal:probe_checkpoints"),
    Kind("pg_assertion", "postgres assertion", "postgres", _assertion_targets, ".assertions:probe_assertion"),
)
