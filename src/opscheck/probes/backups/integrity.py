"""Integrity of the newest backup of a set, by type, streaming on the backup's host.

Every method runs a standard tool on the host through `opscheck.host.run` (local://
included, so one code path): the tools stream, so a multi-GB dump is read in
constant memory wherever it lives, and nothing is copied to the ops box.

- gzip `gzip -t` (full decompression: CRC-32 and length), zstd `zstd -t`
- tar `tar -xOvf` reads every member's data (compression auto-detected, so a
  .tar.gz is also CRC-checked); names required members; a plain tar whose size is
  not a multiple of 512 is truncated (GNU tar lists such a file without error)
- zip `unzip -tqq` (CRC of every member)
- sha256: `x.sha256` next to the file or a `SHA256SUMS` line, against `sha256sum`
- pg_custom / pg_dir: `pg_restore -f /dev/null` restores to nowhere, reading every
  data block; `pg_restore --list` alone passes a truncated dump (the TOC is at the start)
- sql: the last bytes hold `-- PostgreSQL database dump complete`
- rdb: `redis-check-rdb`
"""

from __future__ import annotations

import re
import shlex

from opscheck.errors import Unmeasurable
from opscheck.host import run
from opscheck.measurement import Measurement, Target
from opscheck.probes.backups.listing import BackupFile, Clock, newest

SQL_TRAILERS = ("-- PostgreSQL database dump complete", "-- PostgreSQL database cluster dump complete")
_DIAGNOSTIC = re.compile(r"^(tar|gzip|zstd|xz|bzip2|lz4|lzip|sh|/bin/sh): ")
_NOISE = re.compile(r"Child returned status|Error is not recoverable|Exiting with failure status")
_TOOLS = {"gzip": "gzip", "zstd": "zstd", "tar": "tar", "zip": "unzip", "sha256": "sha256sum",
          "pg_custom": "pg_restore", "pg_dir": "pg_restore", "sql": "tail", "rdb": "redis-check-rdb"}
_COMPRESSED = {".gz": "gzip", ".tgz": "gzip", ".zst": "zstd", ".tzst": "zstd"}


def methods_for(item, backup: BackupFile) -> list[str]:
    """The methods to run: the inventory's, with `auto` picked from the file name.

    A tar or sql check decompresses the whole stream and fails on a bad CRC, so it
    covers the gzip/zstd check of the same file: each file is read once.
    """
    chosen: list[str] = []
    for method in item.integrity:
        for m in (_auto(backup) if method == "auto" else [method]):
            if m not in chosen:
                chosen.append(m)
    if "tar" in chosen or "sql" in chosen:
        chosen = [m for m in chosen if m not in ("gzip", "zstd")]
    return chosen


def _auto(backup: BackupFile) -> list[str]:
    name = backup.name.lower()
    if backup.is_dir:
        return ["pg_dir"]
    if re.search(r"\.(tar(\.\w+)?|tgz|tzst)$", name):
        return ["tar"]
    if re.search(r"\.sql(\.(gz|zst))?$", name):
        return ["sql"]
    for suffix, method in _COMPRESSED.items():
        if name.endswith(suffix):
            return [method]
    if name.endswith(".zip"):
        return ["zip"]
    if name.endswith((".dump", ".pgdump", ".backup", ".pg_dump")):
        return ["pg_custom"]
    if name.endswith(".rdb"):
        return ["rdb"]
    raise Unmeasurable(f"integrity: auto cannot tell the type of {backup.name}; name the method (gzip, tar, zip, ...)")


def probe_integrity(target: Target) -> Measurement:
    item = target.spec
    clock = Clock(target.timeout)
    latest, _files = newest(target, clock.left())
    methods = methods_for(item, latest)
    problems: list[str] = []
    evidence: dict = {"file": latest.path, "size": latest.size, "methods": methods}
    for method in methods:
        problem, detail = _CHECKS[method](target, latest, clock)
        evidence[method] = detail
        if problem:
            problems.append(f"{method}: {problem}")
    return Measurement(subject=f"{latest.name} ({', '.join(methods)})", evidence=evidence, problems=tuple(problems))


