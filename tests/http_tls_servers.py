"""Real servers on loopback for the HTTP/TLS tests, and certificates made to expire on chosen days.

Imported by tests/test_http*.py and tests/test_tls*.py (not a test module itself).
Every server binds 127.0.0.1 port 0 and stops in `close()`, joining its threads.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def healthy_document() -> dict:
    return {
        "status": "healthy",
        "paperTradingMode": True,
        "realTradesBlocked": True,
        "isVirtual": True,
        "daily_pnl": -12.5,
        "positions": [{"symbol": "BTC"}, {"symbol": "ETH"}],
        "last_trade": (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(),
    }


class _Handler(BaseHTTPRequestHandler):
    server: HttpServer  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def log_message(self, *args) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.hits[url.path] += 1
        route = getattr(self, "route_" + url.path.strip("/").replace("-", "_"), None)
        if route is None:
            self.answer(404, {"error": "no such route"})
        else:
            route(query)

    do_POST = do_GET

    def do_HEAD(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def answer(self, status: int, document=None, body: bytes | None = None, content_type="application/json") -> None:
        payload = body if body is not None else json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Set-Cookie", "session=cookie-value-not-secret")
        self.end_headers()
        self.wfile.write(payload)

    def route_health(self, query) -> None:
        self.answer(200, healthy_document())

    def route_unhealthy(self, query) -> None:
        self.answer(200, {**healthy_document(), "status": "degraded", "daily_pnl": -72.5, "positions": []})

    def route_unsafe(self, query) -> None:
        self.answer(200, {**healthy_document(), "paperTradingMode": False})

    def route_stale(self, query) -> None:
        old = (datetime.now(timezone.utc) - timedelta(hours=7, minutes=30)).isoformat()
        self.answer(200, {**healthy_document(), "last_trade": old})

    def route_wrong_status(self, query) -> None:
        self.answer(503, {"status": "maintenance"})

    def route_text(self, query) -> None:
        self.answer(200, body=b"<html>all systems nominal</html>", content_type="text/html")

    def route_slow(self, query) -> None:
        time.sleep(float(query.get("ms", "300")) / 1000)
        self.answer(200, healthy_document())

    def route_hang(self, query) -> None:
        self.server.stopping.wait(60)  # accepts, reads the request, never answers

    def route_flap(self, query) -> None:
        key = query.get("key", "")
        self.server.flaps[key] += 1
        if self.server.flaps[key] <= int(query.get("fail", "2")):
            self.answer(503, {"status": "starting"})
        else:
            self.answer(200, healthy_document())

    def route_echo(self, query) -> None:
        sent = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        body = json.loads(sent) if sent.startswith(b"{") else sent.decode()
        self.answer(200, {"method": self.command, "headers": dict(self.headers.items()), "body": body, "status": "healthy"})

    def route_padded(self, query) -> None:
        """`pad` characters, then the X-Client-Ident header echoed: a secret where an excerpt is cut."""
        text = "x" * int(query.get("pad", "1990")) + self.headers.get("X-Client-Ident", "") + "y" * 100
        self.answer(200, body=text.encode(), content_type="text/plain")

    def route_ws(self, query) -> None:
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if self.headers.get("Upgrade", "").lower() != "websocket":
            self.answer(426, {"error": "upgrade required"})
            return
        if query.get("bad") == "accept":
            accept = "d3JvbmcgYWNjZXB0IHZhbHVl"
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.close_connection = True


class HttpServer(ThreadingHTTPServer):
    """healthy, unhealthy, unsafe, stale, wrong status, slow, hung, flapping, echo, websocket routes."""

    daemon_threads = True
    request_queue_size = 256  # the concurrency test opens many connections at once

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter = Counter()
        self.flaps: Counter = Counter()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        self.thread.join(5)


# --- certificates -----------------------------------------------------------------------------

@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def issue(
    common_name: str,
    *,
    days: float = 400,
    issuer: Issued | None = None,
    ca: bool = False,
    names: tuple[str, ...] = ("localhost", "127.0.0.1"),
    valid_from_days: float = -1,
) -> Issued:
    """A certificate valid from `valid_from_days` to `days` from now, signed by `issuer` (self-signed if None)."""
    now = datetime.now(timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=valid_from_days))
        # An hour of slack so "20 days" still reads 20 whole days when the check runs.
        .not_valid_after(now + timedelta(days=days, hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
    else:
        sans = [x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n) for n in names]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    signer = issuer.key if issuer else key
    return Issued(builder.sign(signer, hashes.SHA256()), key)


class Pki:
    """A test CA in a folder; `leaf()` writes a server cert (+ chain) and key, returns their paths."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ca = issue("opscheck test root CA", days=3650, ca=True)
        self.ca_file = folder / "ca.pem"
        self.ca_file.write_bytes(self.ca.pem())

    def write(self, stem: str, leaf: Issued, chain: tuple[Issued, ...] = ()) -> tuple[Path, Path]:
        cert_path, key_path = self.folder / f"{stem}.pem", self.folder / f"{stem}.key"
        cert_path.write_bytes(leaf.pem() + b"".join(c.pem() for c in chain))
        key_path.write_bytes(leaf.key_pem())
        return cert_path, key_path

    def leaf(self, stem: str, days: float = 400, **kwargs) -> tuple[Path, Path]:
        return self.write(stem, issue(f"{stem}.test", days=days, issuer=self.ca, **kwargs))


class TlsServer:
    """A TLS server presenting `certfile` (leaf first, then its chain); answers a tiny HTTP 200."""

    def __init__(self, certfile: Path, keyfile: Path, max_version: ssl.TLSVersion | None = None) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certfile, keyfile)
        if max_version is not None:
            self.context.maximum_version = max_version
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.endpoint = f"127.0.0.1:{self.port}"
        self.stopping = threading.Event()
        self.workers: list[threading.Thread] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.workers.append(worker)
            worker.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = tls.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\nConnection: close\r\n\r\n{\"status\":\"healthy\"}")
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()
        for worker in self.workers:
            worker.join(6)
