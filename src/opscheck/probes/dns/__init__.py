"""`dns:` — a name resolves to the expected answers, fast enough (`dig +short`).

The probe (`resolve`) needs dnspython, imported when the first dns target is measured.
"""

from __future__ import annotations

from opscheck.registry import Kind
from opscheck.targets import per_entry


def _id(item) -> str:
    name = item.query if item.type == "A" else f"{item.query}/{item.type}"
    return f"{name}@{item.server}" if item.server else name


KINDS = (
    Kind("dns", "dns resolves", "dns", per_entry(lambda p: p.item.name or _id(p.item),
                                                   threshold=lambda p: p.item.latency.threshold()), ".resolve:probe"),
)
