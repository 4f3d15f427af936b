"""Redis clients: one per server and credentials per process (redis-py pools are thread-safe),
and errors mapped onto verdicts with the password kept out of every message."""

from __future__ import annotations

import threading
import weakref
from typing import Any

import redis

from opscheck.errors import TargetDown, Unmeasurable
from opscheck.measurement import Target
from opscheck.redact import redact, register_secret
from opscheck.wireclock import WireClock

_clients: dict[tuple, redis.Redis] = {}


class RefusesWrites(Unmeasurable):
    """The server answered, but with MISCONF: it refuses writes (and PING) after a failed save."""

_lock = threading.Lock()
_seen: weakref.WeakSet = weakref.WeakSet()  # connections that already served a timed PING
_seen_lock = threading.Lock()


def client(target: Target) -> redis.Redis:
    item = target.params["entry"]
    url = item.url.reveal()
    password = item.password.reveal() if item.password is not None else None
    if password:
        register_secret(password)
    key = (url, item.username, password, item.tls_verify, item.tls_ca, target.timeout)
    with _lock:
        found = _clients.get(key)
        if found is None:
            options: dict[str, Any] = {
                "socket_timeout": target.timeout,
                "socket_connect_timeout": target.timeout,
                "client_name": "opscheck",
                # No health-check PING: a server that refuses writes (MISCONF after a failed
                # BGSAVE) refuses PING too, and would fail every INFO-based check with it.
                # A pooled connection the server closed is retried by redis-py instead.
            }
            if item.username is not None:
                options["username"] = item.username
            if password is not None:
                options["password"] = password
            if url.startswith("rediss://"):
                if not item.tls_verify:
                    options["ssl_cert_reqs"] = "none"
                elif item.tls_ca:
                    options["ssl_ca_certs"] = item.tls_ca
            found = _clients[key] = redis.Redis.from_url(url, **options)
    return found


def call(target: Target, command: str, *args: Any) -> Any:
    """Run one read-only command; failures become TargetDown (ping only) or Unmeasurable."""
    return _mapped(target, command, lambda: client(target).execute_command(command, *args))


def timed_ping(target: Target) -> tuple[Any, dict]:
    """PING and its round trip as the kernel stamped it (wireclock): the runner's load does not count."""
    return _mapped(target, "PING", lambda: _timed_ping(client(target)))


def _timed_ping(found: redis.Redis) -> tuple[Any, dict]:
    pool = found.connection_pool
    conn = pool.get_connection()
    try:
        with _seen_lock:
            reused = conn in _seen
            _seen.add(conn)
        with WireClock(conn._sock.fileno()) as clock:
            clock.mark_send()
            conn.send_command("PING")
            sent = clock.sent()
            try:
                first = clock.arrival(conn.socket_timeout, after=sent)
            except TimeoutError:
                raise redis.exceptions.TimeoutError("Timeout reading from socket") from None
            except OSError as exc:
                raise redis.exceptions.ConnectionError(f"Error while reading from socket: {exc}") from None
            try:
                reply = conn.read_response()
            except redis.exceptions.ResponseError as exc:
                message = _clean(exc)
                if not message.startswith("MISCONF"):
                    raise
                # The server answered PING with its refusal to write: a fault to name, and a round trip.
                reply, refuses = None, f"server refuses writes: {message.split('. ')[0]}"
            else:
                refuses = None
            local = clock.local
        round_trip = (first - sent) / 1e9
        return reply, {"round_trip_s": round_trip, "clock": "kernel" if clock.kernel else "runner",
                       "reused": reused, "client": local, "refuses_writes": refuses}
    except BaseException:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)


def _mapped(target: Target, command: str, run) -> Any:
    try:
        return run()
    except redis.exceptions.NoPermissionError as exc:
        raise Unmeasurable(f"the ACL user may not run {command}: {_clean(exc)}") from None
    except redis.exceptions.AuthenticationError as exc:
        raise Unmeasurable(f"cannot log in: {_clean(exc)}") from None
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        if target.kind == "redis_ping":
            raise TargetDown(f"no answer: {_clean(exc)}") from None
        raise Unmeasurable(f"cannot connect (see redis_ping): {_clean(exc)}") from None
    except redis.exceptions.ResponseError as exc:
        message = _clean(exc)
        if message.startswith("MISCONF"):
            # The first sentence names the fault; the rest is Redis's advice to read its log.
            raise RefusesWrites(f"server refuses writes: {message.split('. ')[0]}") from None
        if message.startswith(("NOPERM", "NOAUTH", "WRONGPASS")):
            raise Unmeasurable(f"{command} refused: {message}") from None
        raise Unmeasurable(f"{command} failed: {message}") from None


def info(target: Target, section: str | None = None) -> dict[str, Any]:
    args = (section,) if section else ()
    return call(target, "INFO", *args)


def config_get(target: Target, name: str) -> str | None:
    """A config value, or None where ACLs or a managed service (no CONFIG) forbid it."""
    try:
        reply = call(target, "CONFIG GET", name)
    except Unmeasurable:
        return None
    if isinstance(reply, dict):
        value = reply.get(name)
    elif isinstance(reply, list) and len(reply) >= 2:
        value = reply[1]
    else:
        value = None
    return value.decode() if isinstance(value, bytes) else value


def _clean(exc: BaseException) -> str:
    return redact(" ".join(str(exc).split()))


def close_all() -> None:
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for c in clients:
        c.close()
