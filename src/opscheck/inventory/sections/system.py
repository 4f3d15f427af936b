"""`system:` — per host: disk, inodes, memory, swap, load, cpu (the runbook's df, free, uptime, top)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from opscheck.inventory.sections.common import Item
from opscheck.inventory.types import Duration, FloatLimits, Percent, PercentLimits, as_list


class MountLimits(PercentLimits):
    mount: str
    warn: Percent | None = 80.0
    crit: Percent | None = 90.0


class MemoryLimits(PercentLimits):
    warn: Percent | None = 85.0
    crit: Percent | None = 95.0


class SwapLimits(PercentLimits):
    warn: Percent | None = 50.0
    crit: Percent | None = 80.0


class CpuLimits(PercentLimits):
    warn: Percent | None = 80.0
    crit: Percent | None = 95.0
    interval: Duration = 1.0  # the /proc/stat sample: busy % is the delta over it


class LoadLimits(FloatLimits):
    warn: float | None = 1.5
    crit: float | None = 3.0


class SystemItem(Item):
    disk: Annotated[list[MountLimits], BeforeValidator(as_list)] = Field(default_factory=list)
    inodes: Annotated[list[MountLimits], BeforeValidator(as_list)] = Field(default_factory=list)
    memory: MemoryLimits | None = None
    swap: SwapLimits | None = None
    load_per_core: LoadLimits | None = None
    cpu: CpuLimits | None = None


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"system": SystemItem}
