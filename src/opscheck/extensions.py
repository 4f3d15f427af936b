"""Packages that add kinds: the modules named in the `opscheck.kinds` entry-point group.

An installed package adds a section, its kinds and its checks exactly as the
built-in areas do. Its entry point names one light module (no client library
imported at module level) that may define:

- `SECTIONS`: {inventory key: item model} (subclasses of `Item`), joined to the Inventory;
- `KINDS`: its `Kind` declarations, joined to the registry;
- `CHECKS`: module names of its check modules (`test_*.py`), collected with the suite's own.
"""

from __future__ import annotations

import functools
from importlib.metadata import entry_points
from types import ModuleType

GROUP = "opscheck.kinds"


@functools.cache
def modules() -> tuple[ModuleType, ...]:
    """The entry points' modules, loaded once, in the order of their entry-point names."""
    return tuple(ep.load() for ep in sorted(entry_points(group=GROUP), key=lambda ep: ep.name))
