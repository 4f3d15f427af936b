"""Redis: the runbook's `redis-cli ping`, `info memory`, `INFO stats`, and "did BGSAVE succeed".

Only read commands (PING, INFO, CONFIG GET where allowed); a command the ACL
forbids makes that one check UNKNOWN with the server's reason.
"""

from __future__ import annotations

import time

from opscheck.errors import Unmeasurable
from opscheck.measurement import Measurement, Target
from opscheck.probes.redis.client import config_get, info, timed_ping
from opscheck.units import format_duration, format_size


def _field(section: dict, name: str, where: str):
    """A number INFO must report; one it leaves out (an old or Redis-compatible server) is UNKNOWN, never 0."""
    value = section.get(name)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise Unmeasurable(f"INFO {where} does not report {name}")
    return value


def _uptime_note(server: dict) -> str:
    return f"since start {format_duration(server.get('uptime_in_seconds', 0))} ago"


def probe_ping(target: Target) -> Measurement:
    _, timing = timed_ping(target)
    latency = timing["round_trip_s"]
    # A server that refuses writes (MISCONF) still answered: the round trip counts, the refusal is the fault.
    problems: tuple[str, ...] = (timing["refuses_writes"],) if timing.get("refuses_writes") else ()
    evidence: dict = {"round_trip_s": round(latency, 4), "clock": timing["clock"], "reused": timing["reused"],
                      "client": timing["client"]}
    notes: tuple[str, ...] = ()
    try:
        server = info(target, "server")
        evidence.update({k: server.get(k) for k in ("redis_version", "redis_mode", "uptime_in_seconds", "tcp_port")})
        notes = (f"Redis {server.get('redis_version')}",)
    except Unmeasurable as exc:
        evidence["info"] = str(exc)  # PING alone answers this check; INFO is the others' business
    return Measurement(
        value=latency, unit="s", subject="ping", evidence=evidence, notes=notes, problems=problems,
    )


def probe_memory(target: Target) -> Measurement:
    """used_memory as % of maxmemory; without maxmemory, of the machine's memory (and say so)."""
    mem = info(target, "memory")
    used, limit = _field(mem, "used_memory", "memory"), _field(mem, "maxmemory", "memory")
    evidence = {k: mem.get(k) for k in (
        "used_memory", "used_memory_human", "used_memory_rss", "used_memory_peak_human", "maxmemory",
        "maxmemory_human", "maxmemory_policy", "total_system_memory", "mem_fragmentation_ratio",
    )}
    notes: tuple[str, ...] = ()
    if not limit:
        limit = mem.get("total_system_memory") or 0
        notes = ("no maxmemory set: measured against system memory",)
        if not limit:
            raise Unmeasurable("no maxmemory set and the server does not report total_system_memory")
    percent = 100.0 * used / limit
    return Measurement(
        value=percent, unit="%", subject="memory", label=f"used ({format_size(used)} of {format_size(limit)})",
        evidence=evidence, notes=notes,
    )


def _counter(field: str, subject: str):
    def probe(target: Target) -> Measurement:
        stats, server = info(target, "stats"), info(target, "server")
        count = _field(stats, field, "stats")
        uptime = max(server.get("uptime_in_seconds", 0), 1)
        return Measurement(
            value=count, subject=subject, label="",
            evidence={field: count, "uptime_in_seconds": uptime, "per_hour": round(count * 3600 / uptime, 2)},
            notes=(_uptime_note(server),),
        )

    return probe


probe_evictions = _counter("evicted_keys", "evicted keys")
probe_rejected_connections = _counter("rejected_connections", "rejected connections")


def probe_clients(target: Target) -> Measurement:
    clients = info(target, "clients")
    maxclients = clients.get("maxclients")
    if maxclients is None:  # before Redis 7, INFO does not say
        found = config_get(target, "maxclients")
        if found is None:
            raise Unmeasurable("maxclients unknown: INFO clients lacks it and CONFIG GET is not allowed")
        maxclients = int(found)
    connected = clients["connected_clients"]
    return Measurement(
        value=100.0 * connected / max(maxclients, 1), unit="%", subject="clients",
        label=f"connected ({connected} of maxclients {maxclients})",
        evidence={k: clients.get(k) for k in ("connected_clients", "blocked_clients", "tracking_clients")} | {"maxclients": maxclients},
    )


