"""Which checks to tell about: verdict changes since the last run, and reminders.

A check is reported when its verdict differs from the previous run's, when it
is seen for the first time in a verdict other than OK, and every `remind_every`
runs while it stays CRIT (so a CRIT nobody fixed does not go quiet forever).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Change:
    id: str
    check: str | None
    target: str | None
    verdict: str
    previous: str | None  # None: first seen
    severity: str | None
    summary: str
    runs: int  # runs in a row with this verdict, this one included
    reminder: bool = False

    def headline(self) -> str:
        short = self.id.split("::", 1)[-1]
        if self.reminder:
            what = f"still {self.verdict} after {self.runs} runs"
        elif self.previous is None:
            what = f"{self.verdict} (new)"
        else:
            what = f"{self.verdict} (was {self.previous})"
        return f"{what} [{self.severity or '-'}] {short}: {self.summary}"

    def to_dict(self) -> dict:
        return asdict(self)


def compare(previous: dict, results: dict, remind_every: int = 0) -> tuple[list[Change], dict]:
    """(changes to send, the new per-check state) for this run's results.json."""
    changes: list[Change] = []
    state: dict[str, dict] = {}
    run_id = results.get("run", {}).get("id")
    for record in results.get("checks", []):
        check_id = record["id"]
        verdict = record["verdict"]
        before = previous.get(check_id)
        if before and before.get("verdict") == verdict:
            runs = int(before.get("runs", 1)) + 1
            since = before.get("since", run_id)
        else:
            runs, since = 1, run_id
        state[check_id] = {"verdict": verdict, "runs": runs, "since": since}
        previous_verdict = before.get("verdict") if before else None
        changed = previous_verdict != verdict and not (previous_verdict is None and verdict == "OK")
        reminder = (
            not changed
            and verdict == "CRIT"
            and remind_every > 0
            and runs > 1
            and (runs - 1) % remind_every == 0
        )
        if changed or reminder:
            changes.append(
                Change(
                    id=check_id,
                    check=record.get("check"),
                    target=record.get("target"),
                    verdict=verdict,
                    previous=previous_verdict,
                    severity=record.get("severity"),
                    summary=record.get("summary") or "",
                    runs=runs,
                    reminder=reminder,
                )
            )
    return changes, state
