"""report.html: one self-contained page per run, rendered from the run's records.

It opens with what an on-call engineer or an auditor asks first: the overall
state, the counts, and the checks that are not OK, worst first, with their
summaries and runbooks. Then every check, worst first, filterable by verdict and
by control tag, each with its value (the one the verdict is about), threshold
in words, probe time, the verdicts of the suite's earlier runs and its evidence
as readable tables. Last, what a reader needs to reproduce the run.

Rendered from the listener's records rather than through pytest-html: one
writer like the others, no duplicated evidence or empty log boxes, and a cost
per check of a few string joins. No external resource: the file opens offline.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from opscheck.redact import redact
from opscheck.reports import evidence_html
from opscheck.reports.folder import write_atomic
from opscheck.reports.history import check_history
from opscheck.reports.run import VERDICTS, Run, check_name
from opscheck.reports.words import (
    VERDICT_ORDER,
    overall_state,
    record_threshold,
    record_value,
    seconds,
    worst_first,
)

FILENAME = "report.html"
HISTORY_RUNS = 10
COLOURS = {
    "OK": ("#2e7d32", "#fff"),
    "WARN": ("#f9a825", "#000"),
    "CRIT": ("#c62828", "#fff"),
    "UNKNOWN": ("#6a1b9a", "#fff"),
    "WAIVED": ("#546e7a", "#fff"),
}


def write(run: Run, folder: Path) -> Path:
    past = check_history(folder.parent, run.suite, exclude=folder, limit=HISTORY_RUNS)
    path = folder / FILENAME
    write_atomic(path, render(run, past).encode("utf-8"), durable=False)
    return path


def render(run: Run, past: list | None = None) -> str:
    past = past or []
    meta = run.meta()
    counts = run.counts()
    state = overall_state(counts)
    checks = worst_first(run.checks)
    title = redact(f"opscheck {run.suite} on {run.environment or 'unknown environment'}, {run.started.strftime('%Y-%m-%d %H:%M UTC')}")
    previous = past[-1] if past else None
    nav = ['<a href="../index.html">all runs</a>']
    if previous is not None:
        nav.append(f'<a id="previous-run" href="../{escape(previous.id)}/report.html">previous {escape(run.suite)} run ({escape(previous.id)})</a>')
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f'<h1 id="title">{escape(title)}</h1>',
        f'<nav>{" · ".join(nav)}</nav>',
        _headline(state, counts, checks, meta),
        _filters(counts, checks),
        _table(checks, past),
        _waivers(run),
        _environment(run, meta),
        f"<script>{SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts)


def _badge(verdict: str, text: str | None = None, cls: str = "badge") -> str:
    bg, fg = COLOURS.get(verdict, ("#999", "#000"))
    return f'<span class="{cls}" data-verdict="{escape(verdict)}" style="background:{bg};color:{fg}">{escape(text or verdict)}</span>'


def _headline(state: str, counts: dict, checks: list[dict], meta: dict) -> str:
    chips = " ".join(_badge(v, f"{counts.get(v, 0)} {v}", "count") for v in VERDICT_ORDER)
    duration = seconds(meta.get("duration_s")) if meta.get("duration_s") is not None else ""
    problems = [c for c in checks if c["verdict"] != "OK"]
    items = []
    for check in problems:
        runbook = f' <a class="runbook" href="{escape(redact(check["runbook"]))}">runbook</a>' if check.get("runbook") else ""
        items.append(
            f'<li>{_badge(check["verdict"])} <a href="#{_anchor(check["id"])}">{escape(_label(check))}</a>'
            f' <span class="sev">[{escape(check.get("severity") or "-")}]</span>: {escape(redact(check.get("summary") or ""))}{runbook}</li>'
        )
    listing = f'<ol id="problems">{"".join(items)}</ol>' if items else '<p id="problems">Every check is OK.</p>'
    return (
        f'<section id="headline" class="state-{state}"><p><span id="state">{_badge(state, cls="state")}</span> '
        f'<span id="opscheck-counts">{chips}</span> <span class="when">{len(checks)} checks'
        f'{", " + escape(duration) if duration else ""}</span></p>{listing}</section>'
    )


def _filters(counts: dict, checks: list[dict]) -> str:
    boxes = "".join(
        f'<label class="filter"><input type="checkbox" data-filter-verdict="{v}" checked> {_badge(v)} ({counts.get(v, 0)})</label>'
        for v in VERDICT_ORDER
    )
    tags = sorted({t for c in checks for t in _tags(c)})
    select = ""
    if tags:
        options = "".join(f'<option value="{escape(t)}">{escape(t)}</option>' for t in tags)
        select = f'<label class="filter">control <select id="tag-filter"><option value="">all</option>{options}</select></label>'
    return f'<div id="filters">Show: {boxes} {select}</div>'


def _table(checks: list[dict], past: list) -> str:
    head = "".join(
        f'<th class="{cls}"{" data-sort=" + chr(34) + key + chr(34) if key else ""}>{name}</th>'
        for name, cls, key in (
            ("State", "c-state", "verdict"), ("Check", "c-check", "check"), ("Target", "c-target", "target"),
            ("Value", "c-value", ""), ("Threshold", "c-threshold", ""), ("Severity", "c-sev", "severity"),
            ("Probe time", "c-dur", "duration"), ("History", "c-hist", ""),
        )
    )
    bodies = [_row(i, check, past) for i, check in enumerate(checks)]
    return f'<table id="checks"><thead><tr>{head}</tr></thead>{"".join(bodies)}</table>'


def _row(index: int, check: dict, past: list) -> str:
    verdict = check["verdict"]
    tags = " ".join(_tags(check))
    duration = check.get("duration_s")
    severity = check.get("severity") or ""
    attrs = (
        f'class="check" id="{_anchor(check["id"])}" data-verdict="{verdict}" data-rank="{VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else 9}"'
        f' data-order="{index}" data-check="{escape(_label(check).lower())}" data-target="{escape(redact(str(check.get("target") or "")).lower())}"'
        f' data-severity="{("critical", "high", "medium", "low").index(severity) if severity in ("critical", "high", "medium", "low") else 9}"'
        f' data-duration="{duration or 0}" data-tags="{escape(tags)}"'
    )
    strip = "".join(_tick(p.id, p.verdicts.get(check["id"])) for p in past) + _tick("this run", verdict)
    title = check.get("title")
    name = escape(_label(check)) + (f'<div class="title">{escape(redact(title))}</div>' if title else "")
    row = (
        f'<tr class="main"><td class="c-state">{_badge(verdict)}</td><td class="c-check">{name}'
        f'<div class="id">{escape(redact(check["id"]))}</div></td>'
        f'<td class="c-target">{escape(redact(str(check.get("target") or "")))}</td>'
        f'<td class="c-value">{escape(redact(record_value(check)))}</td>'
        f'<td class="c-threshold">{escape(record_threshold(check))}</td>'
        f'<td class="c-sev">{escape(severity)}</td><td class="c-dur">{escape(seconds(duration))}</td>'
        f'<td class="c-hist">{strip}</td></tr>'
    )
    return f"<tbody {attrs}>{row}<tr class=\"detail\"><td colspan=\"8\">{_detail(check)}</td></tr></tbody>"


def _tick(run_id: str, verdict: str | None) -> str:
    bg = COLOURS.get(verdict or "", ("#ddd", ""))[0]
    return f'<span class="tick" data-verdict="{escape(verdict or "none")}" title="{escape(run_id)}: {escape(verdict or "not run")}" style="background:{bg}"></span>'


def _detail(check: dict) -> str:
    verdict = check["verdict"]
    lines = [f'<p class="summary">{_badge(verdict)} {escape(redact(check.get("summary") or ""))}</p>']
    facts = []
    if check.get("description"):
        facts.append(("Control", check["description"]))
    if check.get("tags"):
        facts.append(("Tags", ", ".join(_tags(check))))
    if check.get("runbook"):
        facts.append(("Runbook", check["runbook"]))
    waiver = check.get("waiver")
    if waiver:
        facts.append(("Waiver", f"{waiver.get('status')}: {waiver.get('id')}: {waiver.get('justification')} (approved by {waiver.get('approver')}, expires {waiver.get('expires')}; verdict without it: {waiver.get('verdict')})"))
    if check.get("schedules"):
        facts.append(("Schedules", ", ".join(check["schedules"])))
    rows = "".join(
        f"<tr><th>{k}</th><td>{_link(v) if k == 'Runbook' else escape(redact(str(v)))}</td></tr>" for k, v in facts
    )
    if rows:
        lines.append(f"<table class='kv facts'>{rows}</table>")
    evidence = evidence_html.render(check.get("evidence"))
    if verdict == "OK":
        # An OK row costs one line until someone asks: summary, facts and evidence fold together.
        body = "".join(lines[1:]) + (f"<div class='evidence'>{evidence}</div>" if evidence else "")
        head = lines[0].replace('<p class="summary">', "").replace("</p>", "")
        return f"<details class='ok'><summary class='summary'>{head}</summary>{body}</details>" if body else lines[0]
    if evidence:
        lines.append(f"<details class='evidence' open><summary>Evidence</summary>{evidence}</details>")
    return "".join(lines)


def _waivers(run: Run) -> str:
    notes = [
        f'<li class="opscheck-waiver">Waiver {escape(redact(w["id"]))}: {escape(w["status"])} (expires {escape(str(w["expires"]))})</li>'
        for w in run.waivers
        if w.get("status") != "active"
    ]
    if not notes:
        return ""
    return f'<section id="waivers"><h2>Waivers that need a look</h2><ul>{"".join(notes)}</ul></section>'


def _environment(run: Run, meta: dict) -> str:
    versions = meta.get("versions") or {}
    plugins = meta.get("plugins") or {}
    rows = [
        ("Environment", meta.get("environment")),
        ("Suite", meta.get("suite")),
        ("Run", meta.get("id")),
        ("Started", meta.get("started")),
        ("Finished", meta.get("finished")),
        ("Runner", f"{meta.get('user')}@{meta.get('host')}"),
        ("Inventory", meta.get("inventory")),
        ("Inventory sha256", meta.get("inventory_sha256")),
        ("Checks git commit", meta.get("git_commit") or "not a git checkout"),
        ("opscheck", versions.get("opscheck")),
        ("Python", versions.get("python")),
        ("pytest", versions.get("pytest")),
        ("Plugins", ", ".join(f"{k} {v}" for k, v in sorted(plugins.items())) or "none recorded"),
        ("Exit status", meta.get("exit_status")),
    ]
    if run.waivers_file:
        rows.append(("Waivers", f"{run.waivers_file.get('path')} (sha256 {run.waivers_file.get('sha256')})"))
    if run.previous:
        rows.append(("Previous sealed run", f"{run.previous.get('run')} (manifest sha256 {run.previous.get('manifest_sha256')})"))
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(redact(str(v)))}</td></tr>" for k, v in rows if v not in (None, ""))
    return f'<section id="environment"><h2>Environment</h2><table class="kv">{body}</table></section>'


def _label(check: dict) -> str:
    return check_name(check)


def _tags(check: dict) -> list[str]:
    tags = check.get("tags") or {}
    if isinstance(tags, dict):
        return [f"{k}:{v}" if v else str(k) for k, v in tags.items()]
    return [str(t) for t in tags]


def _anchor(check_id: str) -> str:
    import hashlib

    return "c-" + hashlib.sha1(check_id.encode()).hexdigest()[:12]


def _link(url: str) -> str:
    url = redact(str(url))
    if url.startswith(("http://", "https://")):
        return f'<a href="{escape(url)}">{escape(url)}</a>'
    return escape(url)


assert set(COLOURS) == set(VERDICTS)

CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:16px;color:#222;max-width:100%}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:16px;margin:24px 0 8px}
nav{margin-bottom:12px;color:#555}
a{color:#1565c0}
.badge,.count,.state{display:inline-block;padding:1px 7px;border-radius:3px;font-weight:600;font-size:12px;white-space:nowrap}
.state{font-size:22px;padding:2px 12px}
.count{margin-right:4px}
.tick{display:inline-block;width:9px;height:16px;margin-right:1px;border-radius:2px;vertical-align:middle}
.tick[data-verdict=none]{background:#ddd}
#headline{border:1px solid #ccc;border-left-width:8px;padding:8px 14px;margin-bottom:12px}
#headline.state-CRIT{border-left-color:#c62828}#headline.state-WARN{border-left-color:#f9a825}
#headline.state-UNKNOWN{border-left-color:#6a1b9a}#headline.state-OK{border-left-color:#2e7d32}
#headline ol{margin:6px 0;padding-left:22px}#headline li{margin:3px 0;overflow-wrap:anywhere}
.sev,.when,.id{color:#666}.id{font-size:11px;overflow-wrap:anywhere}.title{color:#333;font-style:italic}
#filters{margin:8px 0}.filter{margin-right:10px;white-space:nowrap;cursor:pointer}
table{border-collapse:collapse}
#checks{width:100%;table-layout:fixed}
#checks th{text-align:left;background:#f3f3f3;border-bottom:2px solid #ccc;padding:4px 6px}
#checks th[data-sort]{cursor:pointer}
#checks td{padding:4px 6px;vertical-align:top;overflow-wrap:anywhere}
#checks tbody{border-bottom:1px solid #ddd}
#checks tbody[hidden]{display:none}
.c-state{width:90px}.c-check{width:20%}.c-target{width:15%}.c-value{width:14%}.c-threshold{width:13%}
.c-sev{width:70px}.c-dur{width:80px}.c-hist{width:130px}
tr.detail td{padding:0 6px 8px 24px;background:#fafafa}
.summary{margin:4px 0}
table.kv{max-width:100%;table-layout:auto}table.kv th{text-align:left;vertical-align:top;padding:1px 10px 1px 0;color:#444;font-weight:600;white-space:nowrap}
table.kv td{padding:1px 0;overflow-wrap:anywhere}
table.rows{max-width:100%}table.rows th,table.rows td{border:1px solid #ddd;padding:2px 5px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
pre.lines{white-space:pre-wrap;overflow-wrap:anywhere;margin:2px 0;font-size:12px;background:#f4f4f4;padding:4px;max-height:30em;overflow-y:auto}
.raw,.empty,.more{color:#777;font-size:12px}
details.evidence summary,details.ok summary{cursor:pointer;color:#444}
details.ok summary.summary{margin:2px 0}
ol.items{margin:0;padding-left:20px}
#environment table th{white-space:nowrap}#environment td{overflow-wrap:anywhere}
"""

