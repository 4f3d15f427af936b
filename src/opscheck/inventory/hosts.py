"""Host groups and `on:` selectors: which hosts an inventory entry applies to."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BeforeValidator

from opscheck.measurement import HostRef
from opscheck.units import describe_input

ALL = "all"
DEFAULT_HOSTS = {"local": [HostRef("local", "local://")]}


def host_name(spec: str) -> str:
    """A readable name for a testinfra spec: `local://` -> local, `ssh://deploy@web-1:22` -> web-1."""
    if spec in ("local://", "local"):
        return "local"
    parts = urlsplit(spec)
    return parts.hostname or parts.netloc or spec


def _no_password(spec: str) -> str:
    """testinfra turns `ssh://user:pw@host` into `sshpass -p pw ssh …`: the password would sit in
    the process table and in testinfra's DEBUG log, so it is refused as in DSNs."""
    try:
        password = urlsplit(spec).password
    except ValueError:
        password = None
    if password is not None:
        raise ValueError(
            "a password does not belong in a host spec (testinfra would pass it to sshpass on the command line): "
            "use an SSH key or agent, ssh://user@host"
        )
    return spec


def parse_host(value: Any) -> HostRef:
    """`local://`, `ssh://user@host`, … or `{name: web-1, spec: ssh://…}`."""
    if isinstance(value, HostRef):
        return value
    if isinstance(value, str) and "://" in value.strip():
        spec = _no_password(value.strip())
        return HostRef(host_name(spec), spec)
    if isinstance(value, dict) and set(value) == {"name", "spec"} and all(isinstance(v, str) and v for v in value.values()):
        return HostRef(value["name"], _no_password(value["spec"]))
    raise ValueError(
        "expected a testinfra host spec (local://, ssh://user@host, docker://name) "
        f"or {{name: ..., spec: ...}}, found {describe_input(value)}"
    )


HostSpec = Annotated[HostRef, BeforeValidator(parse_host)]


def check_groups(groups: dict[str, list[HostRef]]) -> dict[str, list[HostRef]]:
    if ALL in groups:
        raise ValueError(f"'{ALL}' is reserved: it selects every host")
    seen: dict[str, str] = {}
    for hosts in groups.values():
        for host in hosts:
            if seen.setdefault(host.name, host.spec) != host.spec:
                raise ValueError(
                    f"host name {host.name!r} stands for both {seen[host.name]} and {host.spec}; "
                    "name one of them with {name: ..., spec: ...}"
                )
    return groups


def all_hosts(groups: dict[str, list[HostRef]]) -> list[HostRef]:
    out: dict[str, HostRef] = {}
    for hosts in groups.values():
        for host in hosts:
            out.setdefault(host.name, host)
    return list(out.values())


def select(groups: dict[str, list[HostRef]], selectors: list[str]) -> list[HostRef]:
    """Hosts named by `selectors` (groups, host names, `all`), each once, in inventory order."""
    chosen: dict[str, HostRef] = {}
    everyone = all_hosts(groups)
    for selector in selectors:
        if selector == ALL:
            hosts = everyone
        elif selector in groups:
            hosts = groups[selector]
        else:
            hosts = [h for h in everyone if h.name == selector]
        for host in hosts:
            chosen.setdefault(host.name, host)
    return list(chosen.values())


def unknown_selectors(groups: dict[str, list[HostRef]], selectors: list[str]) -> list[str]:
    known = {ALL, *groups, *(h.name for h in all_hosts(groups))}
    return [s for s in selectors if s not in known]
