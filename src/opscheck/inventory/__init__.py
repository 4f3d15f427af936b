"""The inventory: what to check, where, with which thresholds."""

from opscheck.inventory.loader import load_inventory
from opscheck.inventory.model import Inventory

__all__ = ["Inventory", "load_inventory"]
