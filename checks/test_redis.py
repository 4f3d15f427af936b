"""Redis: the runbook's `redis-cli ping`, `info memory`, `INFO stats` and BGSAVE status. Read-only."""

import pytest

from opscheck import judge, measure

pytestmark = pytest.mark.daily


@pytest.mark.critical
def test_redis_ping(redis_ping):
    judge(measure(redis_ping))


@pytest.mark.high
def test_redis_memory(redis_memory):
    judge(measure(redis_memory))


@pytest.mark.medium
def test_redis_evictions(redis_evictions):
    judge(measure(redis_evictions))


@pytest.mark.medium
def test_redis_rejected_connections(redis_rejected_connections):
    judge(measure(redis_rejected_connections))


@pytest.mark.high
def test_redis_clients(redis_clients):
    judge(measure(redis_clients))


@pytest.mark.high
def test_redis_last_save(redis_last_save):
    judge(measure(redis_last_save))


@pytest.mark.high
def test_redis_replication(redis_replication):
    judge(measure(redis_replication))


@pytest.mark.low
def test_redis_hit_ratio(redis_hit_ratio):
    judge(measure(redis_hit_ratio))


@pytest.mark.medium
def test_redis_blocked_clients(redis_blocked_clients):
    judge(measure(redis_blocked_clients))
