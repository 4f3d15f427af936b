"""A judged measurement: the record every report writer reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opscheck.measurement import Measurement
from opscheck.redact import redact, redact_data
from opscheck.threshold import Direction
from opscheck.verdict import Verdict


@dataclass(frozen=True)
class Result:
    verdict: Verdict
    summary: str
    measurement: Measurement
    severity: str

    def to_dict(self) -> dict[str, Any]:
        """The results.json shape (DESIGN.md), redacted; `id` and `duration_s` are added by the plugin."""
        m = self.measurement
        target = m.target
        threshold = m.threshold or (target.threshold if target else None)
        evidence = m.evidence
        if evidence is not None and not isinstance(evidence, (str, dict, list)):
            evidence = str(evidence)
        return redact_data(
            {
                "check": target.check if target else None,
                "target": target.id if target else None,
                "kind": target.kind if target else None,
                "host": target.host.name if target and target.host else None,
                "verdict": self.verdict.value,
                "severity": self.severity,
                "value": m.value if isinstance(m.value, (int, float, str, bool)) or m.value is None else str(m.value),
                # A check that could not measure still shows its limits with their unit.
                "unit": m.unit or (threshold.unit.strip() if threshold else ""),
                "warn": _plain(threshold.warn) if threshold else None,
                "crit": _plain(threshold.crit) if threshold else None,
                "direction": threshold.direction.value if threshold else Direction.ABOVE.value,
                "summary": redact(self.summary),
                "problems": list(m.problems),
                "warnings": list(m.warnings),
                "evidence": evidence,
                "schedules": list(target.schedules) if target else [],
                "runbook": target.runbook if target else None,
                "duration_s": round(m.duration_s, 4) if m.duration_s else None,
                "title": target.title if target else None,
                "description": target.description if target else None,
                "tags": dict(target.tags) if target else {},
            }
        )


def _plain(limit):
    """A limit as a plain number: a size keeps how it was written (units.Bytes) only for display."""
    return int(limit) if isinstance(limit, int) and not isinstance(limit, bool) else limit
