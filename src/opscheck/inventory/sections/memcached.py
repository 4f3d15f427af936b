"""`memcached:` — one server's `stats` (the runbook's `echo stats | nc localhost 11211`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from opscheck.inventory.sections.common import Item
from opscheck.inventory.types import Duration, DurationLimits, FloatLimits, Percent, PercentLimits
from opscheck.threshold import Direction

DEFAULT_PORT = 11211


class LatencyLimits(DurationLimits):
    warn: Duration | None = 0.1
    crit: Duration | None = 1.0


class HitRatioLimits(PercentLimits):
    """A hit ratio is bad when it falls: the runbook's "hit ratio should be > 80 %"."""

    direction: ClassVar[Direction] = Direction.BELOW
    warn: Percent | None = 80.0
    crit: Percent | None = None


class EvictionLimits(FloatLimits):
    """Evictions per minute, averaged over the server's uptime."""

    warn: float | None = 1.0
    crit: float | None = None


class ConnectionLimits(PercentLimits):
    warn: Percent | None = 80.0
    crit: Percent | None = 95.0


class MemoryLimits(PercentLimits):
    """A cache is meant to fill up, so no limits unless the inventory sets them."""

    warn: Percent | None = None
    crit: Percent | None = None


class MemcachedItem(Item):
    """A server `host:port`; every limit may be set to null to drop that check."""

    address: str
    latency: LatencyLimits | None = Field(default_factory=LatencyLimits)
    hit_ratio: HitRatioLimits | None = Field(default_factory=HitRatioLimits)
    min_gets: int = Field(default=100, ge=0)
    evictions: EvictionLimits | None = Field(default_factory=EvictionLimits)
    connections: ConnectionLimits | None = Field(default_factory=ConnectionLimits)
    memory: MemoryLimits | None = Field(default_factory=MemoryLimits)

    @field_validator("address")
    @classmethod
    def _host_port(cls, address: str) -> str:
        split_address(address)
        return address

    @property
    def host_port(self) -> tuple[str, int]:
        return split_address(self.address)


def split_address(address: str) -> tuple[str, int]:
    """`host`, `host:port` or `[v6]:port` -> (host, port)."""
    text = address.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ValueError(f"expected host:port, found {address!r}")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"expected host:port with a port 1-65535, found {address!r}")
    return host, int(port_text)


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"memcached": MemcachedItem}
