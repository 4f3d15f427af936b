"""The weekly review: dead tuples and stale autovacuum, unused indexes, slow statements."""

from __future__ import annotations

import psycopg
from psycopg import sql

from opscheck.errors import Unmeasurable
from opscheck.measurement import Measurement, Target
from opscheck.probes.postgres.session import read_only
from opscheck.probes.postgres.text import plain, shorten_query
from opscheck.units import format_size

MAX_ROWS = 10


def probe_dead_tuples(target: Target) -> Measurement:
    """Worst dead-tuple share among tables with enough dead tuples to matter; oldest autovacuum in evidence."""
    limits = target.spec
    with read_only(target) as session:
        rows = session.rows(
            "SELECT schemaname || '.' || relname AS table, n_live_tup AS live, n_dead_tup AS dead,"
            " (100.0 * n_dead_tup / nullif(n_live_tup + n_dead_tup, 0))::float AS dead_pct,"
            " last_autovacuum, last_vacuum, autovacuum_count"
            " FROM pg_stat_user_tables ORDER BY n_dead_tup DESC LIMIT %s",
            (MAX_ROWS,),
        )
        stale = session.rows(
            "SELECT schemaname || '.' || relname AS table, n_dead_tup AS dead,"
            " greatest(last_autovacuum, last_vacuum) AS last_vacuumed"
            " FROM pg_stat_user_tables ORDER BY greatest(last_autovacuum, last_vacuum) ASC NULLS FIRST,"
            " n_dead_tup DESC LIMIT 5"
        )
    counted = [r for r in rows if (r["dead"] or 0) >= limits.min_dead]
    worst = max(counted, key=lambda r: r["dead_pct"] or 0.0, default=None)
    value = worst["dead_pct"] if worst else 0.0
    return Measurement(
        value=value, unit="%", subject=f"dead tuples in {worst['table']}" if worst else "dead tuples", label="",
        evidence={
            "min_dead": limits.min_dead,
            "most_dead": [plain(r) for r in rows],
            "least_recently_vacuumed": [plain(r) for r in stale],
        },
        notes=() if worst else (f"no table has {limits.min_dead:,} dead tuples",),
    )


def probe_unused_indexes(target: Target) -> Measurement:
    """Indexes never scanned since statistics were reset (unique and primary keys excluded: they enforce)."""
    limits = target.spec
    with read_only(target) as session:
        # Sizes from pg_class (as of the last VACUUM/ANALYZE/CREATE INDEX): pg_relation_size
        # would take a lock and wait behind any DDL on the table.
        rows = session.rows(
            "SELECT s.schemaname || '.' || s.relname AS table, s.indexrelname AS index,"
            " c.relpages::bigint * current_setting('block_size')::bigint AS bytes, s.idx_scan AS scans"
            " FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid"
            " JOIN pg_class c ON c.oid = s.indexrelid"
            " WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary"
            " AND c.relpages::bigint * current_setting('block_size')::bigint >= %s ORDER BY 3 DESC, 2",
            (limits.min_size,),
        )
        reset = session.rows(
            "SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()"
        )[0]["stats_reset"]
    total = sum(r["bytes"] for r in rows)
    return Measurement(
        value=len(rows), subject="unused indexes",
        label=f"({format_size(total)}" + (f"; largest {rows[0]['index']} on {rows[0]['table']}, {format_size(rows[0]['bytes'])})" if rows else ")"),
        evidence={
            "indexes": [dict(r, size=format_size(r["bytes"])) for r in rows[:20]],
            "total_bytes": total,
            "statistics_since": plain(reset) or "cluster start",
        },
    )


def probe_slow_queries(target: Target) -> Measurement:
    """Slowest statements by mean time from pg_stat_statements; without the extension, UNKNOWN."""
    limits = target.spec
    with read_only(target) as session:
        ext = session.rows(
            "SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'pg_stat_statements'"
        )
        database = session.rows("SELECT current_database() AS d")[0]["d"]
        if not ext:
            raise Unmeasurable(
                f"pg_stat_statements is not installed in database {database}: add it to shared_preload_libraries"
                " and run CREATE EXTENSION pg_stat_statements"
            )
        mean, total = ("mean_exec_time", "total_exec_time") if session.server_version_num() >= 130000 else ("mean_time", "total_time")
        schema = sql.Identifier(ext[0]["schema"]).as_string(session.conn)
        try:
            rows = session.rows(
                f"SELECT queryid::text AS queryid, calls, round(({mean} / 1000)::numeric, 4)::float AS mean_s,"
                f" round(({total} / 1000)::numeric, 1)::float AS total_s, rows, query"
                f" FROM {schema}.pg_stat_statements WHERE calls >= %s ORDER BY {mean} DESC LIMIT %s",
                (limits.min_calls, limits.top),
            )
        except psycopg.errors.ObjectNotInPrerequisiteState as exc:
            raise Unmeasurable(f"pg_stat_statements cannot be read: {' '.join(str(exc).split())}") from None
    worst = rows[0]["mean_s"] if rows else 0.0
    return Measurement(
        value=worst, unit="s", subject="slowest statement mean time",
        label=f"(queryid {rows[0]['queryid']}: {shorten_query(rows[0]['query'], 80)})" if rows else "",
        evidence={
            "min_calls": limits.min_calls,
            "slowest": [{k: (shorten_query(v) if k == "query" else plain(v)) for k, v in r.items()} for r in rows],
        },
        notes=() if rows else (f"no statement called {limits.min_calls} times yet",),
    )
