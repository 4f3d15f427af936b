"""Latency read from the kernel's clock, not ours: when a request left and its answer arrived.

A probe thread that reads `time.monotonic()` after `recv()` returns counts the time
it then waited for the GIL (32 probe threads and pytest's own thread share one) and
for a CPU (a busy machine): tens to hundreds of milliseconds that are not the
target's. The kernel stamps every packet as it passes (SO_TIMESTAMPING, software
stamps): the last byte of a request when it leaves, each answer segment when it
arrives, and TCP_INFO keeps the handshake's round trip. Those instants do not move
when this process is slow to look at them, so an interval between two of them is the
network's and the target's time only. (Measured against libcurl's C-side timings,
which still count the CPU wait under load: see README, Speed.)

Where the kernel gives no stamp (not Linux, a Unix socket), each call falls back on
the runner's clock and `WireClock.kernel` says so; probes put that in their evidence.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import struct
import time

_SO_TIMESTAMPING = getattr(socket, "SO_TIMESTAMPING", 37)
_SCM_TIMESTAMPING = _SO_TIMESTAMPING
# TX_SOFTWARE | RX_SOFTWARE | SOFTWARE | OPT_TSONLY (linux/net_tstamp.h)
_FLAGS = (1 << 1) | (1 << 3) | (1 << 4) | (1 << 11)
_TCP_INFO_RTT, _TCP_INFO_TOTAL_RETRANS, _TCP_INFO_LEN = 68, 100, 104
_ANC = 512
_PEEK = 16384  # bytes peeked: enough to hold what came before the answer


def _keep_stamping() -> socket.socket | None:
    """A socket that keeps receive stamping switched on in the kernel for this process's life.

    The kernel stamps arriving packets only while some socket asks for it, and switches
    that on and off lazily (a deferred static key): sockets opened and closed one after
    another would find it off now and then and get no stamp.
    """
    try:
        keeper = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        keeper.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPING, _FLAGS)
        return keeper
    except OSError:
        return None


_keeper = _keep_stamping()


def _stamp(ancillary) -> int | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SCM_TIMESTAMPING and len(data) >= 16:
            sec, nsec = struct.unpack_from("qq", data, 0)
            if sec or nsec:
                return sec * 1_000_000_000 + nsec
    return None


def handshake_s(sock: socket.socket, wall_s: float) -> tuple[float, bool]:
    """How long the TCP handshake of a just-connected socket took, and whether the kernel said.

    TCP_INFO's first round-trip sample is the SYN / SYN-ACK exchange. A retransmitted SYN
    (a dropped packet, a full accept queue) makes the wall time the truth: it is seconds.
    """
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_LEN)
        rtt_us = struct.unpack_from("I", info, _TCP_INFO_RTT)[0]
        retrans = struct.unpack_from("I", info, _TCP_INFO_TOTAL_RETRANS)[0]
    except (OSError, struct.error, AttributeError):
        return wall_s, False
    if retrans or not rtt_us:
        return wall_s, False
    return min(rtt_us / 1e6, wall_s), True


class WireClock:
    """Kernel stamps on one TCP socket (any library's: it works on a duplicate of the fd).

    `mark_send()` before handing the request to the library; `sent()` after it was
    written; `arrival(timeout)` blocks until the answer's first byte is there, without
    consuming it (MSG_PEEK), so the library then reads the answer as usual.
    """

    def __init__(self, fd: int) -> None:
        self._sock = socket.socket(fileno=os.dup(fd))
        self.kernel = True
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPING, _FLAGS)
        except OSError:
            self.kernel = False
        self._marked = time.time_ns()

    @property
    def local(self) -> str:
        """This end's address, `ip:port`: the evidence names it so a packet capture can be matched."""
        try:
            host, port = self._sock.getsockname()[:2]
        except (OSError, ValueError):
            return ""
        return f"{host}:{port}"

    def mark_send(self) -> None:
        """The runner's clock just before sending: used only if the kernel gives no stamp."""
        self._marked = time.time_ns()

    def sent(self) -> int:
        """When the last byte written so far left (ns since the epoch); drains the error queue.

        Draining matters: a stamp left queued would wake the library's poll() as an error.
        """
        last = None
        waited = 0
        self._sock.settimeout(None)  # MSG_DONTWAIT decides (see close())
        for _ in range(64):
            try:
                _, ancillary, _, _ = self._sock.recvmsg(0, _ANC, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                if last is not None or not self.kernel or waited >= 3:
                    break
                # The stamp is taken as the packet passes the device: on a queued NIC, a moment later.
                waited += 1
                time.sleep(0.001)
                continue
            except OSError:
                break
            last = _stamp(ancillary) or last
        if last is None:
            self.kernel = False
            return self._marked
        return last

    def arrival(self, timeout: float | None, after: int | None = None) -> int:
        """When the first byte of the answer arrived (ns since the epoch), leaving it unread.

        Bytes already queued before `after` (the request's departure) are not the answer: a
        TLS 1.3 server sends its session tickets after the handshake. Then wait for more
        (SO_RCVLOWAT) and take the stamp of the newest bytes.
        """
        self._sock.settimeout(timeout)
        data, ancillary, _, _ = self._sock.recvmsg(_PEEK, _ANC, socket.MSG_PEEK)
        found = _stamp(ancillary)
        if found is not None and after is not None and found < after and data:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, len(data) + 1)
            try:
                data, ancillary, _, _ = self._sock.recvmsg(_PEEK, _ANC, socket.MSG_PEEK)
            finally:
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 1)
            found = _stamp(ancillary)
        if found is None or (after is not None and found < after):
            self.kernel = False
            return time.time_ns()
        return found

    def close(self) -> None:
        """Stop stamping and leave no stamp queued: a queued one would wake the library's poll() for ever."""
        with contextlib.suppress(OSError):
            self._sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPING, 0)
        # Blocking mode, so MSG_DONTWAIT decides: with a timeout set, Python would first poll for
        # readable data and, finding some (the answer, still unread), retry until the timeout.
        self._sock.settimeout(None)
        for _ in range(64):
            try:
                self._sock.recvmsg(0, _ANC, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
            except OSError:
                break
        self._sock.close()

    def __enter__(self) -> WireClock:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def last_rx(sock: socket.socket, buffer, flags: int = 0) -> tuple[int, int | None]:
    """recv_into that also returns the kernel's arrival stamp of the bytes read."""
    nbytes, ancillary, _, _ = sock.recvmsg_into([buffer], _ANC, flags)
    return nbytes, _stamp(ancillary)


def connect(host: str, port: int, timeout: float) -> tuple[socket.socket, dict]:
    """A TCP connection and its phases: `dns_s` (runner's clock, 0 for an address) and `connect_s`.

    Errors are socket's own (gaierror, TimeoutError, ConnectionRefusedError, OSError).
    """
    host = host.strip("[]")
    phases: dict = {}
    try:
        ipaddress.ip_address(host)
        dns_s = 0.0
        addresses = [(socket.AF_INET6 if ":" in host else socket.AF_INET, (host, port))]
    except ValueError:
        start = time.monotonic()
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        dns_s = time.monotonic() - start
        addresses = [(family, address) for family, _, _, _, address in infos]
    phases["dns_s"] = round(dns_s, 6)
    error: OSError | None = None
    for family, address in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        start = time.monotonic()
        try:
            sock.connect(address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        connect_s, kernel = handshake_s(sock, time.monotonic() - start)
        phases.update(connect_s=round(connect_s, 6), clock="kernel" if kernel else "runner")
        return sock, phases
    assert error is not None
    raise error
