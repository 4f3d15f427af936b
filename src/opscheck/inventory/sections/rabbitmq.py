"""`rabbitmq:` — a broker and its queues (the runbook's `rabbitmqctl status` and `list_queues`)."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, field_validator, model_validator

from opscheck.inventory.sections.common import Item
from opscheck.inventory.types import CountLimits, MaybeSecret, SecretValue, Strict, as_list


class DepthLimits(CountLimits):
    """Messages ready for delivery; the runbook's "queue depth < 100 pending items"."""

    warn: int | None = 100
    crit: int | None = 1000


class QueueSpec(Strict):
    """One queue by `name`, or every queue whose name matches `pattern` (needs the API)."""

    name: str | None = None
    pattern: str | None = None
    depth: DepthLimits = Field(default_factory=DepthLimits)
    unacked: CountLimits | None = None
    min_consumers: int = Field(default=1, ge=0)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return pattern

    @model_validator(mode="after")
    def _one_selector(self):
        if (self.name is None) == (self.pattern is None):
            raise ValueError("give exactly one of name (a queue) or pattern (a regex over queue names)")
        return self

    @property
    def label(self) -> str:
        return self.name if self.name is not None else f"/{self.pattern}/"


class RabbitmqItem(Item):
    """A broker: reached over AMQP, or through the management API when `management_url` is set."""

    url: MaybeSecret
    user: str | None = None
    password: SecretValue | None = None
    management_url: str | None = None
    alarms: bool = True
    queues: Annotated[list[QueueSpec], BeforeValidator(as_list)] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _amqp_url(cls, url):
        parts = urlsplit(url.reveal())
        if parts.scheme not in ("amqp", "amqps"):
            raise ValueError(f"expected an amqp:// or amqps:// URL, found scheme {parts.scheme or 'none'!r}")
        if parts.password is not None and url.source == "inline":
            raise ValueError("a password does not belong in the inventory: password: env:NAME, or the whole url from env:NAME")
        return url

    @field_validator("management_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"expected an http(s)://host:port URL of the management API, found {url!r}")
            if parts.username or parts.password:
                raise ValueError("credentials do not belong in management_url: use user and password (env:NAME)")
        return url

    @model_validator(mode="after")
    def _api_only_features(self):
        if self.management_url is None:
            # Over AMQP a passive declare sees one named queue's ready count and consumers, nothing more.
            for i, queue in enumerate(self.queues):
                if queue.pattern is not None:
                    raise ValueError(f"queues[{i}].pattern needs management_url (AMQP cannot list queues)")
                if queue.unacked is not None:
                    raise ValueError(f"queues[{i}].unacked needs management_url (AMQP does not count unacknowledged messages)")
        return self


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"rabbitmq": RabbitmqItem}
