"""Running, health and restarts of a container set: `docker compose ps` and `docker inspect`, as facts.

Each probe reports the set's containers one per row (name, state, exit code,
OOMKilled, health, restart count, image) and names the containers that are the
problem; the judging layer decides the verdict.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime

from opscheck import measuring
from opscheck.errors import Unmeasurable
from opscheck.measurement import Measurement, Target
from opscheck.probes.containers.engine import COMPOSE_SERVICE, Selection, name_of, selected
from opscheck.redact import redact

OUTPUT_CHARS = 300


def _row(info: dict) -> dict:
    state = info.get("State") or {}
    health = state.get("Health") or {}
    return {
        "name": name_of(info),
        "id": info.get("Id", "")[:12],
        "service": (info.get("Config") or {}).get("Labels", {}).get(COMPOSE_SERVICE),
        "status": state.get("Status"),
        "exit_code": state.get("ExitCode"),
        "oom_killed": state.get("OOMKilled"),
        "error": state.get("Error") or None,
        "health": health.get("Status"),
        "restart_count": info.get("RestartCount"),
        "started_at": state.get("StartedAt"),
        "finished_at": state.get("FinishedAt"),
        "image": (info.get("Config") or {}).get("Image"),
    }


def _gone(row: dict) -> str:
    """`backend exited (exit code 3, OOMKilled)`."""
    facts = []
    if row["status"] in ("exited", "dead", "restarting") and row["exit_code"] is not None:
        facts.append(f"exit code {row['exit_code']}")
    if row["oom_killed"]:
        facts.append("OOMKilled")
    if row["error"]:
        facts.append(row["error"][:OUTPUT_CHARS])
    return f"{row['name']} {row['status']}" + (f" ({', '.join(facts)})" if facts else "")


def probe_running(target: Target) -> Measurement:
    found = selected(target, down_is_crit=True)
    rows = [_row(c) for c in found.containers]
    problems = [f"{missing} missing" for missing in found.missing]
    warnings = []
    for row in rows:
        if row["status"] == "paused":
            warnings.append(f"{row['name']} paused")
        elif row["status"] != "running":
            problems.append(_gone(row))
    up = sum(1 for row in rows if row["status"] == "running")
    return Measurement(
        value=up, subject=target.spec.selection(), label=f"of {len(rows)} running",
        evidence={"containers": rows, "missing": found.missing}, problems=tuple(problems), warnings=tuple(warnings),
    )


def _last_check_output(info: dict) -> str:
    log = ((info.get("State") or {}).get("Health") or {}).get("Log") or []
    if not log:
        return "no health-check output recorded"
    last = log[-1]
    output = " ".join(redact(str(last.get("Output", ""))).split())
    if len(output) > OUTPUT_CHARS:
        output = output[: OUTPUT_CHARS - 1] + "…"
    return f"exit {last.get('ExitCode')}: {output}" if output else f"exit {last.get('ExitCode')}, no output"


def probe_health(target: Target) -> Measurement:
    found = _present(target)
    rows, problems, warnings, unchecked = [], [], [], []
    for info in found.containers:
        row = _row(info)
        row["last_check"] = _last_check_output(info) if row["health"] else None
        rows.append(row)
        if row["status"] != "running":
            continue  # the running check says so; a stopped container has no current health
        if row["health"] is None:
            unchecked.append(row["name"])
        elif row["health"] == "unhealthy":
            problems.append(f"{row['name']} unhealthy ({row['last_check']})")
        elif row["health"] == "starting":
            warnings.append(f"{row['name']} health starting ({row['last_check']})")
    judged = [r for r in rows if r["status"] == "running" and r["health"]]
    if not judged:
        why = "no running container of the set defines a health check (HEALTHCHECK)" if rows else "no container to ask"
        raise Unmeasurable(f"{why}: set health: false for {target.spec.selection()}")
    notes = (f"no health check: {', '.join(unchecked)}",) if unchecked else ()
    healthy = sum(1 for r in judged if r["health"] == "healthy")
    return Measurement(
        value=healthy, subject=target.spec.selection(), label=f"of {len(judged)} healthy",
        evidence={"containers": rows}, problems=tuple(problems), warnings=tuple(warnings), notes=notes,
    )


def _present(target: Target) -> Selection:
    found = selected(target)
    if not found.containers:
        raise Unmeasurable(f"no container of {target.spec.selection()} to measure ({', '.join(found.missing)} missing)")
    return found


def previous_counts(target: Target) -> tuple[dict[str, dict], str] | None:
    """{container id: row} from this check's record in the suite's previous results.json, and when it ran."""
    path = measuring.previous_results
    if path is None:
        return None
    try:
        run = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    for record in run.get("checks", []):
        if record.get("check") == target.check and record.get("target") == target.id:
            evidence = record.get("evidence")
            if isinstance(evidence, dict) and isinstance(evidence.get("containers"), list):
                rows = {r.get("id"): r for r in evidence["containers"] if isinstance(r, dict)}
                return rows, str((run.get("run") or {}).get("started") or "")
    return None


_CREATED = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$")


def created_epoch(created: str | None) -> float | None:
    """Docker's RFC 3339 `Created` (nanoseconds, `Z` or an offset, as Podman writes it) as epoch seconds."""
    m = _CREATED.match(created or "")
    if not m:
        return None
    zone = m.group(3) or "Z"
    return datetime.fromisoformat(m.group(1) + (m.group(2) or "")[:7] + ("+00:00" if zone == "Z" else zone)).timestamp()


def _uptime_hours(info: dict, now: float) -> float | None:
    created = created_epoch(info.get("Created"))
    return None if created is None else max(0.0, now - created) / 3600.0


def probe_restarts(target: Target) -> Measurement:
    found = _present(target)
    previous = previous_counts(target)
    now = time.time()
    rows = []
    for info in found.containers:
        row = _row(info)
        count = row["restart_count"]
        if count is None:
            raise Unmeasurable(f"the engine reports no RestartCount for {row['name']}")
        if previous is not None:
            before = previous[0].get(row["id"])
            # A container recreated since (a deploy) starts again from 0: all its restarts are new.
            row["restarts"] = count - before["restart_count"] if before and isinstance(before.get("restart_count"), int) else count
        else:
            hours = _uptime_hours(info, now)
            if hours is None:
                raise Unmeasurable(f"cannot read when {row['name']} was created ({info.get('Created')!r})")
            # At least an hour: a crash loop of 6 restarts in its first minute is 6 per hour, not 360.
            row["restarts"] = round(count / max(hours, 1.0), 2)
        rows.append(row)
    worst = max(rows, key=lambda r: r["restarts"])
    if previous is not None:
        label = f"restarts since the previous run ({previous[1] or 'time unknown'})"
    else:
        label = "restarts per hour of uptime (no previous run of the suite to compare with)"
    return Measurement(
        # The offender by name when there is one; the set when nothing restarted.
        value=worst["restarts"], subject=worst["name"] if worst["restarts"] else target.spec.selection(),
        label=label, evidence={"containers": rows, "compared_with": "previous run" if previous else "uptime"},
    )
