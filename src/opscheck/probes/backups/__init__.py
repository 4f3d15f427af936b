"""`backups:` — per backup set and host: age, count, retention, size, integrity, drills.

Probes live in `freshness` (the listing: age, count, retention, size), `integrity`,
`restore` and `extract`; `listing` finds the files of a set.
"""

from __future__ import annotations

from opscheck.registry import Kind
from opscheck.targets import per_host
from opscheck.threshold import Direction, Threshold


def _age_threshold(item) -> Threshold:
    """max_age plus the set's grace: a nightly dump is not late the second the night ends."""
    limits = item.max_age
    grace = item.grace
    return Threshold(
        None if limits.warn is None else limits.warn + grace,
        None if limits.crit is None else limits.crit + grace,
        Direction.ABOVE, "s",
    )


def _sets(when, threshold=None):
    """One target per backup set and host where `when(entry)`."""
    return per_host(
        id=lambda p: f"{p.host.name}:{p.item.name or f'{p.item.path}/{p.item.pattern}'}",
        when=when, threshold=lambda p: threshold(p.item) if threshold else None,
    )


KINDS = (
    Kind("backup_age", "newest backup age", "backups", _sets(lambda i: i.max_age is not None, _age_threshold), ".freshness:probe_age"),
    Kind("backup_count", "backup count", "backups", _sets(lambda i: True, lambda i: i.min_count.threshold()), ".freshness:probe_count"),
    Kind("backup_retention", "backup retention", "backups",
         _sets(lambda i: i.keep_days is not None, lambda i: Threshold(0, None, Direction.ABOVE, "")), ".freshness:probe_retention"),
    Kind("backup_size", "backup size", "backups", _sets(lambda i: True), ".freshness:probe_size"),
    Kind("backup_integrity", "backup integrity", "backups", _sets(lambda i: bool(i.integrity)), ".integrity:probe_integrity"),
    Kind("restore_drill", "restore drill", "backups", _sets(lambda i: i.restore is not None), ".restore:probe_restore"),
    Kind("config_extract", "config extraction drill", "backups", _sets(lambda i: i.extract is not None), ".extract:probe_extract"),
)
