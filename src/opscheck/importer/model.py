"""What the importer drafts and what it leaves out, each pointing back at its runbook line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Source:
    file: str
    heading: str
    line: int
    text: str  # the original line, quoted in the YAML comment

    def ref(self) -> str:
        return f"{self.file} § {self.heading or '(top)'}, line {self.line}"


@dataclass
class Draft:
    """One check the runbook asks for: `kind` and `target` name it, `limits` are its thresholds."""

    section: str               # inventory section: system, http, logs, containers, ...
    kind: str                  # what is checked: system.disk, http, redis, backups, ...
    target: str                # the mount, URL, path, container ...
    entry: dict[str, Any]      # the keys this check contributes to its section's entry
    source: Source
    limits: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # REVIEW / PLACEHOLDER comments
    schedule: str | None = None
    placeholders: dict[str, str] = field(default_factory=dict)  # env name -> what to put there
    also: list[Source] = field(default_factory=list)   # the same check asked for again elsewhere
    schedules: list[str] = field(default_factory=list)

    def all_schedules(self) -> list[str]:
        return self.schedules or ([self.schedule] if self.schedule else [])


@dataclass(frozen=True)
class Skipped:
    reason: str  # "changes state" or "not recognised"
    source: Source
    why: str = ""
