"""`redis:` — one entry per server: ping, memory, evictions, clients, persistence, replication, hits.

Every aspect has defaults and runs unless set to `false`; each is its own check
(`test_redis_memory[cache]`).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar
from urllib.parse import unquote, urlsplit

from pydantic import AfterValidator, field_validator, model_validator

from opscheck.inventory.sections.aspects import Aspect, allow_list, check_only, only_names
from opscheck.inventory.sections.common import Item
from opscheck.inventory.types import (
    CountLimits,
    Duration,
    DurationLimits,
    MaybeSecret,
    Percent,
    PercentLimits,
    Secret,
    SecretValue,
)
from opscheck.redact import register_secret
from opscheck.threshold import Direction


class RedisLatencyLimits(DurationLimits):
    warn: Duration | None = 0.1
    crit: Duration | None = 1.0


class RedisMemoryLimits(PercentLimits):
    warn: Percent | None = 80.0
    crit: Percent | None = 95.0


class RedisClientLimits(PercentLimits):
    warn: Percent | None = 80.0
    crit: Percent | None = 95.0


class RejectedLimits(CountLimits):
    warn: int | None = 0
    crit: int | None = None


class SaveLimits(DurationLimits):
    """Age of the last successful RDB save; a failed last save is CRIT whatever the age."""

    warn: Duration | None = None
    crit: Duration | None = None


class RedisReplicationLimits(DurationLimits):
    """Seconds since a replica last heard from its master (primary: worst replica's `lag`)."""

    warn: Duration | None = 10.0
    crit: Duration | None = 60.0
    min_replicas: int = 0


class HitRatioLimits(PercentLimits):
    direction: ClassVar[Direction] = Direction.BELOW
    warn: Percent | None = None
    crit: Percent | None = None
    min_lookups: int = 1000  # a fresh server's ratio means nothing


def _url_without_password(url: Secret) -> Secret:
    parts = urlsplit(url.reveal())
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"expected a redis://, rediss:// or unix:// URL, found scheme {parts.scheme!r}")
    if parts.password:
        if url.source == "inline":
            raise ValueError("a password does not belong in the inventory: use url: env:NAME, or password: env:NAME")
        register_secret(unquote(parts.password))
    return url


# `only: [ping]` reads as the runbook's redis-cli ping; the aspect's key is `latency`.
ONLY_ALIASES = {"ping": "latency"}


class RedisItem(Item):
    url: Annotated[MaybeSecret, AfterValidator(_url_without_password)]
    username: str | None = None
    password: SecretValue | None = None
    tls_verify: bool = True
    tls_ca: str | None = None  # CA bundle (PEM) for rediss://, when not the system's
    latency: Aspect[RedisLatencyLimits]
    memory: Aspect[RedisMemoryLimits]
    evictions: Aspect[CountLimits]
    rejected_connections: Aspect[RejectedLimits]
    clients: Aspect[RedisClientLimits]
    last_save: Aspect[SaveLimits]
    replication: Aspect[RedisReplicationLimits]
    hit_ratio: Aspect[HitRatioLimits]
    blocked_clients: Aspect[CountLimits]
    only: list[str] | None = None  # allow-list of aspects: every other one is off

    @model_validator(mode="before")
    @classmethod
    def _allow_list(cls, data: Any) -> Any:
        return allow_list(data, only_names(cls, ONLY_ALIASES))

    @field_validator("only")
    @classmethod
    def _only_names(cls, value: list[str] | None) -> list[str] | None:
        return check_only(value, only_names(cls, ONLY_ALIASES))


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"redis": RedisItem}
