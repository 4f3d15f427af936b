"""One folder per run under the reports dir, and `latest` pointing at the newest."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

LATEST = "latest"


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


def point_latest(reports_dir: Path, folder: Path) -> None:
    """Atomically repoint `latest` (a relative symlink, so the reports dir can be moved)."""
    tmp = reports_dir / f".{LATEST}.{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(folder.name, target_is_directory=True)
    os.replace(tmp, reports_dir / LATEST)


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
