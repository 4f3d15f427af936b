"""Files and permissions: `stat` of one path, `find -perm` over a tree (`ls -la .env`, `find . -perm 777`)."""

from __future__ import annotations

import shlex
import stat

from opscheck.errors import TargetDown, Unmeasurable
from opscheck.host import denied, missing_sh, run
from opscheck.measurement import Measurement, Target
from opscheck.redact import redact
from opscheck.registry import Kind
from opscheck.targets import per_host
from opscheck.threshold import Threshold

FIRST_PATHS = 20
_WHO = (("user", 6), ("group", 3), ("other", 0))


def probe_file(target: Target) -> Measurement:
    item = target.spec
    path = shlex.quote(item.path)
    result = run(target.host, f"LC_ALL=C stat -L -c '%F|%U|%G|%a' -- {path}", target.timeout)
    if result.rc != 0:
        reason = result.stderr.strip()
        if "No such file" in reason:
            if not item.exists:
                return Measurement(value="absent", subject=f"{item.path} absent, as required")
            raise TargetDown(f"{item.path} does not exist")
        if "Permission denied" in reason:
            raise Unmeasurable(denied(item.path))
        raise Unmeasurable(f"stat {item.path}: {reason or f'exit {result.rc}'}")
    kind, owner, group, mode_text = result.stdout.strip().split("|")
    mode = int(mode_text, 8)
    shown = f"{item.path} ({kind}, {mode:04o} {owner}:{group})"
    if not item.exists:
        return Measurement(value=f"{mode:04o}", subject=shown, problems=("exists, but must not",), evidence={"type": kind})
    return Measurement(
        value=f"{mode:04o}", subject=shown, problems=tuple(attribute_problems(item, owner, group, mode)),
        evidence={"type": kind, "owner": owner, "group": group, "mode": f"{mode:04o}", "permissions": stat.filemode(mode)[1:]},
    )


def attribute_problems(item, owner: str, group: str, mode: int) -> list[str]:
    problems = []
    if item.owner is not None and owner != item.owner:
        problems.append(f"owner {owner}, expected {item.owner}")
    if item.group is not None and group != item.group:
        problems.append(f"group {group}, expected {item.group}")
    if item.mode is not None and mode != item.mode:
        problems.append(f"mode {mode:04o}, expected exactly {item.mode:04o}")
    if item.max_mode is not None and mode & ~item.max_mode & 0o7777:
        problems.append(f"mode {mode:04o} is more permissive than {item.max_mode:04o} ({excess(mode, item.max_mode)})")
    return problems


def excess(mode: int, limit: int) -> str:
    """The permission bits `mode` grants beyond `limit`: 'group r, other rw'."""
    extra = mode & ~limit
    parts = []
    for who, shift in _WHO:
        bits = "".join(letter for letter, bit in (("r", 4), ("w", 2), ("x", 1)) if extra >> shift & bit)
        if bits:
            parts.append(f"{who} {bits}")
    special = [name for name, bit in (("setuid", 0o4000), ("setgid", 0o2000), ("sticky", 0o1000)) if extra & bit]
    return ", ".join(parts + special)


def _scan(target: Target, perm: str, what: str) -> Measurement:
    item = target.spec
    path = shlex.quote(item.path)
    # Paths sorted, the first ones kept; unreadable directories counted apart (prefixed E).
    script = (
        f"[ -e {path} ] || {{ {missing_sh(path)} && echo MISSING || echo DENIED; exit 0; }}; "
        f"LC_ALL=C find {path} -xdev ! -type l -perm {perm} -printf 'F %p\\n' 2>&1 | LC_ALL=C sort | "
        f"awk '/^F /{{n++; if (n<={FIRST_PATHS}) print; next}} {{e++; if (e<=5) print \"E \" $0}} END{{print \"COUNT\", n+0, e+0}}'"
    )
    result = run(target.host, script, target.timeout)
    lines = result.stdout.splitlines()
    if lines[:1] == ["MISSING"]:
        raise TargetDown(f"{item.path} does not exist")
    if lines[:1] == ["DENIED"]:
        raise Unmeasurable(denied(item.path))
    if not lines or not lines[-1].startswith("COUNT "):
        raise Unmeasurable(f"find {item.path}: {result.stderr.strip() or 'no output'}")
    _, count, errors = lines[-1].split()
    first = [redact(line[2:]) for line in lines if line.startswith("F ")]
    unreadable = [redact(line[2:]) for line in lines if line.startswith("E ")]
    count, errors = int(count), int(errors)
    if count == 0 and errors:
        raise Unmeasurable(f"{item.path}: {errors} paths could not be read, so the scan is incomplete ({unreadable[0]})")
    notes = (f"{errors} paths could not be read",) if errors else ()
    # The offender by name, not only the count: the first path in sorted order.
    label = what if not first else f"{what}: {first[0]}" if count == 1 else f"{what}, first {first[0]}"
    return Measurement(
        value=count, unit="files" if count != 1 else "file", subject=item.path, label=label, notes=notes,
        evidence={"count": count, f"first {FIRST_PATHS}": first, **({"unreadable": unreadable} if unreadable else {})},
    )


def probe_world_writable(target: Target) -> Measurement:
    return _scan(target, "-0002", "world-writable")


def probe_world_readable(target: Target) -> Measurement:
    return _scan(target, "-0004", "readable by others")


def _files(wanted, threshold=None):
    return per_host(id=lambda p: f"{p.host.name}:{p.item.name or p.item.path}", when=wanted, threshold=lambda p: threshold)


# A world-writable or world-readable file found is a problem: crit past 0 files.
_NONE_FOUND = Threshold(crit=0, unit="files")

KINDS = (
    Kind("file", "file permissions", "files", _files(lambda i: i.checks_attributes()), probe_file),
    Kind("world_writable", "no world-writable files", "files", _files(lambda i: i.no_world_writable, _NONE_FOUND), probe_world_writable),
    Kind("world_readable", "not readable by others", "files", _files(lambda i: i.not_world_readable, _NONE_FOUND), probe_world_readable),
)
