"""Count named regexes in the last `window` of a log and its rotations, reading from the end.

Standard library only, and runnable as a script (`python3 -c <this source> <json args>`):
opscheck ships this file's source to the log's host and runs it there, so a 2 GB log
on a remote host is scanned where it lives and only counts come back. A plain file is
read backwards in 1 MiB blocks and reading stops at the first line older than the
window's start (less a few minutes of slack for lines written out of order), so the
cost follows the window, not the file. Files are taken newest first (`log`, `log.1`,
`log.2.gz`, ..., or logrotate's `dateext` names `log-20261201`, `log-20261130.gz`, newest
date first); a rotation last written before the window starts ends the scan, and
compressed rotations (.gz, .xz, .bz2, .zst), which cannot be read backwards, are
streamed forward (zstd through the `zstd` binary: Python has no zstd before 3.14).

Timestamps: ISO 8601 / RFC 3339 and Python logging (`2024-05-01 12:00:00,123`), RFC 3164
syslog (`May  1 12:00:00`, the year inferred), nginx/apache combined
(`[01/May/2024:12:00:00 +0000]`). Without a zone, a time is the host's local time.
A line without a timestamp (a traceback) belongs to the timestamped line above it.
"""

from __future__ import annotations

import bz2
import calendar
import glob
import gzip
import json
import lzma
import os
import re
import subprocess
import sys
import time

BLOCK = 1 << 20
SLACK_S = 300.0          # keep reading this far past the window's start: threads log out of order
LINE_LIMIT = 2000        # characters of a matching line sent back
MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}

_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?\s?(Z|[+-]\d\d:?\d\d)?")
_SYSLOG = re.compile(r"^(?:<\d+>)?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)\b")
_COMBINED = re.compile(r"\[(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\]")


class _LocalTime:
    """Epoch of naive local times, cached per minute: mktime per line would dominate the scan."""

    def __init__(self) -> None:
        self.cache: dict[tuple, float] = {}

    def epoch(self, y: int, mo: int, d: int, h: int, mi: int, s: float) -> float:
        key = (y, mo, d, h, mi)
        base = self.cache.get(key)
        if base is None:
            base = self.cache[key] = time.mktime((y, mo, d, h, mi, 0, 0, 0, -1))
        return base + s


def _offset(sign: str, hh: str, mm: str) -> int:
    seconds = int(hh) * 3600 + int(mm) * 60
    return -seconds if sign == "-" else seconds


class Clock:
    """Parses a line's timestamp in one of the known formats, sticking to the last one that worked."""

    def __init__(self, fmt: str, now: float):
        self.local = _LocalTime()
        self.now = now
        self.year = time.localtime(now).tm_year
        parsers = {"iso8601": self.iso, "python": self.iso, "syslog": self.syslog, "combined": self.combined}
        self.order = [parsers[fmt]] if fmt != "auto" else [self.combined, self.iso, self.syslog]
        self.used: str | None = None
        self.memo: tuple[str, float | None] = ("", None)

    def parse(self, line: str) -> float | None:
        head = line[:200]
        for parser in self.order:
            ts = parser(head)
            if ts is not None:
                if parser is not self.order[0]:
                    self.order.remove(parser)
                    self.order.insert(0, parser)
                self.used = parser.__name__
                return ts
        return None

    def _seen(self, text: str) -> float | None:
        """The time of the previous line when it carried the same stamp: busy logs repeat it."""
        return self.memo[1] if text == self.memo[0] else None

    def iso(self, head: str) -> float | None:
        m = _ISO.search(head, 0, 64)
        if not m:
            return None
        known = self._seen(m.group(0))
        if known is not None:
            return known
        ts = self._iso(m)
        self.memo = (m.group(0), ts)
        return ts

    def _iso(self, m: re.Match) -> float | None:
        y, mo, d, h, mi, s = (int(x) for x in m.group(1, 2, 3, 4, 5, 6))
        frac = float("0." + m.group(7)) if m.group(7) else 0.0
        zone = m.group(8)
        try:
            if zone is None:
                return self.local.epoch(y, mo, d, h, mi, s + frac)
            utc = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) + frac
            if zone == "Z":
                return utc
            return utc - _offset(zone[0], zone[1:3], zone[-2:])
        except (OverflowError, ValueError):
            return None

    def syslog(self, head: str) -> float | None:
        m = _SYSLOG.match(head)
        if not m or m.group(1) not in MONTHS:
            return None
        known = self._seen(m.group(0))
        if known is not None:
            return known
        mo, d, h, mi, s = MONTHS[m.group(1)], int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5))
        ts = self.local.epoch(self.year, mo, d, h, mi, s)
        # RFC 3164 has no year: a date ahead of now is last year's (a December line read in January).
        if ts > self.now + 86400:
            ts = self.local.epoch(self.year - 1, mo, d, h, mi, s)
        self.memo = (m.group(0), ts)
        return ts

    def combined(self, head: str) -> float | None:
        m = _COMBINED.search(head)
        if not m or m.group(2) not in MONTHS:
            return None
        known = self._seen(m.group(0))
        if known is not None:
            return known
        utc = calendar.timegm((int(m.group(3)), MONTHS[m.group(2)], int(m.group(1)), int(m.group(4)), int(m.group(5)), int(m.group(6)), 0, 0, 0))
        ts = utc - _offset(m.group(7), m.group(8), m.group(9))
        self.memo = (m.group(0), ts)
        return ts


