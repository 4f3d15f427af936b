"""One folder per run under the reports dir; `latest` and `latest-<suite>` pointing at the newest.

`latest` is the newest run of any suite, `latest-<suite>` the newest of one suite;
neither ever moves to an older run (a run that started earlier but ended later,
such as an interrupted straggler, leaves them alone). Suites run side by side, so
what they share (the chain of manifests, these links, retention) is changed only
under the reports dir's seal lock, held for the few milliseconds of sealing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from datetime import datetime
from pathlib import Path

LATEST = "latest"
SEAL_LOCK = ".opscheck-seal.lock"
# Present (and flock'ed by the writer) while a run folder is being written; removed before sealing.
IN_PROGRESS = ".opscheck-in-progress"
_ORDER = re.compile(r"^(\d{8}T\d{6}Z)-.*?(?:\.(\d+))?$")


def latest_name(suite: str) -> str:
    return f"{LATEST}-{suite}"


def run_folder_name(started: datetime, suite: str) -> str:
    return f"{started.strftime('%Y%m%dT%H%M%SZ')}-{suite}"


def create_run_folder(reports_dir: Path, started: datetime, suite: str) -> Path:
    """A new, empty folder; a second run in the same second gets a suffix, never the same folder."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    base = run_folder_name(started, suite)
    for n in range(1000):
        folder = reports_dir / (base if n == 0 else f"{base}.{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise RuntimeError(f"cannot create a run folder under {reports_dir}")


def run_order(name: str) -> tuple[str, int]:
    """When a run folder's run started: its timestamp, then its same-second suffix."""
    match = _ORDER.match(name)
    if not match:
        return ("", 0)
    return (match.group(1), int(match.group(2) or 0))


def point_latest(reports_dir: Path, folder: Path, name: str = LATEST) -> bool:
    """Atomically repoint `name` (a relative symlink, so the reports dir can be moved) at `folder`,
    unless it already points at a run that started later. Returns whether it moved."""
    link = reports_dir / name
    with contextlib.suppress(OSError):
        current = os.readlink(link)
        if (reports_dir / current).is_dir() and run_order(current) > run_order(folder.name):
            return False
    tmp = reports_dir / f".{name}.{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(folder.name, target_is_directory=True)
    os.replace(tmp, link)
    return True


@contextlib.contextmanager
def seal_lock(reports_dir: Path):
    """Serialise sealing across suites running at once (chain link, `latest`, retention)."""
    fd = os.open(reports_dir / SEAL_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def mark_in_progress(folder: Path) -> int:
    """Create the folder's in-progress marker and hold a lock on it for as long as the writer lives."""
    fd = os.open(folder / IN_PROGRESS, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def in_progress(folder: Path) -> bool:
    """The folder's writer is alive (its marker is locked); a dead writer's marker is free."""
    try:
        fd = os.open(folder / IN_PROGRESS, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half a file.

    `durable=False` skips the fsync, for the many small files whose loss in a crash
    the manifest would report anyway (Allure results)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as handle:
        handle.write(data)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(tmp, path)
