"""RabbitMQ with the management API's statistics off (`management_agent.disable_metrics_collector`,
as the official container image sets it): the API lists queues and nodes without their counts or
alarm flags. Absent counts must never read as 0: they are taken over AMQP, or the check is UNKNOWN.

Runs on a private node (tests/rabbitmq_nodes.py) so the shared broker's configuration stays as it is.
"""

from __future__ import annotations

import time

import pytest
import requests
from rabbitmq_nodes import RabbitNode

from opscheck.inventory.model import Inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.probes.rabbitmq import broker as rabbitmq_probes  # noqa: F401 - loaded before any pytester run
from opscheck.registry import get
from opscheck.verdict import Verdict


@pytest.fixture(scope="module")
def node():
    private = RabbitNode("management_agent.disable_metrics_collector = true")
    yield private
    private.stop()


def results(node: RabbitNode, kind: str, **entry) -> dict:
    # The private node knows guest/guest; a 5-character secret is refused (issue 14), and no
    # password in the inventory means RabbitMQ's default, guest.
    inventory = Inventory.model_validate({"rabbitmq": [
        {"name": "mq", "url": node.amqp_url, "management_url": node.api_url, "user": "guest", **entry},
    ]})
    return {t.id: evaluate(probe_once(t)) for t in get(kind).targets(inventory)}


@pytest.fixture
def queues(node):
    connection = node.connect()
    channel = connection.channel()
    channel.confirm_delivery()
    for name, count in (("jobs-deep", 12), ("jobs-some", 3)):
        channel.queue_declare(name)
        channel.queue_purge(name)
        for _ in range(count):
            channel.basic_publish("", name, b"job")
    yield
    for name in ("jobs-deep", "jobs-some"):
        channel.queue_delete(name)
    connection.close()


def test_the_api_really_gives_no_counts(node, queues):
    time.sleep(6)  # past the 5 s statistics interval: absent for good, not just not yet sampled
    record = requests.get(f"{node.api_url}/api/queues/%2F/jobs-deep", auth=("guest", "guest"), timeout=5).json()
    assert record["name"] == "jobs-deep" and "messages_ready" not in record and "consumers" not in record
    (one_node,) = requests.get(f"{node.api_url}/api/nodes", auth=("guest", "guest"), timeout=5).json()
    assert "disk_free_alarm" not in one_node and "mem_alarm" not in one_node


def test_queue_depth_and_consumers_are_counted_over_amqp(node, queues):
    found = results(node, "rabbitmq_queue", queues=[
        {"name": "jobs-deep", "depth": {"warn": 5, "crit": 10}, "min_consumers": 0},
        {"name": "jobs-some", "depth": {"warn": 5, "crit": 10}},
        {"pattern": "^jobs-", "depth": {"warn": 5, "crit": 20}, "min_consumers": 0},
    ])
    deep, some, pattern = found["mq:jobs-deep"], found["mq:jobs-some"], found["mq:/^jobs-/"]
    assert deep.verdict is Verdict.CRIT and deep.measurement.value == 12
    assert deep.summary == "jobs-deep 12 messages ready (warn 5, crit 10)"
    assert deep.measurement.evidence["via"] == "amqp passive declare (the management API gave no counts)"
    assert deep.measurement.evidence["consumers"] == 0 and deep.measurement.evidence["state"] == "live"
    # 3 ready and nobody consuming them: CRIT from the consumer count the API did not give.
    assert some.verdict is Verdict.CRIT and some.measurement.value == 3
    assert some.summary.endswith(": no consumer for 3 ready messages")
    assert pattern.verdict is Verdict.WARN and pattern.measurement.value == 12
    assert pattern.summary.startswith("/^jobs-/ (2 queues) 12 messages ready in jobs-deep, the deepest")
    assert pattern.measurement.evidence["via"] == (
        "management api; 2 queues counted by amqp passive declare (the management API gave no counts)"
    )


def test_unacked_limit_without_a_count_is_unknown(node, queues):
    found = results(node, "rabbitmq_queue", queues=[
        {"name": "jobs-some", "unacked": {"warn": 3, "crit": 10}, "min_consumers": 0},
    ])
    r = found["mq:jobs-some"]
    assert r.verdict is Verdict.UNKNOWN
    assert r.summary == (
        "mq:jobs-some: the management API gave no unacknowledged count for jobs-some (statistics disabled?), "
        "and AMQP cannot count them"
    )


def test_node_alarms_come_from_the_health_check(node):
    (ok,) = results(node, "rabbitmq").values()
    assert ok.verdict is Verdict.OK, ok.summary
    assert ok.measurement.evidence["alarms_checked"].startswith("/api/health/checks/alarms")
    node.ctl("set_disk_free_limit", "1000000GB")
    try:
        deadline = time.monotonic() + 30
        while requests.get(f"{node.api_url}/api/health/checks/alarms", auth=("guest", "guest"), timeout=5).status_code != 503:
            assert time.monotonic() < deadline, "the disk alarm never went off"
            time.sleep(0.25)
        (alarmed,) = results(node, "rabbitmq").values()
    finally:
        node.ctl("set_disk_free_limit", "50MB")
    assert alarmed.verdict is Verdict.CRIT
    assert alarmed.summary.endswith(f": disk space alarm on {node.name} (publishers are blocked)")
