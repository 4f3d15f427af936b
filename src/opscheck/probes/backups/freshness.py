"""Backup sets by their listing: newest age, count, retention, size and shrink.

The runbook's `ls -lt /var/backups/db | head`, `find -mtime +7`, and "is last night's
dump as big as the night before's". Integrity and drills live in their own modules.
"""

from __future__ import annotations

import dataclasses
import time

from opscheck.measurement import Measurement, Reading, Target
from opscheck.probes.backups.listing import list_backups, newest
from opscheck.threshold import Direction, Threshold
from opscheck.units import format_duration, format_size, format_value


def probe_age(target: Target) -> Measurement:
    now = time.time()
    latest, files = newest(target)
    return Measurement(
        value=round(latest.age(now)), unit="s", subject=f"newest {latest.name}", label="old",
        evidence={"newest": latest.describe(now), "count": len(files), "grace_s": target.spec.grace},
    )


def probe_count(target: Target) -> Measurement:
    item = target.spec
    now = time.time()
    files = list_backups(target)
    evidence = {"count": len(files), "newest": files[0].describe(now) if files else None,
                "oldest": files[-1].describe(now) if files else None}
    expected = item.expected_count()
    if expected is not None:
        evidence["expected_from_schedule"] = expected
    return Measurement(value=len(files), unit="", subject=f"{item.path}/{item.pattern}", label="backups", evidence=evidence)


def probe_retention(target: Target) -> Measurement:
    item = target.spec
    now = time.time()
    limit = item.keep_days * 86400 + item.grace
    files = list_backups(target)
    expired = [f for f in files if f.age(now) > limit]
    evidence = {"keep_days": item.keep_days, "grace_s": item.grace, "count": len(files),
                "oldest": files[-1].describe(now) if files else None,
                "past_retention": [f.describe(now) for f in expired[-20:]]}
    measurement = Measurement(
        value=len(expired), unit="", subject=f"{item.path}/{item.pattern}",
        label=f"backups older than {format_duration(item.keep_days * 86400)}", evidence=evidence,
    )
    if expired:
        oldest = expired[-1]
        # Old files left behind mean the rotation job (find -mtime +N -delete) stopped running.
        return dataclasses.replace(measurement, warnings=(f"rotation looks broken: oldest {oldest.name} is {format_duration(oldest.age(now))} old",))
    return measurement


def probe_size(target: Target) -> Measurement:
    item = target.spec
    now = time.time()
    latest, files = newest(target)
    evidence = {"newest": latest.describe(now), "min_size": int(item.min_size)}
    readings = []
    if len(files) > 1:
        previous = files[1]
        evidence["previous"] = previous.describe(now)
        if previous.size > 0:
            shrink = 100.0 * (previous.size - latest.size) / previous.size
            evidence["shrink_percent"] = round(shrink, 2)
            limits = item.max_shrink.threshold()
            message = (f"shrank {format_value(shrink, '%')} from {format_size(previous.size)} ({previous.name}) "
                       f"to {format_size(latest.size)} ({limits.describe()})")
            readings.append(Reading(shrink, limits, message))
    return Measurement(
        value=latest.size, unit="B", subject=f"newest {latest.name}", label="",
        threshold=Threshold(None, item.min_size, Direction.BELOW, "B"), evidence=evidence,
        readings=tuple(readings),
    )


