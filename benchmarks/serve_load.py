"""`opscheck serve` under a burst: N concurrent /healthz and /metrics requests, latency percentiles.

    python -m benchmarks.serve_load [--clients 200] [--rounds 5]

Starts `opscheck serve` (a subprocess, as in production) over a scratch reports dir
with one sealed-looking run per suite, then fires `--clients` requests at once
(half /healthz, half /metrics, from one asyncio client) `--rounds` times and
prints p50/p90/p99/max and the number of requests that failed (reset, refused,
no answer). Every request opens its own connection, like a load balancer probe.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path


def scratch_reports(root: Path) -> Path:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    for suite in ("daily", "smoke"):
        folder = root / f"20261101T090000Z-{suite}"
        folder.mkdir(parents=True)
        checks = [{"id": f"checks/test_x.py::test_{i}", "verdict": "OK"} for i in range(200)]
        (folder / "results.json").write_text(json.dumps({"run": {"suite": suite, "finished": now}, "checks": checks}))
        samples = "\n".join(f'opscheck_check_state{{suite="{suite}",id="test_{i}"}} 0' for i in range(200))
        (folder / "metrics.prom").write_text(f"# HELP opscheck_check_state x\n# TYPE opscheck_check_state gauge\n{samples}\n")
    return root


async def request(port: int, path: str) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
        writer.write(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        answer = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "no answer"
    except (OSError, asyncio.TimeoutError) as exc:
        status = type(exc).__name__
    return time.perf_counter() - started, status


async def burst(port: int, clients: int) -> list[tuple[float, str]]:
    """All clients at once from one event loop (cheaper than 200 client threads, so the figure is the server's)."""
    return await asyncio.gather(*(request(port, "/healthz?suite=daily" if i % 2 else "/metrics") for i in range(clients)))


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        reports = scratch_reports(Path(tmp) / "reports")
        server = subprocess.Popen(
            [sys.executable, "-m", "opscheck", "serve", "--port", "0", "--quiet", "--reports-dir", str(reports), "--max-age", "1h"],
            stdout=subprocess.PIPE, text=True, env={**os.environ},
        )
        try:
            port = int(server.stdout.readline().split("127.0.0.1:", 1)[1].split("/", 1)[0])
            latencies: list[float] = []
            failures: dict[str, int] = {}
            cpu_before = _cpu_s(server.pid)
            for _ in range(args.rounds):
                for latency, status in asyncio.run(burst(port, args.clients)):
                    latencies.append(latency)
                    if status != "200":
                        failures[status] = failures.get(status, 0) + 1
            cpu_s = _cpu_s(server.pid) - cpu_before
        finally:
            server.terminate()
            server.wait(10)
    latencies.sort()
    cuts = statistics.quantiles(latencies, n=100)
    print(f"opscheck serve: {args.rounds} bursts of {args.clients} concurrent requests (/healthz and /metrics), {len(latencies)} in all")
    print(f"p50 {cuts[49] * 1000:.1f} ms  p90 {cuts[89] * 1000:.1f} ms  p99 {cuts[98] * 1000:.1f} ms  max {latencies[-1] * 1000:.1f} ms")
    print(f"server CPU {cpu_s / len(latencies) * 1000:.2f} ms per request; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"failed: {sum(failures.values())} {failures if failures else ''}".rstrip())
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
