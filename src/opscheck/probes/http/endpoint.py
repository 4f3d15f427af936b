"""HTTP endpoints: status, latency, body regex and JSON expectations, with retries.

The runbooks' `curl -f /health`, `curl -w %{time_total}` and `jq` on status
endpoints. One requests Session per probe thread pools connections without a
lock between threads (200 endpoints may be probed at once). Like curl, every
attempt opens a fresh connection unless the entry says `reuse: true`. The
latency and its phases (DNS, connect, TLS, first byte, total) come from
probes.http.timing, which reads the kernel's packet stamps, so the runner's own load
does not count. Sessions read no environment (proxyenv). Evidence holds the
request (secret headers masked), the response's status, headers and timing,
a redacted body excerpt, every expectation and every attempt.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import requests
import urllib3

from opscheck import __version__
from opscheck.errors import Unmeasurable
from opscheck.inventory.jsonrules import show, unmet
from opscheck.inventory.sections.http import HttpItem
from opscheck.measurement import Measurement, Target
from opscheck.probes.http.attempts import Attempt, attempt_until_ok, outcome_note
from opscheck.probes.http.timing import TimedAdapter
from opscheck.proxyenv import ca_bundle, for_url
from opscheck.redact import MASK, redact, redact_data
from opscheck.units import format_duration

MAX_BODY = 5 * 1024 * 1024  # judged in full up to here; a health answer larger than this is a problem itself
EXCERPT = 2000  # characters of the body kept as evidence
REDACT_WINDOW = 64 * 1024  # bytes redacted before an excerpt is cut from them: far past any cut
INSECURE_NOTE = "TLS verification off (insecure: true): weakened check"
# Masked by name even when written inline: the redactor only sees a header's value in a dict.
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token"})

_local = threading.local()


class _TimedOut(Exception):
    pass


def session() -> requests.Session:
    """This thread's Session: pooled connections, no cookies carried from one check to the next."""
    s = getattr(_local, "session", None)
    if s is None:
        s = requests.Session()
        s.trust_env = False  # no os.environ on probe threads: proxies come from proxyenv's snapshot
        s.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        adapter = TimedAdapter(pool_connections=32, pool_maxsize=4, max_retries=0)
        s.mount("http://", adapter)
        s.mount("https://", adapter)
        s.headers["User-Agent"] = f"opscheck/{__version__}"
        _local.session = s
    return s


def probe(target: Target) -> Measurement:
    return measure_attempts(target, _attempt, tls_scheme="https", label="response")


def measure_attempts(target: Target, attempt, *, tls_scheme: str, label: str) -> Measurement:
    """Run `attempt` until it succeeds or retries run out; the last attempt is the measurement.

    Shared by HTTP and WebSocket checks: same retries, evidence and notes.
    """
    item: HttpItem = target.spec
    if item.ca_file and not Path(item.ca_file).is_file():
        raise Unmeasurable(f"ca_file {item.ca_file} does not exist on the runner")
    attempts = attempt_until_ok(target, item.retry_delay, lambda n, t: attempt(item, n, t))
    last = attempts[-1]
    notes = [n for n in (outcome_note(attempts, target.retries),) if n]
    if item.insecure and item.url.startswith(tls_scheme):
        notes.append(INSECURE_NOTE)
    evidence = redact_data({
        "request": request_evidence(item),
        **last.record.get("evidence", {}),
        "attempts": [a.summary() for a in attempts],
        "tls": tls_mode(item),
    })
    if last.error is not None:
        return Measurement(error=redact(last.error), down=True, subject=item.label, evidence=evidence, notes=tuple(notes))
    return Measurement(
        value=round(last.elapsed_s, 4), unit="s", subject=f"{item.label}: HTTP {last.record['status']},",
        label=label, evidence=evidence, problems=tuple(redact(p) for p in last.problems), notes=tuple(notes),
    )


def _attempt(item: HttpItem, number: int, timeout: float) -> Attempt:
    attempt = Attempt(number)
    started = time.monotonic()
    conn = None
    try:
        # One budget for connecting and answering (urllib3's total), so a slow connect
        # followed by a slow answer cannot take twice the timeout.
        with session().request(
            item.method, item.url, headers={k: v.reveal() for k, v in item.headers.items()},
            timeout=urllib3.Timeout(total=timeout), stream=True, allow_redirects=item.follow_redirects,
            verify=item.ca_file or (not item.insecure and (ca_bundle() or True)),
            proxies=for_url(item.url), **_payload(item),
        ) as response:
            conn = getattr(response.raw, "connection", None)
            body, truncated = _read(response, started + timeout)
            wall = time.monotonic() - started
            timing = conn.timing() if hasattr(conn, "timing") else None
            attempt.elapsed_s = timing["total_s"] if timing else wall
            attempt.problems, expectations = judge_response(item, response.status_code, body, truncated)
            attempt.record = {
                "status": response.status_code,
                "reason": response.reason,
                "evidence": {
                    "response": {
                        "status": response.status_code,
                        "reason": response.reason,
                        "elapsed_ms": round(attempt.elapsed_s * 1000, 1),
                        **(timing_evidence(timing) if timing else {"clock": "runner", "reused": None}),
                        "headers": mask_headers(dict(response.headers)),
                        "body_bytes": len(body),
                        "body": excerpt(body),
                        **({"body_truncated_at": MAX_BODY} if truncated else {}),
                    },
                    "expectations": expectations,
                },
            }
    except (_TimedOut, requests.exceptions.ReadTimeout):
        attempt.error = f"timed out after {format_duration(timeout)} waiting for an answer"
    except requests.exceptions.ConnectTimeout:
        attempt.error = f"timed out after {format_duration(timeout)} connecting"
    except requests.exceptions.SSLError as exc:
        attempt.error = f"TLS handshake failed: {reason(exc)}"
    except requests.exceptions.ConnectionError as exc:
        text = reason(exc)
        timed_out = "timed out" in text.lower()
        attempt.error = f"timed out after {format_duration(timeout)} waiting for an answer" if timed_out else f"cannot connect: {text}"
    except requests.exceptions.RequestException as exc:
        attempt.error = f"request failed: {reason(exc)}"
    finally:
        if conn is not None and not item.reuse:
            conn.close()  # the next attempt connects afresh, as curl does
    if attempt.error is not None:
        attempt.elapsed_s = time.monotonic() - started
    return attempt