# Filters and sorting: plain DOM, no library, nothing fetched.
SCRIPT = """
(function(){
  var table=document.getElementById('checks');
  function apply(){
    var shown={};
    document.querySelectorAll('[data-filter-verdict]').forEach(function(b){shown[b.getAttribute('data-filter-verdict')]=b.checked;});
    var sel=document.getElementById('tag-filter'); var tag=sel?sel.value:'';
    table.querySelectorAll('tbody.check').forEach(function(t){
      var ok=shown[t.getAttribute('data-verdict')]!==false;
      if(ok&&tag){ok=(' '+t.getAttribute('data-tags')+' ').indexOf(' '+tag+' ')>=0;}
      t.hidden=!ok;
    });
  }
  document.querySelectorAll('[data-filter-verdict]').forEach(function(b){b.addEventListener('change',apply);});
  var sel=document.getElementById('tag-filter'); if(sel){sel.addEventListener('change',apply);}
  var dir={};
  table.querySelectorAll('th[data-sort]').forEach(function(th){
    th.addEventListener('click',function(){
      var key=th.getAttribute('data-sort'); dir[key]=!dir[key];
      var attr={verdict:'data-rank',check:'data-check',target:'data-target',severity:'data-severity',duration:'data-duration'}[key];
      var rows=Array.prototype.slice.call(table.querySelectorAll('tbody.check'));
      rows.sort(function(a,b){
        var x=a.getAttribute(attr),y=b.getAttribute(attr);
        var nx=parseFloat(x),ny=parseFloat(y);
        var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
        if(c===0){c=a.getAttribute('data-order')-b.getAttribute('data-order');}
        return dir[key]?c:-c;
      });
      rows.forEach(function(r){table.appendChild(r);});
    });
  });
})();
"""
