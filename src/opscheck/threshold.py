"""Thresholds that know which way is bad, and judge a number with them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from opscheck.units import format_limit
from opscheck.verdict import Verdict


class Direction(str, Enum):
    """ABOVE: usage over the limit is bad. BELOW: days left under the limit is bad."""

    ABOVE = "above"
    BELOW = "below"


@dataclass(frozen=True)
class Threshold:
    """warn/crit limits for one value; a limit is crossed when strictly past it (as Nagios)."""

    warn: float | None = None
    crit: float | None = None
    direction: Direction = Direction.ABOVE
    unit: str = ""

    def __post_init__(self) -> None:
        problem = order_problem(self.warn, self.crit, self.direction, self.unit)
        if problem:
            raise ValueError(problem)

    def judge(self, value: float) -> Verdict:
        if self._past(value, self.crit):
            return Verdict.CRIT
        if self._past(value, self.warn):
            return Verdict.WARN
        return Verdict.OK

    def describe(self) -> str:
        """'warn 80%, crit 90%', or 'warn below 30 days, crit below 7 days'."""
        word = "" if self.direction is Direction.ABOVE else "below "
        parts = [
            f"{name} {word}{format_limit(limit, self.unit)}"
            for name, limit in (("warn", self.warn), ("crit", self.crit))
            if limit is not None
        ]
        return ", ".join(parts)

    def _past(self, value: float, limit: float | None) -> bool:
        if limit is None:
            return False
        return value > limit if self.direction is Direction.ABOVE else value < limit


def order_problem(warn, crit, direction: Direction, unit: str = "") -> str | None:
    """Why warn and crit are in the wrong order for `direction`, or None."""
    if warn is None or crit is None:
        return None
    if direction is Direction.ABOVE and warn > crit:
        return f"warn {format_limit(warn, unit)} is above crit {format_limit(crit, unit)} (warn must come first as the value rises)"
    if direction is Direction.BELOW and warn < crit:
        return f"warn {format_limit(warn, unit)} is below crit {format_limit(crit, unit)} (warn must come first as the value falls)"
    return None
