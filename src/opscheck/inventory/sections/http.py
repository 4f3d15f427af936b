"""`http:` — health endpoints, JSON expectations, safety flags and WebSocket upgrades.

The runbooks' `curl -f /health`, `curl -s … | jq .paperTradingMode` and
`curl -w %{time_total}`. HTTP checks run from the runner, not on the inventory's
hosts, so `on:` does not apply to them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from opscheck.inventory.jsonrules import JsonRule, parse_rules
from opscheck.inventory.sections.common import Item
from opscheck.inventory.types import Duration, DurationLimits, MaybeSecret, Regex, Strict
from opscheck.redact import redact
from opscheck.units import describe_input

# Read-only methods, and POST for query-style status endpoints (GraphQL, JSON-RPC).
METHODS = ("GET", "HEAD", "OPTIONS", "POST")
SCHEMES = ("http", "https", "ws", "wss")


def _rules(value: Any) -> tuple[JsonRule, ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping of JSON paths to expectations, found {describe_input(value)}")
    return parse_rules(value)


def _statuses(value: Any) -> list[int]:
    codes = value if isinstance(value, list) else [value]
    for code in codes:
        if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
            raise ValueError(f"expected an HTTP status code (100-599) or a list of them, found {describe_input(code)}")
    return codes


def resolve_path(value: str | None, info: ValidationInfo) -> str | None:
    """A runner-side file named in the inventory, relative to the inventory's folder."""
    if value is None:
        return None
    path = Path(value).expanduser()
    base = (info.context or {}).get("base_dir") if info.context else None
    if not path.is_absolute() and base:
        path = Path(base) / path
    return str(path)


class Expect(Strict):
    """What a healthy answer looks like; every unmet expectation is a CRIT naming what it found."""

    status: Annotated[list[int], BeforeValidator(_statuses)] = Field(default_factory=list)
    json_rules: Annotated[tuple[JsonRule, ...], BeforeValidator(_rules)] = Field(default=(), alias="json")
    body: Regex | None = None


class HttpItem(Item):
    url: str
    method: str = "GET"
    headers: dict[str, MaybeSecret] = Field(default_factory=dict)
    body: str | dict | list | None = None
    expect: Expect = Field(default_factory=Expect)
    latency: DurationLimits | None = None
    retries: int = Field(default=1, ge=1, le=10)
    retry_delay: Duration = 1.0
    follow_redirects: bool = False
    reuse: bool = False
    ca_file: str | None = None
    insecure: bool = False

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        return resolve_path(value, info)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ValueError(f"expected an absolute URL ({', '.join(s + '://' for s in SCHEMES)}), found {value!r}")
        if parts.password:
            raise ValueError("credentials do not belong in the URL: send them in headers from env:NAME")
        return value

    @field_validator("method", mode="before")
    @classmethod
    def _method(cls, value: Any) -> str:
        if not isinstance(value, str) or value.upper() not in METHODS:
            raise ValueError(f"expected one of {', '.join(METHODS)} (checks never change what they check), found {describe_input(value)}")
        return value.upper()

    @model_validator(mode="after")
    def _consistent(self):
        if "on" in self.model_fields_set:
            raise ValueError("on: does not apply to http checks: they run from the runner, not on hosts")
        upgrade_only = not (self.expect.json_rules or self.expect.body or self.body is not None or self.method != "GET")
        if self.websocket and not upgrade_only:
            raise ValueError("a ws:// or wss:// check is an upgrade handshake: no method, body or expect.json/body")
        if self.insecure and self.ca_file:
            raise ValueError("insecure: true and ca_file contradict each other: keep one")
        return self

    @property
    def websocket(self) -> bool:
        return urlsplit(self.url).scheme in ("ws", "wss")

    @property
    def statuses(self) -> tuple[int, ...]:
        """Expected statuses; empty means any 2xx (101 for a WebSocket upgrade)."""
        if self.expect.status:
            return tuple(self.expect.status)
        return (101,) if self.websocket else ()

    @property
    def label(self) -> str:
        """The check id: the name, else the URL (masked, should it carry `?token=`)."""
        return self.name or redact(self.url)


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"http": HttpItem}
