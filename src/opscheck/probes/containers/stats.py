"""CPU % and memory % of a container set, computed as `docker stats` computes them.

Two one-shot stats samples per container, one after the other (the engine's stats
collector ticks once a second, so each read waits for the next tick: the samples are
about a second apart, and a read costs up to a second), then the docker CLI's arithmetic: CPU % = container CPU-time delta / host CPU-time delta x
online CPUs x 100 (100% is one core); memory = usage less the page cache's inactive
file pages, of the container's limit. A container with a CPU limit (`--cpus`,
CpuQuota/CpuPeriod) is judged on its share of that limit: one limited to half a core
and using all of it is at 100%, where `docker stats` shows 50%. Without a memory
limit the engine reports the host's memory as the limit, and the summary says so.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from docker.utils import version_gte

from opscheck.errors import Unmeasurable
from opscheck.measurement import Measurement, Target
from opscheck.probes.containers.engine import engine, name_of, select

MIB = 1024 * 1024


def cpu_percent(before: dict, after: dict) -> float | None:
    """docker CLI's calculateCPUPercentUnix over two samples; None when the host counter did not move."""
    try:
        cpu_delta = after["cpu_stats"]["cpu_usage"]["total_usage"] - before["cpu_stats"]["cpu_usage"]["total_usage"]
        system_delta = after["cpu_stats"]["system_cpu_usage"] - before["cpu_stats"]["system_cpu_usage"]
    except (KeyError, TypeError):
        return None
    cpus = after["cpu_stats"].get("online_cpus") or len(after["cpu_stats"]["cpu_usage"].get("percpu_usage") or []) or 1
    if system_delta <= 0:
        return None
    return max(cpu_delta, 0) / system_delta * cpus * 100.0


def memory_used(stats: dict) -> tuple[int, int] | None:
    """(used bytes, limit bytes) as docker CLI: usage less inactive file pages (cgroup v1 and v2)."""
    memory = stats.get("memory_stats") or {}
    usage, limit = memory.get("usage"), memory.get("limit")
    if usage is None or not limit:
        return None
    detail = memory.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):
        if key in detail and detail[key] < usage:
            return usage - detail[key], limit
    return usage, limit


def cpu_limit(info: dict) -> float | None:
    """The container's CPU limit in cores, from `--cpus` or CpuQuota/CpuPeriod; None when unlimited."""
    host = info.get("HostConfig") or {}
    if host.get("NanoCpus"):
        return host["NanoCpus"] / 1e9
    if (host.get("CpuQuota") or 0) > 0:
        return host["CpuQuota"] / (host.get("CpuPeriod") or 100000)
    return None


def _running(target: Target, client) -> list[dict]:
    found = select(client, target.spec)
    running = [c for c in found.containers if (c.get("State") or {}).get("Status") == "running"]
    if not running:
        names = ", ".join(name_of(c) for c in found.containers) or ", ".join(found.missing)
        raise Unmeasurable(f"no running container of {target.spec.selection()} to take stats of ({names})")
    return running


def _samples(client, infos: list[dict], count: int) -> list[list[dict]]:
    """`count` one-shot samples of every container, all containers at once, one after the other."""
    # one-shot (API 1.41+) skips the engine's own second sample; older engines (Podman's 1.40) take it.
    one_shot = True if version_gte(client.api.api_version, "1.41") else None
    out = []
    with ThreadPoolExecutor(max_workers=min(8, len(infos))) as pool:
        for _ in range(count):
            out.append(list(pool.map(lambda info: client.api.stats(info["Id"], stream=False, one_shot=one_shot), infos)))
    return out


def probe_cpu(target: Target) -> Measurement:
    with engine(target) as client:
        infos = _running(target, client)
        before, after = _samples(client, infos, 2)
    rows = []
    for info, first, second in zip(infos, before, after, strict=True):
        raw = cpu_percent(first, second)
        if raw is None:
            raise Unmeasurable(f"the engine's CPU counters for {name_of(info)} did not advance between two samples")
        limit = cpu_limit(info)
        rows.append({
            "name": name_of(info), "docker_stats_percent": round(raw, 1), "cpu_limit_cores": limit,
            "percent": round(raw / limit if limit else raw, 1),
            "online_cpus": second["cpu_stats"].get("online_cpus"), "sampled_at": [first.get("read"), second.get("read")],
        })
    worst = max(rows, key=lambda r: r["percent"])
    if worst["cpu_limit_cores"]:
        label = f"CPU of its {worst['cpu_limit_cores']:g}-core limit (docker stats {worst['docker_stats_percent']:g}%)"
    else:
        label = "CPU (as docker stats: 100% is one core; no CPU limit)"
    return Measurement(
        value=worst["percent"], unit="%", subject=worst["name"], label=label,
        evidence={"containers": rows},
    )


def probe_memory(target: Target) -> Measurement:
    with engine(target) as client:
        infos = _running(target, client)
        (samples,) = _samples(client, infos, 1)
    rows = []
    for info, stats in zip(infos, samples, strict=True):
        used = memory_used(stats)
        if used is None:
            raise Unmeasurable(f"the engine reports no memory usage/limit for {name_of(info)}")
        limited = bool((info.get("HostConfig") or {}).get("Memory"))
        rows.append({
            "name": name_of(info), "used_bytes": used[0], "limit_bytes": used[1], "limited": limited,
            "percent": round(100.0 * used[0] / used[1], 1),
        })
    worst = max(rows, key=lambda r: r["percent"])
    whose = "of its limit" if worst["limited"] else "of the host's memory (no memory limit)"
    label = f"memory ({worst['used_bytes'] / MIB:.1f} MiB {whose}, {worst['limit_bytes'] / MIB:.0f} MiB)"
    return Measurement(value=worst["percent"], unit="%", subject=worst["name"], label=label, evidence={"containers": rows})
