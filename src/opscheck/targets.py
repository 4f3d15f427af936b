"""Target shapes: how a kind's targets come out of its inventory section.

Four shapes cover every kind: one target per host of an entry (`per_host`), per
host and list item (`per_host_item`: mounts, units), per entry (`per_entry`: an
endpoint) and per aspect of an entry (`per_aspect`: a database's connections).
The loop over entries and hosts lives here once; a kind's declaration says which
shape it has and how its targets are named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opscheck.measurement import HostRef, Target
from opscheck.threshold import Threshold

if TYPE_CHECKING:
    from opscheck.inventory.model import Inventory
    from opscheck.inventory.sections.common import Item


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
        title=getattr(item, "title", None),
        description=getattr(item, "description", None),
        tags=tuple((getattr(item, "tags", None) or {}).items()),
    )


def host_id(host: HostRef, item: Any, *rest: str) -> str:
    """`host:name:rest…`: the entry's `name:` where it gives one, as every test id uses it."""
    return ":".join([host.name, *([item.name] if getattr(item, "name", None) else []), *rest])


@dataclass(frozen=True)
class Place:
    """Where one target sits: its entry (and index), host, list item and aspect."""

    item: Any
    index: int
    host: HostRef | None = None
    sub: Any = None
    aspect: Any = None


def _threshold_of(spec: Any) -> Threshold | None:
    return spec.threshold() if callable(getattr(spec, "threshold", None)) else None


@dataclass(frozen=True)
class Shape:
    """One target per entry, optionally per host and per list item of the entry.

    `key` names the entry's attribute the kind measures (an aspect or limits: None
    switches it off); `items` lists the entry's list items; `id`, `spec`,
    `threshold`, `check`, `params` and `retries` take a `Place`; `when` an entry.
    """

    hosts: bool = False
    key: str | None = None
    keep_off: bool = False
    items: Callable[[Any], Iterable] | None = None
    id: Callable[[Place], str] | None = None
    when: Callable[[Any], bool] | None = None
    spec: Callable[[Place], Any] | None = None
    threshold: Callable[[Place], Threshold | None] | None = None
    check: Callable[[Place], str] | None = None
    params: Callable[[Place], dict] | None = None
    retries: Callable[[Any], int] | None = None

    def targets(self, inventory: Inventory, kind: str, check: str, section: str) -> list[Target]:
        out = []
        for index, item in enumerate(getattr(inventory, section)):
            aspect = getattr(item, self.key) if self.key else None
            if self.key and aspect is None and not self.keep_off:
                continue
            if self.when is not None and not self.when(item):
                continue
            hosts = inventory.hosts_for(item) if self.hosts else [None]
            for host in hosts:
                for sub in self.items(item) if self.items else [None]:
                    place = Place(item, index, host, sub, aspect)
                    out.append(self._target(inventory, place, kind, check))
        return out

    def _target(self, inventory: Inventory, p: Place, kind: str, check: str) -> Target:
        measured = p.sub if p.sub is not None else p.aspect
        spec = self.spec(p) if self.spec else measured
        if self.threshold is not None:
            threshold = self.threshold(p)
        else:
            threshold = _threshold_of(measured) if measured is not None else None
        return make_target(
            inventory, p.item, kind=kind, id=self.id(p) if self.id else host_id(p.host, p.item), check=self.check(p) if self.check else check,
            host=p.host, spec=spec, threshold=threshold, retries=self.retries(p.item) if self.retries else 1,
            **(self.params(p) if self.params else {}),
        )


def per_host(key: str | None = None, **how: Any) -> Shape:
    """One target per host of each entry (`memory`, `uptime`); id: `host` or `host:name`."""
    return Shape(hosts=True, key=key, **how)


def per_host_item(items: str | Callable[[Any], Iterable], label: Callable[[Any], str] = str, **how: Any) -> Shape:
    """One target per host and item of the entry's list `items` (`disk` mounts); id: `host:label` or `host:name:label`."""
    return Shape(
        hosts=True, items=(lambda item: getattr(item, items)) if isinstance(items, str) else items,
        id=how.pop("id", None) or (lambda p: host_id(p.host, p.item, label(p.sub))), **how,
    )


def per_entry(id: Callable[[Place], str], **how: Any) -> Shape:
    """One target per entry (an endpoint, a broker); the entry is the spec."""
    return Shape(id=id, **how)


def per_aspect(key: str, name: Callable[[Any, int], str], **how: Any) -> Shape:
    """One target per entry whose aspect `key` is on; its limits are the spec, the entry a param."""
    how.setdefault("params", lambda p: {"entry": p.item})
    return Shape(key=key, id=lambda p: name(p.item, p.index), **how)
