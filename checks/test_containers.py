"""Containers: the runbook's `docker compose ps`, `docker stats --no-stream` and `docker inspect`."""

import pytest

from opscheck import judge, measure

pytestmark = pytest.mark.daily


@pytest.mark.critical
def test_container_running(container_running):
    judge(measure(container_running))


@pytest.mark.high
def test_container_health(container_health):
    judge(measure(container_health))


@pytest.mark.high
def test_container_restarts(container_restarts):
    judge(measure(container_restarts))


@pytest.mark.medium
def test_container_cpu(container_cpu):
    judge(measure(container_cpu))


@pytest.mark.medium
def test_container_memory(container_memory):
    judge(measure(container_memory))


@pytest.mark.low
def test_container_image_drift(container_image_drift):
    judge(measure(container_image_drift))
