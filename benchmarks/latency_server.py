"""Loopback endpoints whose every answer takes a set time: the benchmarks' targets.

Run in its own process (the latency benchmark raises its priority) so the suite being
measured cannot slow it down: the latency it adds is then the true latency.

- `GET /ep/N` on the printed HTTP port waits `--latency` seconds and answers healthy
  JSON (HTTP/1.1 keep-alive, as a health endpoint behind nginx).
- `--proxy NAME=HOST:PORT` (repeatable) also opens a port that forwards to HOST:PORT and
  holds every chunk the server sends back for `--latency` seconds: Redis, PostgreSQL or
  memcached at a known latency. Connecting is not delayed (the kernel accepts).

One asyncio loop with bare protocols (no task or stream per connection): a burst of
connections costs the server tens of microseconds each, so it adds well under a
millisecond. Prints the HTTP port, or with --proxy one line of JSON {"http": port, NAME: port}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket

BODY = json.dumps({"status": "healthy", "paperTradingMode": True}).encode()
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)


def _write(transport: asyncio.Transport, data: bytes) -> None:
    if not transport.is_closing():
        transport.write(data)


class Http(asyncio.Protocol):
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.buffer = b""

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:  # health requests carry no body
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            loop = asyncio.get_running_loop()
            loop.call_later(self.latency, _write, self.transport, ANSWER)
            if b"HTTP/1.0" in head.split(b"\r\n", 1)[0] or b"connection: close" in head.lower():
                # HTTP/1.0 clients (the Monitoring Plugins' check_http) read the answer until the close.
                loop.call_later(self.latency, self.transport.close)


class Upstream(asyncio.Protocol):
    """The proxy's side towards the real server: delays what it answers."""

    def __init__(self, client: asyncio.Transport, latency: float) -> None:
        self.client, self.latency = client, latency

    def connection_made(self, transport) -> None:
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        asyncio.get_running_loop().call_later(self.latency, _write, self.client, data)

    def connection_lost(self, exc) -> None:
        asyncio.get_running_loop().call_later(self.latency, self.client.close)


class Proxy(asyncio.Protocol):
    def __init__(self, upstream: tuple[str, int], latency: float) -> None:
        self.upstream, self.latency = upstream, latency
        self.pending: list[bytes] = []
        self.up: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        asyncio.get_running_loop().create_task(self._open())

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self.up, _ = await loop.create_connection(lambda: Upstream(self.transport, self.latency), *self.upstream)
        except OSError:
            self.transport.close()
            return
        for data in self.pending:
            self.up.write(data)
        self.pending = []

    def data_received(self, data: bytes) -> None:
        if self.up is None:
            self.pending.append(data)
        else:
            self.up.write(data)

    def connection_lost(self, exc) -> None:
        if self.up is not None:
            self.up.close()


async def main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    ports: dict[str, int] = {}
    servers = [await loop.create_server(lambda: Http(args.latency), "127.0.0.1", args.port, backlog=4096)]
    ports["http"] = servers[0].sockets[0].getsockname()[1]
    for spec in args.proxy:
        name, _, where = spec.partition("=")
        host, _, port = where.rpartition(":")
        upstream = (host, int(port))
        server = await loop.create_server(lambda up=upstream: Proxy(up, args.latency), "127.0.0.1", 0, backlog=4096)
        servers.append(server)
        ports[name] = server.sockets[0].getsockname()[1]
    print(json.dumps(ports) if args.proxy else ports["http"], flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--proxy", action="append", default=[], metavar="NAME=HOST:PORT")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parser.parse_args()))
