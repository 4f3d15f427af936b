"""systemd units, processes by pattern, listening ports: `systemctl show`, `ps`, `ss`."""

from __future__ import annotations

import shlex

from opscheck.errors import Unmeasurable
from opscheck.host import run
from opscheck.measurement import Measurement, Target
from opscheck.probes.services.processes import (
    describe_listener,
    describe_process,
    listeners,
    matching,
    processes,
)
from opscheck.registry import Kind
from opscheck.targets import per_host, per_host_item

UNIT_PROPERTIES = "Id,LoadState,ActiveState,SubState,UnitFileState,Result,MainPID,ActiveEnterTimestamp"
# UnitFileStates that start the unit at boot, or need no enabling.
STARTS_AT_BOOT = {"enabled", "enabled-runtime", "static", "indirect", "generated", "alias", "linked", "linked-runtime", "transient"}


def probe_unit(target: Target) -> Measurement:
    unit = target.spec
    script = (
        "if [ ! -d /run/systemd/system ]; then echo NO-SYSTEMD; cat /proc/1/comm 2>/dev/null; exit 0; fi; "
        f"systemctl show --no-pager -p {UNIT_PROPERTIES} -- {shlex.quote(unit)}"
    )
    result = run(target.host, script, target.timeout)
    if result.stdout.startswith("NO-SYSTEMD"):
        pid1 = result.stdout.split("\n", 1)[1].strip() or "unknown"
        raise Unmeasurable(f"systemd is not running (PID 1 is {pid1}): units cannot be checked")
    if result.rc != 0:
        raise Unmeasurable(f"systemctl show {unit}: {result.stderr.strip() or f'exit {result.rc}'}")
    return judge_unit(unit, parse_show(result.stdout))


def parse_show(text: str) -> dict[str, str]:
    """`systemctl show -p …` KEY=value lines."""
    props = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            props[key.strip()] = value.strip()
    return props


def judge_unit(unit: str, props: dict[str, str]) -> Measurement:
    load, active = props.get("LoadState", ""), props.get("ActiveState", "")
    sub, file_state = props.get("SubState", ""), props.get("UnitFileState", "")
    problems, warnings = [], []
    if load == "not-found":
        problems.append("unit not found")
    elif load == "masked" or file_state.startswith("masked"):
        problems.append("masked")
    if load != "not-found" and active != "active":
        failed = f", result {props['Result']}" if active == "failed" and props.get("Result") not in (None, "", "success") else ""
        problems.append(f"not running: {active or 'unknown'} ({sub}{failed})")
    if not problems and file_state not in STARTS_AT_BOOT:
        warnings.append(f"{file_state or 'not enabled'}: will not start at boot")
    state = f"{active} ({sub})" if sub else active
    return Measurement(
        value=active or None, subject=f"{unit} {state}, {file_state or 'no unit file'}".strip(),
        evidence=props, problems=tuple(problems), warnings=tuple(warnings),
    )


def probe_process(target: Target) -> Measurement:
    spec = target.spec
    found = matching(processes(target), spec.pattern, spec.user)
    count = len(found)
    bounds = f"min {spec.min}" + (f", max {spec.max}" if spec.max is not None else "")
    problems = []
    if count < spec.min:
        problems.append(f"expected at least {spec.min}")
    if spec.max is not None and count > spec.max:
        problems.append(f"expected at most {spec.max}")
    who = f" of {spec.user}" if spec.user else ""
    return Measurement(
        value=count, unit="processes" if count != 1 else "process", subject=f"/{spec.pattern}/{who}",
        label=f"running ({bounds})", evidence=[describe_process(p) for p in found[:50]], problems=tuple(problems),
    )


def probe_port(target: Target) -> Measurement:
    port = target.spec
    socks = [s for s in listeners(target) if s["port"] == port]
    if not socks:
        return Measurement(subject=f"tcp/{port}", problems=("nothing listens on it",), evidence=[])
    where = ", ".join(describe_listener(s).removeprefix(f"tcp/{port} on ") for s in socks)
    return Measurement(value=len(socks), subject=f"tcp/{port} listening on {where}", evidence=[describe_listener(s) for s in socks])


def probe_listeners(target: Target) -> Measurement:
    item = target.spec
    allowed = set(item.only or ()) | set(item.listening)
    socks = listeners(target)
    considered = [s for s in socks if not (item.ignore_loopback and s["loopback"])]
    unexpected = [s for s in considered if s["port"] not in allowed]
    problems = tuple(f"unexpected listener {describe_listener(s)}" for s in unexpected[:10])
    if len(unexpected) > 10:
        problems += (f"and {len(unexpected) - 10} more",)
    return Measurement(
        value=len(unexpected), subject=f"{len(considered)} TCP listeners, allowed ports {', '.join(map(str, sorted(allowed))) or 'none'}",
        problems=problems,
        evidence={"unexpected": [describe_listener(s) for s in unexpected], "all": [describe_listener(s) for s in socks]},
    )


KINDS = (
    Kind("unit", "systemd unit running", "services", per_host_item("units"), probe_unit),
    Kind("process", "process running", "services", per_host_item("processes", lambda p: p.pattern + (f" as {p.user}" if p.user else "")), probe_process),
    Kind("port", "port listening", "services", per_host_item("listening"), probe_port),
    Kind("listeners", "only expected listeners", "services", per_host(when=lambda item: item.only is not None), probe_listeners),
)
