"""Disk, inodes, memory, swap, load and CPU of a host: `df -P`, /proc/meminfo, /proc/loadavg, /proc/stat."""

from __future__ import annotations

import shlex

from opscheck.errors import TargetDown, Unmeasurable
from opscheck.host import read_file, run
from opscheck.measurement import Measurement, Target
from opscheck.probes.system.cgroup import cpu_limit, limit_files
from opscheck.registry import Kind
from opscheck.targets import per_host, per_host_item


def _df(target: Target, inodes: bool) -> tuple[list[str], str]:
    mount = target.spec.mount
    flag = "-Pi" if inodes else "-Pk"
    result = run(target.host, f"df {flag} -- '{mount}'", target.timeout)
    if result.rc != 0:
        reason = result.stderr.strip() or f"df exited {result.rc}"
        if "No such file" in reason:
            raise TargetDown(f"{mount} does not exist")
        raise Unmeasurable(f"df {mount}: {reason}")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    fields = lines[-1].split()
    if len(fields) < 6:
        raise Unmeasurable(f"cannot parse df output: {result.stdout.strip()!r}")
    # The mount point is the last field; a device name with spaces would shift the rest.
    return fields[-6:] if len(fields) > 6 else fields, "\n".join(lines)


def probe_disk(target: Target) -> Measurement:
    return _usage(target, inodes=False)


def probe_inodes(target: Target) -> Measurement:
    return _usage(target, inodes=True)


def _usage(target: Target, inodes: bool) -> Measurement:
    (device, total, used, free, _pcent, mounted_on), evidence = _df(target, inodes)
    mount = target.spec.mount
    if mounted_on != mount:
        # `df /data` on an unmounted /data reports the parent filesystem: the mount is missing.
        raise TargetDown(f"{mount} is not a mount point (it lies on {mounted_on}, {device})")
    total_n, used_n, free_n = int(total), int(used), int(free)
    if inodes and total_n == 0:
        raise Unmeasurable(f"{mount} ({device}) has no fixed inode table: nothing to measure")
    # As df computes Use%: used / (used + available), so root-reserved blocks count as full.
    # Exact: the threshold judges it, the summary rounds it (80.04 % is past warn 80 %).
    percent = 100.0 * used_n / (used_n + free_n) if used_n + free_n else 0.0
    unit = "inodes" if inodes else "KiB"
    return Measurement(
        value=percent, unit="%", subject=mount, label="inodes used" if inodes else "used",
        evidence={"df": evidence, "device": device, "total": total_n, "used": used_n, "available": free_n, "counted_in": unit},
    )


def _meminfo(target: Target) -> dict[str, int]:
    info = {}
    for line in read_file(target.host, "/proc/meminfo", target.timeout).splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            info[name.strip()] = int(parts[0])  # kB
    return info


def probe_memory(target: Target) -> Measurement:
    info = _meminfo(target)
    total, available = info.get("MemTotal"), info.get("MemAvailable")
    if not total or available is None:
        raise Unmeasurable("/proc/meminfo has no MemTotal/MemAvailable (kernel older than 3.14?)")
    percent = 100.0 * (total - available) / total
    keep = ("MemTotal", "MemAvailable", "MemFree", "Buffers", "Cached", "Shmem")
    return Measurement(
        value=percent, unit="%", subject="memory", label="used",
        evidence={k + "_kB": info[k] for k in keep if k in info},
    )


def probe_swap(target: Target) -> Measurement:
    info = _meminfo(target)
    total, free = info.get("SwapTotal"), info.get("SwapFree")
    if total is None or free is None:
        raise Unmeasurable("/proc/meminfo has no SwapTotal/SwapFree")
    evidence = {"SwapTotal_kB": total, "SwapFree_kB": free}
    if total == 0:
        return Measurement(value=0.0, unit="%", subject="swap", label="used", evidence=evidence, notes=("no swap configured",))
    return Measurement(value=100.0 * (total - free) / total, unit="%", subject="swap", label="used", evidence=evidence)


_MARK = "--opscheck--"
MARK_FILE = "opscheck:"


