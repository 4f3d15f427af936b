"""The two read-only ways into RabbitMQ: AMQP passive declares and the management API's GETs.

Probes may run on several threads at once. pika's BlockingConnection must stay
on the thread that opened it, so connections are cached per (thread, broker):
a run that checks 50 queues opens one connection per probe thread, not 50,
which also keeps the broker's connection log quiet. They are closed at exit.
HTTP sessions are kept per thread for the same reason.
"""

from __future__ import annotations

import atexit
import threading
import time
from typing import Any
from urllib.parse import quote as _quote
from urllib.parse import unquote, urlsplit, urlunsplit

import pika
import pika.exceptions as amqp
import requests

from opscheck import proxyenv
from opscheck.errors import TargetDown, Unmeasurable
from opscheck.inventory.sections.rabbitmq import RabbitmqItem
from opscheck.redact import redact

CONNECTION_NAME = "opscheck (read-only checks)"

_lock = threading.Lock()
_connections: dict[tuple, pika.BlockingConnection] = {}
_local = threading.local()


def quote(name: str) -> str:
    return _quote(name, safe="")


def _split(item: RabbitmqItem) -> tuple[str, str | None, str | None]:
    """The URL without credentials (pika cannot parse a user without a password), user, password."""
    parts = urlsplit(item.url.reveal())
    bare = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return bare, user, password


def _bare(item: RabbitmqItem) -> pika.URLParameters:
    return pika.URLParameters(_split(item)[0])


def _parameters(item: RabbitmqItem, timeout: float) -> pika.URLParameters:
    params = _bare(item)
    params.credentials = pika.PlainCredentials(*credentials(item))
    params.socket_timeout = timeout
    params.stack_timeout = timeout
    params.blocked_connection_timeout = timeout
    params.connection_attempts = 1
    params.client_properties = {"connection_name": CONNECTION_NAME}  # how the broker's UI lists us
    return params


def credentials(item: RabbitmqItem) -> tuple[str, str]:
    """user and password: the inventory's keys, else the URL's, else RabbitMQ's guest."""
    _, url_user, url_password = _split(item)
    user = item.user if item.user is not None else url_user or "guest"
    password = item.password.reveal() if item.password is not None else url_password or "guest"
    return user, password


def endpoint(item: RabbitmqItem) -> str:
    """host:port of the broker, never its credentials."""
    params = _bare(item)
    return f"{params.host}:{params.port}"


def vhost(item: RabbitmqItem) -> str:
    return _bare(item).virtual_host


def quoted_vhost(item: RabbitmqItem) -> str:
    return quote(vhost(item))


def _open(item: RabbitmqItem, timeout: float) -> pika.BlockingConnection:
    where = endpoint(item)
    try:
        return pika.BlockingConnection(_parameters(item, timeout))
    except amqp.ProbableAuthenticationError:
        raise Unmeasurable(f"{where} refused the login of user {credentials(item)[0]!r}: check user/password") from None
    except amqp.ProbableAccessDeniedError as exc:
        raise Unmeasurable(f"{where} refused access to vhost {vhost(item)!r}: {_reason(exc)}") from None
    except amqp.AMQPError as exc:
        raise TargetDown(f"cannot connect to {where}: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return redact(text.strip("()',\""))[:300]


def connect_once(item: RabbitmqItem, timeout: float) -> tuple[float, dict[str, Any]]:
    """Seconds a fresh connection took, and the server's properties (product, version…)."""
    start = time.monotonic()
    connection = _open(item, timeout)
    seconds = time.monotonic() - start
    properties = _server_properties(connection)
    _close(connection)  # measured already: a broker that drops us on close is not this check's concern
    return seconds, properties


def _server_properties(connection: pika.BlockingConnection) -> dict[str, Any]:
    raw = getattr(getattr(connection, "_impl", None), "server_properties", None) or {}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in raw.items() if isinstance(v, (str, bytes, int))}


def _cached(item: RabbitmqItem, timeout: float) -> tuple[pika.BlockingConnection, bool]:
    key = (threading.get_ident(), item.url.reveal(), *credentials(item))
    with _lock:
        connection = _connections.get(key)
    if connection is not None and connection.is_open:
        return connection, False
    connection = _open(item, timeout)
    with _lock:
        _connections[key] = connection
    return connection, True


