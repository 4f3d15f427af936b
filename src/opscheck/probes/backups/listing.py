"""List a backup set on its host: one `find` (GNU findutils) for files and dump directories.

Every backup kind starts here, on the host itself through `opscheck.host.run`, so a
backup set on `ssh://db-1` and one on `local://` take the same code path. Checksum
sidecars (`x.sha256`, `SHA256SUMS`, `.md5`) match the set's glob too but are not backups.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass

from opscheck.errors import TargetDown, Unmeasurable
from opscheck.host import denied, missing_sh, run
from opscheck.measurement import Target

SIDECAR_SUFFIXES = (".sha256", ".sha256sum", ".md5", ".sha1", ".sig", ".asc")
SIDECAR_NAMES = ("SHA256SUMS", "SHA256SUMS.txt", "sha256sums.txt", "MD5SUMS")

# NUL-separated records survive any file name; `du -sb0` gives a dump directory's size.
_LIST = (
    "[ -d {path} ] || {{ {missing} && exit 3; exit 5; }}; cd -- {path} 2>/dev/null || exit 5; "
    "find . -mindepth 1 -maxdepth 1 -name {pattern} -type f -printf 'f\\t%T@\\t%s\\t%f\\0'; "
    "find . -mindepth 1 -maxdepth 1 -name {pattern} -type d -printf 'd\\t%T@\\t0\\t%f\\0' "
    "-exec du -sb0 -- {{}} \\;"
)


@dataclass(frozen=True)
class BackupFile:
    """One backup of a set: a file, or a directory (pg_dump -Fd)."""

    name: str
    path: str
    mtime: float
    size: int
    is_dir: bool = False

    def age(self, now: float) -> float:
        return max(0.0, now - self.mtime)

    def describe(self, now: float) -> dict:
        return {"file": self.name, "size": self.size, "mtime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.mtime)),
                "age_s": round(self.age(now))}


class Clock:
    """One deadline for all the commands of a probe, so the backstop never fires first."""

    def __init__(self, timeout: float):
        self.deadline = time.monotonic() + timeout

    def left(self) -> float:
        return max(1.0, self.deadline - time.monotonic())


def is_sidecar(name: str) -> bool:
    return name in SIDECAR_NAMES or name.endswith(SIDECAR_SUFFIXES)


def list_backups(target: Target, timeout: float | None = None) -> list[BackupFile]:
    """The set's backups, newest first; TargetDown if the directory is missing."""
    item = target.spec
    quoted = shlex.quote(item.path)
    command = _LIST.format(path=quoted, pattern=shlex.quote(item.pattern), missing=missing_sh(quoted))
    result = run(target.host, command, timeout or target.timeout)
    if result.rc == 3:
        raise TargetDown(f"backup directory {item.path} does not exist")
    if result.rc == 5 or (result.rc != 0 and "Permission denied" in result.stderr):
        raise Unmeasurable(denied(item.path))
    if result.rc != 0:
        reason = result.stderr.strip() or f"exit {result.rc}"
        raise Unmeasurable(f"cannot list {item.path}/{item.pattern}: {reason[:300]}")
    return parse_listing(item.path, result.stdout)


def parse_listing(directory: str, stdout: str) -> list[BackupFile]:
    files: dict[str, BackupFile] = {}
    dir_sizes: dict[str, int] = {}
    for record in stdout.split("\0"):
        if not record.strip():
            continue
        fields = record.split("\t")
        if len(fields) == 4 and fields[0] in ("f", "d"):
            kind, mtime, size, name = fields
            if is_sidecar(name):
                continue
            files[name] = BackupFile(name, f"{directory}/{name}", float(mtime), int(size), is_dir=kind == "d")
        elif len(fields) == 2 and fields[0].isdigit():  # du -sb0: "<bytes>\t./<name>"
            dir_sizes[fields[1].lstrip("\n").removeprefix("./")] = int(fields[0])
    for name, size in dir_sizes.items():
        if name in files:
            old = files[name]
            files[name] = BackupFile(old.name, old.path, old.mtime, size, is_dir=True)
    return sorted(files.values(), key=lambda f: (f.mtime, f.name), reverse=True)


def newest(target: Target, timeout: float | None = None) -> tuple[BackupFile, list[BackupFile]]:
    """The newest backup and the whole listing; TargetDown when the set is empty."""
    files = list_backups(target, timeout)
    if not files:
        item = target.spec
        raise TargetDown(f"no backup matches {item.path}/{item.pattern}")
    return files[0], files


