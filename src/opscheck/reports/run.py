"""The record of one run that every writer reads: run metadata and one dict per check."""

from __future__ import annotations

import getpass
import platform
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

VERDICTS = ("OK", "WARN", "CRIT", "UNKNOWN", "WAIVED")


@dataclass
class Run:
    id: str
    suite: str
    environment: str
    started: datetime
    inventory_path: str = ""
    inventory_sha256: str = ""
    finished: datetime | None = None
    exit_status: int | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    waivers_file: dict[str, str] | None = None
    waivers: list[dict[str, Any]] = field(default_factory=list)
    git_commit: str | None = None
    previous: dict[str, Any] | None = None
    pruned: list[dict[str, Any]] = field(default_factory=list)
    plugins: dict[str, str] = field(default_factory=dict)
    shard: str | None = None  # "I/N" under --shard: this run is one part of the fleet

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(VERDICTS, 0)
        for check in self.checks:
            counts[check["verdict"]] = counts.get(check["verdict"], 0) + 1
        return counts

    def meta(self) -> dict[str, Any]:
        import pytest

        from opscheck import __version__

        return {
            "id": self.id,
            "suite": self.suite,
            "environment": self.environment,
            "inventory": self.inventory_path,
            "inventory_sha256": self.inventory_sha256,
            "started": _iso(self.started),
            "finished": _iso(self.finished) if self.finished else None,
            "duration_s": round((self.finished - self.started).total_seconds(), 3) if self.finished else None,
            "exit_status": self.exit_status,
            "host": socket.gethostname(),
            "user": _user(),
            "versions": {"opscheck": __version__, "pytest": pytest.__version__, "python": platform.python_version()},
            "plugins": dict(self.plugins),
            "counts": self.counts(),
            "git_commit": self.git_commit,
            "waivers_file": self.waivers_file,
            "waivers": self.waivers,
            **({"shard": self.shard} if self.shard else {}),
        }


def check_name(record: dict) -> str:
    """The inventory check's name, or a hand-written check's function name (`test_tls_ok` -> tls ok)."""
    if record.get("check"):
        return record["check"]
    return record.get("id", "").split("::")[-1].split("[", 1)[0].removeprefix("test_").replace("_", " ")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def git_commit(root: Path) -> str | None:
    """The commit of the checks, when the suite is a git checkout (`+modified` if dirty)."""
    import subprocess

    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=5)
        return head.stdout.strip() + ("+modified" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None
