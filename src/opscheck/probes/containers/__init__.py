"""Containers: a set selected by Compose project, name or label, on each `on:` host's Docker Engine.

The package stays light: the probes need the `docker` SDK, imported when the first
container target is measured. One target per entry and host; without `on:` the
runner's own engine (`DOCKER_HOST`, else the local socket).
"""

from __future__ import annotations

from opscheck.measurement import HostRef
from opscheck.registry import Kind
from opscheck.targets import make_target

RUNNER = HostRef("local", "local://")


def per_engine(key: str, on: bool = True):
    """One target per entry (whose `key` is on) and engine: each `on:` host's, else the runner's."""

    def targets(kind: str, check: str):
        def build(inventory) -> list:
            out = []
            for item in inventory.containers:
                limits = getattr(item, key)
                if not limits:
                    continue
                for host in inventory.hosts_for(item) if item.on else [RUNNER]:
                    out.append(make_target(
                        inventory, item, kind=kind, id=f"{host.name}:{item.name or item.selection()}", check=check,
                        host=host, threshold=limits.threshold() if hasattr(limits, "threshold") else None,
                    ))
            return out

        return build

    return targets


def _kind(name: str, check: str, key: str, probe: str) -> Kind:
    return Kind(name, check, "containers", per_engine(key)(name, check), probe)


KINDS = (
    _kind("container_running", "container running", "running", ".state:probe_running"),
    _kind("container_health", "container health", "health", ".state:probe_health"),
    _kind("container_restarts", "container restarts", "restarts", ".state:probe_restarts"),
    _kind("container_cpu", "container cpu", "cpu", ".stats:probe_cpu"),
    _kind("container_memory", "container memory", "memory", ".stats:probe_memory"),
    _kind("container_image_drift", "container image drift", "image_drift", ".drift:probe_drift"),
)
