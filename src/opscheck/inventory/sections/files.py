"""`files:` — exists, owner, group, mode; no world-writable files; private directories."""

from __future__ import annotations

from pydantic import field_validator, model_validator

from opscheck.inventory.sections.common import Item
from opscheck.units import describe_input

TREE_KEYS = ("no_world_writable", "not_world_readable")


def parse_mode(value: object) -> int:
    """'0600' or '600' -> 0o600; a bare YAML number is refused: YAML 1.2 reads 0600 as 600, YAML 1.1 as 384."""
    if isinstance(value, str) and value.strip() and set(value.strip()) <= set("01234567") and len(value.strip()) <= 4:
        return int(value.strip(), 8)
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"write the mode in quotes, like '0600' (an unquoted 0600 is the decimal number 600), found {value}")
    raise ValueError(f"expected an octal mode like '0600', found {describe_input(value)}")


class FileItem(Item):
    path: str
    exists: bool = True
    owner: str | None = None
    group: str | None = None
    mode: int | None = None            # exactly this mode
    max_mode: int | None = None        # no more permissive than this (.env at most '0600')
    no_world_writable: bool = False    # scan the tree: `find PATH -perm -0002`
    not_world_readable: bool = False   # scan the tree: nothing readable by others

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"expected an absolute path, found {value!r}")
        if any(c in value for c in "\n\0"):
            raise ValueError("path contains a newline or NUL")
        return value

    @field_validator("mode", "max_mode", mode="before")
    @classmethod
    def _octal(cls, value: object) -> int | None:
        return None if value is None else parse_mode(value)

    @model_validator(mode="after")
    def _consistent(self):
        if not self.exists and (self.owner or self.group or self.mode is not None or self.max_mode is not None):
            raise ValueError("exists: false cannot be combined with owner, group, mode or max_mode")
        return self

    def checks_attributes(self) -> bool:
        """A plain file check runs unless the entry only asks for tree scans."""
        explicit = {"exists", "owner", "group", "mode", "max_mode"} & self.model_fields_set
        return bool(explicit) or not (self.no_world_writable or self.not_world_readable)


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"files": FileItem}
