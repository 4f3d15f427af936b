"""RabbitMQ checks against the real broker on 127.0.0.1:5672 (guest/guest), over AMQP and the API.

Each test declares its own uniquely named queues, fills them with N messages,
attaches consumers where it needs them (a prefetch of 1 keeps the rest
ready), and deletes them afterwards. The management API's counts lag by up to
its 5 s statistics interval, so API tests wait until it has caught up.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pika
import pytest
import requests

from conftest import free_port, require_tcp
from opscheck.inventory import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import measure
from opscheck.registry import get
from opscheck.verdict import Verdict

AMQP_URL = "amqp://127.0.0.1:5672/%2F"
API_URL = "http://127.0.0.1:15672"
PASSWORD_ENV = "OPSCHECK_TEST_RABBITMQ_PASSWORD"


def _connect() -> pika.BlockingConnection:
    params = pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F?heartbeat=0")
    return pika.BlockingConnection(params)


class Broker:
    """Scratch queues on the test broker, all named `<prefix>-<label>`."""

    def __init__(self) -> None:
        self.prefix = f"opscheck-test-{uuid.uuid4().hex[:8]}"
        self.admin = _connect()
        self.channel = self.admin.channel()
        self.channel.confirm_delivery()  # a publish returns once the queue has the message
        self.consumers: list[pika.BlockingConnection] = []
        self.queues: list[str] = []

    def queue(self, label: str, messages: int = 0, prefetch: int | None = None) -> str:
        """A queue with `messages`; with `prefetch`, one consumer that holds that many unacked."""
        name = f"{self.prefix}-{label}"
        self.channel.queue_declare(name, auto_delete=False)
        self.queues.append(name)
        for _ in range(messages):
            self.channel.basic_publish("", name, b"job")
        if prefetch is not None:
            connection = _connect()
            channel = connection.channel()
            channel.basic_qos(prefetch_count=prefetch)
            channel.basic_consume(name, on_message_callback=lambda *args: None)  # never acks
            self.consumers.append(connection)
            self.wait_amqp(name, ready=max(messages - prefetch, 0), consumers=1)
        return name

    def counts(self, name: str) -> tuple[int, int]:
        ok = self.channel.queue_declare(name, passive=True)
        return ok.method.message_count, ok.method.consumer_count

    def exists(self, name: str) -> bool:
        channel = self.admin.channel()
        try:
            channel.queue_declare(name, passive=True)
            channel.close()
            return True
        except pika.exceptions.ChannelClosedByBroker as exc:
            assert exc.reply_code == 404
            return False

    def wait_amqp(self, name: str, ready: int, consumers: int) -> None:
        deadline = time.monotonic() + 10
        while self.counts(name) != (ready, consumers):
            assert time.monotonic() < deadline, f"{name}: {self.counts(name)} != {(ready, consumers)}"
            time.sleep(0.05)

    def close(self) -> None:
        for connection in self.consumers:
            connection.close()
        for name in self.queues:
            self.channel.queue_delete(name)
        self.admin.close()


@pytest.fixture
def broker():
    require_tcp("127.0.0.1", 5672, "RabbitMQ")
    scratch = Broker()
    yield scratch
    scratch.close()


@pytest.fixture
def api(broker):
    require_tcp("127.0.0.1", 15672, "RabbitMQ management API (enable it with .ci/setup.d/rabbitmq.sh)")
    return broker


@pytest.fixture
def password():
    # The shared broker only knows guest/guest, and a 5-character secret is refused (issue 14):
    # no password in the inventory means RabbitMQ's default, guest.
    return "~"


def wait_api(name: str, **expected: int) -> dict:
    """The API's record of `name` once its (sampled) counts are the expected ones."""
    deadline = time.monotonic() + 30
    while True:
        record = requests.get(f"{API_URL}/api/queues/%2F/{name}", auth=("guest", "guest"), timeout=5).json()
        if all(record.get(k) == v for k, v in expected.items()):
            return record
        assert time.monotonic() < deadline, f"API still shows {name} as {record.get('messages_ready')}/{record.get('messages_unacknowledged')}/{record.get('consumers')}"
        time.sleep(0.25)


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_queues_over_amqp(broker, suite, password, concurrency):
    """The same verdicts one probe at a time and four at once (each thread its own connection)."""
    idle = broker.queue("idle", messages=5)
    served = broker.queue("served", messages=5, prefetch=1)
    backlog = broker.queue("backlog", messages=7, prefetch=1)
    flood = broker.queue("flood", messages=13, prefetch=1)
    empty = broker.queue("empty")
    parked = broker.queue("parked", messages=3)
    missing = f"{broker.prefix}-missing"

    result = suite.run(
        "-m", "daily", f"--concurrency={concurrency}",
        inventory=f"""\
        rabbitmq:
          - name: mq
            url: "{AMQP_URL}"
            user: guest
            password: {password}
            queues:
              - {{name: {idle}}}
              - {{name: {served}}}
              - {{name: {backlog}, depth: {{warn: 5, crit: 10}}}}
              - {{name: {flood}, depth: {{warn: 5, crit: 10}}}}
              - {{name: {empty}}}
              - {{name: {parked}, min_consumers: 0}}
              - {{name: {missing}}}
        """,
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*= 3 failed, 3 passed*2 warned in *"])
    q = f"test_rabbitmq_queue[mq:{broker.prefix}"
    assert suite.verdicts() == {
        "test_rabbitmq_broker[mq]": "OK",
        f"{q}-idle]": "CRIT", f"{q}-served]": "OK", f"{q}-backlog]": "WARN", f"{q}-flood]": "CRIT",
        f"{q}-empty]": "WARN", f"{q}-parked]": "OK", f"{q}-missing]": "CRIT",
    }

    check = suite.check(f"test_rabbitmq_queue[mq:{idle}]")
    assert (check["value"], check["unit"], check["warn"], check["crit"]) == (5, "messages", 100, 1000)
    assert check["summary"] == f"{idle} 5 messages ready (warn 100, crit 1000): no consumer for 5 ready messages"
    assert check["evidence"] == {"via": "amqp passive declare", "vhost": "/", "name": idle, "messages_ready": 5, "consumers": 0}
    check = suite.check(f"test_rabbitmq_queue[mq:{served}]")
    assert (check["value"], check["evidence"]["consumers"]) == (4, 1)
    assert check["summary"] == f"{served} 4 messages ready (warn 100, crit 1000)"
    check = suite.check(f"test_rabbitmq_queue[mq:{backlog}]")
    assert check["summary"] == f"{backlog} 6 messages ready (warn 5, crit 10)"
    check = suite.check(f"test_rabbitmq_queue[mq:{flood}]")
    assert check["summary"] == f"{flood} 12 messages ready (warn 5, crit 10)"
    check = suite.check(f"test_rabbitmq_queue[mq:{empty}]")
    assert (check["value"], check["summary"]) == (0, f"{empty} 0 messages ready (warn 100, crit 1000): no consumer, queue empty")
    check = suite.check(f"test_rabbitmq_queue[mq:{missing}]")
    assert check["summary"] == f"mq:{missing}: queue {missing} does not exist in vhost /"
    broker_check = suite.check("test_rabbitmq_broker[mq]")
    assert broker_check["unit"] == "s" and 0 < broker_check["value"] < 10
    assert broker_check["summary"].startswith("RabbitMQ 3.") and " at 127.0.0.1:5672 " in broker_check["summary"]
    assert broker_check["evidence"]["alarms"] == "not checked: node alarms need management_url"

    # Read-only: nothing consumed, no queue created, no consumer left behind.
    assert broker.counts(idle) == (5, 0)
    assert broker.counts(served) == (4, 1)
    assert not broker.exists(missing)
    assert "guest" not in json.dumps(suite.results()) + result.stdout.str()


def test_wrong_password_is_unknown_and_a_dead_port_is_crit(broker, suite, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    port = free_port()
    result = suite.run(
        "-m", "daily",
        inventory=f"""\
        rabbitmq:
          - {{name: badpw, url: "{AMQP_URL}", user: guest, password: env:{PASSWORD_ENV}, queues: [{{name: anything}}]}}
          - {{name: gone, url: "amqp://127.0.0.1:{port}/%2F", timeout: 3s, queues: [{{name: anything}}]}}
        """,
    )
    assert result.ret == 1
    assert suite.verdicts() == {
        "test_rabbitmq_broker[badpw]": "UNKNOWN", "test_rabbitmq_broker[gone]": "CRIT",
        "test_rabbitmq_queue[badpw:anything]": "UNKNOWN", "test_rabbitmq_queue[gone:anything]": "CRIT",
    }
    assert suite.check("test_rabbitmq_broker[badpw]")["summary"].startswith("badpw: 127.0.0.1:5672 refused the login of user ")
    assert suite.check("test_rabbitmq_broker[gone]")["summary"].startswith(f"gone: cannot connect to 127.0.0.1:{port}: ")
    assert suite.check("test_rabbitmq_queue[gone:anything]")["value"] is None
    assert "not-the-password" not in json.dumps(suite.results()) + result.stdout.str()


def test_queues_through_the_management_api(api, suite, password):
    broker = api
    idle = broker.queue("idle", messages=5)
    served = broker.queue("served", messages=5, prefetch=1)
    backlog = broker.queue("backlog", messages=7, prefetch=1)
    inflight = broker.queue("inflight", messages=6, prefetch=6)
    wait_api(idle, messages_ready=5, consumers=0)
    wait_api(served, messages_ready=4, messages_unacknowledged=1, consumers=1)
    wait_api(backlog, messages_ready=6, consumers=1)
    wait_api(inflight, messages_ready=0, messages_unacknowledged=6, consumers=1)

    result = suite.run(
        "-m", "daily",
        inventory=f"""\
        rabbitmq:
          - name: mq
            url: "{AMQP_URL}"
            management_url: {API_URL}
            user: guest
            password: {password}
            queues:
              - {{name: {idle}}}
              - {{name: {served}, unacked: {{warn: 3, crit: 10}}}}
              - {{name: {backlog}, depth: {{warn: 5, crit: 10}}}}
              - {{name: {inflight}, unacked: {{warn: 3, crit: 10}}}}
              - {{pattern: "^{broker.prefix}-", unacked: {{warn: 3, crit: 10}}}}
        """,
    )
    assert result.ret == 1
    q = f"test_rabbitmq_queue[mq:{broker.prefix}"
    pattern_id = f"test_rabbitmq_queue[mq:/^{broker.prefix}-/]"
    assert suite.verdicts() == {
        "test_rabbitmq_broker[mq]": "OK",
        f"{q}-idle]": "CRIT", f"{q}-served]": "OK", f"{q}-backlog]": "WARN", f"{q}-inflight]": "WARN",
        pattern_id: "CRIT",
    }

    check = suite.check(f"test_rabbitmq_queue[mq:{inflight}]")
    assert check["value"] == 0 and check["evidence"]["messages_unacknowledged"] == 6
    assert check["summary"] == f"{inflight} 0 messages ready (warn 100, crit 1000): 6 unacknowledged (warn 3)"
    check = suite.check(f"test_rabbitmq_queue[mq:{served}]")
    assert check["evidence"]["via"] == "management api" and check["evidence"]["state"] == "running"
    assert (check["value"], check["evidence"]["messages_unacknowledged"], check["evidence"]["consumers"]) == (4, 1, 1)
    check = suite.check(f"test_rabbitmq_queue[mq:{idle}]")
    assert check["summary"] == f"{idle} 5 messages ready (warn 100, crit 1000): no consumer for 5 ready messages"

    check = suite.check(pattern_id)
    assert check["value"] == 6  # the deepest of the four: backlog
    assert check["evidence"]["matched"] == 4
    assert [r["name"] for r in check["evidence"]["queues"]] == sorted([idle, served, backlog, inflight])
    assert check["summary"] == (
        f"/^{broker.prefix}-/ (4 queues) 6 messages ready in {backlog}, the deepest (warn 100, crit 1000): "
        f"{idle}: no consumer for 5 ready messages; {inflight}: 6 unacknowledged (warn 3)"
    )

    broker_check = suite.check("test_rabbitmq_broker[mq]")
    (node,) = broker_check["evidence"]["nodes"]
    assert node["running"] is True and node["mem_alarm"] is False and node["disk_free_alarm"] is False
    assert node["name"].startswith("rabbit@")
    assert broker_check["summary"].startswith(f"RabbitMQ {broker_check['evidence']['version']}")
    assert " to answer the API" in broker_check["summary"]
    assert broker.counts(idle) == (5, 0)  # read-only through the API too


def test_pattern_that_matches_nothing_is_crit(api, tmp_path, password):
    path = tmp_path / "inventory.yml"
    path.write_text(
        f'rabbitmq: [{{url: "{AMQP_URL}", management_url: {API_URL}, user: guest, password: {password}, '
        f'queues: [{{pattern: "^{api.prefix}-none$"}}]}}]\n'
    )
    (target,) = get("rabbitmq_queue").targets(load_inventory(path))
    assert target.id == f"127.0.0.1:5672:/^{api.prefix}-none$/"
    result = evaluate(measure(target))
    assert result.verdict is Verdict.CRIT
    assert result.measurement.value is None and result.measurement.evidence["matched"] == 0
    assert result.summary == f"/^{api.prefix}-none$/: no queue in vhost / matches"


def _node() -> dict:
    (node,) = requests.get(f"{API_URL}/api/nodes", auth=("guest", "guest"), timeout=5).json()
    return node


def _wait_alarm(on: bool) -> None:
    deadline = time.monotonic() + 60
    while _node()["disk_free_alarm"] is not on:
        assert time.monotonic() < deadline, f"the disk alarm did not turn {'on' if on else 'off'}"
        time.sleep(0.5)


def test_a_disk_alarm_is_crit(api, tmp_path, password):
    """A real alarm: the free-disk limit raised above the disk's size, restored afterwards."""
    original = _node()["disk_free_limit"]
    subprocess.run(["rabbitmqctl", "-q", "set_disk_free_limit", "1000000GB"], check=True, capture_output=True)
    try:
        _wait_alarm(True)
        results = {}
        for alarms in ("true", "false"):
            path = tmp_path / "inventory.yml"
            path.write_text(
                f'rabbitmq: [{{name: mq, url: "{AMQP_URL}", management_url: {API_URL}, user: guest, password: {password}, alarms: {alarms}}}]\n'
            )
            (target,) = get("rabbitmq").targets(load_inventory(path))
            results[alarms] = evaluate(measure(target))
    finally:
        subprocess.run(["rabbitmqctl", "-q", "set_disk_free_limit", str(original)], check=True, capture_output=True)
        _wait_alarm(False)
    alarmed = results["true"]
    assert alarmed.verdict is Verdict.CRIT
    node = alarmed.measurement.evidence["nodes"][0]
    assert node["disk_free_alarm"] is True and node["disk_free_limit"] == 1_000_000 * 10**9
    assert f"disk alarm on {node['name']}: " in alarmed.summary
    assert "free, limit 909.5TiB (publishers are blocked)" in alarmed.summary
    assert results["false"].verdict is Verdict.OK  # `alarms: false` leaves alarms to another monitor


def test_a_cached_connection_the_broker_closed_is_replaced(api, password, tmp_path, monkeypatch):
    """Probes reuse one AMQP connection per thread; one the broker dropped is reopened, once."""
    from opscheck.probes.rabbitmq import clients

    clients.close_all()  # start without a connection cached on this thread
    opened = []
    real_open = clients._open
    ports = []  # the local port of each connection opened: the shared broker also lists other runs' probes

    def spy(*args):  # still connects
        opened.append(args)
        connection = real_open(*args)
        ports.append(connection._impl._transport._sock.getsockname()[1])
        return connection

    monkeypatch.setattr(clients, "_open", spy)

    name = api.queue("reuse", messages=2)
    path = tmp_path / "inventory.yml"
    path.write_text(f'rabbitmq: [{{url: "{AMQP_URL}", user: guest, password: {password}}}]\n')
    item = load_inventory(path).rabbitmq[0]
    assert clients.passive_declare(item, name, 5) == (2, 0)
    assert clients.passive_declare(item, name, 5) == (2, 0)
    assert len(opened) == 1

    auth = ("guest", "guest")
    deadline = time.monotonic() + 30
    while True:  # the API lists a new connection after its next statistics tick
        ours = [c["name"] for c in requests.get(f"{API_URL}/api/connections", auth=auth, timeout=5).json()
                if c.get("client_properties", {}).get("connection_name") == clients.CONNECTION_NAME
                and c.get("peer_port") == ports[0]]
        if ours:
            break
        assert time.monotonic() < deadline, "the probe's connection never showed up in the API"
        time.sleep(0.25)
    for connection in ours:
        requests.delete(f"{API_URL}/api/connections/{requests.utils.quote(connection, safe='')}", auth=auth, timeout=5)

    assert clients.passive_declare(item, name, 5) == (2, 0)
    assert len(opened) == 2
