"""reports/index.html: every sealed run of every suite, newest first, with a trend per suite.

Rewritten atomically after each run (and rendered live by `opscheck serve /`).
Each run shows its state, counts, duration, whether its manifest is sealed and
links to its predecessor, and links to report.html, results.json and the
rendered Allure report when `opscheck report allure` made one. Each suite gets a
small inline SVG of its counts per verdict over time: no script, no CDN, the
file opens offline. The full file-by-file check stays `opscheck verify`.
"""

from __future__ import annotations

import hashlib
import json
from html import escape
from pathlib import Path

from opscheck.redact import redact
from opscheck.reports.folder import write_atomic
from opscheck.reports.history import PastRun, sealed_runs
from opscheck.reports.manifest import FILENAME as MANIFEST
from opscheck.reports.manifest import seal
from opscheck.reports.words import VERDICT_ORDER, overall_state, seconds

FILENAME = "index.html"
TREND_RUNS = 60
COLOURS = {"OK": "#2e7d32", "WARN": "#f9a825", "CRIT": "#c62828", "UNKNOWN": "#6a1b9a", "WAIVED": "#546e7a"}


def write(reports_dir: Path) -> Path:
    path = Path(reports_dir) / FILENAME
    write_atomic(path, render(reports_dir).encode("utf-8"), durable=False)
    return path


def render(reports_dir: Path, base: str = "") -> str:
    """The page; `base` prefixes links (`/reports/` when served, "" as a file beside the runs)."""
    reports_dir = Path(reports_dir)
    runs = sealed_runs(reports_dir)
    status = chain_status(reports_dir, runs)
    suites: dict[str, list[PastRun]] = {}
    for run in runs:
        suites.setdefault(run.suite, []).append(run)
    trends = "".join(
        f'<figure class="trend" data-suite="{escape(s)}"><figcaption>{escape(s)} ({len(r)} runs)</figcaption>{trend_svg(r[-TREND_RUNS:])}</figure>'
        for s, r in sorted(suites.items())
    )
    legend = " ".join(f'<span class="key" style="background:{COLOURS[v]}"></span>{v}' for v in VERDICT_ORDER)
    rows = "".join(_row(run, status.get(run.id, ""), reports_dir, base) for run in reversed(runs))
    empty = "" if runs else '<p id="no-runs">No sealed run yet.</p>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>opscheck runs</title><style>{CSS}</style></head><body>
