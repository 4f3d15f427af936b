"""PostgreSQL: the runbook's `pg_isready`, `SELECT 1`, pg_stat_activity and size queries.

One kind per aspect, so each is its own check with its own id (`test_pg_blocked[main]`).
Targets and the simple probes live here; activity, replication, weekly
maintenance and assertions have their own modules. All SQL runs through
`pg_session.read_only`.
"""

from __future__ import annotations

import dataclasses

from opscheck.inventory.model import Inventory
from opscheck.inventory.sections.postgres import PostgresItem
from opscheck.measurement import Measurement, Target
from opscheck.probes import pg_activity, pg_assertions, pg_replication, pg_weekly
from opscheck.probes.pg_session import read_only
from opscheck.probes.pg_text import plain
from opscheck.registry import Kind
from opscheck.targets import aspect_targets, make_target

# kind -> (inventory key, check name)
ASPECTS = {
    "pg_connect": ("latency", "postgres connect"),
    "pg_connections": ("connections", "postgres connections"),
    "pg_blocked": ("blocked_queries", "postgres blocked sessions"),
    "pg_long_running": ("long_running", "postgres long-running queries"),
    "pg_idle_in_transaction": ("idle_in_transaction", "postgres idle in transaction"),
    "pg_database_size": ("database_size", "postgres database size"),
    "pg_wraparound": ("wraparound", "postgres transaction id wraparound"),
    "pg_replication": ("replication", "postgres replication"),
    "pg_dead_tuples": ("dead_tuples", "postgres dead tuples"),
    "pg_unused_indexes": ("unused_indexes", "postgres unused indexes"),
    "pg_slow_queries": ("slow_queries", "postgres slow queries"),
}


def entry_name(item: PostgresItem, index: int) -> str:
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


def _aspect_targets(kind: str):
    key, check = ASPECTS[kind]
    return aspect_targets("postgres", kind, key, check, entry_name)


def _assertion_targets(inventory: Inventory) -> list[Target]:
    out = []
    for index, item in enumerate(inventory.postgres):
        for assertion in item.assertions:
            target = make_target(
                inventory, assertion, kind="pg_assertion", id=f"{entry_name(item, index)}:{assertion.name}",
                check=f"postgres assertion: {assertion.name}", spec=assertion, entry=item,
            )
            # An assertion inherits what it does not set from its database entry.
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


def probe_connect(target: Target) -> Measurement:
    """Connect (or reuse the connection) and time one round trip; report version and role."""
    with read_only(target) as session:
        latency, kernel, client = session.timed_round_trip(target.timeout)
        info = session.rows(
            "SELECT current_setting('server_version') AS server_version, pg_is_in_recovery() AS standby,"
            " current_user AS user, current_database() AS database, inet_server_addr()::text AS address,"
            " inet_server_port() AS port, pg_postmaster_start_time() AS started"
        )[0]
    evidence = {
        "round_trip_s": round(latency, 4),
        "server_version": info["server_version"],
        "role": "standby" if info["standby"] else "primary",
        "user": info["user"],
        "database": info["database"],
        "server": f"{info['address'] or 'socket'}:{info['port'] or ''}".rstrip(":"),
        "started": plain(info["started"]),
        "new_connection": session.fresh,
        "reused": not session.fresh,
        "clock": "kernel" if kernel else "runner",
        "client": client,
    }
    if session.connect_s is not None:
        evidence["connect_s"] = round(session.connect_s, 4)
    return Measurement(
        value=round(latency, 4), unit="s", subject=f"{info['database']} round trip", label="",
        evidence=evidence,
        notes=(f"PostgreSQL {info['server_version']} {evidence['role']}",),
    )


