"""Real journal files for the tests: an export-format stream written here, turned into a journal
file by systemd-journal-remote, read back by the real journalctl."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

REMOTE = ("/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote")
BOOT = "0123456789abcdef0123456789abcdef"
PRIORITY = {"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7}


def journal_remote() -> str:
    """The binary; fails (never skips) where it is missing: CI installs it (.ci/apt/logs.txt)."""
    for path in REMOTE:
        if Path(path).exists():
            return path
    pytest.fail("systemd-journal-remote is not installed (apt-get install systemd-journal-remote)", pytrace=False)


def entry(age_s: float, message: str | bytes, *, unit: str = "nginx.service", priority: str = "info",
          identifier: str | None = None, pid: int = 812, host: str = "web-1", now: float | None = None) -> dict:
    """One journal entry `age_s` seconds before now (fields as journald writes them)."""
    now = time.time() if now is None else now
    return {
        "__REALTIME_TIMESTAMP": str(int((now - age_s) * 1e6)), "MESSAGE": message, "PRIORITY": str(PRIORITY[priority]),
        "_SYSTEMD_UNIT": unit, "SYSLOG_IDENTIFIER": identifier or unit.split(".")[0], "_PID": str(pid),
        "_HOSTNAME": host, "_TRANSPORT": "journal",
    }


def export_stream(entries: list[dict]) -> bytes:
    """The Journal Export Format (systemd.io/JOURNAL_EXPORT_FORMATS): binary-safe fields for bytes."""
    out = bytearray()
    for i, fields in enumerate(sorted(entries, key=lambda e: int(e["__REALTIME_TIMESTAMP"])), 1):
        ts = fields["__REALTIME_TIMESTAMP"]
        head = {"__CURSOR": f"s=opscheck;i={i}", "__MONOTONIC_TIMESTAMP": ts, "_BOOT_ID": BOOT}
        for key, value in {**head, **fields}.items():
            if isinstance(value, bytes) or "\n" in value:
                data = value if isinstance(value, bytes) else value.encode()
                out += key.encode() + b"\n" + len(data).to_bytes(8, "little") + data + b"\n"
            else:
                out += f"{key}={value}\n".encode()
        out += b"\n"
    return bytes(out)


def write_journal(folder: Path, entries: list[dict], name: str = "system.journal") -> Path:
    """A real journal file in `folder` holding `entries`; returns the folder (for journal: directory:)."""
    folder.mkdir(parents=True, exist_ok=True)
    stream = folder.parent / f"{folder.name}.export"
    stream.write_bytes(export_stream(entries))
    # journal-remote names its output file after the one given, which must end in .journal.
    done = subprocess.run([journal_remote(), f"--output={folder / name}", str(stream)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    stream.unlink()
    return folder


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