def probe_last_save(target: Target) -> Measurement:
    """Age of the last successful RDB save; a failed last BGSAVE or AOF write is CRIT."""
    persistence, server = info(target, "persistence"), info(target, "server")
    now = server.get("server_time_usec", time.time() * 1e6) / 1e6
    age = max(now - persistence["rdb_last_save_time"], 0.0)
    problems: list[str] = []
    if persistence.get("rdb_last_bgsave_status") != "ok":
        problems.append(f"last background save failed (rdb_last_bgsave_status: {persistence.get('rdb_last_bgsave_status')})")
    if persistence.get("aof_enabled"):
        for key in ("aof_last_bgrewrite_status", "aof_last_write_status"):
            if persistence.get(key, "ok") != "ok":
                problems.append(f"AOF {key}: {persistence.get(key)}")
    notes = [f"{persistence.get('rdb_changes_since_last_save', 0)} changes not yet saved"]
    save = config_get(target, "save")
    if save == "" and not persistence.get("aof_enabled"):
        notes.append("no persistence configured (save \"\" and appendonly no)")
    keep = (
        "rdb_last_bgsave_status", "rdb_last_save_time", "rdb_changes_since_last_save", "rdb_bgsave_in_progress",
        "rdb_last_bgsave_time_sec", "aof_enabled", "aof_last_bgrewrite_status", "aof_last_write_status",
    )
    return Measurement(
        value=age, unit="s", subject="last RDB save", label="ago",
        evidence={k: persistence.get(k) for k in keep if k in persistence} | {"save": save},
        problems=tuple(problems), notes=tuple(notes),
    )


def probe_replication(target: Target) -> Measurement:
    """Master: each replica online and its lag; replica: link up and seconds since the master spoke."""
    limits = target.spec
    repl = info(target, "replication")
    problems: list[str] = []
    if repl.get("role") == "slave":
        if repl.get("master_link_status") != "up":
            problems.append(f"link to master {repl.get('master_host')}:{repl.get('master_port')} is {repl.get('master_link_status')}")
        silence = repl.get("master_last_io_seconds_ago")
        if not isinstance(silence, int) and not problems:
            raise Unmeasurable("INFO replication of this replica has no master_last_io_seconds_ago")
        keep = ("role", "master_host", "master_port", "master_link_status", "master_last_io_seconds_ago",
                "master_sync_in_progress", "slave_repl_offset", "master_link_down_since_seconds")
        return Measurement(
            # -1: never heard from the master (link down, already a problem): no number to judge.
            value=silence if isinstance(silence, int) and silence >= 0 else None, unit="s", subject="replica: master last heard", label="ago",
            evidence={k: repl.get(k) for k in keep if k in repl}, problems=tuple(problems),
        )
    offset = _field(repl, "master_repl_offset", "replication")
    replicas = []
    for i in range(_field(repl, "connected_slaves", "replication")):
        replica = repl.get(f"slave{i}") or {}
        replicas.append({**replica, "behind_bytes": offset - replica.get("offset", offset)})
        if replica.get("state") != "online":
            problems.append(f"replica {replica.get('ip')}:{replica.get('port')} is {replica.get('state')}")
    if len(replicas) < limits.min_replicas:
        problems.append(f"{len(replicas)} replicas connected, expected at least {limits.min_replicas}")
    if any(not isinstance(r.get("lag"), int) for r in replicas if r.get("state") == "online"):
        raise Unmeasurable(f"INFO replication gives no lag for an online replica: {replicas}")
    worst = max((r["lag"] for r in replicas if isinstance(r.get("lag"), int)), default=0)
    return Measurement(
        value=worst, unit="s", subject="worst replica lag", label="",
        evidence={"role": repl.get("role"), "master_repl_offset": offset, "replicas": replicas},
        problems=tuple(problems), notes=(f"master with {len(replicas)} replica{'s' if len(replicas) != 1 else ''}",),
    )


def probe_hit_ratio(target: Target) -> Measurement:
    stats = info(target, "stats")
    hits, misses = _field(stats, "keyspace_hits", "stats"), _field(stats, "keyspace_misses", "stats")
    evidence = {"keyspace_hits": hits, "keyspace_misses": misses}
    if hits + misses < target.spec.min_lookups:
        return Measurement(
            subject="keyspace hit ratio", evidence=evidence,
            notes=(f"only {hits + misses} lookups since start, fewer than min_lookups {target.spec.min_lookups}: not judged",),
        )
    return Measurement(value=100.0 * hits / (hits + misses), unit="%", subject="keyspace hit ratio", evidence=evidence)


def probe_blocked_clients(target: Target) -> Measurement:
    clients = info(target, "clients")
    return Measurement(
        value=_field(clients, "blocked_clients", "clients"), subject="blocked clients", label="",
        evidence={k: clients.get(k) for k in ("blocked_clients", "connected_clients", "clients_in_timeout_table")},
    )


