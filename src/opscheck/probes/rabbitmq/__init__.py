"""`rabbitmq:` — the broker (connect, node alarms) and each listed queue (depth, unacked, consumers).

Probes live in `broker`, over the AMQP and management-API clients of `clients`.
"""

from __future__ import annotations

from opscheck.registry import Kind
from opscheck.targets import Shape, per_entry


def broker_id(item) -> str:
    from opscheck.probes.rabbitmq import clients  # pika parses the URL; only when targets are built

    return item.name or clients.endpoint(item)


KINDS = (
    Kind("rabbitmq", "rabbitmq broker", "rabbitmq", per_entry(lambda p: broker_id(p.item)), ".broker:probe_broker"),
    Kind("rabbitmq_queue", "rabbitmq queue", "rabbitmq", Shape(
        items=lambda item: item.queues, id=lambda p: f"{broker_id(p.item)}:{p.sub.label}", spec=lambda p: p.item,
        threshold=lambda p: p.sub.depth.threshold(), params=lambda p: {"queue": p.sub},
    ), ".broker:probe_queue"),
)
