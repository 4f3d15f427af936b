"""The postgres: and redis: inventory sections: defaults, switches, expectations, and the
mistakes that must stop a run (passwords in the inventory above all)."""

from __future__ import annotations

import textwrap

import pytest

from opscheck.errors import InventoryError
from opscheck.inventory.loader import load_inventory
from opscheck.inventory.sections.postgres import parse_expectation
from opscheck.registry import get


def load(tmp_path, text: str):
    path = tmp_path / "inv.yml"
    path.write_text(textwrap.dedent(text))
    return load_inventory(path)


def problems(tmp_path, text: str) -> list[str]:
    with pytest.raises(InventoryError) as info:
        load(tmp_path, text)
    return [p.split(": ", 1)[1] for p in info.value.problems]


def test_mistakes_one_line_each_and_no_password_echoed(tmp_path):
    found = problems(tmp_path, """
        postgres:
          - name: main
            dsn: postgresql://app:hunter2-Secret@db/app
            connections: {warn: 95%, crit: 90%}
            long_running: {warn: 5}
            assertions:
              - {name: x, sql: "select 1", expect: [1]}
              - {sql: "select 1", expect: 0}
        redis:
          - {url: "redis://:pw-Secret-1@h:6379", memory: {warn: 80%, crit: 70%}, hit_ratio: {warn: 50%, crit: 80%}}
          - {url: "http://h"}
        """)
    assert found == [
        "postgres[0].dsn: a password does not belong in the inventory: use dsn: env:NAME / file:/path, or password: env:NAME",
        "postgres[0].connections: warn 95% is above crit 90% (warn must come first as the value rises)",
        "postgres[0].long_running.warn: expected a duration like 30s, 5m, 4h, 7d, found 5",
        "postgres[0].assertions[0].expect: expected a value (0, 'ok', true), a comparison ('< 5') or {rows: 0}",
        "postgres[0].assertions[1].name: required",
        "redis[0].url: a password does not belong in the inventory: use url: env:NAME, or password: env:NAME",
        "redis[0].memory: warn 80% is above crit 70% (warn must come first as the value rises)",
        "redis[0].hit_ratio: warn 50% is below crit 80% (warn must come first as the value falls)",
        "redis[1].url: expected a redis://, rediss:// or unix:// URL, found scheme 'http'",
    ]
    assert not any("hunter2" in p or "pw-Secret" in p for p in found)


def test_password_from_env_is_fine_and_registered_as_secret(tmp_path, monkeypatch):
    from opscheck.redact import redact

    monkeypatch.setenv("OPSCHECK_TEST_DSN", "postgresql://app:Env-Secret-771@db.internal:5432/app")
    inv = load(tmp_path, "postgres:\n  - {dsn: env:OPSCHECK_TEST_DSN}\n")
    (target,) = get("pg_connect").targets(inv)
    assert target.id == "app@db.internal"  # derived from the DSN, without its password
    assert redact("password authentication failed, password Env-Secret-771") == "password authentication failed, password ***"


def test_every_aspect_on_by_default_and_false_turns_one_off(tmp_path):
    inv = load(tmp_path, """
        postgres:
          - {name: main, dsn: "host=db dbname=app user=opscheck", slow_queries: false, assertions: [{name: a, sql: "SELECT 1", expect: 1}]}
        redis:
          - {name: cache, url: "redis://cache:6379", hit_ratio: false, memory: {crit: 90%}}
        """)
    pg = {k: [t.id for t in get(k).targets(inv)] for k in (
        "pg_connect", "pg_connections", "pg_blocked", "pg_long_running", "pg_idle_in_transaction", "pg_database_size",
        "pg_wraparound", "pg_replication", "pg_dead_tuples", "pg_unused_indexes", "pg_slow_queries", "pg_assertion")}
    assert pg.pop("pg_slow_queries") == []
    assert pg.pop("pg_assertion") == ["main:a"]
    assert set(map(tuple, pg.values())) == {("main",)}
    (memory,) = get("redis_memory").targets(inv)
    assert (memory.threshold.warn, memory.threshold.crit) == (80.0, 90.0)
    assert get("redis_hit_ratio").targets(inv) == []
    (blocked,) = get("pg_blocked").targets(inv)
    assert (blocked.threshold.warn, blocked.threshold.crit) == (None, 0)


