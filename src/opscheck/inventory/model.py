"""The inventory: one validated model; each section lives in `sections/`."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PrivateAttr, create_model, field_validator

from opscheck import extensions
from opscheck.inventory import sections as builtin_sections
from opscheck.inventory.ansible import merge_ansible_groups
from opscheck.inventory.hosts import DEFAULT_HOSTS, HostSpec, all_hosts, check_groups, select
from opscheck.inventory.sections.common import Item
from opscheck.inventory.sections.notify import NotifySection
from opscheck.inventory.types import Strict, Timeout, as_list
from opscheck.measurement import HostRef


class Defaults(Strict):
    """Values every entry inherits unless it sets its own."""

    timeout: Timeout = 10.0


def declared_sections() -> dict[str, type[Item]]:
    """{key: item model} from every `SECTIONS` in inventory/sections/, then from installed packages."""
    found: dict[str, type[Item]] = {}
    builtin = [
        importlib.import_module(f"{builtin_sections.__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(builtin_sections.__path__), key=lambda m: m.name)
    ]
    for module in [*builtin, *extensions.modules()]:
        for key, model in getattr(module, "SECTIONS", {}).items():
            if key in found or key in _Base.model_fields:
                raise ValueError(f"inventory section {key!r} is declared twice (again in {module.__name__})")
            found[key] = model
    return found


class _Base(Strict):
    environment: str = "local"
    description: str | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    hosts: dict[str, list[HostSpec]] = Field(default_factory=lambda: {g: list(h) for g, h in DEFAULT_HOSTS.items()})
    ansible_inventory: str | None = None  # adds its groups to hosts: (inventory/ansible.py)
    _ansible_groups = merge_ansible_groups
    notify: NotifySection | None = None  # one mapping, not a list of items (issue 8)

    _path: str = PrivateAttr(default="")
    _sha256: str = PrivateAttr(default="")
    _lines: dict = PrivateAttr(default_factory=dict)  # key path -> line, for problems found after loading

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

    @property
    def lines(self) -> dict:
        return self._lines

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


# Sections are declared next to their item model (`SECTIONS` in sections/<name>.py, or in
# a package of the `opscheck.kinds` entry-point group): adding one needs no line here.
Inventory = create_model(
    "Inventory",
    __base__=_Base,
    __module__=__name__,
    **{key: (Annotated[list[model], BeforeValidator(as_list)], Field(default_factory=list)) for key, model in sorted(declared_sections().items())},
)
