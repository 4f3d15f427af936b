"""`tls:` — certificates: of a TLS endpoint (`tls_endpoint`) or of a PEM file on a host (`cert_file`);
protocols older than `min_protocol` an endpoint still accepts (`tls_protocols`).

Probes live in `endpoint` (the handshake, `openssl s_client`), `protocols` (one
handshake per old protocol) and `files` (`openssl x509` on a file); `x509info`
reads certificates for both.
"""

from __future__ import annotations

from opscheck.registry import Kind
from opscheck.targets import per_entry, per_host


def _endpoint_id(p) -> str:
    """The entry's `name:`, else `servername@host:port` (or `host:port`)."""
    return p.item.name or (f"{p.item.servername}@{p.item.endpoint}" if p.item.servername else p.item.endpoint)


KINDS = (
    Kind("tls_endpoint", "tls certificate", "tls", per_entry(
        _endpoint_id, when=lambda item: item.endpoint is not None, threshold=lambda p: p.item.days.threshold(),
    ), ".endpoint:probe"),
    Kind("tls_protocols", "tls old protocols", "tls", per_entry(
        _endpoint_id, when=lambda item: item.endpoint is not None and item.old_protocols,
    ), ".protocols:probe"),
    Kind("cert_file", "certificate file", "tls", per_host(
        id=lambda p: f"{p.host.name}:{p.item.name or p.item.file}", when=lambda item: item.file is not None,
        threshold=lambda p: p.item.days.threshold(),
    ), ".files:probe"),
)
