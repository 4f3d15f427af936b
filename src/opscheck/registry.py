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
    # services, processes, ports, files, env flags, host hygiene (issue 3)
    # http, websocket, tls endpoints, certificate files (issue 4)
    # postgres, redis (issue 5)
    # backups, restore drills, logs (issue 6)
    # rabbitmq, memcached (issue 10)
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
