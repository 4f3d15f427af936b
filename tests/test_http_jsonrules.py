"""JSON expectations on their own: paths, JSON equality, comparisons, presence, length, freshness."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from opscheck.inventory.jsonrules import parse_rules, parse_steps, unmet

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
DOC = {
    "ok": True, "count": 1, "pnl": -12.5, "name": "api-2.4.1", "items": [{"id": 7}, {"id": 9}],
    "meta": {"a.b": "dotted"}, "at": "2026-11-22T10:30:00Z", "epoch_ms": 1795348800000, "nothing": None,
}


def problems(spec: dict) -> list[str | None]:
    return [unmet(rule, DOC, NOW) for rule in parse_rules(spec)]


def test_paths():
    assert parse_steps('items[0].id') == ("items", 0, "id")
    assert parse_steps('meta["a.b"]') == ("meta", "a.b")
    assert parse_steps("items[-1]") == ("items", -1)
    for bad in ("a..b", ".a", "a[x]", 'a["b'):
        with pytest.raises(ValueError, match="not a JSON path"):
            parse_steps(bad)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"ok": True, "items[1].id": 9, 'meta["a.b"]': "dotted", "nothing": None}, [None] * 4),
        ({"count": True}, ["count: expected true, found 1"]),
        ({"ok": 1}, ["ok: expected 1, found true"]),
        ({"count": 1.0, "items": {"eq": [{"id": 7}, {"id": 9}]}}, [None, None]),
        ({"pnl": {"gt": -50, "lt": -20}}, [None, "pnl: expected < -20, found -12.5"]),
        ({"name": {"gt": 1}}, ['name: expected > 1, found "api-2.4.1" (not a number)']),
        ({"name": {"matches": r"^api-2\."}, "count": {"in": [2, 3]}}, [None, "count: expected one of [2, 3], found 1"]),
        ({"ok": {"ne": True}}, ["ok: expected not true, found true"]),
        ({"missing": {"absent": True}, "ok": {"exists": True}, "nothing": {"exists": True}}, [None, None, None]),
        ({"ok": {"absent": True}}, ["ok: expected absent, found true"]),
        ({"missing.deeper": 1}, ["missing.deeper: expected 1, found nothing (no such path)"]),
        ({"items": {"length": 2}, "name": {"length": {"ge": 20}}}, [None, "name: expected length >= 20, found length 9"]),
        ({"count": {"length": 1}}, ["count: expected length 1, found 1 (has no length)"]),
        ({"at": {"newer_than": "4h"}}, [None]),
        ({"at": {"newer_than": "1h"}}, ['at: expected newer than 1h, found "2026-11-22T10:30:00Z" (1.5h old)']),
        ({"epoch_ms": {"newer_than": "2d"}}, [None]),
        ({"name": {"newer_than": "1h"}}, ['name: expected newer than 1h, found "api-2.4.1" (not a timestamp)']),
    ],
)
def test_expectations(spec, expected):
    assert problems(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"a": {"gte": 1}}, "a: unknown operator 'gte'"),
        ({"a": {"in": 1}}, "a.in: expected a list, found 1"),
        ({"a": {"length": "many"}}, "a.length: expected a count or {gt/ge/lt/le/eq/ne: count}, found 'many'"),
        ({"a": {"newer_than": 4}}, "a.newer_than: expected a duration like 30s, 5m, 4h, 7d, found 4"),
        ({"a": {"matches": "("}}, "a.matches: not a valid regular expression"),
        ({"a": {"exists": "yes"}}, "a.exists: expected true or false, found 'yes'"),
        ({"a": {}}, "a: an empty mapping"),
    ],
)
def test_mistakes(spec, message):
    with pytest.raises(ValueError) as caught:
        parse_rules(spec)
    assert message in str(caught.value)
