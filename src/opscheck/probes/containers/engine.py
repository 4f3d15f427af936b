"""The Docker Engine of a target, reached read-only, and the set of containers an entry selects.

Only GET endpoints are used (version, containers list and inspect, stats, logs,
image and distribution inspect), so the check cannot change a container whatever
the socket's rights. The engine is the entry's `engine:`, else the host's: the
runner's `DOCKER_HOST` (with `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`) or the local
socket for `local://`, and `ssh://user@host` for an SSH host (the SDK runs
`ssh host docker system dial-stdio` with the OpenSSH client: the remote needs the
docker CLI, the SSH user access to its socket). Podman's Docker-compatible socket
answers the same calls.

An engine that does not answer means the containers are down (CRIT for the running
check, which is about exactly that); a socket we may not open is UNKNOWN: the
containers may be fine, we could not look.
"""

from __future__ import annotations

import os
import ssl
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import docker
import requests
from docker.constants import MINIMUM_DOCKER_API_VERSION
from docker.errors import APIError, DockerException, NotFound
from docker.tls import TLSConfig

from opscheck.errors import TargetDown, Unmeasurable
from opscheck.measurement import Target

COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
COMPOSE_ONEOFF = "com.docker.compose.oneoff"  # `docker compose run` containers: not part of the stack
DEFAULT_SOCKET = "unix:///var/run/docker.sock"


def engine_of(target: Target, spec) -> tuple[str | None, dict]:
    """(base URL, client kwargs) for the entry's engine on the target's host; None: from the environment."""
    if getattr(spec, "engine", None):
        tls = getattr(spec, "tls", None)
        kwargs = {}
        if tls is not None:
            kwargs["tls"] = TLSConfig(
                client_cert=(tls.cert, tls.key) if tls.cert and tls.key else None, ca_cert=tls.ca, verify=tls.ca if tls.verify and tls.ca else tls.verify,
            )
        if spec.engine.startswith("ssh://"):
            kwargs["use_ssh_client"] = True
        return spec.engine, kwargs
    host_spec = target.host.spec if target.host else "local://"
    if host_spec in ("local://", "local"):
        return None, {}
    if host_spec.startswith("ssh://"):
        parts = urlsplit(host_spec)
        return f"ssh://{parts.netloc}", {"use_ssh_client": True}
    raise Unmeasurable(f"{target.host}: no engine: set for this entry and {host_spec} is neither local:// nor ssh://")


def _reason(exc: BaseException) -> str:
    """The innermost cause's words: 'Permission denied', 'No such file or directory', ..."""
    seen = exc
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__
    text = str(seen) or type(seen).__name__
    return text if len(text) < 300 else text[:299] + "…"


def _caused_by(exc: BaseException, kind: type) -> bool:
    chain: BaseException | None = exc
    while chain is not None:
        if isinstance(chain, kind) or any(isinstance(arg, kind) for arg in chain.args):
            return True
        chain = chain.__cause__ or chain.__context__
    return False


def _permission(exc: BaseException) -> bool:
    return _caused_by(exc, PermissionError) or "permission denied" in str(exc).lower()


def _client(url: str | None, kwargs: dict, timeout: int) -> docker.DockerClient:
    """A read-only client that negotiated the engine's API version with our TLS settings.

    The engine's TLS is what tls:/DOCKER_CERT_PATH say: a REQUESTS_CA_BUNDLE (or proxy) in the
    runner's environment must not replace its CA, as requests lets it for a Session that trusts
    the environment. The SDK asks the version in its constructor, before that could be switched
    off, so the client starts at the oldest API and asks the version itself afterwards.
    """
    if url is None:
        client = docker.from_env(timeout=timeout, environment=dict(os.environ), version=MINIMUM_DOCKER_API_VERSION)
    else:
        client = docker.DockerClient(base_url=url, timeout=timeout, version=MINIMUM_DOCKER_API_VERSION, **kwargs)
    client.api.trust_env = False
    read_only(client)
    try:
        client.api._version = client.api.version(api_version=False)["ApiVersion"]  # what version="auto" does
    except BaseException:
        client.close()
        raise
    return client


@contextmanager
def engine(target: Target, spec=None, *, down_is_crit: bool = False):
    """A Docker client for the target's engine; its failures become TargetDown or Unmeasurable."""
    spec = spec if spec is not None else target.spec
    url, kwargs = engine_of(target, spec)
    where = url or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    unreachable = TargetDown if down_is_crit else Unmeasurable
    client = None
    try:
        client = _client(url, kwargs, max(1, int(target.timeout)))
        yield client
    except (TargetDown, Unmeasurable):
        raise
    except APIError as exc:
        raise Unmeasurable(f"engine {where}: {exc.explanation or exc}") from None
    except (requests.exceptions.Timeout, TimeoutError) as exc:
        raise Unmeasurable(f"engine {where} did not answer within {target.timeout:g}s ({_reason(exc)})") from None
    except (DockerException, requests.exceptions.RequestException, OSError) as exc:
        if _caused_by(exc, ssl.SSLError):
            raise Unmeasurable(f"engine {where}: TLS handshake failed ({_reason(exc)}): check tls: ca, cert, key") from None
        if _permission(exc):
            raise Unmeasurable(
                f"engine {where}: permission denied on the socket (run as a member of the docker group, or give engine:)"
            ) from None
        raise unreachable(f"engine {where} unreachable: {_reason(exc)}") from None
    finally:
        if client is not None:
            client.close()


class ReadOnly(Unmeasurable):
    """A probe asked the engine to change something: a bug, refused before any byte is sent."""


def read_only(client) -> None:
    """Let this client send GET and HEAD only: the SDK's APIClient is a requests Session, and every
    call (inspect, stats, logs, but also start, exec, kill) goes through its `request`."""
    api = client.api
    send = api.request

    def request(method, url, *args, **kwargs):
        if str(method).upper() not in ("GET", "HEAD"):
            raise ReadOnly(f"opscheck is read-only: refused {str(method).upper()} {url}")
        return send(method, url, *args, **kwargs)

    api.request = request


@dataclass
class Selection:
    """The containers an entry selects (inspect documents) and what it named that does not exist."""

    containers: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def name_of(info: dict) -> str:
    return info.get("Name", "").lstrip("/") or info.get("Id", "")[:12]


def select(client, item) -> Selection:
    out = Selection()
    api = client.api
    if item.names:
        for name in item.names:
            try:
                out.containers.append(api.inspect_container(name))
            except NotFound:
                out.missing.append(name)
        return out
    labels = [f"{k}={v}" for k, v in item.labels.items()]
    if item.compose_project:
        labels.append(f"{COMPOSE_PROJECT}={item.compose_project}")
    for summary in api.containers(all=True, filters={"label": labels}):
        found = summary.get("Labels") or {}
        if found.get(COMPOSE_ONEOFF) == "True":
            continue
        if item.services and found.get(COMPOSE_SERVICE) not in item.services:
            continue
        try:
            out.containers.append(api.inspect_container(summary["Id"]))
        except NotFound:  # removed between the list and the inspect
            continue
    out.containers.sort(key=name_of)
    if item.services:
        present = {c["Config"].get("Labels", {}).get(COMPOSE_SERVICE) for c in out.containers}
        out.missing = [f"service {s}" for s in item.services if s not in present]
    elif not out.containers:
        out.missing = [f"any container of {item.selection()}"]
    return out


def selected(target: Target, *, down_is_crit: bool = False) -> Selection:
    with engine(target, down_is_crit=down_is_crit) as client:
        return select(client, target.spec)
