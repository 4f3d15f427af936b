"""Every kind of check target, by the name a check's parameter uses.

A kind is declared once, next to its probe, in the `KINDS` of its area package
(`opscheck.probes.<area>`, named as its inventory section) or of a module that an
installed package names in the `opscheck.kinds` entry-point group. The registry
is built from those declarations on first use. Area packages stay light: a probe
that needs a client library (psycopg, redis, requests, pika) is named as
`".module:function"` and imported when its first target is measured, so a run
that checks only disks never imports psycopg. An unknown name lists the valid ones.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opscheck import extensions
from opscheck.targets import Shape

if TYPE_CHECKING:
    from opscheck.inventory.model import Inventory
    from opscheck.measurement import Measurement, Target

BUILT_IN = "opscheck.probes"


@dataclass(frozen=True)
class Kind:
    """A resource kind: its check's name, its inventory section, its target shape and its probe.

    `probe` is a callable, or `"module:function"` (relative to the declaring
    package when it starts with a dot) imported on first use.
    """

    name: str
    check: str
    section: str
    shape: Shape | Callable[[Inventory], list[Target]]
    probe: Callable[[Target], Measurement] | str
    home: str = field(default="", compare=False)

    def targets(self, inventory: Inventory) -> list[Target]:
        if isinstance(self.shape, Shape):
            return self.shape.targets(inventory, self.name, self.check, self.section)
        return self.shape(inventory)

    def run(self, target: Target) -> Measurement:
        """Measure `target` with this kind's probe."""
        return self.resolve_probe()(target)

    def resolve_probe(self) -> Callable[[Target], Measurement]:
        if not isinstance(self.probe, str):
            return self.probe
        module, _, function = self.probe.partition(":")
        return getattr(importlib.import_module(module, package=self.home or None), function)


_kinds: dict[str, Kind] = {}
_lock = threading.Lock()
_built = False


def _declarations():
    """Modules declaring kinds: each built-in area package, then each entry point."""
    package = importlib.import_module(BUILT_IN)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.ispkg:
            yield importlib.import_module(f"{BUILT_IN}.{info.name}")
    yield from extensions.modules()


def _build() -> None:
    global _built
    with _lock:
        if _built:
            return
        for module in _declarations():
            home = module.__name__ if hasattr(module, "__path__") else module.__package__
            for kind in getattr(module, "KINDS", ()):
                other = _kinds.get(kind.name)
                if other is not None:
                    raise ValueError(f"kind {kind.name!r} is declared twice: in {other.home} and in {home}")
                add(kind, home)
        _built = True


def add(kind: Kind, home: str = "") -> None:
    """Register `kind` (a test's synthetic kind, or a declaration found by `_build`)."""
    if home and not kind.home:
        kind = Kind(kind.name, kind.check, kind.section, kind.shape, kind.probe, home)
    _kinds[kind.name] = kind


def remove(name: str) -> None:
    _kinds.pop(name, None)


def names() -> frozenset[str]:
    if not _built:
        _build()
    return frozenset(_kinds)


def get(name: str) -> Kind:
    if not _built:
        _build()
    kind = _kinds.get(name)
    if kind is None:
        raise KeyError(f"unknown check kind {name!r} (known: {', '.join(sorted(_kinds))})")
    return kind


def load_inventory(path) -> Inventory:
    """The validated inventory at `path`, and no two entries giving one check the same id.

    The ids come from the kinds' declarations, a layer after the inventory's own, so this
    last check of a file lives here; every caller that runs checks loads through it.
    """
    from opscheck.errors import InventoryError
    from opscheck.inventory import loader

    inventory = loader.load_inventory(path)
    problems = duplicate_ids(inventory)
    if problems:
        raise InventoryError(loader.sort_problems([loader._line(inventory.path, inventory.lines, loc) + msg for loc, msg in problems]))
    return inventory


def duplicate_ids(inventory: Inventory) -> list[tuple[tuple, str]]:
    """Two entries that give one check the same id would run as `x0` and `x1`: say so instead."""
    entries = inventory.items()
    if len({section for section, _, _ in entries}) == len(entries):
        return []  # at most one entry per section: nothing can clash (and no probe module is imported)
    where = {id(item): (section, index) for section, index, item in entries}
    clashes: dict[tuple, list[str]] = {}  # (entry, earlier entry) -> check ids they share
    for kind in names():
        seen: dict[str, tuple] = {}
        for target in get(kind).targets(inventory):
            loc = where.get(id(target.params.get("entry", target.spec)))
            if loc is None:
                continue
            first = seen.setdefault(target.id, loc)
            if first != loc:
                clashes.setdefault((loc, first), []).append(f"{target.check}[{target.id}]")
    from opscheck.inventory.loader import _dotted as dotted

    problems = []
    for (loc, first), ids in clashes.items():
        ids = sorted(ids)
        more = f" and {len(ids) - 1} more" if len(ids) > 1 else ""
        problems.append((loc, f"{dotted(loc)}: gives the same check id as {dotted(first)} ({ids[0]}{more}): set a distinct name:"))
    return problems
