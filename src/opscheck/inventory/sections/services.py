"""`services:` and `tcp:` — units, processes, listening ports; TCP reachability from the runner."""

from __future__ import annotations

import re
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
    # The allow-list: any other TCP listener is CRIT (`listening` ports are always allowed).
    only: Annotated[list[Port], BeforeValidator(as_list)] | None = None
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
