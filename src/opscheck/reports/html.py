"""report.html: pytest-html (>= 4.2), self-contained, with the checks' own columns.

pytest-html writes the file; this plugin feeds it through its hooks: a title
with environment, suite and time, the columns Check, Target, State (sortable,
coloured), Value, Threshold and Severity, the run metadata in the environment
table, and each check's verdict, summary and evidence inline as HTML (an `html`
extra, not a data: link, which browsers refuse to open). Everything is redacted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import pytest

from opscheck.redact import redact, redact_data
from opscheck.reports.run import check_name, git_commit
from opscheck.units import format_value

COLOURS = {
    "OK": "background:#2e7d32;color:#fff",
    "WARN": "background:#f9a825;color:#000",
    "CRIT": "background:#c62828;color:#fff",
    "UNKNOWN": "background:#6a1b9a;color:#fff",
    "WAIVED": "background:#546e7a;color:#fff",
}
COLUMNS = ("check", "target", "state", "value", "threshold", "severity")


class HtmlColumns:
    """pytest-html hooks; the run's listener and waivers are handed in by the plugin that registers it."""

    def __init__(self, config: pytest.Config, listener: Callable[[], Any], waivers: Callable[[], Any]) -> None:
        self.config = config
        self._listener = listener
        self._waivers = waivers

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report) -> None:
        listener = self._listener()
        if listener is None:
            return
        run = listener.run
        when = run.started.strftime("%Y-%m-%d %H:%M UTC")
        report.title = redact(f"opscheck {run.suite} on {run.environment or 'unknown environment'}, {when}")

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Fill the environment table (pytest-metadata) with the run's metadata before pytest-html reads it."""
        listener = self._listener()
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:
            return
        metadata = self.config.stash.get(metadata_key, None)
        if metadata is None or listener is None:
            return
        meta = listener.run.meta()
        commit = git_commit(Path(self.config.rootpath))
        rows = {
            "Environment": meta["environment"],
            "Suite": meta["suite"],
            "Inventory": meta["inventory"],
            "Inventory sha256": meta["inventory_sha256"],
            "Runner": f"{meta['user']}@{meta['host']}",
            "Started": meta["started"],
            "Versions": ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
            "Checks git commit": commit or "not a git checkout",
        }
        waivers = self._waivers()
        if waivers is not None:
            rows["Waivers"] = f"{waivers.path} (sha256 {waivers.sha256})"
        cleaned = redact_data({**rows, **{k: v for k, v in metadata.items() if k not in rows}})
        metadata.clear()
        metadata.update(cleaned)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list) -> None:
        cells[2:2] = [
            '<th class="sortable" data-column-type="check">Check</th>',
            '<th class="sortable" data-column-type="target">Target</th>',
            '<th class="sortable" data-column-type="state">State</th>',
            '<th data-column-type="value">Value</th>',
            '<th data-column-type="threshold">Threshold</th>',
            '<th class="sortable" data-column-type="severity">Severity</th>',
        ]

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report, cells: list) -> None:
        record = getattr(report, "opscheck", None)
        listener = self._listener()
        if record is None and listener is not None:
            record = listener.records.get(report.nodeid)
        if len(cells) > 1:
            cells[1] = redact(cells[1])
        record = record or {}
        verdict = record.get("verdict", "")
        style = COLOURS.get(verdict, "")
        cells[2:2] = [
            f'<td class="col-check">{_cell(check_name(record) if record else None)}</td>',
            f'<td class="col-target">{_cell(record.get("target"))}</td>',
            f'<td class="col-state" style="{style};font-weight:bold;text-align:center">{escape(verdict)}</td>',
            f'<td class="col-value">{_cell(value_text(record))}</td>',
            f'<td class="col-threshold">{_cell(threshold_text(record))}</td>',
            f'<td class="col-severity">{_cell(record.get("severity"))}</td>',
        ]

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list, summary: list, postfix: list, session) -> None:
        listener = self._listener()
        if listener is None:
            return
        counts = {v: 0 for v in COLOURS}
        for record in listener.records.values():
            counts[record["verdict"]] = counts.get(record["verdict"], 0) + 1
        spans = " ".join(
            f'<span class="opscheck-count" data-verdict="{v}" style="{COLOURS[v]};padding:2px 8px;border-radius:3px">{counts[v]} {v}</span>'
            for v in COLOURS
        )
        prefix.append(f'<p id="opscheck-counts">Verdicts: {spans}</p>')
        waivers = self._waivers()
        if waivers is not None:
            ids = list(listener.records)
            for waiver in waivers.status(ids, {i: r["verdict"] for i, r in listener.records.items()}):
                if waiver["status"] != "active":
                    prefix.append(f'<p class="opscheck-waiver">Waiver {escape(redact(waiver["id"]))}: {waiver["status"]} (expires {waiver["expires"]})</p>')

    def add_evidence(self, report: pytest.TestReport, record: dict) -> None:
        from pytest_html import extras

        report.extras = [*getattr(report, "extras", []), extras.html(evidence_html(record))]
        if record.get("runbook"):
            report.extras.append(extras.url(redact(record["runbook"]), name="runbook"))


def evidence_html(record: dict) -> str:
    verdict = record.get("verdict", "")
    rows = [
        ("Value", value_text(record)),
        ("Threshold", threshold_text(record)),
        ("Severity", record.get("severity")),
        ("Runbook", record.get("runbook")),
    ]
    waiver = record.get("waiver")
    if waiver:
        rows.append(("Waiver", f"{waiver.get('status')}: {waiver.get('id')}: {waiver.get('justification')} (approved by {waiver.get('approver')}, expires {waiver.get('expires')})"))
    table = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{k}</th><td>{_cell(v)}</td></tr>" for k, v in rows if v not in (None, ""))
    evidence = record.get("evidence")
    if evidence is not None and not isinstance(evidence, str):
        evidence = json.dumps(evidence, indent=1, default=str)
    body = f"<pre class='opscheck-evidence'>{escape(redact(evidence))}</pre>" if evidence else "<p>no evidence recorded</p>"
    return (
        f"<div class='opscheck-record'><p><b style='{COLOURS.get(verdict, '')};padding:1px 6px'>{escape(verdict)}</b> "
        f"{escape(redact(record.get('summary') or ''))}</p><table>{table}</table>{body}</div>"
    )


def value_text(record: dict) -> str:
    value = record.get("value")
    return "" if value is None else format_value(value, record.get("unit") or "")


def threshold_text(record: dict) -> str:
    unit = record.get("unit") or ""
    parts = [f"{name} {format_value(record[name], unit)}" for name in ("warn", "crit") if record.get(name) is not None]
    if parts and record.get("direction") == "below":
        parts.append("(below)")
    return ", ".join(parts)


def _cell(value) -> str:
    return "" if value is None else escape(redact(str(value)))


