"""RabbitMQ: the runbook's `rabbitmqctl status` and `list_queues name messages consumers`.

Two ways in, both read-only. With `management_url` the HTTP API gives every
queue's counts, node alarms and regex selection. Without it, AMQP passive
declares (which never create anything) give a named queue's ready count and
consumers. The clients live in `rabbitmq_clients`; this module turns what they
read into measurements.
"""

from __future__ import annotations

import re
import time
from typing import Any

from opscheck.errors import TargetDown, Unmeasurable
from opscheck.inventory.sections.rabbitmq import QueueSpec, RabbitmqItem
from opscheck.measurement import Measurement, Target
from opscheck.probes.rabbitmq import clients
from opscheck.units import format_size

# Queue states of the API that mean the queue cannot serve (a crashed or stopped queue process).
_BROKEN_STATES = {"down", "crashed", "stopped", "terminated", "minority"}
MAX_LISTED = 100  # queues listed in the evidence of a pattern; the rest are counted


def probe_broker(target: Target) -> Measurement:
    item: RabbitmqItem = target.spec
    if item.management_url is None:
        return _broker_over_amqp(item, target.timeout)
    return _broker_over_api(item, target.timeout)


def _broker_over_amqp(item: RabbitmqItem, timeout: float) -> Measurement:
    seconds, server = clients.connect_once(item, timeout)
    version = server.get("version", "?")
    return Measurement(
        value=round(seconds, 4), unit="s", subject=f"{server.get('product', 'RabbitMQ')} {version} at {clients.endpoint(item)}",
        label="to connect",
        evidence={
            "via": "amqp", "endpoint": clients.endpoint(item), "vhost": clients.vhost(item),
            "server": {k: server[k] for k in ("product", "version", "platform", "cluster_name") if k in server},
            "alarms": "not checked: node alarms need management_url",
        },
    )


def _broker_over_api(item: RabbitmqItem, timeout: float) -> Measurement:
    start = time.monotonic()
    overview = clients.api_get(item, "/api/overview", timeout)
    seconds = time.monotonic() - start
    nodes = clients.api_get(item, "/api/nodes", timeout)
    if not isinstance(overview, dict) or not isinstance(nodes, list):
        raise TargetDown(f"management API at {item.management_url} answered with unexpected JSON")
    problems: list[str] = []
    node_evidence = []
    alarms_from = "nodes"
    if item.alarms and any(not _has_alarm_flags(node) for node in nodes if node.get("running", False)):
        # Node metrics are off (management_agent.disable_metrics_collector): ask the health check instead.
        alarms_from = "/api/health/checks/alarms (the nodes' metrics are not reported)"
        problems += clients.api_alarms(item, timeout)
    for node in nodes:
        name = node.get("name", "?")
        node_evidence.append({k: node.get(k) for k in _NODE_FIELDS})
        if not node.get("running", False):
            problems.append(f"node {name} is not running")
            continue
        if item.alarms and node.get("mem_alarm") is True:
            problems.append(
                f"memory alarm on {name}: {_size(node.get('mem_used'))} used, limit {_size(node.get('mem_limit'))} (publishers are blocked)"
            )
        if item.alarms and node.get("disk_free_alarm") is True:
            problems.append(
                f"disk alarm on {name}: {_size(node.get('disk_free'))} free, limit {_size(node.get('disk_free_limit'))} (publishers are blocked)"
            )
        if node.get("partitions"):
            problems.append(f"{name} is partitioned from {', '.join(node['partitions'])}")
    version = overview.get("rabbitmq_version", "?")
    cluster = overview.get("cluster_name")
    return Measurement(
        value=round(seconds, 4), unit="s",
        subject=f"RabbitMQ {version}" + (f" ({cluster}, {len(nodes)} node{'s' if len(nodes) != 1 else ''})" if cluster else ""),
        label="to answer the API", problems=tuple(problems),
        evidence={
            "via": "management api", "url": item.management_url, "version": version, "cluster": cluster,
            "alarms_checked": item.alarms and alarms_from, "nodes": node_evidence,
            "queue_totals": {k: v for k, v in (overview.get("queue_totals") or {}).items() if not k.endswith("_details")},
            "object_totals": overview.get("object_totals"),
        },
    )


def _has_alarm_flags(node: dict) -> bool:
    return isinstance(node.get("mem_alarm"), bool) and isinstance(node.get("disk_free_alarm"), bool)


_NODE_FIELDS = (
    "name", "running", "mem_alarm", "disk_free_alarm", "mem_used", "mem_limit",
    "disk_free", "disk_free_limit", "fd_used", "fd_total", "partitions", "uptime",
)


def _size(value: Any) -> str:
    return format_size(value) if isinstance(value, (int, float)) else "?"


def probe_queue(target: Target) -> Measurement:
    item: RabbitmqItem = target.spec
    queue: QueueSpec = target.params["queue"]
    if item.management_url is None:
        ready, consumers = clients.passive_declare(item, queue.name, target.timeout)
        record = {"name": queue.name, "messages_ready": ready, "consumers": consumers}
        return _one_queue(queue, record, {"via": "amqp passive declare", "vhost": clients.vhost(item), **record})
    if queue.name is not None:
        data = clients.api_get(item, f"/api/queues/{clients.quoted_vhost(item)}/{clients.quote(queue.name)}", target.timeout)
        if data is None:
            raise TargetDown(f"queue {queue.name} does not exist in vhost {clients.vhost(item)}")
        record = _queue_record(data)
        via = "management api"
        if not _has_counts(record):
            record, via = _counted_over_amqp(item, record, target.timeout), _FALLBACK
        return _one_queue(queue, record, {"via": via, "vhost": clients.vhost(item), **record})
    return _matching_queues(item, queue, target.timeout)


