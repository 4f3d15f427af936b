"""Exit codes of `opscheck run` (DESIGN.md) and of its `--nagios` mode (the Nagios plugin API)."""

from __future__ import annotations

OK = 0  # every check OK or WARN (or WAIVED)
CRIT = 1  # a CRIT
UNKNOWN = 2  # an UNKNOWN and no CRIT
USAGE = 3  # usage or inventory error, or a selection with no check
LOCKED = 75  # EX_TEMPFAIL: another run holds the lock; cron tries again next time

# pytest's own codes, as `opscheck run` reads them.
PYTEST_OK, PYTEST_FAILED, PYTEST_INTERRUPTED, PYTEST_INTERNAL, PYTEST_USAGE, PYTEST_NO_TESTS = range(6)

NAGIOS = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}


def from_counts(counts: dict[str, int], fail_on: str = "crit") -> int:
    """CRIT beats UNKNOWN; WARN fails (as CRIT, 1) only with `--fail-on warn`."""
    if counts.get("CRIT", 0):
        return CRIT
    if counts.get("UNKNOWN", 0):
        return UNKNOWN
    if fail_on == "warn" and counts.get("WARN", 0):
        return CRIT
    return OK


def nagios_state(counts: dict[str, int]) -> str:
    if counts.get("CRIT", 0):
        return "CRITICAL"
    if counts.get("UNKNOWN", 0):
        return "UNKNOWN"
    if counts.get("WARN", 0):
        return "WARNING"
    return "OK"
