"""`tls:` — certificates presented by an endpoint (`openssl s_client`) or kept in files.

An entry has either `endpoint: host:port` (checked from the runner, any TLS
service, STARTTLS too) or `file:` (PEM on the hosts of `on:`, with an optional
`key:` that must match it). Days left are judged on the earliest expiry.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from opscheck.inventory.sections.common import Item
from opscheck.inventory.sections.http import resolve_path
from opscheck.inventory.types import FloatLimits
from opscheck.threshold import Direction

# What `openssl s_client -starttls` speaks; the services the runbooks name.
STARTTLS = ("smtp", "imap", "pop3", "ftp", "xmpp", "postgres", "mysql", "ldap")
_ENDPOINT = re.compile(r"^(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<host>[A-Za-z0-9_.-]+)):(?P<port>\d{1,5})$")


class DaysLeft(FloatLimits):
    """Days until expiry: fewer is worse (the runbook's "SSL days left < 30 → warning")."""

    direction: ClassVar[Direction] = Direction.BELOW
    unit: ClassVar[str] = "days"
    warn: float | None = 30
    crit: float | None = 7


def split_endpoint(endpoint: str) -> tuple[str, int]:
    match = _ENDPOINT.match(endpoint)
    if not match:
        raise ValueError(f"expected host:port (or [v6-address]:port), found {endpoint!r}")
    port = int(match["port"])
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range in {endpoint!r}")
    return match["v6"] or match["host"], port


class TlsItem(Item):
    endpoint: str | None = None
    servername: str | None = None
    starttls: Literal[STARTTLS] | None = None  # type: ignore[valid-type]
    ca_file: str | None = None
    insecure: bool = False
    min_protocol: Literal["TLSv1.2", "TLSv1.3"] = "TLSv1.2"
    # Try each protocol older than min_protocol (kind tls_protocols): accepting one is CRIT.
    old_protocols: bool = True
    file: str | None = None
    key: str | None = None
    days: DaysLeft = Field(default_factory=DaysLeft)

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None:
            split_endpoint(value)
        return value

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        return resolve_path(value, info)

    @model_validator(mode="after")
    def _one_source(self):
        if (self.endpoint is None) == (self.file is None):
            raise ValueError("expected exactly one of endpoint (host:port) or file (a PEM path on the hosts)")
        if self.endpoint is not None:
            if "on" in self.model_fields_set:
                raise ValueError("on: does not apply to an endpoint: it is checked from the runner (use file: for certificates on hosts)")
            if self.key is not None:
                raise ValueError("key: belongs to a file: entry, not an endpoint")
        else:
            wrong = [k for k in ("servername", "starttls", "ca_file") if getattr(self, k) is not None]
            wrong += ["insecure"] if self.insecure else []
            wrong += ["old_protocols"] if "old_protocols" in self.model_fields_set else []
            if wrong:
                raise ValueError(f"{', '.join(wrong)}: only for an endpoint: entry, not a file")
        if self.insecure and self.ca_file:
            raise ValueError("insecure: true and ca_file contradict each other: keep one")
        return self

    @property
    def host_port(self) -> tuple[str, int]:
        return split_endpoint(self.endpoint or "")


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"tls": TlsItem}
