"""TCP reachability from the runner: the runbook's `nc -zv host port`, with connect latency.

The latency is name lookup plus the handshake's round trip as the kernel timed it
(wireclock), so it does not grow with the runner's own load.
"""

from __future__ import annotations

import socket

from opscheck.errors import TargetDown
from opscheck.measurement import Measurement, Target
from opscheck.registry import Kind
from opscheck.targets import per_entry
from opscheck.wireclock import connect


def probe(target: Target) -> Measurement:
    endpoint = target.spec.endpoint
    host, _, port = endpoint.rpartition(":")
    host = host.strip("[]")
    try:
        sock, phases = connect(host, int(port), target.timeout)
    except socket.gaierror as exc:
        raise TargetDown(f"{endpoint}: cannot resolve {host} ({exc.strerror})") from None
    except TimeoutError:
        raise TargetDown(f"{endpoint}: no answer within {target.timeout:g}s") from None
    except ConnectionRefusedError:
        raise TargetDown(f"{endpoint}: connection refused") from None
    except OSError as exc:
        raise TargetDown(f"{endpoint}: {exc.strerror or exc}") from None
    latency = phases["dns_s"] + phases["connect_s"]
    peer, local = sock.getpeername(), sock.getsockname()
    sock.close()
    return Measurement(value=round(latency, 4), unit="s", subject=endpoint, label="connect",
                       evidence={"peer": f"{peer[0]}:{peer[1]}", "connect_ms": round(latency * 1000, 2),
                                 "phases_ms": _ms(phases), "clock": phases["clock"], "reused": False,
                                 "client": f"{local[0]}:{local[1]}"})


def _ms(phases: dict) -> dict:
    return {k[:-2]: round(v * 1000, 3) for k, v in phases.items() if k.endswith("_s")}


KINDS = (
    Kind("tcp", "tcp reachable", "tcp",
         per_entry(lambda p: p.item.name or p.item.endpoint, threshold=lambda p: p.item.latency.threshold()), probe),
)
