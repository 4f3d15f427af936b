"""`dns:` — a name resolves (to the expected answers), fast enough: the runbook's `dig +short`.

Queries go from the runner, to the system resolver (the nameservers of
/etc/resolv.conf, as `dig` asks them; /etc/hosts is not consulted) or to
`server:`. `on:` does not apply.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from opscheck.inventory.sections.common import Item
from opscheck.inventory.types import Duration, DurationLimits, as_list
from opscheck.units import describe_input

TYPES = ("A", "AAAA", "CNAME", "MX")
_NAME = re.compile(r"^(?=.{1,253}\.?$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?$")
_SERVER = re.compile(r"^(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<host>[0-9.]+|[0-9a-fA-F:]+))(?::(?P<port>\d{1,5}))?$")


class LatencyLimits(DurationLimits):
    warn: Duration | None = 0.2
    crit: Duration | None = 1.0


def split_server(value: str) -> tuple[str, int]:
    """`127.0.0.1`, `127.0.0.1:5353`, `::1` or `[::1]:5353` -> (address, port)."""
    match = _SERVER.match(value)
    address = match and (match["v6"] or match["host"])
    if match and not match["v6"] and match["port"] and ":" in (match["host"] or ""):
        address = None  # a bare v6 address cannot carry a port: `[::1]:53`
    try:
        ipaddress.ip_address(address or "")
    except ValueError:
        raise ValueError(f"expected a resolver address (127.0.0.1, 127.0.0.1:5353, [::1]:53), found {value!r}") from None
    port = int(match["port"] or 53)
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range in {value!r}")
    return address, port


class DnsItem(Item):
    query: str
    type: Literal[TYPES] = "A"  # type: ignore[valid-type]
    # The exact set of answers (addresses; the CNAME target; MX exchanges, `10 mx.example.com` or the name).
    expect: Annotated[list[str], BeforeValidator(as_list)] | None = None
    server: str | None = None
    latency: LatencyLimits = Field(default_factory=LatencyLimits)

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"expected a DNS name like api.example.com, found {describe_input(value)}")
        return value.rstrip(".")

    @field_validator("server")
    @classmethod
    def _server(cls, value: str | None) -> str | None:
        if value is not None:
            split_server(value)
        return value

    @model_validator(mode="after")
    def _checked(self):
        if "on" in self.model_fields_set:
            raise ValueError("on: does not apply to dns checks: they query from the runner")
        if self.expect is not None and self.type in ("A", "AAAA"):
            for address in self.expect:
                try:
                    version = ipaddress.ip_address(address).version
                except ValueError:
                    raise ValueError(f"expect: {address!r} is not an IP address (type {self.type})") from None
                if version != (4 if self.type == "A" else 6):
                    raise ValueError(f"expect: {address} is not an IPv{4 if self.type == 'A' else 6} address (type {self.type})")
        if self.expect == []:
            raise ValueError("expect: an empty list can never match; leave expect out to accept any answer")
        return self

    @property
    def server_address(self) -> tuple[str, int] | None:
        return split_server(self.server) if self.server else None


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"dns": DnsItem}