def timing_evidence(timing: dict) -> dict[str, Any]:
    """Phases in ms as `curl -w` names them, which clock took each, and whether the connection was reused."""
    names = (("dns_s", "dns"), ("connect_s", "connect"), ("tls_s", "tls"), ("first_byte_s", "first_byte"), ("total_s", "total"))
    return {
        "phases_ms": {label: round(timing[key] * 1000, 3) for key, label in names},
        "clocks": timing["clocks"],
        "reused": timing["reused"],
        "client": timing["client"],
    }


def judge_response(item: HttpItem, status: int, body: bytes, truncated: bool) -> tuple[list[str], list[dict[str, Any]]]:
    """Unmet expectations as problem lines, and every expectation with whether it was met."""
    problems: list[str] = []
    checked: list[dict[str, Any]] = []
    wanted = item.statuses
    ok = status in wanted if wanted else 200 <= status < 300
    expected = " or ".join(str(s) for s in wanted) if wanted else "2xx"
    checked.append({"expected": f"status {expected}", "met": ok})
    if not ok:
        problems.append(f"status {status}, expected {expected}")
    rules = item.expect.json_rules
    if rules:
        document, error = _json(body, truncated)
        for rule in rules:
            problem = f"{rule.path}: expected {rule.describe()}, found {error}" if error else unmet(rule, document)
            checked.append({"expected": f"{rule.path}: {rule.describe()}", "met": problem is None})
            if problem:
                problems.append(problem)
    if item.expect.body is not None:
        text = body.decode("utf-8", errors="replace")
        met = re.search(item.expect.body, text) is not None
        checked.append({"expected": f"body matches /{item.expect.body}/", "met": met})
        if not met:
            problems.append(f"body does not match /{item.expect.body}/ (starts {show(text[:REDACT_WINDOW], limit=60)})")
    return problems, checked


def _json(body: bytes, truncated: bool) -> tuple[Any, str | None]:
    if truncated:
        return None, f"a body over {MAX_BODY // (1024 * 1024)}MB (not judged)"
    try:
        return json.loads(body), None
    except ValueError as exc:
        start = body[:REDACT_WINDOW].decode("utf-8", "replace")
        return None, f"a body that is not JSON ({getattr(exc, 'msg', exc)}, starts {show(start, limit=40)})"


def _read(response: requests.Response, deadline: float) -> tuple[bytes, bool]:
    """The body up to MAX_BODY, within the attempt's deadline (a trickling server cannot stretch it)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        if time.monotonic() > deadline:
            raise _TimedOut
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY:
            return b"".join(chunks)[:MAX_BODY], True
    return b"".join(chunks), False


def _payload(item: HttpItem) -> dict[str, Any]:
    if item.body is None:
        return {}
    if isinstance(item.body, str):
        return {"data": item.body.encode()}
    return {"json": item.body}


def request_evidence(item: HttpItem) -> dict[str, Any]:
    """The request as sent, with every header that came from env:/file: masked."""
    headers = mask_headers({k: (v.reveal() if v.source == "inline" else MASK) for k, v in item.headers.items()})
    out: dict[str, Any] = {"method": item.method, "url": item.url}
    if headers:
        out["headers"] = headers
    return out


def mask_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: (MASK if k.lower() in SENSITIVE_HEADERS else v) for k, v in headers.items()}


def tls_mode(item: HttpItem) -> str:
    if not item.url.startswith(("https", "wss")):
        return "none (plain text)"
    if item.insecure:
        return "not verified (insecure: true)"
    return f"verified against ca_file {item.ca_file}" if item.ca_file else "verified against the default trust store"


def excerpt(body: bytes) -> str:
    """The start of the body, redacted before it is cut (a secret cut in half would escape the redactor)."""
    text = redact(body[:REDACT_WINDOW].decode("utf-8", errors="replace"))
    return text if len(text) <= EXCERPT and len(body) <= REDACT_WINDOW else text[:EXCERPT] + f"… ({len(body)} bytes in all)"


def reason(exc: BaseException) -> str:
    """The innermost cause of a requests/urllib3 error, without pool and object reprs."""
    text = str(exc)
    for pattern in (
        r"certificate verify failed: ([^(\]'\"]+)",
        r"\[SSL: [A-Z_]+\] ([^(\]'\"]+)",
        r"\[Errno -?\d+\] ([^'\")]+)",
        r"Read timed out",
        r"(?:NameResolutionError|Failed to resolve)[^:]*: ([^'\")]+)",
    ):
        match = re.search(pattern, text)
        if match:
            return redact((match.group(1) if match.groups() else match.group(0)).strip().rstrip("."))
    inner = re.search(r"Caused by \w+\((.*)\)\)?$", text)
    return redact((inner.group(1) if inner else text)[:300])


