"""The log scanner on generated logs: exact counts inside the window across rotated and gzipped
files, every timestamp format, and reading from the end instead of the whole file."""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import pytest

from opscheck.probes.logs.scan import scan

NOW = 1_700_000_000.0          # fixed "now": counts must not depend on when the test runs
HOUR = 3600
DAY = 86400
PATTERNS = {"error": ("ERROR|CRITICAL", False), "timeout": ("timed out", True)}


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + "Z"


def write(path: Path, lines: list[tuple[float, str]], fmt=iso, gz: bool = False) -> Path:
    text = "".join(f"{fmt(ts)} {msg}\n" for ts, msg in lines)
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    last = max(ts for ts, _ in lines)
    os.utime(path, (last, last))
    return path


def spanning_days(days: int) -> list[tuple[float, str]]:
    """One line a minute, 30 s past the minute; every 7th an ERROR, every 11th a timeout."""
    out = []
    for i in range(days * 24 * 60, 0, -1):
        ts = NOW - i * 60 + 30
        msg = "ERROR db down" if i % 7 == 0 else "INFO request served" if i % 11 else "WARNING upstream Timed Out"
        out.append((ts, msg))
    return out


def expected(lines, start, end=NOW):
    inside = [msg for ts, msg in lines if start <= ts <= end]
    return {"error": sum("ERROR" in m for m in inside), "timeout": sum("timed out" in m.lower() for m in inside)}


def test_counts_inside_the_window_are_exact_across_rotations(tmp_path):
    lines = spanning_days(4)
    day = lambda n: [(ts, m) for ts, m in lines if NOW - (n + 1) * DAY < ts <= NOW - n * DAY]  # noqa: E731
    log = tmp_path / "app.log"
    write(log, day(0))
    write(tmp_path / "app.log.1", day(1))
    write(tmp_path / "app.log.2.gz", day(2), gz=True)
    write(tmp_path / "app.log.3.gz", day(3), gz=True)
    for window in (HOUR, 30 * HOUR, 2.5 * DAY):
        result = scan(str(log), PATTERNS, window, now=NOW)
        assert result["counts"] == expected(lines, NOW - window), window
    result = scan(str(log), PATTERNS, 30 * HOUR, now=NOW)
    # 30h reaches into app.log.1 and stops there: the gzipped rotations are never opened.
    assert [f["file"].rsplit("/", 1)[1] for f in result["files"]] == ["app.log", "app.log.1"]
    assert result["files"][1]["reached_start"] is True
    result = scan(str(log), PATTERNS, 2.5 * DAY, now=NOW)
    assert [f["file"].rsplit("/", 1)[1] for f in result["files"]] == ["app.log", "app.log.1", "app.log.2.gz"]
    assert result["last"]["error"][0] == f"{iso(NOW - 7 * 60 + 30)} ERROR db down"
    assert len(result["last"]["error"]) == 10


def test_rotation_written_before_the_window_is_not_read(tmp_path):
    lines = spanning_days(1)
    log = write(tmp_path / "app.log", [(ts, m) for ts, m in lines if ts > NOW - HOUR])
    write(tmp_path / "app.log.1", [(ts, m) for ts, m in lines if ts <= NOW - HOUR])
    result = scan(str(log), PATTERNS, HOUR / 2, now=NOW)
    assert [f["file"] for f in result["files"]] == [str(log)]
    assert result["counts"] == expected(lines, NOW - HOUR / 2)


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("iso8601 with offset", lambda ts: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts + 7200)) + ".123+02:00"),
        ("python logging (local time)", lambda ts: time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) + ",123"),
        ("rfc3164 syslog (local time)", lambda ts: time.strftime("%b %e %H:%M:%S", time.localtime(ts)) + " web-1 app[42]:"),
        ("nginx combined", lambda ts: "203.0.113.9 - - " + time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", time.gmtime(ts))),
    ],
)
def test_timestamp_formats(tmp_path, name, fmt):
    lines = spanning_days(2)
    log = write(tmp_path / "app.log", lines, fmt=fmt)
    result = scan(str(log), PATTERNS, 6 * HOUR, now=NOW)
    assert result["counts"] == expected(lines, NOW - 6 * HOUR), name
    assert result["timestamped"] > 0


def test_traceback_lines_belong_to_their_header(tmp_path):
    log = tmp_path / "app.log"
    log.write_text(
        f"{iso(NOW - 2 * HOUR)} ERROR old failure\nTraceback (most recent call last):\n  CRITICAL inner old\n"
        f"{iso(NOW - 600)} ERROR new failure\nTraceback (most recent call last):\n  CRITICAL inner new\n"
        f"{iso(NOW - 60)} INFO fine\n"
    )
    result = scan(str(log), PATTERNS, HOUR, now=NOW)
    assert result["counts"]["error"] == 2  # the new header and its CRITICAL continuation, not the old ones
    assert result["last"]["error"] == [f"{iso(NOW - 600)} ERROR new failure", "  CRITICAL inner new"] or \
        sorted(result["last"]["error"]) == sorted([f"{iso(NOW - 600)} ERROR new failure", "  CRITICAL inner new"])


def test_missing_log_and_no_timestamps(tmp_path):
    assert scan(str(tmp_path / "nope.log"), PATTERNS, HOUR, now=NOW) == {"error": f"{tmp_path}/nope.log does not exist", "missing": True}
    log = tmp_path / "plain.log"
    log.write_text("ERROR no time here\n" * 50)
    os.utime(log, (NOW, NOW))
    result = scan(str(log), PATTERNS, HOUR, now=NOW)
    assert result["timestamped"] == 0 and result["lines_read"] >= 50


def test_a_large_log_is_read_from_the_end_only(tmp_path):
    """~75 MB over 4 days: the last hour costs a few MB of reading, not the file."""
    log = tmp_path / "big.log"
    per_s = 2
    start = NOW - 4 * DAY
    body = " INFO GET /api/v1/orders?page=2 served in 12ms by worker-7 request_id=0123456789abcdef\n"
    with open(log, "w") as f:
        chunk = []
        for s in range(int(4 * DAY)):
            stamp = iso(start + s)
            line = stamp + body
            chunk.append(line * per_s if s % 600 else line * (per_s - 1) + stamp + " ERROR tick\n")
            if len(chunk) >= 20000:
                f.write("".join(chunk))
                chunk.clear()
        f.write("".join(chunk))
    os.utime(log, (NOW, NOW))
    size = log.stat().st_size
    assert size > 50_000_000
    t0 = time.monotonic()
    result = scan(str(log), PATTERNS, HOUR, now=NOW)
    elapsed = time.monotonic() - t0
    # One ERROR each 600 s: the hour [NOW-3600, NOW] holds ticks at NOW-3600, ..., NOW-600.
    assert result["counts"]["error"] == 6
    assert result["bytes_read"] < 0.05 * size, (result["bytes_read"], size)
    assert elapsed < 20, elapsed
