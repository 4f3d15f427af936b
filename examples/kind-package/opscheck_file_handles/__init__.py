"""`file_handles:` — open file handles per host, the runbook's `cat /proc/sys/fs/file-nr`.

An example of a kind that lives in its own package. The `opscheck.kinds` entry
point names this module; opscheck reads its SECTIONS (joined to the inventory),
KINDS (joined to the registry) and CHECKS (collected with the suite's checks).
"""

from __future__ import annotations

from opscheck.errors import Unmeasurable
from opscheck.host import read_file
from opscheck.inventory.sections.common import Item
from opscheck.inventory.types import CountLimits
from opscheck.measurement import Measurement, Target
from opscheck.registry import Kind
from opscheck.targets import per_host


class HandleLimits(CountLimits):
    warn: int | None = 500_000
    crit: int | None = 1_000_000


class FileHandlesItem(Item):
    handles: HandleLimits = HandleLimits()


def probe(target: Target) -> Measurement:
    """Allocated file handles of the whole host, with the kernel's maximum as evidence."""
    text = read_file(target.host, "/proc/sys/fs/file-nr", target.timeout)
    try:
        allocated, unused, maximum = (int(field) for field in text.split()[:3])
    except ValueError:
        raise Unmeasurable(f"cannot parse /proc/sys/fs/file-nr: {text.strip()!r}") from None
    return Measurement(
        value=allocated - unused, subject="file handles", label="open",
        evidence={"allocated": allocated, "unused": unused, "max": maximum},
    )


SECTIONS = {"file_handles": FileHandlesItem}
KINDS = (Kind("file_handles", "open file handles", "file_handles", per_host("handles"), probe),)
CHECKS = ("opscheck_file_handles.checks",)
