"""Evidence as HTML a person reads: key/value tables, sizes with units, text as lines.

Probes hand back plain data (dicts, lists, strings). Dumped as JSON it becomes
one escaped line (`"tail": "...\\n..."`) that widens the page; here a mapping is
a two-column table, a list of like mappings a table with a header, a
multi-line string its lines (wrapped), and a number whose key names a size or a
duration reads in that unit, with the raw number kept beside it for audit.
Everything passes through the redactor first.
"""

from __future__ import annotations

import re
from html import escape

from opscheck.redact import redact, redact_data
from opscheck.reports.words import seconds, size

MAX_ITEMS = 200
MAX_DEPTH = 6
_SIZE_KEY = re.compile(r"(bytes|size|_limit$|^limit$|mem_|memory|_free$|^free$|_used$|^used$|rss|disk_free)", re.I)
_SECONDS_KEY = re.compile(r"(_s$|_seconds$|^seconds$|_secs$|age_s)", re.I)
_MS_KEY = re.compile(r"_ms$", re.I)


def render(evidence) -> str:
    if evidence in (None, "", [], {}):
        return ""
    return _value(redact_data(evidence), "", 0)


def _value(value, key: str, depth: int) -> str:
    if depth > MAX_DEPTH:
        return f"<code>{escape(str(value))}</code>"
    if isinstance(value, dict):
        return _mapping(value, depth)
    if isinstance(value, (list, tuple)):
        return _list(list(value), key, depth)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool) or value is None:
        return f"<code>{escape(str(value).lower() if value is not None else 'null')}</code>"
    if isinstance(value, (int, float)):
        return _number(value, key)
    return _text(str(value))


def _mapping(mapping: dict, depth: int) -> str:
    if not mapping:
        return "<span class='empty'>(empty)</span>"
    rows = "".join(
        f"<tr><th>{escape(redact(str(k)))}</th><td>{_value(v, str(k), depth + 1)}</td></tr>" for k, v in mapping.items()
    )
    return f"<table class='kv'>{rows}</table>"


def _list(items: list, key: str, depth: int) -> str:
    if not items:
        return "<span class='empty'>(none)</span>"
    more = f"<p class='more'>… {len(items) - MAX_ITEMS} more not shown (see results.json)</p>" if len(items) > MAX_ITEMS else ""
    items = items[:MAX_ITEMS]
    if all(isinstance(i, dict) for i in items):
        columns: list[str] = []
        for item in items:
            columns += [str(k) for k in item if str(k) not in columns]
        if len(columns) <= 8:
            head = "".join(f"<th>{escape(c)}</th>" for c in columns)
            body = "".join(
                "<tr>" + "".join(f"<td>{_value(item.get(c), c, depth + 1) if c in item else ''}</td>" for c in columns) + "</tr>"
                for item in items
            )
            return f"<table class='rows'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"
    if all(isinstance(i, (str, int, float)) and not isinstance(i, bool) for i in items) and sum(len(str(i)) for i in items) < 120 and not any("\n" in str(i) for i in items):
        return escape(", ".join(str(i) for i in items)) + more
    return "<ol class='items'>" + "".join(f"<li>{_value(i, key, depth + 1)}</li>" for i in items) + f"</ol>{more}"


def _text(text: str) -> str:
    text = redact(text)
    if "\n" in text or len(text) > 120:
        return f"<pre class='lines'>{escape(text.rstrip(chr(10)))}</pre>"
    return escape(text)


def _number(value: float, key: str) -> str:
    raw = f"{value:,}" if isinstance(value, int) else str(value)
    if _MS_KEY.search(key):
        return f"{escape(seconds(value / 1000))} <span class='raw'>({escape(raw)} ms)</span>"
    if _SECONDS_KEY.search(key):
        return f"{escape(seconds(value))} <span class='raw'>({escape(raw)} s)</span>"
    if _SIZE_KEY.search(key) and abs(value) >= 1024:
        return f"{escape(size(value))} <span class='raw'>({escape(raw)} B)</span>"
    return escape(raw)
