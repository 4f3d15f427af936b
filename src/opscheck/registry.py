"""Every kind of check target, by the name a check's parameter uses.

Like testinfra's module map: names point at modules imported on first use, so
a run that checks only disks never imports psycopg. Each probe module exposes
`KINDS`, a dict of name -> Kind. An unknown name lists the valid ones.
"""

from __future__ import annotations

import importlib
import threading
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
    "env_flags": "opscheck.probes.envflags",
    "updates": "opscheck.probes.hygiene",
    "security_updates": "opscheck.probes.hygiene",
    "reboot_required": "opscheck.probes.hygiene",
    "uptime": "opscheck.probes.hygiene",
    "http": "opscheck.probes.http",
    "websocket": "opscheck.probes.websocket",
    "tls_endpoint": "opscheck.probes.tls",
    "cert_file": "opscheck.probes.certfiles",
    "pg_connect": "opscheck.probes.postgres",
    "pg_connections": "opscheck.probes.postgres",
    "pg_blocked": "opscheck.probes.postgres",
    "pg_long_running": "opscheck.probes.postgres",
    "pg_idle_in_transaction": "opscheck.probes.postgres",
    "pg_database_size": "opscheck.probes.postgres",
    "pg_wraparound": "opscheck.probes.postgres",
    "pg_replication": "opscheck.probes.postgres",
    "pg_dead_tuples": "opscheck.probes.postgres",
    "pg_unused_indexes": "opscheck.probes.postgres",
    "pg_slow_queries": "opscheck.probes.postgres",
    "pg_assertion": "opscheck.probes.postgres",
    "redis_ping": "opscheck.probes.redis",
    "redis_memory": "opscheck.probes.redis",
    "redis_evictions": "opscheck.probes.redis",
    "redis_rejected_connections": "opscheck.probes.redis",
    "redis_clients": "opscheck.probes.redis",
    "redis_last_save": "opscheck.probes.redis",
    "redis_replication": "opscheck.probes.redis",
    "redis_hit_ratio": "opscheck.probes.redis",
    "redis_blocked_clients": "opscheck.probes.redis",
    "backup_age": "opscheck.probes.backups",
    "backup_count": "opscheck.probes.backups",
    "backup_retention": "opscheck.probes.backups",
    "backup_size": "opscheck.probes.backups",
    "backup_integrity": "opscheck.probes.integrity",
    "restore_drill": "opscheck.probes.restore",
    "config_extract": "opscheck.probes.extract",
    "log_pattern": "opscheck.probes.logs",
    "rabbitmq": "opscheck.probes.rabbitmq",
    "rabbitmq_queue": "opscheck.probes.rabbitmq",
    "memcached": "opscheck.probes.memcached",
    "memcached_hit_ratio": "opscheck.probes.memcached",
    "memcached_evictions": "opscheck.probes.memcached",
    "memcached_connections": "opscheck.probes.memcached",
    "memcached_memory": "opscheck.probes.memcached",
}

_loaded: dict[str, Kind] = {}
# Probe threads load kinds too: one import at a time, so no thread sees a half-initialised module.
_load_lock = threading.RLock()


def names() -> frozenset[str]:
    return frozenset(MODULES)


def get(name: str) -> Kind:
    kind = _loaded.get(name)
    if kind is None:
        if name not in MODULES:
            raise KeyError(f"unknown check kind {name!r} (known: {', '.join(sorted(MODULES))})")
        with _load_lock:
            module = importlib.import_module(MODULES[name])
            _loaded.update(module.KINDS)
            kind = _loaded[name]
    return kind
