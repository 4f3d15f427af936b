"""The proxy settings of the environment, read once, for HTTP clients on probe threads.

pytest sets and deletes PYTEST_CURRENT_TEST in `os.environ` at every test phase. A
probe thread iterating `os.environ` meanwhile (requests does, to find proxy
variables, on every request) can meet a key that is gone: `KeyError:
'PYTEST_CURRENT_TEST'`, an UNKNOWN that the target did not earn. So HTTP sessions
run with `trust_env=False` and take the proxies from this snapshot, which
`snapshot()` takes on the pytest thread before any probe starts.
"""

from __future__ import annotations

import os
import threading
import urllib.request
from urllib.parse import urlsplit

_lock = threading.Lock()
_proxies: dict[str, str] | None = None
_ca_bundle: str | None = None


def snapshot() -> None:
    """Read the proxy and CA-bundle variables now (call it where nothing else mutates os.environ)."""
    global _proxies, _ca_bundle
    env = dict(os.environ)  # one C-level copy; no other thread is iterating here
    found = _proxies_of(env)
    with _lock:
        _proxies = found
        _ca_bundle = env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or None


def _proxies_of(env: dict[str, str]) -> dict[str, str]:
    """What urllib.request.getproxies_environment would find, from a copy of the environment."""
    proxies: dict[str, str] = {}
    for name, value in env.items():  # lower case wins, as in urllib
        if value and name[-6:].lower() == "_proxy" and name[-6:] == "_PROXY":
            proxies[name[:-6].lower()] = value
    for name, value in env.items():
        if name[-6:] == "_proxy":
            if value:
                proxies[name[:-6]] = value
            else:
                proxies.pop(name[:-6], None)
    if "REQUEST_METHOD" in env:  # CGI: HTTP_PROXY may come from a request header (httpoxy)
        proxies.pop("http", None)
    return proxies


def for_url(url: str) -> dict[str, str]:
    """requests' `proxies=` for `url`: none when no_proxy names its host."""
    with _lock:
        taken = _proxies
    if taken is None:
        snapshot()
        with _lock:
            taken = _proxies or {}
    host = urlsplit(url).hostname or ""
    if "no" in taken and urllib.request.proxy_bypass_environment(host, {"no": taken["no"]}):
        return {}
    return {k: v for k, v in taken.items() if k != "no"}


def ca_bundle() -> str | None:
    with _lock:
        return _ca_bundle