<h1>opscheck runs</h1>{'<nav><a href="/healthz">healthz</a> · <a href="/metrics">metrics</a> · <a href="/reports/">reports/</a></nav>' if base else ''}
<p class="note">{len(runs)} sealed runs of {len(suites)} suites in {escape(str(reports_dir.name))}/. Verify every file of every run with <code>opscheck verify {escape(str(reports_dir.name))}/</code>.</p>
<section id="trends"><h2>Trend per suite</h2><p class="legend">{legend}</p>{trends}</section>
<h2>Runs, newest first</h2>{empty}
<table id="runs"><thead><tr><th>Run</th><th>Suite</th><th>Environment</th><th>State</th><th>Counts</th><th>Duration</th><th>Record</th><th>Links</th></tr></thead>
<tbody>{rows}</tbody></table>
</body></html>
"""


def _row(run: PastRun, status: str, reports_dir: Path, base: str) -> str:
    counts = run.run.get("counts") or {}
    state = overall_state(counts)
    shown = " ".join(
        f'<span class="count" style="background:{COLOURS[v]}">{counts.get(v, 0)} {v}</span>' for v in VERDICT_ORDER if counts.get(v)
    )
    href = f"{base}{run.id}/"
    links = [f'<a href="{escape(href)}report.html">report</a>', f'<a href="{escape(href)}results.json">results.json</a>']
    if (reports_dir / "allure" / f"{run.id}.html").is_file():
        links.append(f'<a href="{escape(base)}allure/{escape(run.id)}.html">Allure</a>')
    ok = status == "sealed, chain ok" or status == "sealed, first of the chain"
    return (
        f'<tr data-suite="{escape(run.suite)}" data-state="{state}"><td>{escape(run.id)}</td><td>{escape(run.suite)}</td>'
        f'<td>{escape(redact(run.run.get("environment") or ""))}</td>'
        f'<td><span class="state" style="background:{COLOURS[state]}">{state}</span></td><td>{shown}</td>'
        f'<td>{escape(seconds(run.run.get("duration_s")))}</td>'
        f'<td class="{"ok" if ok else "bad"}">{escape(status)}</td><td>{" · ".join(links)}</td></tr>'
    )


def chain_status(reports_dir: Path, runs: list[PastRun]) -> dict[str, str]:
    """Per run: its manifest's seal matches, and the predecessor it names still has that manifest."""
    documents, hashes, pruned = {}, {}, {}
    for run in runs:
        try:
            data = (run.folder / MANIFEST).read_bytes()
            documents[run.id] = json.loads(data)
        except (OSError, ValueError):
            continue
        hashes[run.id] = hashlib.sha256(data).hexdigest()
        for record in documents[run.id].get("pruned") or []:
            pruned[record.get("run")] = record.get("manifest_sha256")
    out = {}
    for name, document in documents.items():
        if document.get("seal") != seal(document):
            out[name] = "seal broken"
            continue
        previous = document.get("previous") or {}
        before = previous.get("run")
        if not before:
            out[name] = "sealed, first of the chain"
        elif hashes.get(before, pruned.get(before)) == previous.get("manifest_sha256"):
            out[name] = "sealed, chain ok"
        elif before in hashes:
            out[name] = f"chain break: {before} changed"
        else:
            out[name] = f"chain break: {before} missing"
    return out


def trend_svg(runs: list[PastRun], width: int = 480, height: int = 80) -> str:
    """Stacked bars of the counts per verdict, oldest left; a title per bar names the run."""
    if not runs:
        return ""
    most = max(sum((r.run.get("counts") or {}).values()) for r in runs) or 1
    step = min(width / max(len(runs), 1), 16.0)
    bar = max(step - 2, 1)
    shapes = []
    for i, run in enumerate(runs):
        counts = run.run.get("counts") or {}
        y = float(height)
        title = escape(f"{run.id}: " + ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICT_ORDER if counts.get(v)))
        parts = []
        for verdict in reversed(VERDICT_ORDER):  # OK at the bottom, CRIT on top
            n = counts.get(verdict, 0)
            if not n:
                continue
            h = n / most * (height - 2)
            y -= h
            parts.append(f'<rect x="{i * step:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{COLOURS[verdict]}" data-verdict="{verdict}"/>')
        shapes.append(f"<g><title>{title}</title>{''.join(parts)}</g>")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="counts per verdict per run">{"".join(shapes)}</svg>'
    )


CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:16px;color:#222}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 8px}
.note{color:#555}
.trend{display:inline-block;margin:0 24px 12px 0;vertical-align:top}.trend figcaption{font-weight:600}
.trend svg{background:#fafafa;border:1px solid #ddd}
.key{display:inline-block;width:10px;height:10px;margin:0 3px 0 10px}
table{border-collapse:collapse;width:100%;table-layout:fixed}
#runs th:nth-child(1){width:19%}#runs th:nth-child(5){width:22%}
th{text-align:left;background:#f3f3f3;border-bottom:2px solid #ccc;padding:4px 6px}
td{padding:4px 6px;border-bottom:1px solid #eee;vertical-align:top;overflow-wrap:anywhere}
.state,.count{display:inline-block;padding:1px 7px;border-radius:3px;font-weight:600;font-size:12px;color:#fff;margin:1px}
td.ok{color:#2e7d32}td.bad{color:#c62828;font-weight:600}
"""
