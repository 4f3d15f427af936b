"""One redactor for every output: reports, logs, assertion messages.

Secrets enter through the inventory (`env:`/`file:` values register themselves
here); patterns catch the rest (DSN passwords, Authorization headers, token=...).
"""

from __future__ import annotations

import re
import threading
from typing import Any

MASK = "***"

_PATTERNS = [
    # scheme://user:password@host
    (re.compile(r"(?P<keep>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s]+(?=@)"), r"\g<keep>" + MASK),
    # Authorization: Bearer xyz / Cookie: a=b
    (re.compile(r"(?i)(?P<keep>\b(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token)\b\s*[:=]\s*)(?:\"[^\"]*\"|'[^']*'|[^\r\n,}]+)"), r"\g<keep>" + MASK),
    # password=..., token: ..., secret=..., api_key=... (query strings, DSN keywords, JSON)
    (re.compile(r"(?i)(?P<keep>(?<![/.])\b[\w-]*(?:password|passwd|pwd|token|secret|api[_-]?key)[\w-]*\b[\"']?\s*[:=]\s*[\"']?)(?!\*\*\*)[^\s&;,\"'}]+"), r"\g<keep>" + MASK),
]

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Mask `value` wherever it appears from now on; short values would mask noise, so skip them."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)
            for line in value.splitlines():
                if len(line.strip()) >= 4:
                    _secrets.add(line.strip())


def redact(text: Any) -> Any:
    """`text` with every known secret and secret-looking value masked; non-strings pass through."""
    if not isinstance(text, str) or not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    if "..." in text:
        for secret in secrets:
            text = _mask_cut(text, secret)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _mask_cut(text: str, secret: str) -> str:
    """pytest shortens long values around '...' ('postgres:/...ecretValue'): mask either half of a cut secret."""
    for size in range(len(secret) - 1, 5, -1):
        head, tail = secret[:size] + "...", "..." + secret[-size:]
        if head in text:
            text = text.replace(head, MASK + "...")
        if tail in text:
            text = text.replace(tail, "..." + MASK)
    return text


def redact_data(data: Any) -> Any:
    """`redact` applied to every string inside JSON-like data (keys too)."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {redact_data(k): redact_data(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [redact_data(v) for v in data]
    return data