def _forget(item: RabbitmqItem) -> None:
    key = (threading.get_ident(), item.url.reveal(), *credentials(item))
    with _lock:
        connection = _connections.pop(key, None)
    if connection is not None:
        _close(connection)


def _close(connection: pika.BlockingConnection) -> None:
    try:
        if connection.is_open:
            connection.close()
    except Exception:  # noqa: BLE001 - closing a dead connection has nothing left to report
        pass


@atexit.register
def close_all() -> None:
    with _lock:
        connections = list(_connections.values())
        _connections.clear()
    for connection in connections:
        _close(connection)


def passive_declare(item: RabbitmqItem, queue: str, timeout: float) -> tuple[int, int]:
    """(ready messages, consumers) of `queue`; a passive declare never creates or changes it."""
    where = endpoint(item)
    for attempt in (1, 2):
        connection, fresh = _cached(item, timeout)
        try:
            channel = connection.channel()
            try:
                ok = channel.queue_declare(queue, passive=True)
            finally:
                if channel.is_open:
                    channel.close()
            return ok.method.message_count, ok.method.consumer_count
        except amqp.ChannelClosedByBroker as exc:
            # The channel died, the connection lives on for the next probe.
            if exc.reply_code == 404:
                raise TargetDown(f"queue {queue} does not exist in vhost {vhost(item)}") from None
            if exc.reply_code == 405:
                raise Unmeasurable(f"queue {queue} is exclusive to another connection: only management_url can see it") from None
            raise Unmeasurable(f"{where} refused to show queue {queue}: {exc.reply_code} {redact(exc.reply_text)}") from None
        except amqp.AMQPError as exc:
            # A cached connection the broker closed while idle: open a new one, once.
            _forget(item)
            if fresh or attempt == 2:
                raise TargetDown(f"lost the connection to {where}: {_reason(exc)}") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.trust_env = False  # os.environ is not read on probe threads (opscheck.proxyenv)
    return session


def api_get(item: RabbitmqItem, path: str, timeout: float) -> Any:
    """JSON of a management API GET; None for 404 (the caller knows what was missing)."""
    base = item.management_url.rstrip("/")
    try:
        response = _session().get(base + path, auth=credentials(item), timeout=timeout,
                                  proxies=proxyenv.for_url(base), verify=proxyenv.ca_bundle() or True)
    except requests.Timeout:
        raise TargetDown(f"management API at {base}: no answer within {timeout:g}s") from None
    except requests.RequestException as exc:
        raise TargetDown(f"management API at {base} unreachable: {_reason(exc)}") from None
    if response.status_code == 404:
        return None
    if response.status_code == 401:
        raise Unmeasurable(f"management API at {base} refused the login of user {credentials(item)[0]!r}: check user/password")
    if response.status_code == 403:
        raise Unmeasurable(f"management API at {base}: user {credentials(item)[0]!r} lacks the monitoring tag")
    if response.status_code >= 500:
        raise TargetDown(f"management API at {base} answered {response.status_code}: {redact(response.text[:200])}")
    if not response.ok:
        raise Unmeasurable(f"management API at {base} answered {response.status_code} to {path}")
    try:
        return response.json()
    except ValueError:
        raise Unmeasurable(f"management API at {base} sent no JSON for {path}") from None


def api_alarms(item: RabbitmqItem, timeout: float) -> list[str]:
    """The cluster's resource alarms from the health-check endpoint, which answers 503 while any is in effect."""
    base = item.management_url.rstrip("/")
    try:
        response = _session().get(base + "/api/health/checks/alarms", auth=credentials(item), timeout=timeout)
    except requests.RequestException as exc:
        raise TargetDown(f"management API at {base} unreachable: {_reason(exc)}") from None
    if response.status_code not in (200, 503):
        raise Unmeasurable(
            f"management API at {base} reports no node alarms (metrics collector disabled?) and answered "
            f"{response.status_code} to /api/health/checks/alarms"
        )
    try:
        body = response.json()
    except ValueError:
        raise Unmeasurable(f"management API at {base} sent no JSON for /api/health/checks/alarms") from None
    if response.status_code == 200 and body.get("status") == "ok":
        return []
    alarms = body.get("alarms")
    if not isinstance(alarms, list) or not alarms:
        return [f"alarm in effect: {redact(str(body.get('reason', body)))[:200]}"]
    return [
        f"{a.get('resource', '?')} alarm on {a.get('node', '?')} (publishers are blocked)" if isinstance(a, dict) else str(a)
        for a in alarms
    ]
