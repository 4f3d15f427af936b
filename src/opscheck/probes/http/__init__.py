"""`http:` — one check per endpoint: `http` for http(s):// URLs, `websocket` for ws(s)://.

Probes live in `endpoint` (requests, redirects, bodies, JSON rules) and
`websocket` (the upgrade handshake); `attempts` retries both alike.
"""

from __future__ import annotations

from opscheck.registry import Kind
from opscheck.targets import per_entry


def _endpoints(websocket: bool):
    return per_entry(
        lambda p: p.item.label, when=lambda item: item.websocket == websocket,
        threshold=lambda p: p.item.latency.threshold() if p.item.latency else None, retries=lambda item: item.retries,
    )


KINDS = (
    Kind("http", "http endpoint", "http", _endpoints(False), ".endpoint:probe"),
    Kind("websocket", "websocket upgrade", "http", _endpoints(True), ".websocket:probe"),
)
