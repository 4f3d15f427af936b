"""Query text fit for a report: literals masked, whitespace folded, truncated, redacted."""

from __future__ import annotations

import re

from opscheck.redact import redact

_STRING = re.compile(r"(?:[EeBbXxNnUu]&?)?'(?:[^']|'')*'")
_DOLLAR = re.compile(r"\$([A-Za-z_]\w*|)\$.*?\$\1\$", re.S)
_NUMBER = re.compile(r"(?<![\w$.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")

MAX_QUERY = 200


def shorten_query(query: str | None, limit: int = MAX_QUERY) -> str | None:
    """The statement's shape without its values: `WHERE id = 42 AND name = 'x'` -> `id = ? AND name = ?`."""
    if query is None:
        return None
    text = _DOLLAR.sub("?", query)
    text = _STRING.sub("?", text)
    text = _NUMBER.sub("?", text)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return redact(text)


def plain(value):
    """A DB value as JSON-friendly evidence (datetimes, decimals, bytes become strings)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return redact(value) if isinstance(value, str) else value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(bytes(value))} bytes>"
    return redact(str(value))
