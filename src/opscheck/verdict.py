"""Verdicts and severities: the two scales every check result is placed on."""

from __future__ import annotations

from enum import Enum


class Verdict(str, Enum):
    """Nagios/Icinga plugin states; WAIVED is a CRIT that an active waiver covers."""

    OK = "OK"
    WARN = "WARN"
    CRIT = "CRIT"
    UNKNOWN = "UNKNOWN"
    WAIVED = "WAIVED"

    def __str__(self) -> str:
        return self.value

    @property
    def rank(self) -> int:
        """Worse is higher; used to pick the overall state of a run."""
        return {"OK": 0, "WAIVED": 0, "WARN": 1, "UNKNOWN": 2, "CRIT": 3}[self.value]


class Severity(str, Enum):
    """The runbooks' SEV-1..SEV-4 / P1..P4, most urgent first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    def __str__(self) -> str:
        return self.value

    @property
    def rank(self) -> int:
        return {"critical": 3, "high": 2, "medium": 1, "low": 0}[self.value]


SEVERITIES = tuple(s.value for s in Severity)
DEFAULT_SEVERITY = Severity.MEDIUM

SCHEDULES = {
    "daily": "daily: run by the morning cron (`pytest -m daily`)",
    "weekly": "weekly: slower or hygiene checks, run once a week",
    "monthly": "monthly: capacity and housekeeping checks, run on the 1st",
    "quarterly": "quarterly: disaster-recovery drills (restores, extraction tests)",
    "smoke": "smoke: fast gate after a deploy (`pytest -m smoke`)",
}

SEVERITY_DESCRIPTIONS = {
    "critical": "critical: SEV-1 / P1, production is down or unsafe (Allure: blocker)",
    "high": "high: SEV-2 / P2, degraded, act today (Allure: critical)",
    "medium": "medium: SEV-3 / P3, needs attention this week (Allure: normal)",
    "low": "low: SEV-4 / P4, hygiene (Allure: minor)",
}
