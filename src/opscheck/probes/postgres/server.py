"""PostgreSQL: the runbook's `pg_isready`, `SELECT 1`, pg_stat_activity and size queries.

One kind per aspect, so each is its own check with its own id (`test_pg_blocked[main]`).
The simple probes live here; activity, replication, weekly maintenance and
assertions have their own modules, the declarations the package. All SQL runs
through `session.read_only`.
"""

from __future__ import annotations

from opscheck.measurement import Measurement, Target
from opscheck.probes.postgres.session import read_only
from opscheck.probes.postgres.text import plain

# Attributes and built-in roles that reach past what a read-only transaction stops:
# shell commands (COPY … PROGRAM), server files, signalling other sessions, replication slots.
POWERFUL_ROLES = ("pg_execute_server_program", "pg_read_server_files", "pg_write_server_files", "pg_signal_backend")

_PRIVILEGES = """
    SELECT r.rolsuper AS superuser, r.rolreplication AS replication, session_user AS login_user,
           array(SELECT b.rolname::text FROM pg_roles b WHERE b.rolname = ANY(%s)
                 AND pg_has_role(current_user, b.oid, 'MEMBER') ORDER BY 1) AS powerful
    FROM pg_roles r WHERE r.rolname = current_user
"""


def powers(row: dict) -> list[str]:
    """What the effective role may do beyond pg_monitor, worst first."""
    if row["superuser"]:
        return ["superuser"]
    return (["REPLICATION"] if row["replication"] else []) + list(row["powerful"])


def probe_connect(target: Target) -> Measurement:
    """Connect (or reuse the connection) and time one round trip; report version and role.

    WARN when the effective role (after run_as) can do more than read: a superuser, REPLICATION,
    or a member of a role in POWERFUL_ROLES. The static guard and the READ ONLY transaction
    hold either way; least privilege is what covers functions and views the guard cannot see into.
    """
    with read_only(target) as session:
        latency, kernel, client = session.timed_round_trip(target.timeout)
        info = session.rows(
            "SELECT current_setting('server_version') AS server_version, pg_is_in_recovery() AS standby,"
            " current_user AS user, current_database() AS database, inet_server_addr()::text AS address,"
            " inet_server_port() AS port, pg_postmaster_start_time() AS started"
        )[0]
        privileges = session.rows(_PRIVILEGES, (list(POWERFUL_ROLES),))
    too_much = powers(privileges[0]) if privileges else []
    warnings = ()
    if too_much:
        warnings = (f"role {info['user']} has {', '.join(too_much)}: checks need no more than pg_monitor"
                    " (a weaker role, or run_as: ROLE)",)
    evidence = {
        "round_trip_s": round(latency, 4),
        "server_version": info["server_version"],
        "role": "standby" if info["standby"] else "primary",
        "user": info["user"],
        "login_user": privileges[0]["login_user"] if privileges else None,
        "privileges_beyond_pg_monitor": too_much or "none",
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
        evidence=evidence, warnings=warnings,
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
    percent = 100.0 * used / max(available, 1)
    return Measurement(
        value=percent, unit="%", subject="connections", label=f"used ({used} of {available})",
        evidence={
            **settings, "available": available, "used": used,
            "by_state": {row["state"]: row["n"] for row in by_state},
            "top_database_user": by_database,
        },
        notes=(f"most by {by_database[0]['user']}@{by_database[0]['database']}: {by_database[0]['n']}",) if by_database else (),
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
        notes=(f"largest table {tables[0]['table']} {tables[0]['pretty']}",) if tables else (),
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
    percent = 100.0 * worst["xid_age"] / freeze_max
    return Measurement(
        value=percent, unit="%", subject=f"xid age of {worst['database']}",
        label=f"of autovacuum_freeze_max_age ({worst['xid_age']:,} of {freeze_max:,})",
        evidence={
            "autovacuum_freeze_max_age": freeze_max,
            "percent_of_wraparound_limit": round(100.0 * worst["xid_age"] / 2**31, 2),
            "databases": rows,
        },
    )


