"""Load per core counts the cgroup's CPU limit: the probe run inside a real cgroup v1 CPU quota
this test creates (this machine mounts cgroup v1 for cpu), plus the parser on this machine's
real /proc/self/cgroup and mountinfo and on cgroup v2's cpu.max format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from opscheck.probes.system.cgroup import cpu_limit, limit_files
from opscheck.units import format_value

CPU_V1 = Path("/sys/fs/cgroup/cpu")
DATA = Path(__file__).parent / "data" / "cgroup"

PROBE = """
import json
from opscheck.inventory.model import Inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.registry import get
inv = Inventory.model_validate({"system": [{"load_per_core": {"warn": 1000, "crit": 2000}}]})
(target,) = get("load_per_core").targets(inv)
result = evaluate(probe_once(target))
print(json.dumps({"verdict": result.verdict.name, "summary": result.summary, "value": result.measurement.value,
                  "evidence": result.measurement.evidence}))
"""


@pytest.fixture
def quota_cgroup():
    """A cgroup with a 0.5-CPU quota and an unlimited child inside it; removed afterwards."""
    if not (CPU_V1 / "cpu.cfs_quota_us").exists():
        pytest.fail("no cgroup v1 cpu controller at /sys/fs/cgroup/cpu on this machine: this test needs one it can write")
    parent = CPU_V1 / f"opscheck-test-{uuid.uuid4().hex[:8]}"
    parent.mkdir()
    child = parent / "inner"
    try:
        child.mkdir()
        (parent / "cpu.cfs_period_us").write_text("100000")
        (parent / "cpu.cfs_quota_us").write_text("50000")
        yield parent, child
    finally:
        for group in (child, parent):
            if group.exists():
                for pid in (group / "cgroup.procs").read_text().split():  # left only if a probe hung
                    (CPU_V1 / "cgroup.procs").write_text(pid)
                group.rmdir()


def probe_in(group: Path) -> dict:
    """Run the load probe in a process that first moves itself into `group`."""
    code = f"open({str(group / 'cgroup.procs')!r}, 'w').write(str(__import__('os').getpid()))\n" + PROBE
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_load_per_core_divides_by_the_quota_of_an_ancestor_cgroup(quota_cgroup):
    parent, child = quota_cgroup
    got = probe_in(child)  # the child has no quota of its own: the parent's 0.5 CPU holds
    evidence = got["evidence"]
    assert evidence["cores"] == 0.5 and evidence["online_cpus"] == os.cpu_count()
    assert evidence["cores_from"] == f"the cgroup's CPU limit: cgroup v1 cpu.cfs_quota_us 50000 / cpu.cfs_period_us 100000 at {parent}"
    assert got["value"] == round(evidence["load_5m"] / 0.5, 2)
    assert got["summary"] == (f"load per core (5m) {format_value(got['value'], '')} ({evidence['load_5m']:g} over 0.5 cores)"
                              " (warn 1000, crit 2000)")


def test_a_quota_above_the_online_cpus_leaves_the_cpus(quota_cgroup):
    parent, child = quota_cgroup
    (parent / "cpu.cfs_quota_us").write_text(str(100000 * (os.cpu_count() + 2)))
    got = probe_in(child)
    evidence = got["evidence"]
    assert evidence["cores"] == os.cpu_count()
    assert evidence["cores_from"] == (f"online CPUs (nproc); the cgroup's limit of {os.cpu_count() + 2} is not smaller"
                                      f" (cgroup v1 cpu.cfs_quota_us {100000 * (os.cpu_count() + 2)} / cpu.cfs_period_us 100000 at {parent})")
    assert got["summary"] == f"load per core (5m) {format_value(got['value'], '')} (warn 1000, crit 2000)"


def test_no_limit_says_online_cpus():
    got = probe_in(CPU_V1) if (CPU_V1 / "cgroup.procs").exists() else pytest.fail("no cgroup v1 cpu controller")
    assert got["evidence"]["cores_from"] == "online CPUs (nproc), no cgroup CPU limit"


def test_parser_on_this_machines_real_v1_hybrid_files():
    # Copied from this machine: cgroup v1 controllers plus an empty v2 hierarchy at /sys/fs/cgroup/unified.
    dirs = limit_files((DATA / "v1-hybrid.cgroup").read_text(), (DATA / "v1-hybrid.mountinfo").read_text())
    assert dirs == [("v1", "/sys/fs/cgroup/cpu"), ("v2", "/sys/fs/cgroup/unified")]


def test_parser_v2_cpu_max_nested_and_namespaced():
    mountinfo = "30 23 0:26 /system.slice /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
    # A cgroup namespace rooted at /system.slice: the process's path maps below the mount point.
    dirs = limit_files("0::/system.slice/app.service/worker\n", mountinfo)
    assert dirs == [("v2", "/sys/fs/cgroup/app.service/worker"), ("v2", "/sys/fs/cgroup/app.service"), ("v2", "/sys/fs/cgroup")]
    readings = {
        "/sys/fs/cgroup/app.service/worker/cpu.max": "max 100000\n",
        "/sys/fs/cgroup/app.service/cpu.max": "150000 100000\n",
        "/sys/fs/cgroup/cpu.max": "max 100000\n",
    }
    assert cpu_limit(readings) == (1.5, "cgroup v2 cpu.max 150000 100000 at /sys/fs/cgroup/app.service")
    assert cpu_limit({"/sys/fs/cgroup/cpu.max": "max 100000\n"}) is None
    # A path outside the mount's root (no cgroup namespace): the mount itself is the cgroup.
    assert limit_files("0::/other\n", mountinfo) == [("v2", "/sys/fs/cgroup")]
