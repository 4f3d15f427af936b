"""How a notification reads: one text for Slack and email, one JSON document for machines."""

from __future__ import annotations

from dataclasses import dataclass

from opscheck.notify.changes import Change
from opscheck.redact import redact, redact_data


@dataclass(frozen=True)
class Notice:
    """What every channel sends for one run."""

    suite: str
    environment: str
    run_id: str
    state: str  # the run's overall verdict: OK, WARN, CRIT, UNKNOWN
    counts: dict
    report: str  # URL or path of the run's report
    changes: tuple[Change, ...]

    def title(self) -> str:
        first = self.changes[0]
        more = f" (+{len(self.changes) - 1} more)" if len(self.changes) > 1 else ""
        short = first.id.split("::", 1)[-1]
        word = f"still {first.verdict}" if first.reminder else first.verdict
        return redact(f"{self.environment} {self.suite}: {word} {short}{more}")

    def text(self) -> str:
        noun = "change" if len(self.changes) == 1 else "changes"
        lines = [f"opscheck {self.suite} on {self.environment}: {len(self.changes)} {noun}, run is {self.state}"]
        lines += [f"- {change.headline()}" for change in self.changes]
        lines.append(f"report: {self.report}")
        return redact("\n".join(lines))

    def document(self) -> dict:
        return redact_data(
            {
                "source": "opscheck",
                "suite": self.suite,
                "environment": self.environment,
                "run": self.run_id,
                "state": self.state,
                "counts": self.counts,
                "report": self.report,
                "changes": [change.to_dict() for change in self.changes],
            }
        )
