"""TCP reachability from the runner: the runbook's `nc -zv host port`, with connect latency."""

from __future__ import annotations

import socket
import time

from opscheck.errors import TargetDown
from opscheck.measurement import Measurement, Target
from opscheck.registry import Kind
from opscheck.targets import per_entry


def probe(target: Target) -> Measurement:
    endpoint = target.spec.endpoint
    host, _, port = endpoint.rpartition(":")
    host = host.strip("[]")
    start = time.monotonic()
    try:
        sock = socket.create_connection((host, int(port)), timeout=target.timeout)
    except socket.gaierror as exc:
        raise TargetDown(f"{endpoint}: cannot resolve {host} ({exc.strerror})") from None
    except TimeoutError:
        raise TargetDown(f"{endpoint}: no answer within {target.timeout:g}s") from None
    except ConnectionRefusedError:
        raise TargetDown(f"{endpoint}: connection refused") from None
    except OSError as exc:
        raise TargetDown(f"{endpoint}: {exc.strerror or exc}") from None
    latency = time.monotonic() - start
    peer = sock.getpeername()
    sock.close()
    return Measurement(value=round(latency, 4), unit="s", subject=endpoint, label="connect",
                       evidence={"peer": f"{peer[0]}:{peer[1]}", "connect_ms": round(latency * 1000, 2)})


KINDS = (
    Kind("tcp", "tcp reachable", "tcp",
         per_entry(lambda p: p.item.name or p.item.endpoint, threshold=lambda p: p.item.latency.threshold()), probe),
)
