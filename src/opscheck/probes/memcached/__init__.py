"""memcached over TCP: the runbook's `echo stats | nc localhost 11211`, judged.

One `stats` round trip per probe on a fresh connection, so the latency it
reports is what a client sees, and the probe shares nothing between threads.
The latency is the handshake plus the `stats` exchange as the kernel stamped
them (wireclock), so the runner's own load does not count.
The protocol is four lines of code, so there is no client library to trust
with timeouts: every read has the probe's deadline.
"""

from __future__ import annotations

import socket
import time

from opscheck.errors import TargetDown, Unmeasurable
from opscheck.measurement import Measurement, Target
from opscheck.registry import Kind
from opscheck.targets import per_aspect
from opscheck.threshold import Direction, Threshold
from opscheck.units import format_duration, format_size
from opscheck.wireclock import WireClock, connect, last_rx

MAX_REPLY = 1 << 20  # a stats reply is ~3 KB; anything this large is not memcached
_ERRORS = (b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR")


def fetch_stats(host: str, port: int, timeout: float) -> tuple[dict[str, str], float]:
    """`stats` of host:port and the seconds the round trip took (connect included)."""
    stats, phases = fetch_stats_timed(host, port, timeout)
    return stats, phases["total_s"]


def fetch_stats_timed(host: str, port: int, timeout: float) -> tuple[dict[str, str], dict]:
    """`stats` of host:port and the phases: dns_s, connect_s, first_byte_s, total_s."""
    where = f"{host}:{port}"
    deadline = time.monotonic() + timeout
    try:
        sock, phases = connect(host, port, timeout)
    except TimeoutError:
        raise TargetDown(f"no answer from {where} within {timeout:g}s") from None
    except OSError as exc:
        raise TargetDown(f"cannot connect to {where}: {exc.strerror or exc}") from None
    with sock, WireClock(sock.fileno()) as clock:
        phases["client"] = clock.local
        try:
            clock.mark_send()
            sock.sendall(b"stats\r\n")
            sent = clock.sent()
            first = clock.arrival(max(deadline - time.monotonic(), 0.001), after=sent)
            reply, last = _read_reply(sock, deadline, where)
        except TimeoutError:
            raise TargetDown(f"{where} accepted the connection but sent no stats within {timeout:g}s") from None
        except (ConnectionError, OSError) as exc:
            raise TargetDown(f"{where} dropped the connection during stats: {exc.strerror or exc}") from None
        if not clock.kernel or last is None:
            phases["clock"] = "runner"
            last = time.time_ns()
    before = phases["dns_s"] + phases["connect_s"]
    phases["first_byte_s"] = round(before + (first - sent) / 1e9, 6)
    phases["total_s"] = round(before + (max(last, first) - sent) / 1e9, 6)
    return parse_stats(reply, where), phases


def _read_reply(sock: socket.socket, deadline: float, where: str) -> tuple[bytes, int | None]:
    buf = b""
    stamp = None
    chunk_buf = bytearray(65536)
    while not _complete(buf):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        size, arrived = last_rx(sock, chunk_buf)
        chunk = bytes(chunk_buf[:size])
        stamp = arrived or stamp
        if not chunk:
            if not buf:
                raise TargetDown(f"{where} closed the connection without answering stats")
            raise Unmeasurable(f"{where} does not speak memcached: {buf[:80]!r}")
        buf += chunk
        if len(buf) > MAX_REPLY:
            raise Unmeasurable(f"{where} sent more than {MAX_REPLY} bytes for stats: not memcached?")
    return buf, stamp


def _complete(buf: bytes) -> bool:
    return buf.endswith(b"END\r\n") or (buf.startswith(_ERRORS) and buf.endswith(b"\r\n"))


def parse_stats(reply: bytes, where: str = "memcached") -> dict[str, str]:
    """`STAT name value` lines up to `END` -> {name: value}; anything else is not a stats reply."""
    stats: dict[str, str] = {}
    for raw in reply.split(b"\r\n"):
        line = raw.decode("utf-8", "replace")
        if line == "END":
            return stats
        if not line:
            continue
        if line.startswith(tuple(e.decode() for e in _ERRORS)):
            raise Unmeasurable(f"{where} refused stats: {line[:200]}")
        parts = line.split(" ", 2)
        if len(parts) != 3 or parts[0] != "STAT":
            raise Unmeasurable(f"{where} does not speak memcached: {line[:80]!r}")
        stats[parts[1]] = parts[2]
    raise Unmeasurable(f"{where} sent stats without END")


def _number(stats: dict[str, str], name: str, where: str) -> int:
    try:
        return int(stats[name])
    except KeyError:
        raise Unmeasurable(f"stats of {where} have no {name} (memcached {stats.get('version', '?')} too old?)") from None
    except ValueError:
        raise Unmeasurable(f"stats of {where}: {name} is not a number: {stats[name]!r}") from None


def _stats(target: Target) -> tuple[dict[str, str], dict]:
    host, port = target.spec.host_port
    return fetch_stats_timed(host, port, target.timeout)


def probe_reachable(target: Target) -> Measurement:
    stats, phases = _stats(target)
    latency = phases["total_s"]
    where = target.spec.address
    problems = ()
    if stats.get("accepting_conns") == "0":
        problems = ("not accepting new connections (max_connections reached)",)
    return Measurement(
        value=round(latency, 4), unit="s", subject=f"memcached {stats.get('version', '?')} at {where}",
        label="to answer stats", problems=problems,
        evidence={
            "address": where,
            "latency_ms": round(latency * 1000, 2),
            "phases_ms": {k[:-2]: round(v * 1000, 3) for k, v in phases.items() if k.endswith("_s")},
            "clock": phases["clock"],
            "reused": False,
            "client": phases["client"],
            **{k: stats[k] for k in ("version", "pid", "uptime", "curr_items", "threads", "accepting_conns") if k in stats},
        },
    )


def probe_hit_ratio(target: Target) -> Measurement:
    stats, _ = _stats(target)
    where = target.spec.address
    hits, misses = _number(stats, "get_hits", where), _number(stats, "get_misses", where)
    gets = hits + misses
    ratio = 100.0 * hits / gets if gets else None
    evidence = {"get_hits": hits, "get_misses": misses, "uptime_s": _number(stats, "uptime", where)}
    for name in ("get_expired", "get_flushed"):
        if name in stats:
            evidence[name] = int(stats[name])
    minimum = target.spec.min_gets
    if gets < max(minimum, 1):
        # A freshly restarted cache misses everything: too few gets say nothing about the ratio.
        return Measurement(
            value=ratio, unit="%", subject=where, label="of gets hit", evidence=evidence,
            threshold=Threshold(direction=Direction.BELOW, unit="%"),
            notes=(f"only {gets} gets since start, fewer than min_gets {minimum}: not judged",),
        )
    return Measurement(value=ratio, unit="%", subject=where, label="of gets hit", evidence=evidence)


def probe_evictions(target: Target) -> Measurement:
    stats, _ = _stats(target)
    where = target.spec.address
    evictions, uptime = _number(stats, "evictions", where), _number(stats, "uptime", where)
    per_minute = round(60.0 * evictions / max(uptime, 1), 2)
    evidence = {"evictions": evictions, "uptime_s": uptime}
    for name in ("evicted_unfetched", "evicted_active", "limit_maxbytes", "bytes"):
        if name in stats:
            evidence[name] = int(stats[name])
    return Measurement(
        value=per_minute, unit="evictions/min", subject=where, label="since start", evidence=evidence,
        notes=(f"{evictions} evictions in {format_duration(uptime)} of uptime",),
    )


def probe_connections(target: Target) -> Measurement:
    stats, _ = _stats(target)
    where = target.spec.address
    current, maximum = _number(stats, "curr_connections", where), _number(stats, "max_connections", where)
    if maximum <= 0:
        raise Unmeasurable(f"stats of {where}: max_connections is {maximum}")
    evidence = {"curr_connections": current, "max_connections": maximum}
    for name in ("rejected_connections", "listen_disabled_num", "total_connections"):
        if name in stats:
            evidence[name] = int(stats[name])
    rejected = evidence.get("rejected_connections", 0)
    notes = (f"{rejected} connections rejected since start",) if rejected else ()
    return Measurement(
        value=100.0 * current / maximum, unit="%", subject=where,
        label=f"of max connections ({current}/{maximum})", evidence=evidence, notes=notes,
    )


def probe_memory(target: Target) -> Measurement:
    stats, _ = _stats(target)
    where = target.spec.address
    used, limit = _number(stats, "bytes", where), _number(stats, "limit_maxbytes", where)
    if limit <= 0:
        raise Unmeasurable(f"stats of {where}: limit_maxbytes is {limit}")
    return Measurement(
        value=100.0 * used / limit, unit="%", subject=where,
        label=f"of memory limit used ({format_size(used)} of {format_size(limit)})",
        evidence={"bytes": used, "limit_maxbytes": limit, "curr_items": _number(stats, "curr_items", where)},
    )


def _aspect(key: str, keep_off: bool = False):
    # The entry is the spec (its address); the aspect's limits give the threshold.
    return per_aspect(key, lambda item, index: item.name or item.address, spec=lambda p: p.item, params=None, keep_off=keep_off)


KINDS = (
    # `latency: null` drops the limits, not the check.
    Kind("memcached", "memcached reachable", "memcached", _aspect("latency", keep_off=True), probe_reachable),
    Kind("memcached_hit_ratio", "memcached hit ratio", "memcached", _aspect("hit_ratio"), probe_hit_ratio),
    Kind("memcached_evictions", "memcached evictions", "memcached", _aspect("evictions"), probe_evictions),
    Kind("memcached_connections", "memcached connections", "memcached", _aspect("connections"), probe_connections),
    Kind("memcached_memory", "memcached memory", "memcached", _aspect("memory"), probe_memory),
)
