"""System resources per host: the runbook's `df -h`, `df -i`, `free -m` and `uptime`."""

import pytest

from opscheck import judge, measure

pytestmark = pytest.mark.daily


@pytest.mark.high
def test_disk_usage(disk):
    judge(measure(disk))


@pytest.mark.high
def test_inode_usage(inodes):
    judge(measure(inodes))


@pytest.mark.medium
def test_memory_usage(memory):
    judge(measure(memory))


@pytest.mark.medium
def test_swap_usage(swap):
    judge(measure(swap))


@pytest.mark.medium
def test_load_per_core(load_per_core):
    judge(measure(load_per_core))


@pytest.mark.medium
def test_cpu_busy(cpu):
    judge(measure(cpu))