COMPRESSED = (".gz", ".xz", ".bz2", ".zst")
# logrotate's dateext: `-%Y%m%d` by default, `-%Y%m%d%H` hourly, `-%Y-%m-%d` as a dateformat.
_DATED = re.compile(r"-(\d{8}(?:\d{2})?|\d{4}-\d\d-\d\d)(?:\.(?:gz|xz|bz2|zst))?")


def rotations(path: str, count: int) -> list[str]:
    """The log and up to `count` rotations that exist, newest first.

    Numbered rotations (log.1, log.2.gz, ...) by number; dated ones (log-20261201,
    log-20261130.gz, ...) by the date in the name, newest first; numbered come first
    when (unusually) both exist.
    """
    out = [path] if _exists(path) else []
    rotated = []
    for i in range(1, count + 1):
        for candidate in (f"{path}.{i}", *(f"{path}.{i}{ext}" for ext in COMPRESSED)):
            if _exists(candidate):
                rotated.append(candidate)
    dated = []
    for candidate in glob.glob(glob.escape(path) + "-*"):
        m = _DATED.fullmatch(candidate[len(path):])
        if m:
            dated.append((m.group(1).replace("-", "").ljust(10, "0"), candidate))
    rotated.extend(name for _, name in sorted(dated, reverse=True))
    return out + rotated[:count]


