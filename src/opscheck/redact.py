"""One redactor for every output: reports, logs, assertion messages.

Secrets enter through the inventory (`env:`/`file:` values register themselves
here); patterns catch the rest (DSN passwords, Authorization headers, token=...).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import threading
from typing import Any

MASK = "***"

# Every pattern is linear in the text: possessive quantifiers and lookbehinds so that no
# character is scanned from more than a bounded number of starting points (issue 14: the old
# `[\w-]*token[\w-]*\b` took 53 s on "tokenx-" * 800).
_KEYWORD = re.compile(r"(?i)password|passwd|pwd|token|secret|api[_-]?key")
_PATTERNS = [
    # scheme://user:password@host (a raw '/' ends the authority, so a password never spans one)
    (re.compile(r"(?<![\w+.-])(?P<keep>[a-zA-Z][a-zA-Z0-9+.-]*+://[^:/@\s]*+:)[^@\s/]++(?=@)"), r"\g<keep>" + MASK),
    # Authorization: Bearer xyz / Cookie: a=b
    (
        re.compile(
            r"(?i)(?<![\w-])(?P<keep>(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token)"
            r"(?![\w-])\s*+[:=]\s*+)(?:\"[^\"]*+\"|'[^']*+'|[^\r\n,}]++)"
        ),
        r"\g<keep>" + MASK,
    ),
]
# password=..., token: ..., secret=..., api_key=... (query strings, DSN keywords, JSON): any word
# followed by = or :, masked when the word names a secret (a function, not a regex, decides that).
# Keys are found without their values, so that `https://host/x?token=T` still finds `token`.
_KEY = re.compile(r"(?<![\w/.-])(?P<key>[\w-]++)[\"']?\s*+[:=]\s*+[\"']?")
_VALUE = re.compile(r"[^\s&;,\"'}]++")
# Values that are the product's own hints, not secrets: `password: env:NAME`, `file:/path`, already masked.
_NOT_A_VALUE = ("***", "env:", "file:")


def _mask_pairs(text: str) -> str:
    out: list[str] = []
    done = 0
    for key in _KEY.finditer(text):
        if key.start() < done or not _KEYWORD.search(key["key"]):
            continue
        value = _VALUE.match(text, key.end())
        if value is None or value[0].startswith(_NOT_A_VALUE):
            continue
        out += [text[done:key.end()], MASK]
        done = value.end()
    return "".join(out) + text[done:] if out else text


# One search that every pattern above needs to match: most strings fail it and skip the substitutions.
_MIGHT_HOLD_SECRET = re.compile(r"(?i)://|authorization|cookie|x-api-key|x-auth-token|passw|pwd|token|secret|api[_-]?key")

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


MIN_SECRET = 8  # shorter secrets would mask ordinary words (environment names, check ids)

_SCHEME = re.compile(r"(?i)^\s*(bearer|basic|token|digest|negotiate|apikey|api-key)\s+(\S.*?)\s*$")
_PAIR = re.compile(r"(?i)(?<![\w-])[\w-]*(?:password|passwd|pwd|token|secret|key)[\w-]*+=([^\s&;,\"']++)")
_USERINFO = re.compile(r"(?<![\w+.-])[a-zA-Z][a-zA-Z0-9+.-]*+://([^:/@\s]*+):([^@\s/]++)@")


def credential_parts(value: str) -> list[tuple[str, str]]:
    """(what, text) for every credential inside `value` a server could echo on its own.

    `Authorization: Bearer T` is masked whole, but a server that echoes `T` alone in a header
    or a JSON body would leak it: the bare token, Basic's decoded `user:password` and its
    password, `token=…` values and a URL's password are secrets in their own right.
    """
    parts: list[tuple[str, str]] = []
    scheme = _SCHEME.match(value)
    if scheme:
        kind, credential = scheme.group(1).lower(), scheme.group(2)
        parts.append((f"the {scheme.group(1)} credential", credential))
        if kind == "basic":
            try:
                decoded = base64.b64decode(credential, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                decoded = ""
            if ":" in decoded:
                parts.append(("the decoded Basic user:password", decoded))
                parts.append(("the Basic password", decoded.split(":", 1)[1]))
    for match in _PAIR.finditer(value):
        parts.append((f"the value of {match.group(0).split('=', 1)[0]}=", match.group(1)))
    for match in _USERINFO.finditer(value):
        parts.append(("the password in the URL", match.group(2)))
    return [(what, part) for what, part in parts if part != value]


def register_credential(value: str) -> None:
    """Register `value` and every credential inside it (see credential_parts)."""
    register_secret(value)
    for _, part in credential_parts(value):
        register_secret(part)


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
        text = _mask_pairs(text)
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
