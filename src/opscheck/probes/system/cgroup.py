"""The CPU limit of the cgroup a host's processes run in: cgroup v2 `cpu.max`, v1 CFS quota.

A container or a systemd slice limited to 0.5 CPU on a 16-core host is saturated at a
load of 0.5, not 16: load per core must divide by the limit. The cgroup is the one the
probe's own shell runs in on the host (`/proc/self/cgroup`), found under its mount
(`/proc/self/mountinfo`, whose root field maps a namespaced path). A limit set on an
ancestor holds for its descendants, so the smallest along the path wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class Mount:
    root: str
    point: str
    fstype: str
    options: frozenset[str]


def mounts(mountinfo: str) -> list[Mount]:
    out = []
    for line in mountinfo.splitlines():
        head, sep, tail = line.partition(" - ")
        fields, rest = head.split(), tail.split()
        if not sep or len(fields) < 5 or len(rest) < 3:
            continue
        out.append(Mount(_unescape(fields[3]), _unescape(fields[4]), rest[0], frozenset(rest[2].split(","))))
    return out


def _unescape(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def _under(mount: Mount, path: str) -> list[str]:
    """Directories from the process's cgroup up to the mount point: the walk a limit is looked for on."""
    root = PurePosixPath(mount.root)
    cgroup = PurePosixPath(path)
    try:
        relative = cgroup.relative_to(root)
    except ValueError:  # a path outside the mount's root (no cgroup namespace): the mount is our cgroup
        relative = PurePosixPath(".")
    here = PurePosixPath(mount.point) / relative
    dirs = [str(here)]
    while here != PurePosixPath(mount.point):
        here = here.parent
        dirs.append(str(here))
    return dirs


def limit_files(proc_cgroup: str, mountinfo: str) -> list[tuple[str, str]]:
    """(version, directory) pairs to read, nearest first: v2's cpu.max, v1's cpu.cfs_quota_us."""
    found = mounts(mountinfo)
    out = []
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            for mount in (m for m in found if m.fstype == "cgroup2"):
                out += [("v2", d) for d in _under(mount, path)]
        elif "cpu" in controllers.split(","):
            for mount in (m for m in found if m.fstype == "cgroup" and "cpu" in m.options):
                out += [("v1", d) for d in _under(mount, path)]
    return out


def cpu_limit(readings: dict[str, str]) -> tuple[float, str] | None:
    """The smallest quota in `readings` (file path -> content) as cores, and where it was set; None: unlimited.

    v2 `cpu.max` reads "QUOTA PERIOD" or "max PERIOD"; v1 `cpu.cfs_quota_us` is -1 when unlimited.
    """
    best: tuple[float, str] | None = None
    for path, text in readings.items():
        where = str(PurePosixPath(path).parent)
        if path.endswith("/cpu.max"):
            fields = text.split()
            if len(fields) != 2 or fields[0] == "max":
                continue
            quota, period = int(fields[0]), int(fields[1])
            described = f"cgroup v2 cpu.max {quota} {period} at {where}"
        elif path.endswith("/cpu.cfs_quota_us"):
            quota = int(text.split()[0]) if text.split() else -1
            period_text = readings.get(f"{where}/cpu.cfs_period_us", "").split()
            if quota <= 0 or not period_text:
                continue
            period = int(period_text[0])
            described = f"cgroup v1 cpu.cfs_quota_us {quota} / cpu.cfs_period_us {period} at {where}"
        else:
            continue
        if period > 0 and (best is None or quota / period < best[0]):
            best = (quota / period, described)
    return best
