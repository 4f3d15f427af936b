"""The inventory: what to check, where, with which thresholds.

`load_inventory` and `Inventory` are imported on first use: importing a submodule
(types, for the waiver file's model) must not build every section's model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opscheck.inventory.loader import load_inventory
    from opscheck.inventory.model import Inventory

__all__ = ["Inventory", "load_inventory"]


def __getattr__(name: str):
    if name == "load_inventory":
        from opscheck.inventory.loader import load_inventory

        return load_inventory
    if name == "Inventory":
        from opscheck.inventory.model import Inventory

        return Inventory
    raise AttributeError(f"module 'opscheck.inventory' has no attribute {name!r}")
