"""One run of a suite at a time: an `fcntl` lock that the kernel drops when the holder dies.

One lock file per suite (`.opscheck-<suite>.lock`), so `smoke` every 5 minutes and
`daily` at 09:00 run side by side; what the suites share (the chain of manifests,
`latest`) is serialised only while a run seals (reports/folder.py). The pytest child
inherits the lock's file descriptor, so the lock is held as long as any part of the
run lives. A stale lock file never blocks cron; the file only carries who holds it,
for the one line the second run prints.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path


class Locked(Exception):
    """Another process holds the lock."""

    def __init__(self, path: Path, holder: dict):
        self.path = path
        self.holder = holder
        who = ", ".join(f"{k} {holder[k]}" for k in ("pid", "suite", "since") if holder.get(k))
        super().__init__(f"another opscheck run holds the lock {path}" + (f" ({who})" if who else ""))


class RunLock:
    def __init__(self, path: Path, suite: str):
        self.path = Path(path)
        self.suite = suite
        self._fd: int | None = None

    def acquire(self, wait_s: float = 0.0) -> RunLock:
        """Take the lock; with `wait_s`, wait up to that long for the holder to finish."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        give_up = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < give_up:
                    time.sleep(min(0.2, max(0.0, give_up - time.monotonic())))
                    continue
                holder = _read_holder(fd)
                os.close(fd)
                raise Locked(self.path, holder) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "suite": self.suite,
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode() + b"\n", 0)
        self._fd = fd
        return self

    @property
    def fd(self) -> int | None:
        return self._fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read_holder(fd: int, attempts: int = 10) -> dict:
    # The holder writes who it is just after taking the lock: give it a moment to do so.
    for _ in range(attempts):
        try:
            holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
        except (OSError, ValueError):
            holder = {}
        if holder:
            return holder
        time.sleep(0.02)
    return {}
