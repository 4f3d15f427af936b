"""One redactor for every output: reports, logs, assertion messages.

Secrets enter through the inventory (`env:`/`file:` values register themselves
here); patterns catch the rest (DSN passwords, Authorization headers, token=...).
"""

from __future__ import annotations

import functools
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

# One search that every pattern above needs to match: most strings fail it and skip the substitutions.
_MIGHT_HOLD_SECRET = re.compile(
    r"(?i)://[^\s@]*:|authorization|cookie|x-api-key|x-auth-token|passw|pwd|token|secret|api[_-]?key"
)

_lock = threading.Lock()
_secrets: set[str] = set()
_by_length: tuple[str, ...] = ()


def register_secret(value: str) -> None:
    """Mask `value` wherever it appears from now on; short values would mask noise, so skip them."""
    if value and len(value) >= 4:
        global _by_length
        with _lock:
            _secrets.add(value)
            for line in value.splitlines():
                if len(line.strip()) >= 4:
                    _secrets.add(line.strip())
            # Longest first, so a secret containing another is masked whole; sorted once, not per call.
            _by_length = tuple(sorted(_secrets, key=len, reverse=True))
            _redact_text.cache_clear()  # answers given before this secret was known are stale


def redact(text: Any) -> Any:
    """`text` with every known secret and secret-looking value masked; non-strings pass through."""
    if not isinstance(text, str) or len(text) < 4:
        return text
    if len(text) > 256:
        return _redact_text.__wrapped__(text)  # long texts (evidence) rarely repeat: no cache entry
    return _redact_text(text)


# Reports repeat the same short strings thousands of times (label names, verdicts, targets).
@functools.lru_cache(maxsize=16384)
def _redact_text(text: str) -> str:
    secrets = _by_length
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    if "..." in text:
        for secret in secrets:
            text = _mask_cut(text, secret)
    if _MIGHT_HOLD_SECRET.search(text):
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
