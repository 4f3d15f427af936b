"""Loopback endpoints whose every answer takes a set time: the benchmarks' targets.

Run in its own process (the latency benchmark raises its priority) so the suite being
measured cannot slow it down: the latency it adds is then the true latency.

- `GET /ep/N` on the printed HTTP port waits `--latency` seconds and answers healthy
  JSON (HTTP/1.1 keep-alive, as a health endpoint behind nginx).
- `--proxy NAME=HOST:PORT` (repeatable) also opens a port that forwards to HOST:PORT and
  holds every chunk the server sends back for `--latency` seconds: Redis, PostgreSQL or
  memcached at a known latency. Connecting is not delayed (the kernel accepts).

One asyncio loop, no thread per connection: the server's own scheduling adds well under
a millisecond. Prints one line of JSON: {"http": port, NAME: port, ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json

BODY = json.dumps({"status": "healthy", "paperTradingMode": True}).encode()
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)


async def http_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head:
                break
            await asyncio.sleep(latency)
            writer.write(ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def proxy_client(reader, writer, upstream: tuple[str, int], latency: float) -> None:
    loop = asyncio.get_running_loop()
    try:
        up_reader, up_writer = await asyncio.open_connection(*upstream)
    except OSError:
        writer.close()
        return

    async def pump(src, dst, delay: float) -> None:
        try:
            while chunk := await src.read(65536):
                if delay:
                    loop.call_later(delay, _write, dst, chunk)
                else:
                    dst.write(chunk)
            if delay:
                await asyncio.sleep(delay)
        except (ConnectionError, OSError):
            pass
        finally:
            dst.close()

    await asyncio.gather(pump(reader, up_writer, 0.0), pump(up_reader, writer, latency))


def _write(writer: asyncio.StreamWriter, chunk: bytes) -> None:
    if not writer.is_closing():
        writer.write(chunk)


async def main(args: argparse.Namespace) -> None:
    ports: dict[str, int] = {}
    servers = []
    server = await asyncio.start_server(
        lambda r, w: http_client(r, w, args.latency), "127.0.0.1", args.port, backlog=4096
    )
    servers.append(server)
    ports["http"] = server.sockets[0].getsockname()[1]
    for spec in args.proxy:
        name, _, where = spec.partition("=")
        host, _, port = where.rpartition(":")
        upstream = (host, int(port))
        server = await asyncio.start_server(
            lambda r, w, up=upstream: proxy_client(r, w, up, args.latency), "127.0.0.1", 0, backlog=4096
        )
        servers.append(server)
        ports[name] = server.sockets[0].getsockname()[1]
    print(json.dumps(ports) if args.proxy else ports["http"], flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--proxy", action="append", default=[], metavar="NAME=HOST:PORT")
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        pass
