"""memcached: the runbook's `echo stats | nc localhost 11211` and its rules of thumb."""

import pytest

from opscheck import judge, measure

pytestmark = pytest.mark.daily


@pytest.mark.high
def test_memcached_reachable(memcached):
    judge(measure(memcached))


@pytest.mark.medium
def test_memcached_hit_ratio(memcached_hit_ratio):
    judge(measure(memcached_hit_ratio))


@pytest.mark.medium
def test_memcached_evictions(memcached_evictions):
    judge(measure(memcached_evictions))


@pytest.mark.high
def test_memcached_connections(memcached_connections):
    judge(measure(memcached_connections))


@pytest.mark.low
def test_memcached_memory(memcached_memory):
    judge(measure(memcached_memory))