def _run(target: Target, command: str, clock: Clock, method: str):
    result = run(target.host, command, clock.left())
    if result.rc == 127 or "command not found" in result.stderr:
        raise Unmeasurable(f"{_TOOLS[method]} is not installed: cannot check {method} integrity")
    return result


def _first_lines(text: str, limit: int = 3, backup: BackupFile | None = None, tool: str = "") -> str:
    """The tool's first distinct messages, without the `gzip: /long/path: ` every line repeats."""
    lines: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if backup is not None:
            line = line.removeprefix(f"{tool}: ").replace(f"{backup.path}: ", "")
        if line and line not in lines and not _NOISE.search(line):
            lines.append(line)
    return "; ".join(lines[:limit])[:500]


def _check_gzip(target, backup, clock):
    result = _run(target, f"gzip -t -- {shlex.quote(backup.path)}", clock, "gzip")
    if result.rc != 0:
        return _first_lines(result.stderr, backup=backup, tool="gzip") or f"gzip -t exited {result.rc}", {"rc": result.rc}
    return None, {"rc": 0}


def _check_zstd(target, backup, clock):
    result = _run(target, f"zstd -t -q -- {shlex.quote(backup.path)}", clock, "zstd")
    if result.rc != 0:
        return _first_lines(result.stderr, backup=backup, tool="zstd") or f"zstd -t exited {result.rc}", {"rc": result.rc}
    return None, {"rc": 0}


def _check_tar(target, backup, clock):
    item = target.spec
    result = _run(target, f"tar -xOvf {shlex.quote(backup.path)} 2>&1 >/dev/null", clock, "tar")
    members, errors = [], []
    for line in result.stdout.splitlines():
        (errors if _DIAGNOSTIC.match(line) else members).append(line)
    detail = {"rc": result.rc, "members": len(members), "errors": errors[:10]}
    if result.rc != 0 or any("Unexpected EOF" in e or "not recoverable" in e for e in errors):
        return _first_lines("\n".join(errors), backup=backup, tool="tar") or f"tar exited {result.rc}", detail
    if not re.search(r"\.(tar\.\w+|tgz|tzst)$", backup.name.lower()) and backup.size % 512:
        return f"truncated: {backup.size} bytes is not a whole number of 512-byte tar blocks", detail
    missing = missing_members(item.required_members, members)
    detail["required_members"] = {name: name not in missing for name in item.required_members}
    if missing:
        return f"required members missing: {', '.join(missing)} ({len(members)} members read)", detail
    return None, detail


def member_matches(required: str, member: str) -> bool:
    """`.env` matches `./.env` and `app/config/.env`; `config/nginx.conf` matches `./etc/config/nginx.conf`."""
    member = member.strip().removeprefix("./").rstrip("/")
    required = required.strip().removeprefix("./").rstrip("/")
    return member == required or member.endswith("/" + required)


def missing_members(required: list[str], members: list[str]) -> list[str]:
    return [r for r in required if not any(member_matches(r, m) for m in members)]


def _check_zip(target, backup, clock):
    result = _run(target, f"unzip -tqq -- {shlex.quote(backup.path)}", clock, "zip")
    output = (result.stdout + "\n" + result.stderr).strip()
    if result.rc != 0:
        return _first_lines(output) or f"unzip -t exited {result.rc}", {"rc": result.rc}
    return None, {"rc": 0}


