"""PostgreSQL: the runbook's `pg_isready`, blocking-queries SQL, pg_stat_activity counts,
database size, pg_stat_statements review and "must be empty" queries. All read-only.
Daily checks watch the server; weekly ones review maintenance."""

import pytest

from opscheck import judge, measure


@pytest.mark.daily
@pytest.mark.critical
def test_pg_connect(pg_connect):
    judge(measure(pg_connect))


@pytest.mark.daily
@pytest.mark.high
def test_pg_connections(pg_connections):
    judge(measure(pg_connections))


@pytest.mark.daily
@pytest.mark.critical
def test_pg_blocked(pg_blocked):
    judge(measure(pg_blocked))


@pytest.mark.daily
@pytest.mark.high
def test_pg_long_running(pg_long_running):
    judge(measure(pg_long_running))


@pytest.mark.daily
@pytest.mark.high
def test_pg_idle_in_transaction(pg_idle_in_transaction):
    judge(measure(pg_idle_in_transaction))


@pytest.mark.daily
@pytest.mark.medium
def test_pg_database_size(pg_database_size):
    judge(measure(pg_database_size))


@pytest.mark.daily
@pytest.mark.high
def test_pg_wraparound(pg_wraparound):
    judge(measure(pg_wraparound))


@pytest.mark.daily
@pytest.mark.high
def test_pg_replication(pg_replication):
    judge(measure(pg_replication))


@pytest.mark.daily
@pytest.mark.high
def test_pg_assertion(pg_assertion):
    judge(measure(pg_assertion))


@pytest.mark.weekly
@pytest.mark.low
def test_pg_dead_tuples(pg_dead_tuples):
    judge(measure(pg_dead_tuples))


@pytest.mark.weekly
@pytest.mark.low
def test_pg_unused_indexes(pg_unused_indexes):
    judge(measure(pg_unused_indexes))


@pytest.mark.weekly
@pytest.mark.medium
def test_pg_slow_queries(pg_slow_queries):
    judge(measure(pg_slow_queries))


@pytest.mark.daily
@pytest.mark.high
def test_pg_sequences(pg_sequences):
    judge(measure(pg_sequences))


@pytest.mark.daily
@pytest.mark.critical
def test_pg_archiver(pg_archiver):
    judge(measure(pg_archiver))


@pytest.mark.weekly
@pytest.mark.low
def test_pg_checkpoints(pg_checkpoints):
    judge(measure(pg_checkpoints))
