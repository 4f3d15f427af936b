"""`services:` and `tcp:` — units, processes, listening ports; TCP reachability from the runner."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator, model_validator

from opscheck.inventory.sections.common import Item
from opscheck.inventory.types import DurationLimits, Regex, Strict, as_list
from opscheck.units import describe_input


def _port(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValueError(f"expected a TCP port number 1-65535, found {describe_input(value)}")
    return value


Port = Annotated[int, BeforeValidator(_port)]


Pattern = Regex

_ALLOW = re.compile(r"^(?:(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<v4>[0-9.]+)):)?(?P<low>\d+)(?:-(?P<high>\d+))?$")
_ALLOW_HINT = "a port (22), a range (8000-8099) or an address and port (127.0.0.1:6379, [::1]:5432, 127.0.0.1:8000-8099)"


@dataclass(frozen=True)
class Allowed:
    """One `only:` entry: ports `low`..`high`, on any address or on `address` only."""

    low: int
    high: int
    address: str | None = None

    def allows(self, port: int, address: str) -> bool:
        return self.low <= port <= self.high and (self.address is None or listener_address(address) == self.address)

    def __str__(self) -> str:
        ports = str(self.low) if self.low == self.high else f"{self.low}-{self.high}"
        if self.address is None:
            return ports
        return f"[{self.address}]:{ports}" if ":" in self.address else f"{self.address}:{ports}"


def listener_address(address: str) -> str:
    """ss's `[::1]`, `127.0.0.53%lo`, `*` -> a comparable address (`::1`, `127.0.0.53`, `*`)."""
    host = address.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return host


def _allowed(value: object) -> Allowed:
    if isinstance(value, Allowed):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Allowed(_port(value), value)
    match = _ALLOW.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"expected {_ALLOW_HINT}, found {describe_input(value)}")
    low = int(match["low"])
    high = int(match["high"]) if match["high"] else low
    for port in (low, high):
        if not 1 <= port <= 65535:
            raise ValueError(f"port {port} is out of range 1-65535 in {value!r}")
    if high < low:
        raise ValueError(f"range {low}-{high} runs backwards in {value!r} (write {high}-{low})")
    address = match["v6"] or match["v4"]
    if address is not None:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            raise ValueError(f"{address} is not an IP address in {value!r} (expected {_ALLOW_HINT})") from None
        if match["v6"] and parsed.version != 6:
            raise ValueError(f"{address} in brackets is not an IPv6 address in {value!r}")
        address = parsed.compressed
    return Allowed(low, high, address)


AllowedListener = Annotated[Allowed, BeforeValidator(_allowed)]

_UNIT = re.compile(r"^[A-Za-z0-9:_.@\\-]+$")


def _unit(value: object) -> str:
    if not isinstance(value, str) or not _UNIT.match(value):
        raise ValueError(f"expected a systemd unit name like nginx or nginx.service, found {describe_input(value)}")
    return value


UnitName = Annotated[str, BeforeValidator(_unit)]


class ProcessSpec(Strict):
    """Processes whose full command line matches `pattern` (Python regex, searched)."""

    pattern: Pattern
    min: int = Field(default=1, ge=0)
    max: int | None = Field(default=None, ge=0)
    user: str | None = None

    @field_validator("max")
    @classmethod
    def _max_not_below_min(cls, value, info):
        if value is not None and value < info.data.get("min", 1):
            raise ValueError(f"max {value} is below min {info.data.get('min', 1)}")
        return value


class ServicesItem(Item):
    units: Annotated[list[UnitName], BeforeValidator(as_list)] = Field(default_factory=list)
    processes: Annotated[list[ProcessSpec], BeforeValidator(as_list)] = Field(default_factory=list)
    listening: Annotated[list[Port], BeforeValidator(as_list)] = Field(default_factory=list)
    # The allow-list: any other TCP listener is CRIT (`listening` ports are always allowed, on any address).
    only: Annotated[list[AllowedListener], BeforeValidator(as_list)] | None = None
    ignore_loopback: bool = False


def _endpoint(value: object) -> str:
    if isinstance(value, str):
        host, sep, port = value.rpartition(":")
        if sep and host and port.isdigit() and 1 <= int(port) <= 65535:
            return value
    raise ValueError(f"expected host:port, found {describe_input(value)}")


class TcpItem(Item):
    """A `host:port` the runner must reach (WebSocket, DB ports): `nc -zv host port`."""

    endpoint: Annotated[str, BeforeValidator(_endpoint)]
    latency: DurationLimits = Field(default_factory=DurationLimits)

    @model_validator(mode="after")
    def _from_runner(self):
        if "on" in self.model_fields_set:
            raise ValueError("on: does not apply to tcp checks: they connect from the runner, not from hosts")
        return self


# The inventory keys this module adds (the Inventory model is assembled from these).
SECTIONS = {"services": ServicesItem, "tcp": TcpItem}
