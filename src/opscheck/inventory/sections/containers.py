"""`containers:` — the runbook's `docker compose ps`, `docker stats --no-stream` and `docker inspect`.

A set of containers (by Compose project and services, by name or by label) on the
Docker Engine (or Podman's Docker-compatible socket) of each `on:` host: running,
healthy, not restarting, CPU and memory as `docker stats` shows them, image drift.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from opscheck.inventory.sections.common import Item
from opscheck.inventory.types import (
    CountLimits,
    Percent,
    PercentLimits,
    Strict,
    str_or_list,
)

ENGINE_SCHEMES = ("unix://", "tcp://", "ssh://", "http://", "https://", "npipe://")


class EngineTLS(Strict):
    """Client certificates for a `tcp://` engine (as `docker --tlsverify --tlscacert ...`)."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    verify: bool = True


class RestartLimits(CountLimits):
    warn: int | None = 1
    crit: int | None = 5


class ContainerCpuLimits(PercentLimits):
    warn: Percent | None = 80.0
    crit: Percent | None = 95.0


class ContainerMemoryLimits(PercentLimits):
    warn: Percent | None = 80.0
    crit: Percent | None = 95.0


def engine_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(ENGINE_SCHEMES):
        raise ValueError(f"expected an engine URL ({', '.join(s + '...' for s in ENGINE_SCHEMES[:3])}), found {value!r}")
    return value


class ContainersItem(Item):
    # No `on:` means the runner's own engine (DOCKER_HOST, else the local socket), not every host's.
    on: Annotated[list[str], BeforeValidator(str_or_list)] = Field(default_factory=list)
    engine: str | None = None
    tls: EngineTLS | None = None
    compose_project: str | None = None
    services: Annotated[list[str], BeforeValidator(str_or_list)] = Field(default_factory=list)
    names: Annotated[list[str], BeforeValidator(str_or_list)] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    running: bool = True
    health: bool = True
    restarts: RestartLimits | None = Field(default_factory=RestartLimits)
    cpu: ContainerCpuLimits | None = None
    memory: ContainerMemoryLimits | None = None
    image_drift: bool | Literal["registry"] = False  # true: against the local tag; registry: the registry's digest

    @field_validator("engine")
    @classmethod
    def _engine(cls, value: str | None) -> str | None:
        return engine_url(value)

    @model_validator(mode="after")
    def _one_selection(self):
        given = [k for k in ("compose_project", "names", "labels") if getattr(self, k)]
        if not given:
            raise ValueError("nothing selects containers: give compose_project:, names: or labels:")
        if self.compose_project is None and self.services:
            raise ValueError("services: selects within compose_project:; give it too")
        if self.names and len(given) > 1:
            raise ValueError("names: already picks the containers; drop compose_project:/labels: or names:")
        return self

    def selection(self) -> str:
        """How the set reads in ids and summaries: `compose trading[backend,redis]`, `redis,backend`, `app=trading`."""
        if self.names:
            return ",".join(self.names)
        parts = []
        if self.compose_project:
            parts.append(f"compose {self.compose_project}" + (f"[{','.join(self.services)}]" if self.services else ""))
        parts.extend(f"{k}={v}" for k, v in self.labels.items())
        return " ".join(parts)


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"containers": ContainersItem}
