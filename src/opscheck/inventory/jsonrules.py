"""Expectations on paths into a JSON document: the runbooks' `jq .paperTradingMode`.

`paperTradingMode: true` is equality; a mapping of operators compares
(`daily_pnl: {gt: -50}`), tests presence (`error: {absent: true}`), list length
(`positions: {length: {le: 10}}`) or freshness (`last_trade: {newer_than: 4h}`).
Rules are parsed when the inventory loads, so a typo is an inventory error, and
each unmet rule says its path, what was expected and what was found.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from opscheck.redact import redact
from opscheck.units import describe_input, format_duration, parse_duration

COMPARISONS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
OPERATORS = ("eq", "ne", *COMPARISONS, "in", "matches", "exists", "absent", "length", "newer_than")
_STEP = re.compile(r"""\.?(?:([^.\[\]"]+)|\[(-?\d+)\]|\["([^"]+)"\])""")
_MISSING = object()


@dataclass(frozen=True)
class JsonRule:
    path: str
    steps: tuple[str | int, ...]
    op: str
    expected: Any

    def describe(self) -> str:
        """The expectation as a problem line shows it: `> -50`, `newer than 4h`."""
        op, value = self.op, self.expected
        if op == "eq":
            return show(value)
        if op == "ne":
            return f"not {show(value)}"
        if op in COMPARISONS:
            return f"{COMPARISONS[op]} {show(value)}"
        if op == "in":
            return f"one of {show(value)}"
        if op == "matches":
            return f"a match for /{value}/"
        if op == "exists":
            return "present" if value else "absent"
        if op == "absent":
            return "absent" if value else "present"
        if op == "length":
            return " and ".join(f"length {r.describe()}" for r in value)
        return f"newer than {format_duration(value)}"


def parse_steps(path: str) -> tuple[str | int, ...]:
    """`data.items[0]["a.b"]` -> ('data', 'items', 0, 'a.b'); a bad path raises ValueError."""
    steps: list[str | int] = []
    pos = 0
    while pos < len(path):
        match = _STEP.match(path, pos)
        if not match or match.end() == pos or (pos == 0 and path.startswith(".")):
            raise ValueError(f"{path}: not a JSON path (write keys.like[0].this, or [\"a.b\"] for a key with dots)")
        key, index, quoted = match.groups()
        steps.append(int(index) if index is not None else (quoted if quoted is not None else key))
        pos = match.end()
    if not steps:
        raise ValueError("an empty JSON path")
    return tuple(steps)


def parse_rules(mapping: dict[str, Any]) -> tuple[JsonRule, ...]:
    rules: list[JsonRule] = []
    for path, spec in mapping.items():
        if not isinstance(path, str):
            raise ValueError(f"expected a JSON path as key, found {describe_input(path)}")
        steps = parse_steps(path)
        if isinstance(spec, dict):
            if not spec:
                raise ValueError(f"{path}: an empty mapping (use {{eq: {{}}}} to expect an empty object)")
            for op, value in spec.items():
                rules.append(JsonRule(path, steps, op, _operand(path, op, value)))
        else:
            rules.append(JsonRule(path, steps, "eq", spec))
    return tuple(rules)


def _operand(path: str, op: Any, value: Any) -> Any:
    if op not in OPERATORS:
        raise ValueError(f"{path}: unknown operator {op!r} (known: {', '.join(OPERATORS)}; to expect a mapping write {{eq: {{...}}}})")
    if op in COMPARISONS and not _is_number(value):
        raise ValueError(f"{path}.{op}: expected a number, found {describe_input(value)}")
    if op == "in" and not isinstance(value, list):
        raise ValueError(f"{path}.in: expected a list, found {describe_input(value)}")
    if op == "matches":
        try:
            re.compile(str(value))
        except re.error as exc:
            raise ValueError(f"{path}.matches: not a valid regular expression: {exc}") from None
        return str(value)
    if op in ("exists", "absent") and not isinstance(value, bool):
        raise ValueError(f"{path}.{op}: expected true or false, found {describe_input(value)}")
    if op == "length":
        if isinstance(value, int) and not isinstance(value, bool):
            value = {"eq": value}
        if not isinstance(value, dict) or not value or any(k not in ("eq", "ne", *COMPARISONS) for k in value):
            raise ValueError(f"{path}.length: expected a count or {{gt/ge/lt/le/eq/ne: count}}, found {describe_input(value)}")
        return tuple(JsonRule(path, (), k, _operand(path, k, v)) for k, v in value.items())
    if op == "newer_than":
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise ValueError(f"{path}.newer_than: {exc}") from None
    return value


def lookup(document: Any, steps: tuple[str | int, ...]) -> Any:
    node = document
    for step in steps:
        in_list = isinstance(step, int) and isinstance(node, list) and -len(node) <= step < len(node)
        in_dict = isinstance(step, str) and isinstance(node, dict) and step in node
        if not (in_list or in_dict):
            return _MISSING
        node = node[step]
    return node


def unmet(rule: JsonRule, document: Any, now: datetime | None = None) -> str | None:
    """None when `rule` holds for `document`, else `path: expected X, found Y`."""
    found = lookup(document, rule.steps)
    failure = _failure(rule, found, now or datetime.now(timezone.utc))
    if failure is None:
        return None
    return f"{rule.path}: expected {rule.describe()}, found {failure}"


def _failure(rule: JsonRule, found: Any, now: datetime) -> str | None:
    op, expected = rule.op, rule.expected
    missing = found is _MISSING
    shown = "nothing (no such path)" if missing else show(found)
    if op == "exists":
        return None if (not missing) == expected else shown
    if op == "absent":
        return None if missing == expected else shown
    if missing:
        return shown
    if op == "eq":
        return None if same(found, expected) else shown
    if op == "ne":
        return shown if same(found, expected) else None
    if op in COMPARISONS:
        if not _is_number(found):
            return f"{shown} (not a number)"
        return None if _compare(op, found, expected) else shown
    if op == "in":
        return None if any(same(found, e) for e in expected) else shown
    if op == "matches":
        return None if isinstance(found, str) and re.search(expected, found) else shown
    if op == "length":
        if not isinstance(found, (list, dict, str)):
            return f"{shown} (has no length)"
        return None if all(_failure(r, len(found), now) is None for r in expected) else f"length {len(found)}"
    age = _age(found, now)
    if age is None:
        return f"{shown} (not a timestamp)"
    return None if age <= expected else f"{shown} ({format_duration(age)} old)"


def same(found: Any, expected: Any) -> bool:
    """JSON equality: `true` is not `1`, but `1` is `1.0`."""
    if isinstance(found, bool) or isinstance(expected, bool):
        return isinstance(found, bool) and isinstance(expected, bool) and found == expected
    if isinstance(found, list) and isinstance(expected, list):
        return len(found) == len(expected) and all(same(a, b) for a, b in zip(found, expected, strict=True))
    if isinstance(found, dict) and isinstance(expected, dict):
        return found.keys() == expected.keys() and all(same(found[k], expected[k]) for k in found)
    return found == expected


def show(value: Any, limit: int = 80) -> str:
    """A found value for a problem line: redacted before it is cut, so no half secret survives."""
    text = redact(json.dumps(value, default=str, ensure_ascii=False))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _compare(op: str, found: float, expected: float) -> bool:
    return {"gt": found > expected, "ge": found >= expected, "lt": found < expected, "le": found <= expected}[op]


def _age(value: Any, now: datetime) -> float | None:
    """Seconds since an ISO 8601 timestamp or a Unix time (seconds, or milliseconds)."""
    if _is_number(value):
        seconds = value / 1000 if value > 1e11 else value
        return now.timestamp() - seconds
    if not isinstance(value, str):
        return None
    try:
        text = value.strip()
        # Python 3.10's fromisoformat does not read a trailing Z.
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)  # services log UTC; a local guess would shift by hours
    return (now - when).total_seconds()
