"""allure-results/: allure-pytest's files, completed on the controller, plus what it does not write.

allure-pytest writes one result per test from whichever process ran it (xdist
workers included), tagged with the test id by the plugin. Once every worker has
finished, this completes each check's result from its record: status from the
verdict (WARN broken, UNKNOWN unknown: Allure's yellow and purple), severity
(critical->blocker, high->critical, medium->normal, low->minor: the one
mapping, the description does not repeat ours), labels (epic = environment,
feature = area, story = check, parent suite = the run's suite, tags with the
verdict and control tags), the probe's duration, a readable description, parameters with secrets masked, the
runbook link and the evidence as an attachment; then it redacts every file and
adds environment.properties, executor.json, categories.json and history/
(carried from the previous run of the same suite, so each suite has its own trend).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from opscheck.redact import MASK, redact, redact_data
from opscheck.reports.folder import write_atomic
from opscheck.reports.history import sealed_runs
from opscheck.reports.run import Run, check_name
from opscheck.reports.words import record_threshold, record_value

DIRNAME = "allure-results"
SEVERITY = {"critical": "blocker", "high": "critical", "medium": "normal", "low": "minor"}
# Allure's own colours then match ours: passed green, broken yellow, failed red, unknown purple,
# skipped grey. WARN is "broken" (it needs a look, it is not a pass) and UNKNOWN "unknown"
# (nothing was measured); the categories below name them for what they are.
STATUS = {"OK": "passed", "WARN": "broken", "CRIT": "failed", "UNKNOWN": "unknown", "WAIVED": "skipped"}
REPLACED_LABELS = {"severity", "epic", "feature", "story", "parentSuite", "suite", "subSuite"}
SECRET_WORDS = ("password", "passwd", "token", "secret", "dsn", "api_key", "apikey", "cookie", "authorization")
CATEGORIES = [
    {"name": "Timeouts", "matchedStatuses": ["failed", "unknown"], "messageRegex": "(?si).*(timed out|timeout).*"},
    {"name": "Connection refused", "matchedStatuses": ["failed", "unknown"], "messageRegex": "(?si).*connection refused.*"},
    {"name": "CRIT: past the critical threshold or target down", "matchedStatuses": ["failed"], "messageRegex": "(?s)CRIT.*"},
    {"name": "UNKNOWN: could not measure", "matchedStatuses": ["unknown"], "messageRegex": "(?s)UNKNOWN.*"},
    {"name": "WARN: past the warning threshold", "matchedStatuses": ["broken"], "messageRegex": "(?s)WARN.*"},
    {"name": "WAIVED: known problem with an approved waiver", "matchedStatuses": ["skipped"], "messageRegex": "(?s).*WAIVED.*"},
]
HISTORY_FILES = ("history.json", "history-trend.json", "duration-trend.json", "categories-trend.json", "retry-trend.json")
HISTORY_LIMIT = 50


def write(run: Run, folder: Path) -> Path | None:
    results = folder / DIRNAME
    if not results.is_dir():
        return None
    records = {c["id"]: c for c in run.checks}
    for path in sorted(results.glob("*-result.json")):
        document = json.loads(path.read_text())
        record = records.get(_label(document, "opscheck_id"))
        if record is not None:
            complete(document, record, run, results)
        _dump(path, redact_data(document))
    for path in sorted(results.glob("*-container.json")):
        container = json.loads(path.read_text())
        if redact_data(container) != container:
            _dump(path, redact_data(container))
    for path in sorted(results.glob("*-attachment*")):
        if path.suffix in (".txt", ".json", ".log", ".html", ".xml", ".csv") or path.suffix == "":
            try:
                text = path.read_text()
            except UnicodeDecodeError:
                continue
            if redact(text) != text:
                path.write_bytes(redact(text).encode())
    _write_environment(run, results)
    build_order = _write_history(run, folder, results)
    _dump(results / "executor.json", {
        "name": "opscheck", "type": "opscheck", "buildName": run.id, "buildOrder": build_order,
        "reportName": redact(f"opscheck {run.suite} on {run.environment}"),
    })
    _dump(results / "categories.json", CATEGORIES)
    return results


def complete(document: dict, record: dict, run: Run, results: Path) -> None:
    verdict = record["verdict"]
    labels = [lb for lb in document.get("labels", []) if lb.get("name") not in REPLACED_LABELS and not (lb.get("name") == "tag" and lb.get("value") in STATUS)]
    area = record["id"].split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py").removeprefix("test_")
    check = check_name(record)
    labels += [
        {"name": "severity", "value": SEVERITY.get(record.get("severity") or "medium", "normal")},
        {"name": "epic", "value": run.environment},
        {"name": "feature", "value": area},
        {"name": "story", "value": check},
        # One suite per check: the suite this run ran (its schedules are tags).
        {"name": "parentSuite", "value": run.suite},
        {"name": "suite", "value": area},
        {"name": "subSuite", "value": check},
        {"name": "tag", "value": verdict},
        *({"name": "tag", "value": f"{k}:{v}" if v else k} for k, v in (record.get("tags") or {}).items()),
    ]
    document["labels"] = labels
    document["status"] = STATUS.get(verdict, "unknown")
    details = document.get("statusDetails") or {}
    if verdict != "OK":
        details["message"] = f"{verdict}: {record.get('summary')}"
    document["statusDetails"] = details
    document["parameters"] = _parameters(document.get("parameters", []), record)
    if record.get("runbook"):
        document.setdefault("links", []).append({"type": "link", "name": "runbook", "url": record["runbook"]})
    document["description"] = _description(record)
    document["descriptionHtml"] = _description_html(record)
    if record.get("duration_s") is not None and document.get("start"):
        # The probe's time, not the microseconds pytest spent judging its result.
        document["stop"] = int(document["start"]) + int(round(float(record["duration_s"]) * 1000))
    attachments = document.setdefault("attachments", [])
    evidence = record.get("evidence")
    if evidence not in (None, "", [], {}):
        is_text = isinstance(evidence, str)
        body = evidence if is_text else json.dumps(evidence, indent=1, default=str)
        attachments.append(_attach(results, "evidence", body, "text/plain" if is_text else "application/json", "txt" if is_text else "json"))


def _parameters(parameters: list[dict], record: dict) -> list[dict]:
    out = []
    for parameter in parameters:
        value = str(parameter.get("value", ""))
        if value.startswith("<Target "):
            value = record.get("target") or value
        secret = any(word in str(parameter.get("name", "")).lower() for word in SECRET_WORDS) or redact(value) != value
        out.append({**parameter, "value": MASK if secret else value, **({"mode": "masked"} if secret else {})})
    names = {p.get("name") for p in out}
    for name in ("target", "host"):
        if record.get(name) and name not in names:
            out.append({"name": name, "value": str(record[name])})
    return out


def _facts(record: dict) -> list[tuple[str, str]]:
    facts = []
    if record.get("title"):
        facts.append(("Control", record["title"] + (f": {record['description']}" if record.get("description") else "")))
    value = record_value(record)
    if value:
        facts.append(("Value", value))
    threshold = record_threshold(record)
    if threshold:
        facts.append(("Expected", threshold))
    if record.get("target"):
        facts.append(("Target", str(record["target"])))
    if record.get("runbook"):
        facts.append(("Runbook", str(record["runbook"])))
    waiver = record.get("waiver")
    if waiver:
        facts.append(("Waiver", f"{waiver.get('status')}: {waiver.get('justification')} (approved by {waiver.get('approver')}, expires {waiver.get('expires')})"))
    return facts


def _description(record: dict) -> str:
    lines = [f"{record['verdict']}: {record.get('summary')}", ""]
    lines += [f"{name}: {text}" for name, text in _facts(record)]
    return "\n".join(lines)


def _description_html(record: dict) -> str:
    from html import escape

    rows = "".join(f"<tr><th align='left'>{escape(n)}</th><td>{escape(t)}</td></tr>" for n, t in _facts(record))
    return f"<p><b>{escape(record['verdict'])}</b>: {escape(str(record.get('summary') or ''))}</p><table>{rows}</table>"


def _attach(results: Path, name: str, body: str, mime: str, extension: str) -> dict:
    source = f"{uuid.uuid4()}-attachment.{extension}"
    (results / source).write_bytes(redact(body).encode())
    return {"name": name, "source": source, "type": mime}


def _write_environment(run: Run, results: Path) -> None:
    meta = run.meta()
    rows = {
        "environment": meta["environment"],
        "suite": meta["suite"],
        "inventory": meta["inventory"],
        "inventory.sha256": meta["inventory_sha256"],
        "runner": f"{meta['user']}@{meta['host']}",
        "started": meta["started"],
        "git.commit": meta.get("git_commit") or "",
        **{f"version.{k}": v for k, v in meta["versions"].items()},
    }
    text = "".join(f"{key}={_properties_escape(redact(str(value)))}\n" for key, value in rows.items())
    write_atomic(results / "environment.properties", text.encode("utf-8"))


def _properties_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("=", "\\=").replace(":", "\\:")


def _write_history(run: Run, folder: Path, results: Path) -> int:
    """history/ = the previous run's history plus the previous run itself; returns this run's build order.

    The previous run of the same suite: a daily report's trend is the daily runs, not
    whatever ran last (a smoke gate in between would make it zig-zag)."""
    earlier = sealed_runs(folder.parent, run.suite, exclude=folder)
    if not earlier:
        return 1
    previous = earlier[-1].folder / DIRNAME
    if not previous.is_dir():
        return 1
    old = {name: _load(previous / "history" / name, [] if name != "history.json" else {}) for name in HISTORY_FILES}
    executor = _load(previous / "executor.json", {})
    order = int(executor.get("buildOrder") or 1)
    statistic = dict.fromkeys(("failed", "broken", "skipped", "passed", "unknown", "total"), 0)
    history = old["history.json"] if isinstance(old["history.json"], dict) else {}
    start, stop, categories = None, None, {}
    for path in sorted(previous.glob("*-result.json")):
        result = _load(path, {})
        status = result.get("status") or "unknown"
        statistic[status] = statistic.get(status, 0) + 1
        statistic["total"] += 1
        times = {"start": result.get("start"), "stop": result.get("stop"), "duration": (result.get("stop") or 0) - (result.get("start") or 0)}
        start = min(filter(None, (start, times["start"])), default=None)
        stop = max(filter(None, (stop, times["stop"])), default=None)
        category = _category(status, (result.get("statusDetails") or {}).get("message") or "")
        if category:
            categories[category] = categories.get(category, 0) + 1
        history_id = result.get("historyId")
        if not history_id:
            continue
        entry = history.setdefault(history_id, {"statistic": dict.fromkeys(statistic, 0), "items": []})
        entry["statistic"][status] = entry["statistic"].get(status, 0) + 1
        entry["statistic"]["total"] = entry["statistic"].get("total", 0) + 1
        item = {"uid": result.get("uuid"), "reportUrl": "", "status": status, "time": times}
        if (result.get("statusDetails") or {}).get("message"):
            item["statusDetails"] = result["statusDetails"]["message"]
        entry["items"] = [item, *entry["items"]][:HISTORY_LIMIT]
    name = executor.get("buildName") or earlier[-1].id
    trend = {"buildOrder": order, "reportName": name, "reportUrl": "", "data": statistic}
    out = results / "history"
    out.mkdir(exist_ok=True)
    _dump(out / "history.json", history)
    _dump(out / "history-trend.json", [trend, *old["history-trend.json"]][:HISTORY_LIMIT])
    _dump(out / "duration-trend.json", [{"buildOrder": order, "reportName": name, "data": {"duration": (stop or 0) - (start or 0)}}, *old["duration-trend.json"]][:HISTORY_LIMIT])
    _dump(out / "categories-trend.json", [{"buildOrder": order, "reportName": name, "data": categories}, *old["categories-trend.json"]][:HISTORY_LIMIT])
    _dump(out / "retry-trend.json", [{"buildOrder": order, "reportName": name, "data": {"run": statistic["total"], "retry": 0}}, *old["retry-trend.json"]][:HISTORY_LIMIT])
    return order + 1


def _category(status: str, message: str) -> str | None:
    import re

    for category in CATEGORIES:
        if status in category["matchedStatuses"] and re.fullmatch(category["messageRegex"], message):
            return category["name"]
    return None


def _label(document: dict, name: str) -> str | None:
    return next((lb.get("value") for lb in document.get("labels", []) if lb.get("name") == name), None)


def _load(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


def _dump(path: Path, data: Any) -> None:
    # In place: nothing reads allure-results before the run is sealed, and creating
    # a file per result (temp + rename) doubles the cost of a large run.
    path.write_bytes(json.dumps(data, default=str).encode())
