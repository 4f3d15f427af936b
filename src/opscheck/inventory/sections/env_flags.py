"""`env_flags:` — safety flags in a process's environment or an env file (values never shown)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, Field, model_validator

from opscheck.inventory.sections.common import Item
from opscheck.inventory.sections.services import Pattern
from opscheck.inventory.types import MaybeSecret, as_list
from opscheck.units import describe_input

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _name(value: object) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(f"expected an environment variable name, found {describe_input(value)}")
    return value


VarName = Annotated[str, BeforeValidator(_name)]
Names = Annotated[list[VarName], BeforeValidator(as_list)]


class EnvFlagsItem(Item):
    process: Pattern | None = None   # the environment of every process matching this pattern
    file: str | None = None          # or an env file (KEY=value lines)
    expect: dict[VarName, MaybeSecret] = Field(default_factory=dict)   # set, with this value
    present: Names = Field(default_factory=list)    # set, any value (JWT_SECRET)
    absent: Names = Field(default_factory=list)     # not set at all
    not_true: Names = Field(default_factory=list)   # unset, or not true/1/yes/on

    @model_validator(mode="after")
    def _one_source(self):
        if (self.process is None) == (self.file is None):
            raise ValueError("give exactly one of process: PATTERN or file: PATH")
        if self.file is not None and (not self.file.startswith("/") or any(c in self.file for c in "\n\0")):
            raise ValueError(f"file: expected an absolute path, found {self.file!r}")
        if not (self.expect or self.present or self.absent or self.not_true):
            raise ValueError("nothing to check: give expect, present, absent or not_true")
        return self

    def names(self) -> list[str]:
        return list(dict.fromkeys([*self.expect, *self.present, *self.absent, *self.not_true]))


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"env_flags": EnvFlagsItem}
