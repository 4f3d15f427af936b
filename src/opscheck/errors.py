"""Exceptions that carry a verdict: how probes and checks say what went wrong."""

from __future__ import annotations


class OpscheckError(Exception):
    """Base of every error opscheck raises on purpose."""


class Unmeasurable(OpscheckError):
    """The probe could not measure (bad credentials, missing tool, timeout): UNKNOWN."""


class TargetDown(OpscheckError):
    """The target answered that it is broken, or did not answer at all: CRIT."""


class CheckFailed(AssertionError):
    """Raised by `judge` for a CRIT; an AssertionError so pytest reports it as *failed*."""


class InventoryError(OpscheckError):
    """A bad inventory: one line per problem, each naming file and key."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = list(problems)
