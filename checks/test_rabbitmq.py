"""RabbitMQ: the runbook's `rabbitmqctl status` and `rabbitmqctl list_queues name messages consumers`."""

import pytest

from opscheck import judge, measure

pytestmark = pytest.mark.daily


@pytest.mark.critical
def test_rabbitmq_broker(rabbitmq):
    judge(measure(rabbitmq))


@pytest.mark.high
def test_rabbitmq_queue(rabbitmq_queue):
    judge(measure(rabbitmq_queue))
