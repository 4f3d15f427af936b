"""Sessions that hurt: blocked by locks (pg_blocking_pids), long-running, idle in transaction."""

from __future__ import annotations

from opscheck.measurement import Measurement, Target
from opscheck.probes.postgres.session import read_only
from opscheck.probes.postgres.text import plain, shorten_query
from opscheck.units import format_duration

MAX_ROWS = 10

_CLIENTS = "backend_type = 'client backend' AND pid <> pg_backend_pid()"


def _session_rows(rows: list[dict]) -> list[dict]:
    return [{k: (shorten_query(v) if k == "query" else plain(v)) for k, v in row.items()} for row in rows]


def probe_blocked(target: Target) -> Measurement:
    """Sessions waiting on a lock another session holds; evidence pairs each with its blockers."""
    with read_only(target) as session:
        blocked = session.rows(
            "SELECT pid, usename AS user, application_name AS app, datname AS database,"
            " round(extract(epoch FROM now() - coalesce(query_start, state_change))::numeric, 1)::float AS waiting_s,"
            " wait_event_type || ':' || wait_event AS waiting_on, pg_blocking_pids(pid) AS blocked_by, query"
            f" FROM pg_stat_activity WHERE {_CLIENTS} AND cardinality(pg_blocking_pids(pid)) > 0"
            " ORDER BY waiting_s DESC"
        )
        blocker_pids = sorted({pid for row in blocked for pid in row["blocked_by"]})
        blockers = session.rows(
            "SELECT pid, usename AS user, application_name AS app, datname AS database, state,"
            " round(extract(epoch FROM now() - xact_start)::numeric, 1)::float AS transaction_s, query"
            " FROM pg_stat_activity WHERE pid = ANY(%s) ORDER BY pid",
            (blocker_pids,),
        ) if blocker_pids else []
    longest = blocked[0]["waiting_s"] if blocked else 0.0
    notes = ()
    if blocked:
        # The session to look at is the blocker: the one behind the longest wait, and how many it holds up.
        culprit = blocked[0]["blocked_by"][0]
        held = sum(1 for row in blocked if culprit in row["blocked_by"])
        who = next((f" of {b['user']}, {b['state']}," for b in blockers if b["pid"] == culprit), "")
        notes = (f"pid {culprit}{who} blocks {held}; longest wait {format_duration(longest)} by pid {blocked[0]['pid']}",)
    return Measurement(
        value=len(blocked), subject="blocked sessions", label="",
        evidence={
            "blocked": _session_rows(blocked[:MAX_ROWS]),
            "blocking": _session_rows(blockers[:MAX_ROWS]),
            "longest_wait_s": longest,
        },
        notes=notes,
    )


def _oldest(target: Target, where: str, since: str, what: str) -> Measurement:
    with read_only(target) as session:
        rows = session.rows(
            "SELECT pid, usename AS user, application_name AS app, datname AS database, state,"
            f" round(extract(epoch FROM now() - {since})::numeric, 1)::float AS age_s,"
            " xact_start AS transaction_started, query"
            f" FROM pg_stat_activity WHERE {_CLIENTS} AND {where} AND {since} IS NOT NULL"
            " ORDER BY age_s DESC LIMIT %s",
            (MAX_ROWS,),
        )
        total = session.rows(f"SELECT count(*)::int AS n FROM pg_stat_activity WHERE {_CLIENTS} AND {where}")[0]["n"]
    oldest = rows[0]["age_s"] if rows else 0.0
    culprit = (f"pid {rows[0]['pid']} {rows[0]['user']}@{rows[0]['database']}{' ' + rows[0]['app'] if rows[0]['app'] else ''}",) if rows else ()
    return Measurement(
        value=oldest, unit="s", subject=f"oldest {what}", label="",
        evidence={"sessions": total, "oldest": _session_rows(rows)},
        notes=(*culprit, f"{total} {what} session{'s' if total != 1 else ''}"),
    )


def probe_long_running(target: Target) -> Measurement:
    """The longest-running active statement (the runbook's `now() - query_start > interval '5 minutes'`)."""
    return _oldest(target, "state = 'active'", "query_start", "active query")


def probe_idle_in_transaction(target: Target) -> Measurement:
    """The longest a session has sat idle inside an open transaction, holding locks and old snapshots."""
    return _oldest(
        target, "state IN ('idle in transaction', 'idle in transaction (aborted)')", "state_change", "idle in transaction"
    )
