"""Fields every inventory entry may carry, whatever its section (goss's common fields)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from opscheck.inventory.types import ScheduleName, SeverityName, Strict, Timeout, str_or_list


def control_tags(value: Any) -> Any:
    """`tags: {cis: 5.2.1, soc2: CC7.2}` or `tags: [pci]`: one mapping of control -> reference."""
    if isinstance(value, (list, tuple)):
        return {str(v): "" for v in value}
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    return value


class Item(Strict):
    """name, on, severity, schedule, runbook, timeout, and the control metadata (title,
    description, tags) auditors map to their frameworks: the same in every section."""

    name: str | None = None
    on: Annotated[list[str], BeforeValidator(str_or_list)] = Field(default_factory=lambda: ["all"])
    severity: SeverityName | None = None
    schedule: Annotated[list[ScheduleName], BeforeValidator(str_or_list)] = Field(default_factory=list)
    runbook: str | None = None
    timeout: Timeout | None = None
    title: str | None = None
    description: str | None = None
    tags: Annotated[dict[str, str], BeforeValidator(control_tags)] = Field(default_factory=dict)
