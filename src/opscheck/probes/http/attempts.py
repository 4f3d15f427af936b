"""Retries as flap damping: CRIT only after N consecutive failed attempts, each one on record.

The runbooks alert after "3 failures". Every attempt lands in the evidence, so
a flap that recovered is visible on an OK check ("recovered after 2 failed
attempts"). All attempts and the delays between them fit inside the backstop
that `measuring` allows a probe with `target.retries` attempts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opscheck.measurement import Target
from opscheck.measuring import BACKSTOP_GRACE_S


@dataclass
class Attempt:
    """One try: `error` when no answer came, `problems` when the answer was wrong."""

    number: int
    elapsed_s: float = 0.0
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.error is not None or bool(self.problems)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"attempt": self.number, "elapsed_ms": round(self.elapsed_s * 1000, 1)}
        out.update({k: v for k, v in self.record.items() if k in ("status", "reason")})
        if self.error is not None:
            out["error"] = self.error
        if self.problems:
            out["problems"] = list(self.problems)
        return out


def attempt_until_ok(target: Target, delay: float, attempt: Callable[[int, float], Attempt]) -> list[Attempt]:
    """Call `attempt(number, timeout)` up to target.retries times, stopping at the first success."""
    deadline = time.monotonic() + target.timeout * max(target.retries, 1) + BACKSTOP_GRACE_S - 1
    attempts: list[Attempt] = []
    for number in range(1, max(target.retries, 1) + 1):
        timeout = target.timeout
        if number > 1:
            time.sleep(max(0.0, min(delay, deadline - time.monotonic() - 0.5)))
            timeout = min(timeout, deadline - time.monotonic())
            if timeout < 0.2:
                break  # no time left for a fair try; the attempts so far decide
        attempts.append(attempt(number, timeout))
        if not attempts[-1].failed:
            break
    return attempts


def outcome_note(attempts: list[Attempt], retries: int) -> str | None:
    """`recovered after 2 failed attempts`, `failed 3 consecutive attempts`, or None."""
    failed = sum(1 for a in attempts if a.failed)
    if not failed:
        return None
    if not attempts[-1].failed:
        return f"recovered after {failed} failed attempt{'s' if failed > 1 else ''}"
    if retries > 1:
        return f"failed {failed} consecutive attempts"
    return None