# The API omits a queue's counts when its statistics are off (management_agent.disable_metrics_collector,
# set by the official container image; management.disable_stats) or not yet sampled: never read that as 0.
_FALLBACK = "amqp passive declare (the management API gave no counts)"
_COUNTS = ("messages_ready", "consumers")


def _queue_record(data: dict) -> dict:
    keys = ("name", "messages_ready", "messages_unacknowledged", "messages", "consumers", "state", "type")
    return {k: data[k] for k in keys if k in data}


def _has_counts(record: dict) -> bool:
    return all(isinstance(record.get(k), int) for k in _COUNTS)


def _counted_over_amqp(item: RabbitmqItem, record: dict, timeout: float) -> dict:
    """`record` with ready messages and consumers from a passive declare, when the API left them out."""
    name = record["name"]
    try:
        ready, consumers = clients.passive_declare(item, name, timeout)
    except (Unmeasurable, TargetDown) as exc:
        raise Unmeasurable(
            f"the management API gave no message counts for queue {name} (statistics disabled?), "
            f"and AMQP could not count them: {exc}"
        ) from None
    return {**record, "messages_ready": ready, "consumers": consumers}


def _one_queue(queue: QueueSpec, record: dict, evidence: dict) -> Measurement:
    problems, warnings = _judge_queue(queue, record, prefix="")
    _unacked_measured(queue, [record], problems)
    return Measurement(
        value=record["messages_ready"], unit="messages", subject=queue.name, label="ready",
        problems=tuple(problems), warnings=tuple(warnings), evidence=evidence,
    )


def _matching_queues(item: RabbitmqItem, queue: QueueSpec, timeout: float) -> Measurement:
    columns = "name,messages_ready,messages_unacknowledged,messages,consumers,state,type"
    data = clients.api_get(item, f"/api/queues/{clients.quoted_vhost(item)}?columns={columns}", timeout)
    if data is None:
        raise TargetDown(f"vhost {clients.vhost(item)} does not exist")
    pattern = re.compile(queue.pattern)
    records = sorted((_queue_record(q) for q in data if pattern.search(q.get("name", ""))), key=lambda r: r["name"])
    uncounted = [r["name"] for r in records if not _has_counts(r)]
    records = [r if _has_counts(r) else _counted_over_amqp(item, r, timeout) for r in records]
    via = "management api" + (f"; {len(uncounted)} queues counted by {_FALLBACK}" if uncounted else "")
    evidence = {"via": via, "vhost": clients.vhost(item), "pattern": queue.pattern, "matched": len(records),
                "queues": records[:MAX_LISTED]}
    if not records:
        return Measurement(
            subject=queue.label, problems=(f"no queue in vhost {clients.vhost(item)} matches",), evidence=evidence,
        )
    problems: list[str] = []
    warnings: list[str] = []
    for record in records:
        p, w = _judge_queue(queue, record, prefix=f"{record['name']}: ")
        problems += p
        warnings += w
    _unacked_measured(queue, records, problems)
    deepest = max(records, key=lambda r: (r["messages_ready"], r["name"]))
    return Measurement(
        value=deepest["messages_ready"], unit="messages", subject=f"{queue.label} ({len(records)} queues)",
        label=f"ready in {deepest['name']}, the deepest", problems=tuple(problems), warnings=tuple(warnings),
        evidence=evidence,
    )


def _unacked_measured(queue: QueueSpec, records: list[dict], problems: list[str]) -> None:
    """An `unacked` limit the API gave no count for is UNKNOWN, unless a CRIT already stands."""
    if queue.unacked is None or problems:
        return
    missing = [r["name"] for r in records if not isinstance(r.get("messages_unacknowledged"), int)]
    if missing:
        raise Unmeasurable(
            f"the management API gave no unacknowledged count for {', '.join(missing[:5])}"
            f"{' …' if len(missing) > 5 else ''} (statistics disabled?), and AMQP cannot count them"
        )


def _judge_queue(queue: QueueSpec, record: dict, prefix: str) -> tuple[list[str], list[str]]:
    """What the depth threshold cannot say: consumers, unacknowledged messages, queue state."""
    problems: list[str] = []
    warnings: list[str] = []
    ready, consumers = record["messages_ready"], record["consumers"]
    if consumers < queue.min_consumers:
        have = "no consumer" if consumers == 0 else f"{consumers} consumers (min {queue.min_consumers})"
        if ready > 0:
            problems.append(f"{prefix}{have} for {ready} ready messages")
        else:
            # Nothing waits yet, but the next message will: worth a look, not a page.
            warnings.append(f"{prefix}{have}, queue empty")
    unacked = record.get("messages_unacknowledged")
    if queue.unacked is not None and isinstance(unacked, int):
        limit = queue.unacked
        if limit.crit is not None and unacked > limit.crit:
            problems.append(f"{prefix}{unacked} unacknowledged (crit {limit.crit})")
        elif limit.warn is not None and unacked > limit.warn:
            warnings.append(f"{prefix}{unacked} unacknowledged (warn {limit.warn})")
    state = record.get("state")
    if state in _BROKEN_STATES:
        problems.append(f"{prefix}queue is {state}")
    elif state == "flow":
        warnings.append(f"{prefix}queue is in flow control (publishers throttled)")
    return problems, warnings