def test_assertion_inherits_severity_schedule_runbook_from_its_database(tmp_path):
    inv = load(tmp_path, """
        defaults: {timeout: 7s}
        postgres:
          - name: main
            dsn: "host=db dbname=app"
            severity: high
            schedule: [smoke]
            runbook: https://wiki/db
            assertions:
              - {name: plain, sql: "SELECT 1", expect: 1}
              - {name: own, sql: "SELECT 1", expect: 1, severity: critical, schedule: [weekly], runbook: https://wiki/own, timeout: 2s}
        """)
    plain, own = get("pg_assertion").targets(inv)
    assert (plain.severity, plain.schedules, plain.runbook, plain.timeout) == ("high", ("smoke",), "https://wiki/db", 7.0)
    assert (own.severity, own.schedules, own.runbook, own.timeout) == ("critical", ("smoke", "weekly"), "https://wiki/own", 2.0)


@pytest.mark.parametrize(("raw", "of", "op", "operand"), [
    (0, "value", "==", 0),
    ("ok", "value", "==", "ok"),
    (True, "value", "==", True),
    ("< 5", "value", "<", 5),
    (">=1.5", "value", ">=", 1.5),
    ("= 3", "value", "==", 3),
    ({"rows": 0}, "rows", "==", 0),
    ({"rows": "> 0"}, "rows", ">", 0),
    ({"value": "!= 0"}, "value", "!=", 0),
])
def test_expectation_forms(raw, of, op, operand):
    e = parse_expectation(raw)
    assert (e.of, e.op, e.operand) == (of, op, operand)


@pytest.mark.parametrize("raw", [None, [0], {"rows": -1}, {"rows": "many"}, {"count": 0}])
def test_bad_expectations(raw):
    with pytest.raises(ValueError):
        parse_expectation(raw)


def test_example_inventory_postgres_and_redis_sections_are_valid(tmp_path, monkeypatch):
    """The documented example must load, with every aspect it documents."""
    import yaml

    from conftest import ROOT

    monkeypatch.setenv("DATABASE_URL", "postgresql://opscheck@db-1.internal/trading")
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/0")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "replica.dsn").write_text("host=db-2.internal dbname=trading user=opscheck\n")
    data = yaml.safe_load((ROOT / "inventories" / "example-production.yml").read_text())
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({key: data[key] for key in ("postgres", "redis")}))
    inventory = load_inventory(path)
    assert [t.id for t in get("pg_assertion").targets(inventory)] == [
        "main:no real trades", "main:no REAL_TRADE_ATTEMPT audit rows"]
    assert [t.id for t in get("pg_slow_queries").targets(inventory)] == ["main"]
    assert [t.id for t in get("pg_blocked").targets(inventory)] == ["main", "replica", "reporting"]
    # reporting: only: [connect, blocked_queries]; sessions: only: [ping, memory]; the opt-in aspects on main only.
    assert [t.id for t in get("pg_connections").targets(inventory)] == ["main", "replica"]
    assert [t.id for t in get("pg_sequences").targets(inventory)] == ["main"]
    assert [t.id for t in get("pg_archiver").targets(inventory)] == ["main"]
    assert [t.id for t in get("redis_memory").targets(inventory)] == ["cache", "sessions"]
    assert [t.id for t in get("redis_clients").targets(inventory)] == ["cache"]
    (size,) = [t for t in get("pg_database_size").targets(inventory) if t.id == "main"]
    assert size.threshold.warn == 400 * 10**9
    assert [t.id for t in get("redis_hit_ratio").targets(inventory)] == ["cache"]
