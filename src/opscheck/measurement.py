"""What flows through a check: a Target to measure, and the Measurement a probe returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opscheck.threshold import Threshold


@dataclass(frozen=True)
class HostRef:
    """A host of the inventory: its readable name and its testinfra spec."""

    name: str
    spec: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, eq=False)
class Target:
    """One thing to check: an inventory entry of one kind, bound to one host.

    Targets are built at collection time and become the parameters of the
    checks, so the plugin can start every target's probe before the checks run.
    """

    kind: str
    id: str
    check: str
    spec: Any = None
    host: HostRef | None = None
    threshold: Threshold | None = None
    severity: str | None = None
    schedules: tuple[str, ...] = ()
    runbook: str | None = None
    timeout: float = 10.0
    retries: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    # Control metadata for auditors (as InSpec controls have), shown in every report.
    title: str | None = None
    description: str | None = None
    tags: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        return f"<Target {self.kind} {self.id}>"


@dataclass(frozen=True)
class Reading:
    """A second number a probe found, judged with its own threshold (a backup's shrink).

    The probe states the fact; the judging layer decides whether `message` is a
    problem (past crit), a warning (past warn) or nothing.
    """

    value: float
    threshold: Threshold
    message: str


@dataclass(frozen=True)
class Measurement:
    """What a probe saw: a value with its unit and evidence, or why it could not see.

    `problems` are unmet expectations (CRIT), `warnings` soft ones (WARN): for
    checks that compare facts rather than numbers. `readings` are further numbers
    with their own thresholds, judged into problems or warnings by `judging`. `error` with `down=True` means
    the target is down (CRIT); without, that the probe could not measure (UNKNOWN).
    """

    value: Any = None
    unit: str = ""
    subject: str = ""
    label: str = ""
    evidence: Any = None
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    readings: tuple[Reading, ...] = ()
    threshold: Threshold | None = None
    error: str | None = None
    down: bool = False
    target: Target | None = None
    duration_s: float = 0.0
