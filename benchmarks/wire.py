"""What the wire saw: a packet capture of loopback, the independent truth for latency.

Like `tcpdump -i lo`, from a thread of the *harness* process (not the suite being
measured), with the kernel's capture stamps: each exchange's latency as the packets
show it, whatever the measuring process was doing meanwhile. Needs root (AF_PACKET).

`exchanges(port)` gives, per client connection to a server port: the handshake
round trip (SYN -> SYN/ACK) and, for each request carrying data, the time until the
server's first and last data packet of the answer that followed.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
_SO_TIMESTAMPNS = 35


@dataclass
class Exchange:
    request: bytes
    sent: int
    first: int | None = None
    last: int | None = None


@dataclass
class Connection:
    client_port: int
    syn: int | None = None
    synack: int | None = None
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def handshake_s(self) -> float | None:
        return (self.synack - self.syn) / 1e9 if self.syn and self.synack else None

    def answer_s(self, marker: bytes) -> tuple[float, float] | None:
        """(first byte, last byte) seconds after the last request containing `marker`."""
        for exchange in reversed(self.exchanges):
            if marker in exchange.request and exchange.first is not None:
                return (exchange.first - exchange.sent) / 1e9, (exchange.last - exchange.sent) / 1e9
        return None


class Capture:
    """Capture TCP on loopback for the given server ports until `stop()`."""

    def __init__(self, ports: set[int]) -> None:
        self.ports = set(ports)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024 * 1024)
        self.sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.2)
        self.connections: dict[tuple[int, int], Connection] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Capture:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        time.sleep(0.2)
        self._stop.set()
        self._thread.join()
        self.sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, ancillary, _, address = self.sock.recvmsg(65600, 256)
            except TimeoutError:
                continue
            except OSError:
                return
            if address[2] != PACKET_OUTGOING:
                continue  # loopback shows each packet twice: going out and coming in
            stamp = next((struct.unpack_from("qq", d) for lvl, kind, d in ancillary
                          if lvl == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS), None)
            when = stamp[0] * 1_000_000_000 + stamp[1] if stamp else time.time_ns()
            self._packet(data, when)

    def _packet(self, frame: bytes, when: int) -> None:
        if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
            return
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 6:
            return
        total = struct.unpack_from("!H", ip, 2)[0]
        tcp = ip[ihl:total]
        sport, dport = struct.unpack_from("!HH", tcp, 0)
        offset = (tcp[12] >> 4) * 4
        flags = tcp[13]
        payload = tcp[offset:]
        if dport in self.ports:  # client -> server
            conn = self.connections.setdefault((dport, sport), Connection(sport))
            if flags & 0x02 and not flags & 0x10 and conn.syn is None:
                conn.syn = when
            if payload:
                last = conn.exchanges[-1] if conn.exchanges else None
                if last is not None and last.first is None:
                    last.request += payload  # the rest of the same request
                else:
                    conn.exchanges.append(Exchange(bytes(payload), when))
                conn.exchanges[-1].sent = when
        elif sport in self.ports:  # server -> client
            conn = self.connections.setdefault((sport, dport), Connection(dport))
            if flags & 0x12 == 0x12 and conn.synack is None:
                conn.synack = when
            if payload and conn.exchanges:
                exchange = conn.exchanges[-1]
                if exchange.first is None:
                    exchange.first = when
                exchange.last = when

    def connection(self, server_port: int, client_port: int) -> Connection | None:
        return self.connections.get((server_port, client_port))


def by_port(connections: dict) -> dict[int, list[Connection]]:
    out: dict[int, list[Connection]] = defaultdict(list)
    for (server, _), conn in connections.items():
        out[server].append(conn)
    return out


MARKERS = {"redis_ping": b"PING", "pg_connect": b"SELECT 1\x00", "memcached": b"stats", "http": b"GET "}
SERVER_PORT = {"http": "http", "tcp": "http", "redis_ping": "redis", "pg_connect": "postgres", "memcached": "memcached"}


def evidence_value(check: dict, key: str):
    """The first `key` anywhere in a check record's evidence."""
    found = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == key:
                    found.append(v)
                else:
                    walk(v)

    walk(check.get("evidence"))
    return found[0] if found else None


def wire_truth(check: dict, capture: Capture, ports: dict) -> float | None:
    """What the wire saw for the exchange a latency check measured, in the check's own terms."""
    kind = check["kind"]
    client = evidence_value(check, "client")
    if not client or kind not in SERVER_PORT:
        return None
    conn = capture.connection(ports[SERVER_PORT[kind]], int(client.rsplit(":", 1)[1]))
    if conn is None:
        return None
    if kind == "tcp":
        return conn.handshake_s
    answer = conn.answer_s(MARKERS[kind])
    if answer is None:
        return None
    first, last = answer
    if kind in ("http", "memcached"):
        return (conn.handshake_s or 0.0) + last  # fresh connection: connect, then request to last byte
    return first  # redis_ping, pg_connect: a round trip on an open connection
