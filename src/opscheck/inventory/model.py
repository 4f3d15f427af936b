"""The inventory: one validated model; each section lives in `sections/`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PrivateAttr, field_validator

from opscheck.inventory.ansible import merge_ansible_groups
from opscheck.inventory.hosts import DEFAULT_HOSTS, HostSpec, all_hosts, check_groups, select
from opscheck.inventory.sections.backups import BackupItem
from opscheck.inventory.sections.common import Item
from opscheck.inventory.sections.env_flags import EnvFlagsItem
from opscheck.inventory.sections.files import FileItem
from opscheck.inventory.sections.http import HttpItem
from opscheck.inventory.sections.hygiene import HygieneItem
from opscheck.inventory.sections.logs import LogItem
from opscheck.inventory.sections.memcached import MemcachedItem
from opscheck.inventory.sections.notify import NotifySection
from opscheck.inventory.sections.postgres import PostgresItem
from opscheck.inventory.sections.rabbitmq import RabbitmqItem
from opscheck.inventory.sections.redis import RedisItem
from opscheck.inventory.sections.services import ServicesItem, TcpItem
from opscheck.inventory.sections.system import SystemItem
from opscheck.inventory.sections.tls import TlsItem
from opscheck.inventory.types import Strict, Timeout, as_list
from opscheck.measurement import HostRef


class Defaults(Strict):
    """Values every entry inherits unless it sets its own."""

    timeout: Timeout = 10.0


def _section(item_type):
    return Annotated[list[item_type], BeforeValidator(as_list), Field(default_factory=list)]


class Inventory(Strict):
    environment: str = "local"
    description: str | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    hosts: dict[str, list[HostSpec]] = Field(default_factory=lambda: {g: list(h) for g, h in DEFAULT_HOSTS.items()})

    # Sections: one line each; the item model lives in sections/<name>.py.
    system: _section(SystemItem)
    services: _section(ServicesItem)
    tcp: _section(TcpItem)
    files: _section(FileItem)
    env_flags: _section(EnvFlagsItem)
    hygiene: _section(HygieneItem)
    ansible_inventory: str | None = None  # adds its groups to hosts: (inventory/ansible.py)
    _ansible_groups = merge_ansible_groups
    http: _section(HttpItem)
    tls: _section(TlsItem)
    postgres: _section(PostgresItem)
    redis: _section(RedisItem)
    backups: _section(BackupItem)
    logs: _section(LogItem)
    rabbitmq: _section(RabbitmqItem)
    memcached: _section(MemcachedItem)
    notify: NotifySection | None = None  # one mapping, not a list of items (issue 8)

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
