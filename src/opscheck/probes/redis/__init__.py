"""`redis:` — one check per aspect of each Redis entry (`test_redis_memory[cache]`).

Probes live in `server` (PING, INFO, CONFIG GET) over the connections of `client`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from opscheck.registry import Kind
from opscheck.targets import per_aspect


def entry_name(item, index: int) -> str:
    """The entry's `name`, else `host:port` from the URL (never its password)."""
    if item.name:
        return item.name
    parts = urlsplit(item.url.reveal())
    if parts.hostname:
        return f"{parts.hostname}:{parts.port or 6379}"
    return f"redis[{index}]"


def _aspect(key: str):
    return per_aspect(key, entry_name)


KINDS = (
    Kind("redis_ping", "redis ping", "redis", _aspect("latency"), ".server:probe_ping"),
    Kind("redis_memory", "redis memory", "redis", _aspect("memory"), ".server:probe_memory"),
    Kind("redis_evictions", "redis evicted keys", "redis", _aspect("evictions"), ".server:probe_evictions"),
    Kind("redis_rejected_connections", "redis rejected connections", "redis", _aspect("rejected_connections"),
         ".server:probe_rejected_connections"),
    Kind("redis_clients", "redis clients", "redis", _aspect("clients"), ".server:probe_clients"),
    Kind("redis_last_save", "redis persistence", "redis", _aspect("last_save"), ".server:probe_last_save"),
    Kind("redis_replication", "redis replication", "redis", _aspect("replication"), ".server:probe_replication"),
    Kind("redis_hit_ratio", "redis keyspace hit ratio", "redis", _aspect("hit_ratio"), ".server:probe_hit_ratio"),
    Kind("redis_blocked_clients", "redis blocked clients", "redis", _aspect("blocked_clients"), ".server:probe_blocked_clients"),
)
