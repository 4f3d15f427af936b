"""`hygiene:` — weekly: pending (security) updates, reboot required, uptime."""

from __future__ import annotations

from typing import Literal

from opscheck.inventory.sections.common import Item
from opscheck.inventory.types import CountLimits, Duration, DurationLimits


class UpdateLimits(CountLimits):
    warn: int | None = 25
    crit: int | None = None


class SecurityUpdateLimits(CountLimits):
    warn: int | None = 0
    crit: int | None = 10


class UptimeLimits(DurationLimits):
    warn: Duration | None = 180 * 86400.0
    crit: Duration | None = None


class HygieneItem(Item):
    updates: UpdateLimits | None = None
    security_updates: SecurityUpdateLimits | None = None
    reboot_required: Literal["warn", "crit"] | None = None
    uptime: UptimeLimits | None = None


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"hygiene": HygieneItem}
