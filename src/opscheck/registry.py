"""Every kind of check target, by the name a check's parameter uses.

Like testinfra's module map: names point at modules imported on first use, so
a run that checks only disks never imports psycopg. Each probe module exposes
`KINDS`, a dict of name -> Kind. An unknown name lists the valid ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opscheck.inventory.model import Inventory
    from opscheck.measurement import Measurement, Target


@dataclass(frozen=True)
class Kind:
    """A resource kind: which inventory entries it covers and how to measure one."""

    name: str
    check: str
    targets: Callable[[Inventory], list[Target]]
    probe: Callable[[Target], Measurement]


# name -> module; a new kind adds one line here and a module under opscheck.probes.
MODULES: dict[str, str] = {
    "disk": "opscheck.probes.system",
    "inodes": "opscheck.probes.system",
    "memory": "opscheck.probes.system",
    "swap": "opscheck.probes.system",
    "load_per_core": "opscheck.probes.system",
    "unit": "opscheck.probes.services",
    "process": "opscheck.probes.services",
    "port": "opscheck.probes.services",
    "listeners": "opscheck.probes.services",
    "tcp": "opscheck.probes.tcp",
    "file": "opscheck.probes.files",
    "world_writable": "opscheck.probes.files",
    "world_readable": "opscheck.probes.files",
    "env_flags": "opscheck.probes.env_flags",
    "updates": "opscheck.probes.hygiene",
    "security_updates": "opscheck.probes.hygiene",
    "reboot_required": "opscheck.probes.hygiene",
    "uptime": "opscheck.probes.hygiene",
    "http": "opscheck.probes.http.endpoint",
    "websocket": "opscheck.probes.http.websocket",
    "tls_endpoint": "opscheck.probes.tls.endpoint",
    "cert_file": "opscheck.probes.tls.files",
    "pg_connect": "opscheck.probes.postgres.server",
    "pg_connections": "opscheck.probes.postgres.server",
    "pg_blocked": "opscheck.probes.postgres.server",
    "pg_long_running": "opscheck.probes.postgres.server",
    "pg_idle_in_transaction": "opscheck.probes.postgres.server",
    "pg_database_size": "opscheck.probes.postgres.server",
    "pg_wraparound": "opscheck.probes.postgres.server",
    "pg_replication": "opscheck.probes.postgres.server",
    "pg_dead_tuples": "opscheck.probes.postgres.server",
    "pg_unused_indexes": "opscheck.probes.postgres.server",
    "pg_slow_queries": "opscheck.probes.postgres.server",
    "pg_assertion": "opscheck.probes.postgres.server",
    "redis_ping": "opscheck.probes.redis.server",
    "redis_memory": "opscheck.probes.redis.server",
    "redis_evictions": "opscheck.probes.redis.server",
    "redis_rejected_connections": "opscheck.probes.redis.server",
    "redis_clients": "opscheck.probes.redis.server",
    "redis_last_save": "opscheck.probes.redis.server",
    "redis_replication": "opscheck.probes.redis.server",
    "redis_hit_ratio": "opscheck.probes.redis.server",
    "redis_blocked_clients": "opscheck.probes.redis.server",
    "backup_age": "opscheck.probes.backups.freshness",
    "backup_count": "opscheck.probes.backups.freshness",
    "backup_retention": "opscheck.probes.backups.freshness",
    "backup_size": "opscheck.probes.backups.freshness",
    "backup_integrity": "opscheck.probes.backups.integrity",
    "restore_drill": "opscheck.probes.backups.restore",
    "config_extract": "opscheck.probes.backups.extract",
    "log_pattern": "opscheck.probes.logs",
    "rabbitmq": "opscheck.probes.rabbitmq.broker",
    "rabbitmq_queue": "opscheck.probes.rabbitmq.broker",
    "memcached": "opscheck.probes.memcached",
    "memcached_hit_ratio": "opscheck.probes.memcached",
    "memcached_evictions": "opscheck.probes.memcached",
    "memcached_connections": "opscheck.probes.memcached",
    "memcached_memory": "opscheck.probes.memcached",
}

_loaded: dict[str, Kind] = {}


def names() -> frozenset[str]:
    return frozenset(MODULES)


def get(name: str) -> Kind:
    kind = _loaded.get(name)
    if kind is None:
        if name not in MODULES:
            raise KeyError(f"unknown check kind {name!r} (known: {', '.join(sorted(MODULES))})")
        module = importlib.import_module(MODULES[name])
        _loaded.update(module.KINDS)
        kind = _loaded[name]
    return kind
