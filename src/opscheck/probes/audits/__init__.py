"""`audits:` — dependency vulnerabilities counted by severity (`npm audit --json`, `pip-audit -f json`)."""

from __future__ import annotations

from opscheck.registry import Kind
from opscheck.targets import per_host


def _total(p):
    limits = p.item.limits().get("total")
    return limits.threshold() if limits is not None else None


KINDS = (
    Kind("audit", "dependency audit", "audits", per_host(
        id=lambda p: f"{p.host.name}:{p.item.name or p.item.path}", threshold=_total, spec=lambda p: p.item,
    ), ".tools:probe"),
)
