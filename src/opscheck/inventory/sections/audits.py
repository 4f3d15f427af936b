"""`audits:` — dependency vulnerabilities by severity: the runbook's `npm audit --audit-level=high`, `pip-audit`.

The audit tool runs on the hosts of `on:`, in the project's folder, as the
runbook runs it; its findings are counted by severity and each severity judged
with its own limits. pip-audit rates nothing (its advisories carry no severity),
so its findings are judged with `total:` only.
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator, model_validator

from opscheck.inventory.sections.common import Item
from opscheck.inventory.types import CountLimits

# npm's severities, lowest first (the keys of `npm audit --json`'s metadata.vulnerabilities).
SEVERITIES = ("info", "low", "moderate", "high", "critical")
TOOLS = {"npm": "npm", "pip": "pip-audit", "pip-audit": "pip-audit"}


class FindingLimits(CountLimits):
    """How many findings are too many; `crit: 0` makes any finding CRIT (limits are crossed when exceeded)."""


class AuditItem(Item):
    tool: Literal["npm", "pip", "pip-audit"]
    path: str  # the project's folder on the host (package-lock.json; the requirements file)
    executable: str | None = None  # the tool when not on the PATH of a non-interactive shell (nvm, a venv)
    requirements: str = "requirements.txt"  # pip-audit: a fully pinned file, audited without installing anything
    omit_dev: bool = False  # npm: `--omit=dev`, production dependencies only
    info: FindingLimits | None = None
    low: FindingLimits | None = None
    moderate: FindingLimits | None = None
    high: FindingLimits | None = None
    critical: FindingLimits | None = None
    total: FindingLimits | None = None

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"expected an absolute path on the host, found {value!r}")
        return value.rstrip("/") or "/"

    @model_validator(mode="after")
    def _limits(self):
        rated = [s for s in SEVERITIES if getattr(self, s) is not None]
        if self.program == "pip-audit":
            if rated:
                raise ValueError(f"{', '.join(rated)}: pip-audit rates no finding by severity; judge its findings with total: {{warn, crit}}")
            if self.omit_dev:
                raise ValueError("omit_dev: is for npm; pip-audit audits the requirements file as written")
        elif "requirements" in self.model_fields_set:
            raise ValueError("requirements: is for pip-audit; npm audits the folder's package-lock.json")
        return self

    @property
    def program(self) -> str:
        return TOOLS[self.tool]

    def limits(self) -> dict[str, FindingLimits]:
        """The limits given, by severity (and `total`); none given: any finding is CRIT, as the tools' exit code says."""
        given = {s: getattr(self, s) for s in (*SEVERITIES, "total") if getattr(self, s) is not None}
        return given or {"total": FindingLimits(crit=0)}


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"audits": AuditItem}