def _check_sha256(target, backup, clock):
    directory, name = backup.path.rsplit("/", 1)
    q = shlex.quote
    command = (
        f"cd -- {q(directory or '/')} || exit 3; "
        f"if [ -f {q(name + '.sha256')} ]; then echo 'sidecar {name}.sha256'; cat -- {q(name + '.sha256')}; "
        f"elif [ -f SHA256SUMS ]; then echo 'sidecar SHA256SUMS'; grep -F -- {q(name)} SHA256SUMS; "
        "else echo 'sidecar none'; exit 0; fi; "
        f"echo '--actual--'; sha256sum -- {q(name)}"
    )
    result = _run(target, command, clock, "sha256")
    head, _, actual_part = result.stdout.partition("--actual--")
    sidecar = head.splitlines()[0].removeprefix("sidecar ").strip() if head.strip() else "none"
    if sidecar == "none":
        return f"no checksum file ({name}.sha256 or SHA256SUMS) next to {name}", {"sidecar": None}
    expected = _expected_sum(head, name)
    actual = actual_part.split()[0] if actual_part.split() else ""
    detail = {"sidecar": sidecar, "expected": expected, "actual": actual}
    if result.rc != 0 or not actual:
        return f"sha256sum failed: {_first_lines(result.stderr) or f'exit {result.rc}'}", detail
    if expected is None:
        return f"{sidecar} has no sha256 for {name}", detail
    if expected != actual:
        return f"checksum mismatch: {sidecar} says {expected[:16]}…, file is {actual[:16]}…", detail
    return None, detail


def _expected_sum(text: str, name: str) -> str | None:
    for line in text.splitlines()[1:]:
        parts = line.split()
        if not parts or not re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            continue
        listed = parts[1].lstrip("*").removeprefix("./") if len(parts) > 1 else name
        if listed.rsplit("/", 1)[-1] == name:
            return parts[0].lower()
    return None


def _check_pg(target, backup, clock, method="pg_custom"):
    result = _run(target, f"pg_restore -f /dev/null -- {shlex.quote(backup.path)}", clock, method)
    if result.rc != 0:
        reason = _first_lines(result.stderr) or f"pg_restore exited {result.rc}"
        if "unsupported version" in reason:
            # A dump newer than the host's pg_restore is unreadable here, not corrupt.
            raise Unmeasurable(f"pg_restore is too old for {backup.name}: {reason}")
        return reason, {"rc": result.rc}
    return None, {"rc": 0}


def _check_pg_dir(target, backup, clock):
    return _check_pg(target, backup, clock, "pg_dir")


def _check_sql(target, backup, clock):
    name = backup.name.lower()
    decompress = "gzip -dc" if name.endswith(".gz") else "zstd -dcq" if name.endswith(".zst") else "cat"
    # The decompressor's status travels after the stream's tail, since sh has no pipefail.
    command = f"({decompress} -- {shlex.quote(backup.path)}; rc=$?; echo; echo \"__rc=$rc\") | tail -c 2048"
    result = _run(target, command, clock, "sql")
    tail, _, rc_text = result.stdout.rpartition("__rc=")
    rc = int(rc_text.strip()) if rc_text.strip().isdigit() else result.rc or 1
    if rc == 127:
        raise Unmeasurable(f"{decompress.split()[0]} is not installed: cannot check sql integrity")
    stderr = _first_lines(result.stderr, backup=backup, tool=decompress.split()[0])
    detail = {"tail": tail[-300:]}
    if rc != 0 or stderr:
        return f"{decompress.split()[0]}: {stderr or f'exit {rc}'}", detail
    if not any(trailer in tail for trailer in SQL_TRAILERS):
        return "incomplete dump: no '-- PostgreSQL database dump complete' trailer at the end", detail
    return None, detail


def _check_rdb(target, backup, clock):
    result = _run(target, f"redis-check-rdb {shlex.quote(backup.path)}", clock, "rdb")
    if result.rc != 0:
        errors = [line for line in (result.stdout + result.stderr).splitlines() if "error" in line.lower() or "fail" in line.lower()]
        return "; ".join(errors[:3])[:500] or f"redis-check-rdb exited {result.rc}", {"rc": result.rc}
    return None, {"rc": 0}


_CHECKS = {
    "gzip": _check_gzip, "zstd": _check_zstd, "tar": _check_tar, "zip": _check_zip, "sha256": _check_sha256,
    "pg_custom": _check_pg, "pg_dir": _check_pg_dir, "sql": _check_sql, "rdb": _check_rdb,
}