def _open_compressed(path: str):
    """A binary stream of the decompressed rotation, and the process to wait for (zstd)."""
    if path.endswith(".gz"):
        return gzip.open(path, "rb"), None
    if path.endswith(".xz"):
        return lzma.open(path, "rb"), None
    if path.endswith(".bz2"):
        return bz2.open(path, "rb"), None
    try:
        proc = subprocess.Popen(["zstd", "-dcq", "--", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise OSError(f"the zstd binary is needed to read {path}") from None
    return proc.stdout, proc


def _exists(path: str) -> bool:
    """Like os.path.exists, but a path behind a directory we may not enter raises PermissionError."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    return True


def _backwards(f, size: int, stats: dict):
    """Lines of a binary file from the last to the first, read in blocks from the end."""
    position = size
    rest = b""
    while position > 0:
        step = min(BLOCK, position)
        position -= step
        f.seek(position)
        block = f.read(step)
        stats["bytes_read"] += len(block)
        lines = (block + rest).split(b"\n")
        rest = lines[0]
        yield from reversed(lines[1:])
    if rest:
        yield rest


class Scan:
    def __init__(self, patterns: dict, start: float, end: float, fmt: str, keep: int, now: float):
        self.patterns = {name: re.compile(regex, re.IGNORECASE if icase else 0) for name, (regex, icase) in patterns.items()}
        self.start, self.end, self.keep = start, end, keep
        self.clock = Clock(fmt, now)
        self.counts = dict.fromkeys(self.patterns, 0)
        self.last: dict[str, list] = {name: [] for name in self.patterns}
        self.stats = {"bytes_read": 0, "lines_read": 0, "timestamped": 0, "files": []}
        self.oldest_seen: float | None = None

    def _hit(self, name: str, ts: float, line: str, recent_first: bool) -> None:
        self.counts[name] += 1
        kept = self.last[name]
        if recent_first:
            if len(kept) < self.keep:
                kept.append((ts, line[:LINE_LIMIT]))
        else:
            kept.append((ts, line[:LINE_LIMIT]))
            if len(kept) > 4 * self.keep:
                kept.sort(key=lambda x: -x[0])
                del kept[self.keep:]

    def _matches(self, line: str) -> list[str]:
        return [name for name, rx in self.patterns.items() if rx.search(line)]

    def plain(self, path: str) -> bool:
        """Backwards through a plain file; True when it reached the window's start."""
        info = {"file": path, "bytes_read": 0, "reached_start": False}
        before = self.stats["bytes_read"]
        pending: list[tuple[str, str]] = []  # untimed matching lines waiting for their header's time
        with open(path, "rb") as f:
            for raw in _backwards(f, os.fstat(f.fileno()).st_size, self.stats):
                self.stats["lines_read"] += 1
                line = raw.decode("utf-8", "replace").rstrip("\r")
                ts = self.clock.parse(line)
                if ts is None:
                    pending.extend((name, line) for name in self._matches(line))
                    continue
                self.stats["timestamped"] += 1
                self.oldest_seen = ts if self.oldest_seen is None else min(ts, self.oldest_seen)
                if self.start <= ts <= self.end:
                    for name, held in pending:
                        self._hit(name, ts, held, True)
                    for name in self._matches(line):
                        self._hit(name, ts, line, True)
                pending.clear()
                if ts < self.start - SLACK_S:
                    info["reached_start"] = True
                    break
        info["bytes_read"] = self.stats["bytes_read"] - before
        self.stats["files"].append(info)
        return info["reached_start"]

    def compressed(self, path: str) -> bool:
        """Forward through a compressed rotation; True when it holds the window's start."""
        info = {"file": path, "bytes_read": os.path.getsize(path), "reached_start": False}
        self.stats["bytes_read"] += info["bytes_read"]
        current: float | None = None
        stream, proc = _open_compressed(path)
        with stream as f:
            for raw in f:
                self.stats["lines_read"] += 1
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                ts = self.clock.parse(line)
                if ts is not None:
                    self.stats["timestamped"] += 1
                    current = ts
                    self.oldest_seen = ts if self.oldest_seen is None else min(ts, self.oldest_seen)
                    if ts < self.start:
                        info["reached_start"] = True
                if current is None or not self.start <= current <= self.end:
                    continue
                for name in self._matches(line):
                    self._hit(name, current, line, False)
        if proc is not None and proc.wait() != 0:
            raise OSError(f"zstd could not read it: {proc.stderr.read().decode('utf-8', 'replace').strip()[:200]}")
        self.stats["files"].append(info)
        return info["reached_start"]


def scan(path: str, patterns: dict, window: float, fmt: str = "auto", rotated: int = 5,
         keep: int = 10, now: float | None = None) -> dict:
    """Counts per pattern name within [now - window, now]; patterns: {name: (regex, ignore_case)}."""
    now = time.time() if now is None else now
    start = now - window
    try:
        files = rotations(path, rotated)
    except PermissionError:
        return {"error": f"permission denied reading {path}", "missing": False, "denied": True}
    if not files:
        return {"error": f"{path} does not exist", "missing": True}
    job = Scan(patterns, start, now, fmt, keep, now)
    for file in files:
        try:
            if os.path.getmtime(file) < start:
                break  # last written before the window: it and everything older is outside it
            reached = job.compressed(file) if file.endswith(COMPRESSED) else job.plain(file)
        except PermissionError:
            return {"error": f"permission denied reading {file}", "missing": False, "denied": True}
        except (OSError, EOFError, lzma.LZMAError) as exc:
            return {"error": f"{file}: {exc}", "missing": False}
        if reached:
            break
    last = {name: [line for _, line in sorted(kept, key=lambda x: -x[0])[:keep]] for name, kept in job.last.items()}
    return {
        "counts": job.counts, "last": last, "window_start": start, "now": now,
        "format": job.clock.used, "oldest_seen": job.oldest_seen, "rotations": files, **job.stats,
    }


def main(argv: list[str]) -> int:
    args = json.loads(argv[1])
    result = scan(args["path"], {k: tuple(v) for k, v in args["patterns"].items()}, args["window"],
                  args.get("format", "auto"), args.get("rotated", 5), args.get("keep", 10), args.get("now"))
    sys.stdout.write(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
