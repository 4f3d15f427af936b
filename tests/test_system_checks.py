"""System checks against real mounts: a tmpfs filled to a chosen level, judged OK/WARN/CRIT."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from opscheck.inventory import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import measure
from opscheck.registry import get
from opscheck.verdict import Verdict

SIZE_KIB = 8192  # 8 MiB: big enough to be filled in steps of 1 %, small enough to be instant


@pytest.fixture
def tmpfs(tmp_path: Path):
    """A real tmpfs of SIZE_KIB, with 200 inodes, unmounted afterwards."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE_KIB}k,nr_inodes=200", "opscheck-test", str(mount)],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs (these tests need root): {proc.stderr.strip()}", pytrace=False)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def fill_to(mount: Path, percent: float) -> float:
    """Write one file so that `percent` of the filesystem is used; return df's exact figure."""
    target_bytes = int(SIZE_KIB * 1024 * percent / 100)
    with open(mount / "ballast", "wb") as handle:
        handle.write(b"\0" * target_bytes)
    return used_percent(mount)


def used_percent(mount: Path, inodes: bool = False) -> float:
    st = os.statvfs(mount)
    if inodes:
        used, free = st.f_files - st.f_ffree, st.f_favail
    else:
        used, free = (st.f_blocks - st.f_bfree) * st.f_frsize, st.f_bavail * st.f_frsize
    return round(100.0 * used / (used + free), 1)


def use_inodes(mount: Path, count: int) -> float:
    for i in range(count):
        (mount / f"f{i}").touch()
    return used_percent(mount, inodes=True)


def probe(kind: str, inventory_text: str, tmp_path: Path):
    path = tmp_path / "inventory.yml"
    path.write_text(inventory_text)
    (target,) = get(kind).targets(load_inventory(path))
    return evaluate(measure(target))


@pytest.mark.parametrize(("fill", "verdict"), [(10, Verdict.OK), (85, Verdict.WARN), (95, Verdict.CRIT)])
def test_disk_usage_on_a_filled_tmpfs(tmpfs, tmp_path, fill, verdict):
    expected = fill_to(tmpfs, fill)
    result = probe("disk", f"system: [{{disk: {{mount: '{tmpfs}', warn: 80%, crit: 90%}}}}]", tmp_path)
    assert result.verdict is verdict
    assert result.measurement.value == pytest.approx(expected, abs=0.2)
    assert abs(result.measurement.value - fill) < 2
    assert result.summary == f"{tmpfs} {result.measurement.value:.1f}% used (warn 80%, crit 90%)".replace(".0%", "%")
    assert result.measurement.evidence["device"] == "opscheck-test"


@pytest.mark.parametrize(("files", "verdict"), [(15, Verdict.OK), (168, Verdict.WARN), (188, Verdict.CRIT)])
def test_inode_usage_on_a_small_tmpfs(tmpfs, tmp_path, files, verdict):
    expected = use_inodes(tmpfs, files)
    result = probe("inodes", f"system: [{{inodes: {{mount: '{tmpfs}'}}}}]", tmp_path)
    assert result.verdict is verdict, result.summary
    assert result.measurement.value == pytest.approx(expected, abs=0.6)
    assert "inodes used (warn 80%, crit 90%)" in result.summary
    assert result.measurement.evidence["total"] == 200


def test_a_directory_that_is_not_a_mount_point_is_crit(tmp_path):
    plain = tmp_path / "data"
    plain.mkdir()
    result = probe("disk", f"system: [{{disk: {{mount: '{plain}'}}}}]", tmp_path)
    assert result.verdict is Verdict.CRIT
    assert f"{plain} is not a mount point (it lies on " in result.summary


def test_a_missing_mount_is_crit(tmp_path):
    result = probe("disk", "system: [{disk: {mount: /no/such/mount}}]", tmp_path)
    assert (result.verdict, result.summary) == (Verdict.CRIT, "local:/no/such/mount: /no/such/mount does not exist")


def test_a_filesystem_without_inodes_is_unknown(tmp_path):
    result = probe("inodes", "system: [{inodes: {mount: /proc}}]", tmp_path)
    assert result.verdict is Verdict.UNKNOWN
    assert "has no fixed inode table" in result.summary


def _meminfo() -> dict[str, int]:
    return {line.split(":")[0]: int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()}


def test_memory_matches_proc_meminfo(tmp_path):
    result = probe("memory", "system: [{memory: {warn: 99%, crit: 100%}}]", tmp_path)
    info = _meminfo()
    expected = 100.0 * (info["MemTotal"] - info["MemAvailable"]) / info["MemTotal"]
    assert result.verdict is Verdict.OK
    assert result.measurement.value == pytest.approx(expected, abs=1.0)
    assert result.measurement.evidence["MemTotal_kB"] == info["MemTotal"]


def test_memory_past_crit(tmp_path):
    result = probe("memory", "system: [{memory: {warn: 0.01%, crit: 0.02%}}]", tmp_path)
    assert result.verdict is Verdict.CRIT
    assert result.summary.startswith("memory ") and result.summary.endswith("% used (warn 0.01%, crit 0.02%)")


def test_swap_and_load(tmp_path):
    swap = probe("swap", "system: [{swap: {}}]", tmp_path)
    info = _meminfo()
    if info.get("SwapTotal", 0) == 0:
        assert (swap.verdict, swap.measurement.value) == (Verdict.OK, 0.0)
        assert "no swap configured" in swap.summary
    else:
        assert swap.measurement.evidence["SwapTotal_kB"] == info["SwapTotal"]
    load = probe("load_per_core", "system: [{load_per_core: {warn: 1000, crit: 2000}}]", tmp_path)
    five = float(Path("/proc/loadavg").read_text().split()[1])
    assert load.verdict is Verdict.OK
    assert load.measurement.evidence["cores"] == os.cpu_count()
    assert load.measurement.value == pytest.approx(five / os.cpu_count(), abs=0.5)


def test_a_value_just_past_the_limit_is_judged_exactly(tmp_path):
    """80.04 % used with warn 80 % is WARN ("strictly past the limit"), though it rounds to 80.0 %;
    the summary shows enough digits to say why."""
    mount = tmp_path / "exact"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=100000k,nr_inodes=50", "opscheck-test", str(mount)], check=True)
    try:
        with open(mount / "ballast", "wb") as handle:
            handle.write(b"\0" * (80040 * 1024))  # 80040 of 100000 KiB
        st = os.statvfs(mount)
        used, free = (st.f_blocks - st.f_bfree) * st.f_frsize, st.f_bavail * st.f_frsize
        assert 100.0 * used / (used + free) == pytest.approx(80.04)
        result = probe("disk", f"system: [{{disk: {{mount: '{mount}', warn: 80%, crit: 90%}}}}]", tmp_path)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)
    assert result.verdict is Verdict.WARN, result.summary
    assert result.measurement.value == pytest.approx(80.04)
    assert result.summary == f"{mount} 80.04% used (warn 80%, crit 90%)"
