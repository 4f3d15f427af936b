"""The inventory: one validated model; each section lives in `sections/`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PrivateAttr, field_validator

from opscheck.inventory.hosts import DEFAULT_HOSTS, HostSpec, all_hosts, check_groups, select
from opscheck.inventory.sections.common import Item
from opscheck.inventory.sections.system import SystemItem
from opscheck.inventory.types import Duration, Strict, as_list
from opscheck.measurement import HostRef


class Defaults(Strict):
    """Values every entry inherits unless it sets its own."""

    timeout: Duration = 10.0


def _section(item_type):
    return Annotated[list[item_type], BeforeValidator(as_list), Field(default_factory=list)]


class Inventory(Strict):
    environment: str = "local"
    description: str | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    hosts: dict[str, list[HostSpec]] = Field(default_factory=lambda: {g: list(h) for g, h in DEFAULT_HOSTS.items()})

    # Sections: one line each; the item model lives in sections/<name>.py.
    system: _section(SystemItem)
    # services / files / env flags / hygiene sections (issue 3)
    # http, tls (issue 4)
    # postgres, redis (issue 5)
    # backups, logs (issue 6)
    # rabbitmq, memcached (issue 10)

    _path: str = PrivateAttr(default="")
    _sha256: str = PrivateAttr(default="")

    @field_validator("hosts")
    @classmethod
    def _hosts_consistent(cls, groups: dict[str, list[HostRef]]) -> dict[str, list[HostRef]]:
        return check_groups(groups)

    @property
    def path(self) -> str:
        return self._path

    @property
    def sha256(self) -> str:
        return self._sha256

    def all_hosts(self) -> list[HostRef]:
        return all_hosts(self.hosts)

    def hosts_for(self, item: Item) -> list[HostRef]:
        return select(self.hosts, item.on)

    def timeout_for(self, item: Item) -> float:
        return item.timeout if item.timeout is not None else self.defaults.timeout

    def items(self) -> list[tuple[str, int, Any]]:
        """(section, index, item) for every entry of every section, for cross-checks."""
        out = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, list):
                out.extend((name, i, item) for i, item in enumerate(value) if isinstance(item, Item))
        return out
