"""Rotations named by date (logrotate's dateext) and .xz/.bz2/.zst rotations, made by the real
xz, bzip2 and zstd binaries, read within the window and newest first."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from opscheck.probes.logs.scan import rotations, scan

NOW = 1_700_000_000.0          # 2023-11-14 22:13:20 UTC
HOUR = 3600
DAY = 86400
PATTERNS = {"error": ("ERROR", False)}


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + "Z"


def lines_of_day(n: int) -> list[tuple[float, str]]:
    """Day n before NOW: a line every 10 minutes; every 3rd an ERROR naming its day."""
    out = []
    for i in range(144, 0, -1):
        ts = NOW - n * DAY - (i - 1) * 600 - 1
        out.append((ts, f"ERROR day{n} job failed" if i % 3 == 0 else f"INFO day{n} ok"))
    return out


def write(path: Path, lines, tool: str | None = None) -> Path:
    """Write `lines` as a log; compress with the real `tool` (xz, bzip2, zstd, gzip) when given."""
    path.write_text("".join(f"{iso(ts)} {msg}\n" for ts, msg in lines))
    if tool is not None:
        subprocess.run([tool, "-q", "-f", str(path)] if tool != "zstd" else [tool, "-q", "-f", "--rm", str(path)], check=True)
        path = path.with_name(path.name + {"xz": ".xz", "bzip2": ".bz2", "zstd": ".zst", "gzip": ".gz"}[tool])
    last = max(ts for ts, _ in lines)
    os.utime(path, (last, last))
    return path


def errors(days, start):
    return sum(1 for n in days for ts, msg in lines_of_day(n) if ts >= start and msg.startswith("ERROR"))


@pytest.fixture
def dated_logs(tmp_path):
    """app.log, then logrotate dateext rotations, each compressed differently."""
    log = write(tmp_path / "app.log", lines_of_day(0))
    write(tmp_path / "app.log-20231114", lines_of_day(1))
    write(tmp_path / "app.log-20231113", lines_of_day(2), "xz")
    write(tmp_path / "app.log-20231112", lines_of_day(3), "bzip2")
    write(tmp_path / "app.log-20231111", lines_of_day(4), "zstd")
    write(tmp_path / "app.log-20231110", lines_of_day(5), "gzip")
    (tmp_path / "app.log-old.txt").write_text("not a rotation\n")
    return log


def test_dated_rotations_are_listed_newest_first(dated_logs):
    names = [Path(p).name for p in rotations(str(dated_logs), 10)]
    assert names == ["app.log", "app.log-20231114", "app.log-20231113.xz", "app.log-20231112.bz2",
                     "app.log-20231111.zst", "app.log-20231110.gz"]
    assert [Path(p).name for p in rotations(str(dated_logs), 2)] == ["app.log", "app.log-20231114", "app.log-20231113.xz"]


def test_compressed_dated_rotations_counted_exactly_in_the_window(dated_logs):
    for days in (0.5, 1.5, 2.5, 3.5, 4.5, 5.5):
        window = days * DAY
        result = scan(str(dated_logs), PATTERNS, window, rotated=10, now=NOW)
        assert result["counts"]["error"] == errors(range(6), NOW - window), days
    result = scan(str(dated_logs), PATTERNS, 4.5 * DAY, rotated=10, now=NOW)
    read = [Path(f["file"]).name for f in result["files"]]
    # 4.5 days reach into the zstd rotation and stop there: the gzip one is never opened.
    assert read == ["app.log", "app.log-20231114", "app.log-20231113.xz", "app.log-20231112.bz2", "app.log-20231111.zst"]
    assert result["last"]["error"][0].endswith("ERROR day0 job failed")
    # The oldest matching lines kept come from the zstd file: it was decompressed, not skipped.
    assert errors([4], NOW - 4.5 * DAY) > 0
    assert result["counts"]["error"] - errors(range(4), 0) == errors([4], NOW - 4.5 * DAY)


def test_rotated_limit_bounds_what_is_read(dated_logs):
    result = scan(str(dated_logs), PATTERNS, 5.5 * DAY, rotated=2, now=NOW)
    assert [Path(f["file"]).name for f in result["files"]] == ["app.log", "app.log-20231114", "app.log-20231113.xz"]
    assert result["counts"]["error"] == errors(range(3), 0)


def test_hourly_and_dashed_dateext_and_numbered_xz(tmp_path):
    log = write(tmp_path / "h.log", lines_of_day(0)[-6:])
    write(tmp_path / "h.log-2023111421", lines_of_day(0)[-12:-6], "xz")
    write(tmp_path / "h.log-2023111420", lines_of_day(0)[-18:-12], "zstd")
    assert [Path(p).name for p in rotations(str(log), 5)] == ["h.log", "h.log-2023111421.xz", "h.log-2023111420.zst"]
    result = scan(str(log), PATTERNS, 3 * HOUR, now=NOW)
    assert result["counts"]["error"] == sum(1 for ts, m in lines_of_day(0)[-18:] if m.startswith("ERROR"))

    d = write(tmp_path / "d.log", lines_of_day(0))
    write(tmp_path / "d.log-2023-11-13", lines_of_day(2), "bzip2")
    write(tmp_path / "d.log-2023-11-14", lines_of_day(1), "xz")
    assert [Path(p).name for p in rotations(str(d), 5)] == ["d.log", "d.log-2023-11-14.xz", "d.log-2023-11-13.bz2"]

    n = write(tmp_path / "n.log", lines_of_day(0))
    write(tmp_path / "n.log.1", lines_of_day(1), "bzip2")
    write(tmp_path / "n.log.2", lines_of_day(2), "xz")
    write(tmp_path / "n.log.3", lines_of_day(3), "zstd")
    result = scan(str(n), PATTERNS, 3.5 * DAY, now=NOW)
    assert [Path(f["file"]).name for f in result["files"]] == ["n.log", "n.log.1.bz2", "n.log.2.xz", "n.log.3.zst"]
    assert result["counts"]["error"] == errors(range(4), NOW - 3.5 * DAY)


@pytest.mark.parametrize("tool", ["xz", "bzip2", "zstd"])
def test_corrupt_compressed_rotation_is_an_error_naming_it(tmp_path, tool):
    log = write(tmp_path / "c.log", lines_of_day(0))
    rotation = write(tmp_path / "c.log-20231114", lines_of_day(1) * 20, tool)
    data = rotation.read_bytes()
    rotation.write_bytes(data[: len(data) // 2])
    os.utime(rotation, (NOW - DAY, NOW - DAY))
    result = scan(str(log), PATTERNS, 1.5 * DAY, now=NOW)
    assert result.get("error"), result
    assert rotation.name in result["error"]
    assert result["missing"] is False