def probe_load(target: Target) -> Measurement:
    """5-minute load per core, the cores being the cgroup's CPU limit where it has one (evidence says which)."""
    out = run(target.host, f"cat /proc/loadavg; echo {_MARK}; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN;"
                           f" echo {_MARK}; cat /proc/self/cgroup; echo {_MARK}; cat /proc/self/mountinfo", target.timeout)
    parts = out.stdout.split(_MARK)
    try:
        one, five, fifteen = (float(x) for x in parts[0].split()[:3])
        online = int(parts[1].split()[0])
    except (ValueError, IndexError):
        raise Unmeasurable(f"cannot parse load or core count from {out.stdout[:200].strip()!r} ({out.stderr.strip()})") from None
    limit = _cgroup_limit(target, parts[2], parts[3]) if len(parts) == 4 else None
    cores = min(online, limit[0]) if limit else online
    if limit and limit[0] < online:
        where = f"the cgroup's CPU limit: {limit[1]}"
    else:
        where = "online CPUs (nproc)" + (f"; the cgroup's limit of {limit[0]:g} is not smaller ({limit[1]})" if limit else ", no cgroup CPU limit")
    # The 5-minute average: the 1-minute one pages on every cron burst.
    per_core = round(five / cores, 2)
    return Measurement(
        value=per_core, subject="load per core (5m)", label=f"({five:g} over {cores:g} cores)" if limit and limit[0] < online else "",
        evidence={"load_1m": one, "load_5m": five, "load_15m": fifteen, "cores": cores, "cores_from": where, "online_cpus": online},
    )


def _cgroup_limit(target: Target, proc_cgroup: str, mountinfo: str) -> tuple[float, str] | None:
    dirs = limit_files(proc_cgroup, mountinfo)
    if not dirs:
        return None
    files = [f"{d}/{name}" for version, d in dirs for name in (("cpu.max",) if version == "v2" else ("cpu.cfs_quota_us", "cpu.cfs_period_us"))]
    listing = " ".join(shlex.quote(f) for f in files)
    out = run(target.host, f"for f in {listing}; do [ -r \"$f\" ] && {{ echo \"=={MARK_FILE}$f\"; cat \"$f\"; }}; done; true", target.timeout)
    readings: dict[str, str] = {}
    for chunk in out.stdout.split(f"=={MARK_FILE}")[1:]:
        path, _, text = chunk.partition("\n")
        readings[path] = text
    try:
        return cpu_limit(readings)
    except ValueError:
        raise Unmeasurable(f"cannot parse the cgroup CPU limit: {readings!r}") from None


# /proc/stat's cpu line: user nice system idle iowait irq softirq steal (guest is inside user).
_CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def cpu_busy(before: str, after: str) -> tuple[float, dict]:
    """Busy % of all CPUs between two /proc/stat readings, and each field's share, as top counts it."""
    first, second = (_cpu_ticks(text) for text in (before, after))
    delta = {name: second[name] - first[name] for name in _CPU_FIELDS}
    total = sum(delta.values())
    if total <= 0:
        raise Unmeasurable("/proc/stat did not advance between the two readings")
    share = {f"{name}_percent": round(100.0 * ticks / total, 1) for name, ticks in delta.items()}
    busy = round(100.0 * (total - delta["idle"] - delta["iowait"]) / total, 1)
    return busy, share


def _cpu_ticks(text: str) -> dict[str, int]:
    fields = next((line.split() for line in text.splitlines() if line.startswith("cpu ")), [])
    if len(fields) < 1 + len(_CPU_FIELDS):
        raise Unmeasurable(f"cannot parse the cpu line of /proc/stat: {' '.join(fields)!r}")
    return dict(zip(_CPU_FIELDS, (int(v) for v in fields[1:]), strict=False))


def probe_cpu(target: Target) -> Measurement:
    interval = min(target.spec.interval, max(target.timeout - 1, 0.1))
    marker = "--opscheck--"
    out = run(target.host, f"cat /proc/stat; sleep {interval:g}; echo {marker}; cat /proc/stat", target.timeout)
    before, _, after = out.stdout.partition(marker)
    if out.rc != 0 or not after:
        raise Unmeasurable(f"cannot read /proc/stat twice: {out.stderr.strip() or f'exit {out.rc}'}")
    busy, share = cpu_busy(before, after)
    cores = sum(1 for line in after.splitlines() if line.startswith("cpu") and line[3:4].isdigit())
    return Measurement(
        value=busy, unit="%", subject=f"cpu ({cores} cores, {interval:g}s)", label="busy",
        evidence={**share, "interval_s": interval, "cores": cores},
    )


KINDS = (
    Kind("disk", "disk usage", "system", per_host_item("disk", lambda m: m.mount), probe_disk),
    Kind("inodes", "inode usage", "system", per_host_item("inodes", lambda m: m.mount), probe_inodes),
    Kind("memory", "memory usage", "system", per_host("memory"), probe_memory),
    Kind("swap", "swap usage", "system", per_host("swap"), probe_swap),
    Kind("load_per_core", "load per core", "system", per_host("load_per_core"), probe_load),
    Kind("cpu", "cpu busy", "system", per_host("cpu"), probe_cpu),
)
