"""WebSocket upgrades: the runbook's `curl -H "Upgrade: websocket"` expecting 101.

Only the opening handshake (RFC 6455 §4): the server must answer 101 with
`Upgrade: websocket` and the Sec-WebSocket-Accept that matches our key. No frame
is sent; the connection is closed right after, so the check changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import ssl
import time
from urllib.parse import urlsplit

from opscheck.inventory.sections.http import HttpItem
from opscheck.measurement import Measurement, Target
from opscheck.probes.http.attempts import Attempt
from opscheck.probes.http.endpoint import mask_headers, measure_attempts
from opscheck.units import format_duration

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455's fixed accept salt
MAX_HEAD = 64 * 1024


class _Broken(Exception):
    """The server answered, but not with a valid upgrade."""


def probe(target: Target) -> Measurement:
    return measure_attempts(target, _attempt, tls_scheme="wss", label="upgrade")


def _attempt(item: HttpItem, number: int, timeout: float) -> Attempt:
    attempt = Attempt(number)
    started = time.monotonic()
    key = base64.b64encode(os.urandom(16)).decode()
    try:
        status_line, headers = _handshake(item, key, timeout, started + timeout)
        attempt.elapsed_s = time.monotonic() - started
        status = int(status_line.split()[1])
        attempt.record = {
            "status": status,
            "reason": status_line.split(" ", 2)[2] if status_line.count(" ") >= 2 else "",
            "evidence": {"response": {"status_line": status_line, "headers": mask_headers(headers), "elapsed_ms": round(attempt.elapsed_s * 1000, 1)}},
        }
        attempt.problems = _problems(item, status, headers, key)
    except TimeoutError:
        attempt.error = f"timed out after {format_duration(timeout)} waiting for the upgrade"
    except ssl.SSLCertVerificationError as exc:
        attempt.error = f"TLS handshake failed: {exc.verify_message or exc.reason}"
    except ssl.SSLError as exc:
        attempt.error = f"TLS handshake failed: {exc.reason or exc}"
    except _Broken as exc:
        attempt.error = str(exc)
    except OSError as exc:
        attempt.error = f"cannot connect: {exc.strerror or exc}"
    if attempt.error is not None:
        attempt.elapsed_s = time.monotonic() - started
    return attempt


def _handshake(item: HttpItem, key: str, timeout: float, deadline: float) -> tuple[str, dict[str, str]]:
    url = urlsplit(item.url)
    secure = url.scheme == "wss"
    port = url.port or (443 if secure else 80)
    host_header = url.hostname if url.port is None else f"{url.hostname}:{url.port}"
    lines = [
        f"GET {url.path or '/'}{'?' + url.query if url.query else ''} HTTP/1.1",
        f"Host: {host_header}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{k}: {v.reveal()}" for k, v in item.headers.items()),
    ]
    with socket.create_connection((url.hostname, port), timeout=timeout) as raw:
        sock = _tls(item).wrap_socket(raw, server_hostname=url.hostname) if secure else raw
        with sock:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            head = b""
            while b"\r\n\r\n" not in head:
                sock.settimeout(max(0.05, deadline - time.monotonic()))
                chunk = sock.recv(4096)
                if not chunk:
                    raise _Broken(f"the server closed the connection after {len(head)} bytes, before a full answer")
                head += chunk
                if len(head) > MAX_HEAD:
                    raise _Broken(f"no end of headers in the first {MAX_HEAD} bytes")
    text = head.split(b"\r\n\r\n", 1)[0].decode("iso-8859-1")
    status_line, *header_lines = text.split("\r\n")
    if not status_line.startswith("HTTP/") or len(status_line.split()) < 2 or not status_line.split()[1].isdigit():
        raise _Broken(f"not an HTTP answer: {status_line[:80]!r}")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    return status_line, headers


def _tls(item: HttpItem) -> ssl.SSLContext:
    if item.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=item.ca_file)


def _problems(item: HttpItem, status: int, headers: dict[str, str], key: str) -> list[str]:
    problems = []
    if status not in item.statuses:
        problems.append(f"status {status}, expected {' or '.join(str(s) for s in item.statuses)} (no upgrade)")
        return problems
    lower = {k.lower(): v for k, v in headers.items()}
    if status == 101:
        if lower.get("upgrade", "").lower() != "websocket":
            problems.append(f"Upgrade header {lower.get('upgrade', 'missing')!r}, expected 'websocket'")
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if lower.get("sec-websocket-accept") != accept:
            problems.append(f"Sec-WebSocket-Accept {lower.get('sec-websocket-accept', 'missing')!r} does not answer our key (a proxy that does not speak WebSocket?)")
    return problems


