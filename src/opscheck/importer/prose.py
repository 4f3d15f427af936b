"""Thresholds written in prose, alert configs and KPI tables ("memory_usage > 95%", "ssl_days_left < 30")."""

from __future__ import annotations

import re
from dataclasses import dataclass

# metric -> words that name it (searched in the few words before the comparison)
METRICS = {
    "tls_days": r"ssl|tls|cert\w*|days?[_ ]left|expir\w*",
    "memory": r"mem\w*|ram",
    "cpu": r"cpu\w*|processor",
    "disk": r"disk\w*|filesystem|storage|space",
    "queue_depth": r"queue\w*|depth|backlog",
    "hit_ratio": r"hit[_ ]?(ratio|rate)",
    "latency": r"response[_ ]time|latency|p9\d",
    "load": r"load[_ ]?(avg|average)?",
    "replication": r"replication[_ ]lag|lag",
    "connections": r"connections?",
}
_OPS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "above": ">", "over": ">", "exceeds": ">", "exceed": ">",
        "more than": ">", "greater than": ">", "below": "<", "under": "<", "less than": "<", "at least": ">=",
        "at most": "<="}
_CMP = re.compile(r"(?P<subject>[A-Za-z_][\w ./:-]{0,40}?)\s*(?:should be|must be|is|stays?)?\s*"
                  r"(?P<op>>=|<=|>|<|above|over|exceeds?|more than|greater than|below|under|less than|at least|at most)\s*"
                  r"(?P<num>-?\d+(?:\.\d+)?)\s*(?P<unit>%|days?|ms|s\b|seconds?|minutes?|min\b|h\b|hours?)?", re.I)
_ROW = re.compile(r"^\s*\|(.+)\|\s*$")
_CELL = re.compile(r"(>=|<=|>|<)?\s*(-?\d+(?:\.\d+)?)\s*(?:-|–|to)?\s*(-?\d+(?:\.\d+)?)?\s*(%|days?|ms|s|h)?")


@dataclass(frozen=True)
class Hint:
    metric: str
    op: str
    value: float
    unit: str
    level: str        # warn or crit
    line: int
    text: str


def metric_of(subject: str) -> str | None:
    words = subject.lower()
    for metric, pattern in METRICS.items():
        if re.search(rf"(^|[\s_]){pattern}($|[\s_])", words) or re.search(pattern, words.split()[-1] if words.split() else ""):
            return metric
    return None


def _level(lines: list[str], index: int) -> str:
    """crit when the line, or the config lines right after it (an alert's severity), say so."""
    window = [lines[index]]
    for line in lines[index + 1 : index + 3]:
        if not line.strip() or _CMP.search(line) or line.lstrip().startswith(("|", "#")):
            break
        window.append(line)
    window = " ".join(window).lower()
    if re.search(r"\b(critical|crit|high|red|sev-?1|p1|page)\b", window):
        return "crit"
    return "warn"


def hints(lines: list[str]) -> list[Hint]:
    found: list[Hint] = []
    header: list[str] | None = None
    for index, line in enumerate(lines):
        row = _ROW.match(line)
        if row:
            cells = [c.strip().lower() for c in row.group(1).split("|")]
            if any(c in ("green", "ok", "good") for c in cells) and any(c in ("red", "critical", "crit") for c in cells):
                header = cells
                continue
            if header and len(cells) == len(header) and not set(line) <= set("|-: "):
                found.extend(_table_row(header, cells, index, line))
            continue
        header = None
        for match in _CMP.finditer(line):
            metric = metric_of(match.group("subject"))
            if not metric and re.search(r"target|threshold|goal|should|must|keep", match.group("subject"), re.I):
                metric = next((m for m in (metric_of(p) for p in reversed(lines[max(0, index - 2) : index])) if m), None)
            if metric:
                op = _OPS.get(match.group("op").lower(), match.group("op"))
                found.append(Hint(metric, op, float(match.group("num")), (match.group("unit") or "").lower(),
                                  _level(lines, index), index + 1, line.strip()))
    return found


def _table_row(header: list[str], cells: list[str], index: int, line: str) -> list[Hint]:
    metric = metric_of(cells[0])
    if not metric:
        return []
    out = []
    for column, level in (("yellow", "warn"), ("warning", "warn"), ("warn", "warn"), ("red", "crit"), ("critical", "crit"), ("crit", "crit")):
        if column not in header:
            continue
        match = _CELL.search(cells[header.index(column)])
        if not match:
            continue
        op, low, high, unit = match.groups()
        below = op in ("<", "<=")
        value = float(high) if (below and high) else float(low)
        if op is None and high:  # a range "80-90%": the boundary nearer green
            green = _CELL.search(cells[header.index("green")]) if "green" in header else None
            below = bool(green and green.group(1) in (">", ">="))
            value = float(high) if below else float(low)
        out.append(Hint(metric, "<" if below else ">", value, (unit or "").lower(), level, index + 1, line.strip()))
    return out


def limits(found: list[Hint], metric: str, near: int | None = None, with_unit: bool = False) -> dict:
    """warn/crit for `metric` from every hint that names it (the nearest wins per level)."""
    chosen: dict[str, Hint] = {}
    for hint in sorted((h for h in found if h.metric == metric), key=lambda h: abs(h.line - (near or h.line))):
        chosen.setdefault(hint.level, hint)
    return {level: ((hint.value, hint.unit) if with_unit else hint.value) for level, hint in chosen.items()}


def hint_lines(found: list[Hint], metric: str) -> list[Hint]:
    return [h for h in found if h.metric == metric]
