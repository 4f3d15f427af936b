"""HTTP connections that time their phases as `curl -w` does, from the kernel's stamps.

urllib3 connections (under requests) that record DNS, connect, TLS handshake, time
to first byte and total, and whether the connection was reused. Connect is the
handshake's round trip from TCP_INFO; first byte and, on plain HTTP, the last byte
are the kernel's arrival stamps, measured from the stamp of the request's last byte
leaving (wireclock). So neither the GIL nor a busy CPU inflates them. Name lookup
and the TLS handshake (OpenSSL reads the socket itself) are timed by the runner's
clock, and so is an HTTPS body after its first byte; the evidence says which clock.
"""

from __future__ import annotations

import ipaddress
import socket
import time

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from opscheck.wireclock import WireClock, handshake_s, last_rx


class _StampedSocket(socket.socket):
    """A socket whose reads keep the kernel's arrival stamp of the last bytes read."""

    last_stamp: int | None = None

    def recv_into(self, buffer, nbytes: int = 0, flags: int = 0) -> int:
        view = memoryview(buffer).cast("B")
        if nbytes:
            view = view[:nbytes]
        count, stamp = last_rx(self, view, flags)
        if stamp:
            self.last_stamp = stamp
        return count


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class _Timed:
    """Mixed into urllib3's connections: `timing()` after the body was read."""

    _opscheck_host: str | None = None
    _opscheck_fresh = False
    _opscheck_clock: WireClock | None = None

    def _new_conn(self):
        host = self._opscheck_host = self._opscheck_host or self._dns_host
        dns_s = 0.0
        start = time.monotonic()
        if not _is_address(host):
            try:
                infos = socket.getaddrinfo(host, self.port, type=socket.SOCK_STREAM)
            except socket.gaierror:
                infos = []  # urllib3 resolves again and names the failure its own way
            dns_s = time.monotonic() - start
            if infos:
                self._dns_host = infos[0][4][0]
        begun = time.monotonic()
        sock = super()._new_conn()
        connect_s, kernel = handshake_s(sock, time.monotonic() - begun)
        self._opscheck_phases = {"dns_s": dns_s, "connect_s": connect_s, "tls_s": 0.0}
        self._opscheck_kernel = kernel
        self._opscheck_tcp_wall = time.monotonic() - start
        timeout = sock.gettimeout()
        stamped = _StampedSocket(sock.family, sock.type, sock.proto, fileno=sock.detach())
        stamped.settimeout(timeout)
        self._opscheck_stamped = stamped  # the response may outlive self.sock (Connection: close)
        return stamped

    def connect(self) -> None:
        start = time.monotonic()
        super().connect()
        if isinstance(self, HTTPSConnection):
            self._opscheck_phases["tls_s"] = max(time.monotonic() - start - self._opscheck_tcp_wall, 0.0)
        self._opscheck_fresh = True

    def request(self, method, url, body=None, headers=None, **kwargs):
        if self.sock is None:
            self.connect()
        fresh, self._opscheck_fresh = self._opscheck_fresh, False
        if not fresh:
            self._opscheck_phases = {"dns_s": 0.0, "connect_s": 0.0, "tls_s": 0.0}
            self._opscheck_kernel = True
        self._opscheck_reused = not fresh
        if isinstance(self.sock, _StampedSocket):
            self.sock.last_stamp = None
        self._close_clock()
        self._opscheck_first = None
        clock = self._opscheck_clock = WireClock(self.sock.fileno())
        clock.mark_send()
        try:
            super().request(method, url, body=body, headers=headers, **kwargs)
        except BaseException:
            self._close_clock()
            raise
        self._opscheck_sent = clock.sent()

    def getresponse(self):
        clock = self._opscheck_clock
        if clock is not None:
            self._opscheck_first = clock.arrival(self.sock.gettimeout(), after=self._opscheck_sent)
            self._opscheck_headers_at = time.monotonic()
            # Kept apart from the clock: http.client closes the connection under an answer
            # that says `Connection: close`, before its body is read.
            self._opscheck_first_kernel, self._opscheck_local = clock.kernel, clock.local
        return super().getresponse()

    def timing(self) -> dict | None:
        """Phases of the last request in seconds (after its body was read), or None if not timed."""
        if getattr(self, "_opscheck_first", None) is None:
            return None
        phases = dict(self._opscheck_phases)
        before = phases["dns_s"] + phases["connect_s"] + phases["tls_s"]
        first = (self._opscheck_first - self._opscheck_sent) / 1e9
        stamped = getattr(self, "_opscheck_stamped", None)
        last = stamped.last_stamp if stamped is not None and not isinstance(self, HTTPSConnection) else None
        if last is not None and last >= self._opscheck_first:
            transfer = (last - self._opscheck_first) / 1e9
            body_clock = "kernel"
        else:  # HTTPS: OpenSSL reads the socket, so the body after its first byte is on our clock
            transfer = max(time.monotonic() - self._opscheck_headers_at, 0.0) if isinstance(self, HTTPSConnection) else 0.0
            body_clock = "runner"
        phases["first_byte_s"] = before + first
        phases["total_s"] = before + first + transfer
        first_kernel = self._opscheck_first_kernel
        clocks = {
            "dns": "runner", "connect": "kernel" if self._opscheck_kernel else "runner", "tls": "runner",
            "first_byte": "kernel" if first_kernel else "runner", "body": body_clock if first_kernel else "runner",
        }
        local = self._opscheck_local
        self._close_clock()
        self._opscheck_first = None
        return {**{k: round(v, 6) for k, v in phases.items()}, "reused": self._opscheck_reused, "clocks": clocks,
                "client": local}

    def _close_clock(self) -> None:
        if self._opscheck_clock is not None:
            self._opscheck_clock.close()
            self._opscheck_clock = None

    def close(self) -> None:
        self._close_clock()
        super().close()


class TimedHTTPConnection(_Timed, HTTPConnection):
    pass


class TimedHTTPSConnection(_Timed, HTTPSConnection):
    pass


class _TimedHTTPPool(HTTPConnectionPool):
    ConnectionCls = TimedHTTPConnection


class _TimedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = TimedHTTPSConnection

    def _validate_conn(self, conn) -> None:
        # urllib3's own version warns on every unverified request. The check reports
        # `insecure: true` itself, and silencing the warning would mean editing the global
        # warning filters from a probe thread while pytest saves and restores them per phase.
        HTTPConnectionPool._validate_conn(self, conn)
        if conn.is_closed:
            conn.connect()


class TimedAdapter(HTTPAdapter):
    """requests' adapter whose direct connections are timed (proxied ones keep the runner's clock)."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _TimedHTTPPool, "https": _TimedHTTPSPool}
