"""Pure logic of the container kinds: `docker stats` arithmetic, limits, the inventory's shapes."""

from __future__ import annotations

import pytest

from opscheck import registry
from opscheck.errors import InventoryError
from opscheck.inventory import load_inventory
from opscheck.probes.containers.state import created_epoch
from opscheck.probes.containers.stats import cpu_limit, cpu_percent, memory_used
from opscheck.probes.logs.sources import count


def sample(total: int, system: int, cpus: int = 4) -> dict:
    return {"cpu_stats": {"cpu_usage": {"total_usage": total}, "system_cpu_usage": system, "online_cpus": cpus}}


def test_cpu_percent_as_docker_stats():
    # 0.5 s of container CPU over 4 s of host CPU time (1 s on 4 cores): 50% of one core.
    assert cpu_percent(sample(1_000_000_000, 100_000_000_000), sample(1_500_000_000, 104_000_000_000)) == 50.0
    assert cpu_percent(sample(1, 5), sample(2, 5)) is None  # the host counter did not move
    assert cpu_percent({"cpu_stats": {}}, sample(1, 5)) is None  # an engine that reported nothing
    # percpu_usage stands in for online_cpus on older engines.
    after = {"cpu_stats": {"cpu_usage": {"total_usage": 3_000_000_000, "percpu_usage": [1, 1]}, "system_cpu_usage": 2_000_000_000}}
    assert cpu_percent(sample(1_000_000_000, 0), after) == 200.0


def test_memory_used_without_the_page_cache_cgroup_v1_and_v2():
    v1 = {"memory_stats": {"usage": 100, "limit": 1000, "stats": {"total_inactive_file": 30}}}
    v2 = {"memory_stats": {"usage": 100, "limit": 1000, "stats": {"inactive_file": 40}}}
    assert memory_used(v1) == (70, 1000)
    assert memory_used(v2) == (60, 1000)
    assert memory_used({"memory_stats": {"usage": 100, "limit": 1000, "stats": {"inactive_file": 400}}}) == (100, 1000)
    assert memory_used({"memory_stats": {}}) is None  # a stopped container: no data, not 0


def test_cpu_limit_from_cpus_or_quota():
    assert cpu_limit({"HostConfig": {"NanoCpus": 500_000_000}}) == 0.5
    assert cpu_limit({"HostConfig": {"CpuQuota": 150_000, "CpuPeriod": 100_000}}) == 1.5
    assert cpu_limit({"HostConfig": {"CpuQuota": -1}}) is None
    assert cpu_limit({}) is None


def test_created_times_of_docker_and_podman():
    assert created_epoch("2026-12-01T06:00:00.123456789Z") == pytest.approx(1796104800.123457)
    assert created_epoch("2026-12-01T01:00:00.5-05:00") == pytest.approx(1796104800.5)  # Podman writes an offset
    assert created_epoch("2026-12-01T06:00:00Z") == 1796104800.0
    assert created_epoch("yesterday") is None and created_epoch(None) is None


def test_count_lines_newest_first():
    lines = ["ERROR a", "info", "error b", "ERROR c"]
    out = count(iter(lines), {"err": ("ERROR", False), "any": ("error", True)}, keep=2)
    assert out["counts"] == {"err": 2, "any": 3}
    assert out["last"] == {"err": ["ERROR c", "ERROR a"], "any": ["ERROR c", "error b"]}
    assert (out["lines_read"], out["bytes_read"]) == (4, 8 + 5 + 8 + 8)


def load(tmp_path, text: str):
    path = tmp_path / "inventory.yml"
    path.write_text(text)
    return load_inventory(path), path


def test_contract_shape_loads_and_names_targets(tmp_path):
    inventory, _ = load(tmp_path, """\
hosts: {app: ["local://"]}
containers:
  - name: trading stack
    on: app
    engine: unix:///var/run/docker.sock
    compose_project: trading
    services: [backend, redis]
    health: true
    restarts: {warn: 1, crit: 5}
    cpu: {warn: 80%, crit: 95%}
    memory: {warn: 80%, crit: 95%}
    image_drift: false
  - {labels: {app: trading}}
logs:
  - {name: backend errors, container: backend, pattern: "ERROR|CRITICAL", window: 24h, warn: 5, crit: 50}
""")
    ids = {kind: [t.id for t in registry.get(kind).targets(inventory)] for kind in (
        "container_running", "container_health", "container_restarts", "container_cpu", "container_memory", "container_image_drift")}
    assert ids == {
        "container_running": ["local:trading stack", "local:app=trading"],
        "container_health": ["local:trading stack", "local:app=trading"],
        "container_restarts": ["local:trading stack", "local:app=trading"],
        "container_cpu": ["local:trading stack"],
        "container_memory": ["local:trading stack"],
        "container_image_drift": [],
    }
    (cpu,) = registry.get("container_cpu").targets(inventory)
    assert cpu.threshold.describe() == "warn 80%, crit 95%"
    (log,) = registry.get("log_pattern").targets(inventory)
    assert log.id == "local:backend errors"  # name: is the test id


@pytest.mark.parametrize(("entry", "message"), [
    ("{services: [web]}", "containers[0]: nothing selects containers: give compose_project:, names: or labels:"),
    ("{names: [a], compose_project: p}", "names: already picks the containers"),
    ("{labels: {a: b}, services: [web]}", "services: selects within compose_project:"),
    ("{names: [a], engine: /var/run/docker.sock}", "containers[0].engine: expected an engine URL (unix://..., tcp://..., ssh://...), found '/var/run/docker.sock'"),
    ("{names: [a], cpu: {warn: 90%, crit: 80%}}", "warn 90% is above crit 80%"),
    ("{names: [a], restart: {warn: 1}}", "containers[0].restart: unknown key"),
])
def test_bad_entries_name_file_line_and_key(tmp_path, entry, message):
    with pytest.raises(InventoryError) as info:
        load(tmp_path, f"containers:\n  - {entry}\n")
    (problem,) = info.value.problems
    assert problem.startswith(f"{tmp_path / 'inventory.yml'}:2: ")
    assert message in problem


def test_log_entry_needs_exactly_one_source(tmp_path):
    with pytest.raises(InventoryError, match=r"give exactly one source: path: \(a log file\), journal: \(journalctl\) or container: \(docker logs\), found path and container"):
        load(tmp_path, "logs:\n  - {path: /var/log/x.log, container: web, pattern: E}\n")
    with pytest.raises(InventoryError, match=r"give exactly one source: .* or container: \(docker logs\)$"):
        load(tmp_path, "logs:\n  - {pattern: E}\n")
    with pytest.raises(InventoryError, match="engine: belongs to container: entries"):
        load(tmp_path, "logs:\n  - {path: /var/log/x.log, engine: unix:///x.sock, pattern: E}\n")
