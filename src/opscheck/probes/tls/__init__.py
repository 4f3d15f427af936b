"""`tls:` — certificates: of a TLS endpoint (`tls_endpoint`) or of a PEM file on a host (`cert_file`).

Probes live in `endpoint` (the handshake, `openssl s_client`) and `files`
(`openssl x509` on a file); `x509info` reads certificates for both.
"""

from __future__ import annotations

from opscheck.registry import Kind
from opscheck.targets import per_entry, per_host

KINDS = (
    Kind("tls_endpoint", "tls certificate", "tls", per_entry(
        lambda p: p.item.name or (f"{p.item.servername}@{p.item.endpoint}" if p.item.servername else p.item.endpoint),
        when=lambda item: item.endpoint is not None, threshold=lambda p: p.item.days.threshold(),
    ), ".endpoint:probe"),
    Kind("cert_file", "certificate file", "tls", per_host(
        id=lambda p: f"{p.host.name}:{p.item.name or p.item.file}", when=lambda item: item.file is not None,
        threshold=lambda p: p.item.days.threshold(),
    ), ".files:probe"),
)
