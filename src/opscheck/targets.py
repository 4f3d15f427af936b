"""Build Targets from inventory items: the common fields filled in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opscheck.inventory.model import Inventory
from opscheck.inventory.sections.common import Item
from opscheck.measurement import HostRef, Target
from opscheck.threshold import Threshold


def make_target(
    inventory: Inventory,
    item: Item,
    *,
    kind: str,
    id: str,
    check: str,
    host: HostRef | None = None,
    spec: Any = None,
    threshold: Threshold | None = None,
    retries: int = 1,
    **params: Any,
) -> Target:
    return Target(
        kind=kind,
        id=id,
        check=check,
        spec=spec if spec is not None else item,
        host=host,
        threshold=threshold,
        severity=item.severity,
        schedules=tuple(item.schedule),
        runbook=item.runbook,
        timeout=inventory.timeout_for(item),
        retries=retries,
        params=params,
    )


def host_id(host: HostRef, item: Item, *rest: str) -> str:
    """`host:name:rest…`: the entry's `name:` where it gives one, as every test id uses it."""
    return ":".join([host.name, *([item.name] if item.name else []), *rest])


def aspect_targets(section: str, kind: str, key: str, check: str, name: Callable[[Item, int], str]):
    """Targets of one aspect (`connections`, `memory`, …) of every entry of a service section.

    Service sections (postgres, redis) switch aspects off with `key: false`, stored as None.
    """

    def targets(inventory: Inventory) -> list[Target]:
        out = []
        for index, item in enumerate(getattr(inventory, section)):
            limits = getattr(item, key)
            if limits is None:
                continue
            out.append(
                make_target(
                    inventory, item, kind=kind, id=name(item, index), check=check,
                    spec=limits, threshold=limits.threshold(), entry=item,
                )
            )
        return out

    return targets