def probe_connections(target: Target) -> Measurement:
    """Client connections as % of what non-superusers may open (max_connections minus reserved)."""
    with read_only(target) as session:
        settings = session.rows(
            "SELECT current_setting('max_connections')::int AS max_connections,"
            " current_setting('superuser_reserved_connections')::int AS superuser_reserved,"
            " coalesce(current_setting('reserved_connections', true), '0')::int AS reserved"
        )[0]
        by_state = session.rows(
            "SELECT coalesce(state, 'unknown') AS state, count(*)::int AS n FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' GROUP BY 1 ORDER BY 2 DESC"
        )
        by_database = session.rows(
            "SELECT coalesce(datname, '-') AS database, coalesce(usename, '-') AS user, count(*)::int AS n"
            " FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 10"
        )
    used = sum(row["n"] for row in by_state)
    available = settings["max_connections"] - settings["superuser_reserved"] - settings["reserved"]
    percent = round(100.0 * used / max(available, 1), 1)
    return Measurement(
        value=percent, unit="%", subject="connections", label=f"used ({used} of {available})",
        evidence={
            **settings, "available": available, "used": used,
            "by_state": {row["state"]: row["n"] for row in by_state},
            "top_database_user": by_database,
        },
    )


def probe_database_size(target: Target) -> Measurement:
    with read_only(target) as session:
        size = session.rows(
            "SELECT current_database() AS database, pg_database_size(current_database()) AS bytes,"
            " pg_size_pretty(pg_database_size(current_database())) AS pretty"
        )[0]
        tables, why_not = session.optional_rows(
            "SELECT n.nspname || '.' || c.relname AS table, pg_total_relation_size(c.oid) AS bytes,"
            " pg_size_pretty(pg_total_relation_size(c.oid)) AS pretty"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 2 DESC LIMIT 10"
        )
    return Measurement(
        value=size["bytes"], unit="B", subject=f"database {size['database']}", label="",
        evidence={
            "database": size["database"], "bytes": size["bytes"], "pretty": size["pretty"],
            "largest_tables": tables if why_not is None else f"not measured: {why_not}",
        },
    )


def probe_wraparound(target: Target) -> Measurement:
    """Oldest unfrozen transaction age as % of autovacuum_freeze_max_age (100% = forced anti-wraparound vacuum)."""
    with read_only(target) as session:
        rows = session.rows(
            "SELECT datname AS database, age(datfrozenxid)::bigint AS xid_age FROM pg_database"
            " WHERE datallowconn ORDER BY 2 DESC"
        )
        freeze_max = session.rows("SELECT current_setting('autovacuum_freeze_max_age')::bigint AS v")[0]["v"]
    worst = rows[0] if rows else {"database": "-", "xid_age": 0}
    percent = round(100.0 * worst["xid_age"] / freeze_max, 1)
    return Measurement(
        value=percent, unit="%", subject=f"xid age of {worst['database']}",
        label=f"of autovacuum_freeze_max_age ({worst['xid_age']:,} of {freeze_max:,})",
        evidence={
            "autovacuum_freeze_max_age": freeze_max,
            "percent_of_wraparound_limit": round(100.0 * worst["xid_age"] / 2**31, 2),
            "databases": rows,
        },
    )


def _kind(name: str, probe) -> Kind:
    return Kind(name, ASPECTS[name][1], _aspect_targets(name), probe)


KINDS = {
    kind.name: kind
    for kind in (
        _kind("pg_connect", probe_connect),
        _kind("pg_connections", probe_connections),
        _kind("pg_blocked", pg_activity.probe_blocked),
        _kind("pg_long_running", pg_activity.probe_long_running),
        _kind("pg_idle_in_transaction", pg_activity.probe_idle_in_transaction),
        _kind("pg_database_size", probe_database_size),
        _kind("pg_wraparound", probe_wraparound),
        _kind("pg_replication", pg_replication.probe_replication),
        _kind("pg_dead_tuples", pg_weekly.probe_dead_tuples),
        _kind("pg_unused_indexes", pg_weekly.probe_unused_indexes),
        _kind("pg_slow_queries", pg_weekly.probe_slow_queries),
        Kind("pg_assertion", "postgres assertion", _assertion_targets, pg_assertions.probe_assertion),
    )
}
