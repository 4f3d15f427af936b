"""The `rabbitmq:` and `memcached:` sections refuse what they cannot check, one line per problem."""

from __future__ import annotations

import pytest

from opscheck.errors import InventoryError
from opscheck.inventory import load_inventory
from opscheck.registry import get

BAD = """\
rabbitmq:
  - url: "amqp://127.0.0.1:5672/%2F"
    queues:
      - {pattern: "^email\\\\."}
      - {name: jobs, unacked: {warn: 5}}
  - url: "http://x"
  - url: "amqp://app:hunter2@x/%2F"
  - url: "amqp://x"
    password: guest
  - url: "amqp://x"
    management_url: "http://u:p@h:15672"
    queues: [{name: a, pattern: b}, {pattern: "(("}, {name: c, depth: {warn: 10, crit: 5}}]
memcached:
  - {address: "c:0"}
"""


def test_every_problem_is_named_with_its_line(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text(BAD)
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert [p.replace(str(path), "bad.yml") for p in info.value.problems] == [
        "bad.yml:2: rabbitmq[0]: queues[0].pattern needs management_url (AMQP cannot list queues)",
        "bad.yml:6: rabbitmq[1].url: expected an amqp:// or amqps:// URL, found scheme 'http'",
        "bad.yml:7: rabbitmq[2].url: a password does not belong in the inventory: password: env:NAME, or the whole url from env:NAME",
        "bad.yml:9: rabbitmq[3].password: secrets do not belong in the inventory: use env:NAME or file:/path",
        "bad.yml:11: rabbitmq[4].management_url: credentials do not belong in management_url: use user and password (env:NAME)",
        "bad.yml:12: rabbitmq[4].queues[0]: give exactly one of name (a queue) or pattern (a regex over queue names)",
        "bad.yml:12: rabbitmq[4].queues[1].pattern: not a regular expression: missing ), unterminated subpattern at position 1",
        "bad.yml:12: rabbitmq[4].queues[2].depth: warn 10 is above crit 5 (warn must come first as the value rises)",
        "bad.yml:14: memcached[0].address: expected host:port with a port 1-65535, found 'c:0'",
    ]
    assert "u:p" not in str(info.value) and "hunter2" not in str(info.value)


def test_unacked_needs_the_api(tmp_path):
    path = tmp_path / "inv.yml"
    path.write_text('rabbitmq: [{url: "amqp://h/%2F", queues: [{name: jobs, unacked: {warn: 5}}]}]\n')
    with pytest.raises(InventoryError, match=r"queues\[0\].unacked needs management_url"):
        load_inventory(path)


def test_targets_ids_defaults_and_credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("MQ_PASSWORD", "s3cret-pw")
    path = tmp_path / "inv.yml"
    path.write_text(
        "rabbitmq:\n"
        '  - {url: "amqps://mq.internal:5671/orders", user: checker, password: env:MQ_PASSWORD,\n'
        "     management_url: https://mq.internal:15671, timeout: 3s, severity: critical,\n"
        "     queues: [{name: payments}, {pattern: \"^email\\\\.\", min_consumers: 2}]}\n"
    )
    inventory = load_inventory(path)
    (broker,) = get("rabbitmq").targets(inventory)
    queues = get("rabbitmq_queue").targets(inventory)
    assert (broker.id, broker.check, broker.timeout, broker.severity) == ("mq.internal:5671", "rabbitmq broker", 3.0, "critical")
    assert [t.id for t in queues] == ["mq.internal:5671:payments", "mq.internal:5671:/^email\\./"]
    assert queues[0].threshold.describe() == "warn 100, crit 1000"
    assert queues[1].params["queue"].min_consumers == 2

    from opscheck.probes.rabbitmq import clients

    item = inventory.rabbitmq[0]
    assert clients.credentials(item) == ("checker", "s3cret-pw")
    assert (clients.vhost(item), clients.quoted_vhost(item)) == ("orders", "orders")
    assert "s3cret-pw" not in repr(item) and "s3cret-pw" not in str(item.model_dump())


def test_credentials_fall_back_to_the_url_then_guest(tmp_path):
    path = tmp_path / "inv.yml"
    path.write_text('rabbitmq: [{url: "amqp://127.0.0.1/%2F"}, {url: "amqp://app@127.0.0.1:5673/%2F"}]\n')
    from opscheck.probes.rabbitmq import clients

    first, second = load_inventory(path).rabbitmq
    assert clients.credentials(first) == ("guest", "guest")
    assert clients.credentials(second)[0] == "app"
    assert (clients.endpoint(second), clients.vhost(second), clients.quoted_vhost(second)) == ("127.0.0.1:5673", "/", "%2F")


def test_a_url_with_password_may_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MQ_URL", "amqp://app:hunter2-long@127.0.0.1:5673/%2F")
    path = tmp_path / "inv.yml"
    path.write_text("rabbitmq: [{url: env:MQ_URL}]\n")
    from opscheck.probes.rabbitmq import clients

    item = load_inventory(path).rabbitmq[0]
    assert clients.credentials(item) == ("app", "hunter2-long")
    (target,) = get("rabbitmq").targets(load_inventory(path))
    assert target.id == "127.0.0.1:5673" and "hunter2-long" not in repr(item)
