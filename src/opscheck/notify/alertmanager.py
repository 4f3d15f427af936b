"""Post the run's non-OK checks to an Alertmanager v2 API (`POST /api/v2/alerts`).

Alertmanager is not told about changes but about state: every run posts one
alert per check that is CRIT, UNKNOWN or WARN (firing until `endsAt` = now +
`valid_for`, so a run that stops arriving lets the alerts expire rather than
fire forever), and one alert with `endsAt` = now for each check that was not OK
in the previous run and is now OK, WAIVED or gone (resolved). The labels say
which check it is (alertname, suite, environment, check, target, severity,
check_id); the verdict, summary, runbook and report are annotations, so an alert
keeps its identity when a WARN becomes CRIT.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from opscheck import __version__
from opscheck.notify.webhook import DeliveryFailed
from opscheck.redact import redact_data

ALERTNAME = "OpscheckCheck"
FIRING = ("CRIT", "UNKNOWN", "WARN")
PATH = "/api/v2/alerts"


@dataclass(frozen=True)
class Batch:
    """The alerts of one run, as Alertmanager's PostableAlerts."""

    alerts: tuple[dict, ...]

    def firing(self) -> int:
        return sum(1 for a in self.alerts if a["annotations"].get("verdict") in FIRING)


def build(results: dict, previous: dict, suite: str, report: str, valid_for_s: float, now: datetime | None = None) -> Batch:
    now = now or datetime.now(timezone.utc)
    run = results.get("run", {})
    environment = run.get("environment") or ""
    alerts = []
    seen = set()
    for check in results.get("checks", []):
        seen.add(check["id"])
        verdict = check["verdict"]
        was = (previous.get(check["id"]) or {}).get("verdict")
        if verdict in FIRING:
            ends = now + timedelta(seconds=valid_for_s)
        elif was in FIRING:
            ends = now
        else:
            continue
        alerts.append(_alert(check, suite, environment, report, verdict, now, ends))
    for check_id, before in previous.items():
        if check_id not in seen and (before or {}).get("verdict") in FIRING:
            gone = {"id": check_id, "verdict": "OK", "summary": "no longer checked"}
            alerts.append(_alert(gone, suite, environment, report, "OK", now, now))
    return Batch(tuple(redact_data(alerts)))


def _alert(check: dict, suite: str, environment: str, report: str, verdict: str, now: datetime, ends: datetime) -> dict:
    labels = {
        "alertname": ALERTNAME,
        "suite": suite,
        "environment": environment,
        "check": check.get("check") or check["id"].split("::")[-1].split("[")[0].removeprefix("test_").replace("_", " "),
        "target": check.get("target") or "",
        "severity": check.get("severity") or "",
        "check_id": check["id"],
    }
    annotations = {
        "verdict": verdict,
        "summary": f"{verdict}: {check.get('summary') or ''}",
        "report": report,
    }
    if check.get("runbook"):
        annotations["runbook_url"] = check["runbook"]
    if check.get("title"):
        annotations["description"] = check["title"]
    alert = {
        "labels": {k: str(v) for k, v in labels.items() if v not in (None, "")},
        "annotations": annotations,
        "startsAt": _stamp(now) if verdict in FIRING else None,
        "endsAt": _stamp(ends),
    }
    if report.startswith(("http://", "https://")):
        alert["generatorURL"] = report
    return {k: v for k, v in alert.items() if v is not None}


def send(channel, batch: Batch, timeout: float) -> str:
    url = channel.url.reveal().rstrip("/")
    if not url.endswith(PATH):
        url += PATH
    headers = {"Content-Type": "application/json", "User-Agent": f"opscheck/{__version__}"}
    headers.update({name: value.reveal() for name, value in channel.headers.items()})
    request = urllib.request.Request(url, data=json.dumps(list(batch.alerts)).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return f"HTTP {response.status}, {batch.firing()} firing, {len(batch.alerts) - batch.firing()} resolved"
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailed(f"{type(reason).__name__}: {reason}") from None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
