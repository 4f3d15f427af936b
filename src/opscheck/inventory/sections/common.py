"""Fields every inventory entry may carry, whatever its section (goss's common fields)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from opscheck.inventory.types import ScheduleName, SeverityName, Strict, Timeout, str_or_list


class Item(Strict):
    """name, on, severity, schedule, runbook, timeout: the same in every section."""

    name: str | None = None
    on: Annotated[list[str], BeforeValidator(str_or_list)] = Field(default_factory=lambda: ["all"])
    severity: SeverityName | None = None
    schedule: Annotated[list[ScheduleName], BeforeValidator(str_or_list)] = Field(default_factory=list)
    runbook: str | None = None
    timeout: Timeout | None = None
