"""The journal as a log source: the lines of the window, read with `journalctl -o json` on the host.

`journalctl` runs on the entry's host (through `opscheck.host.run`, like every log
probe), filtered there by `--since` (the window), `-u`, `-p` and `-t`, so only the
entries that can match travel back. Each entry becomes one line in syslog's shape,
`2026-12-01T10:00:00+00:00 web-1 sshd[812]: Failed password for ...`, so the presets
written for syslog files match the journal too.

The journal says nothing when it cannot be read: a user outside `systemd-journal`
sees only their own entries, and a host without journal files answers with no
entries at all. Both would count 0, which is not OK: they are UNKNOWN, saying why.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass

from opscheck.errors import Unmeasurable
from opscheck.host import run
from opscheck.measurement import Target

FIELDS = "MESSAGE,PRIORITY,SYSLOG_IDENTIFIER,_COMM,_PID,_HOSTNAME,_SYSTEMD_UNIT"
FILES_MARK = "#opscheck-journal-files "
_NOT_ALL = "not seeing messages from other users"
_NO_PERMISSION = "insufficient permissions"


@dataclass(frozen=True)
class Lines:
    """The journal's entries in the window, oldest first, as (epoch seconds, line)."""

    lines: list[tuple[float, str]]
    window_start: float
    files: int
    bytes_read: int
    command: str


def command(journal, since: float) -> str:
    """The shell line run on the host: count the journal files, then read the window as JSON."""
    where = []
    if journal.directory:
        where = [f"--directory={journal.directory}"]
    elif journal.file:
        where = [f"--file={journal.file}"]
    read = ["journalctl", *where, "-o", "json", "--all", "--no-pager", f"--output-fields={FIELDS}", f"--since=@{int(since)}"]
    read += [f"--unit={unit}" for unit in journal.unit]
    read += [f"--identifier={ident}" for ident in journal.identifier]
    if journal.priority:
        read.append(f"--priority={journal.priority}")
    place = journal.directory or journal.file
    checks = ["command -v journalctl >/dev/null 2>&1 || { echo 'journalctl: not found' >&2; exit 127; }"]
    if place:
        checks.append(f"[ -e {shlex.quote(place)} ] || {{ echo {shlex.quote(f'{place} does not exist')} >&2; exit 3; }}")
    header = shlex.join(["journalctl", *where, "--header"])
    checks.append(f"printf '{FILES_MARK}%s\\n' \"$({header} 2>/dev/null | grep -c '^File path:')\"")
    return " && ".join(checks) + " && exec " + shlex.join(read)


def read(target: Target, now: float | None = None) -> Lines:
    """The window's lines of the entry's journal on its host; Unmeasurable when it cannot be read whole."""
    journal = target.spec.journal
    now = time.time() if now is None else now
    since = now - target.spec.window_s()
    line = command(journal, since)
    out = run(target.host, line, target.timeout)
    place = journal.directory or journal.file or "the system journal"
    where = f"{place} on {target.host}"
    err = out.stderr.strip()
    if out.rc == 127:
        raise Unmeasurable(f"journalctl is needed on {target.host} to read the journal ({err[:200]})")
    if _NO_PERMISSION in err or _NOT_ALL in err:
        raise Unmeasurable(
            f"permission denied reading {where}: the user needs the systemd-journal (or adm) group to see "
            "every unit's entries"
        )
    if out.rc != 0:
        reason = err.splitlines()[-1] if err else f"journalctl exited {out.rc}"
        raise Unmeasurable(f"cannot read {where}: {reason[:300]}")
    body = out.stdout
    files = 0
    if body.startswith(FILES_MARK):
        head, _, body = body.partition("\n")
        files = int(head[len(FILES_MARK):].strip() or 0)
    if files == 0:
        raise Unmeasurable(f"no journal files in {where} (is systemd-journald running, with Storage= not none?)")
    lines = []
    for raw in body.splitlines():
        if raw.strip():
            entry = json.loads(raw)
            lines.append(_line(entry))
    return Lines(lines, since, files, len(out.stdout), line)


def _text(value) -> str:
    """A journal field as text: JSON gives binary (non-UTF-8) fields as byte arrays, repeated ones as lists."""
    if value is None:
        return ""
    if isinstance(value, list):
        if value and all(isinstance(b, int) for b in value):
            return bytes(value).decode("utf-8", "replace")
        return " ".join(_text(v) for v in value)
    return str(value)


def _line(entry: dict) -> tuple[float, str]:
    ts = int(entry.get("__REALTIME_TIMESTAMP", 0)) / 1e6
    ident = _text(entry.get("SYSLOG_IDENTIFIER")) or _text(entry.get("_COMM")) or _text(entry.get("_SYSTEMD_UNIT")) or "-"
    pid = _text(entry.get("_PID"))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ts))
    host = _text(entry.get("_HOSTNAME")) or "-"
    return ts, f"{stamp} {host} {ident}{f'[{pid}]' if pid else ''}: {_text(entry.get('MESSAGE'))}"
