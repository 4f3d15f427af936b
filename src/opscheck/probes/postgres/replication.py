"""Streaming replication: replicas' state and replay lag on a primary, replay delay on a standby,
and inactive replication slots with the WAL they keep on disk."""

from __future__ import annotations

from opscheck.measurement import Measurement, Target
from opscheck.probes.postgres.session import read_only
from opscheck.probes.postgres.text import plain
from opscheck.units import format_size

_PRIMARY = (
    "SELECT application_name AS name, client_addr::text AS address, state, sync_state,"
    " coalesce(extract(epoch FROM replay_lag), 0)::float AS replay_lag_s,"
    " pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS replay_lag_bytes"
    " FROM pg_stat_replication ORDER BY application_name"
)
# A standby with nothing left to replay is not behind, however old the last replayed commit is.
_STANDBY = (
    "SELECT CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0"
    " ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float AS delay_s,"
    " pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint AS replay_behind_bytes,"
    " pg_last_xact_replay_timestamp() AS last_replayed_commit,"
    " (SELECT status FROM pg_stat_wal_receiver) AS receiver_status,"
    " (SELECT sender_host || ':' || sender_port FROM pg_stat_wal_receiver) AS upstream"
)
_SLOTS = (
    "SELECT slot_name AS name, slot_type AS type, active,"
    " pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END,"
    " restart_lsn)::bigint AS retained_bytes FROM pg_replication_slots ORDER BY slot_name"
)


def probe_replication(target: Target) -> Measurement:
    limits = target.spec
    with read_only(target) as session:
        standby = session.rows("SELECT pg_is_in_recovery() AS r")[0]["r"]
        rows = session.rows(_STANDBY if standby else _PRIMARY)
        slots = session.rows(_SLOTS)
    problems: list[str] = []
    warnings: list[str] = []
    for slot in slots:
        if slot["active"]:
            continue
        retained = slot["retained_bytes"] or 0
        message = f"slot {slot['name']} inactive, retaining {format_size(retained)} of WAL"
        if limits.slot_retained is not None and retained > limits.slot_retained:
            problems.append(message)
        else:
            warnings.append(message)
    evidence = {"role": "standby" if standby else "primary", "slots": [plain(s) for s in slots]}
    if standby:
        info = rows[0]
        if info["receiver_status"] != "streaming":
            problems.append(f"WAL receiver is {info['receiver_status'] or 'not running'}, not streaming")
        evidence.update({k: plain(v) for k, v in info.items()})
        return Measurement(
            value=round(info["delay_s"], 1), unit="s", subject="standby replay delay", label="",
            evidence=evidence, problems=tuple(problems), warnings=tuple(warnings),
        )
    for replica in rows:
        if replica["state"] != "streaming":
            problems.append(f"replica {replica['name'] or replica['address']} is {replica['state']}, not streaming")
    if len(rows) < limits.min_replicas:
        problems.append(f"{len(rows)} replica{'s' if len(rows) != 1 else ''} connected, expected at least {limits.min_replicas}")
    evidence["replicas"] = [plain(r) for r in rows]
    laggard = max(rows, key=lambda r: r["replay_lag_s"] or 0.0, default=None)
    worst = (laggard["replay_lag_s"] or 0.0) if laggard else 0.0
    return Measurement(
        value=round(worst, 1), unit="s", subject="worst replica replay lag",
        label=f"({laggard['name'] or laggard['address'] or 'local socket'})" if laggard else "",
        evidence=evidence, problems=tuple(problems), warnings=tuple(warnings),
        notes=(f"primary with {len(rows)} replica{'s' if len(rows) != 1 else ''}",),
    )
