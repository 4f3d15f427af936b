"""The HTTP side of `opscheck serve`: a ThreadingHTTPServer with read-only routes.

`/` is the index of every sealed run (the same page as reports/index.html),
`/healthz` and `/metrics` judge and expose the latest run, `/reports/` the folders.

Only GET and HEAD; paths under /reports/ are resolved and must stay inside the
reports dir (no `..`, no symlink out, no hidden files such as the lock and the
state files); optional basic auth compares in constant time.

Under load and abuse: a listen backlog of 1024 (the default 5 reset a burst of
200 probes), a read timeout per connection (an idle half-open connection is
dropped after `read_timeout_s`), at most `max_connections` handler threads (a
connection beyond that gets a one-line 503 and is closed at once, so a thousand
idle sockets cannot pin a thousand threads), a path the file system cannot hold
is a 404, and a handler error is one log line, never a traceback. IPv6 addresses
(`--bind ::1`) get an AF_INET6 socket.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import html
import mimetypes
import shutil
import socket
import sys
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from opscheck import __version__
from opscheck.serve.runs import health, latest_run, merged_metrics
from opscheck.units import parse_duration

METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class ServeSettings:
    reports_dir: Path
    suite: str | None = None
    max_age_s: float = 26 * 3600.0
    auth: tuple[str, str] | None = None  # (user, password)
    quiet: bool = False
    read_timeout_s: float = 10.0
    max_connections: int = 256


BUSY = b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nRetry-After: 1\r\n\r\nbusy\n"


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # listen backlog (the kernel caps it at net.core.somaxconn)
    daemon_threads = True
    block_on_close = False

    def __init__(self, address, handler, settings: ServeSettings):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.settings = settings
        self._slots = threading.BoundedSemaphore(settings.max_connections)
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            # Over the cap: answer without a thread and close, instead of queueing behind idle sockets.
            with contextlib.suppress(OSError):
                request.setblocking(False)
                request.send(BUSY)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address) -> None:
        if not self.settings.quiet:
            kind, exc, _ = sys.exc_info()
            sys.stderr.write(f"{client_address[0]} error: {kind.__name__ if kind else 'error'}: {exc}\n")


def make_server(settings: ServeSettings, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"settings": settings, "timeout": settings.read_timeout_s})
    return _Server((host, port), handler, settings)


class _Handler(BaseHTTPRequestHandler):
    settings: ServeSettings
    server_version = f"opscheck/{__version__}"
    protocol_version = "HTTP/1.0"

    def do_HEAD(self) -> None:
        self._dispatch(body=False)

    def do_GET(self) -> None:
        self._dispatch(body=True)

    def log_message(self, format: str, *args) -> None:
        if not self.settings.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _dispatch(self, body: bool) -> None:
        self._body = body
        if not self._authorized():
            self._send(HTTPStatus.UNAUTHORIZED, "authentication required\n", extra={"WWW-Authenticate": 'Basic realm="opscheck"'})
            return
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == "/healthz":
            self._healthz(query)
        elif url.path == "/metrics":
            self._metrics(query)
        elif url.path == "/reports" or url.path.startswith("/reports/"):
            self._reports(url.path[len("/reports"):])
        elif url.path == "/":
            from opscheck.reports.index import render

            self._send(HTTPStatus.OK, render(self.settings.reports_dir, base="/reports/"), "text/html; charset=utf-8")
        else:
            self._send(HTTPStatus.NOT_FOUND, "not found\n")

    def _authorized(self) -> bool:
        if self.settings.auth is None:
            return True
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        want_user, want_password = self.settings.auth
        return hmac.compare_digest(user.encode(), want_user.encode()) & hmac.compare_digest(password.encode(), want_password.encode())

    def _healthz(self, query: dict) -> None:
        suite = query.get("suite") or self.settings.suite
        max_age = self.settings.max_age_s
        if "max_age" in query:
            try:
                max_age = parse_duration(query["max_age"])
            except ValueError as exc:
                self._send(HTTPStatus.BAD_REQUEST, f"max_age: {exc}\n")
                return
        healthy, reason = health(self.settings.reports_dir, suite, max_age)
        self._send(HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE, reason + "\n")

    def _metrics(self, query: dict) -> None:
        suite = query.get("suite") or self.settings.suite
        if suite is None:
            # Every suite's latest run, merged: the daily suite's metrics stay after a smoke run.
            text = merged_metrics(self.settings.reports_dir)
            if text is None:
                self._send(HTTPStatus.NOT_FOUND, f"no metrics.prom in any run in {self.settings.reports_dir}\n")
            else:
                self._send(HTTPStatus.OK, text, METRICS_TYPE)
            return
        run = latest_run(self.settings.reports_dir, suite)
        path = run.folder / "metrics.prom" if run else None
        if path is None or not path.is_file():
            where = run.folder.name if run else str(self.settings.reports_dir)
            self._send(HTTPStatus.NOT_FOUND, f"no metrics.prom in {where}\n")
            return
        self._send_file(path, METRICS_TYPE)

    def _reports(self, rest: str) -> None:
        root = Path(self.settings.reports_dir).resolve()
        parts = [p for p in unquote(rest).split("/") if p]
        if any(p in ("..", ".") or p.startswith(".") or "\\" in p or "\0" in p for p in parts):
            self._send(HTTPStatus.NOT_FOUND, "not found\n")
            return
        try:
            self._reports_path(root, rest, parts)
        except OSError:  # a name longer than the file system allows (ENAMETOOLONG), a loop, ...
            self._send(HTTPStatus.NOT_FOUND, "not found\n")

    def _reports_path(self, root: Path, rest: str, parts: list[str]) -> None:
        target = root.joinpath(*parts).resolve()
        if target != root and root not in target.parents:
            self._send(HTTPStatus.NOT_FOUND, "not found\n")
            return
        if target.is_dir():
            if not rest.endswith("/"):
                self._send(HTTPStatus.MOVED_PERMANENTLY, "", extra={"Location": "/reports" + quote(rest) + "/"})
                return
            entries = sorted(p for p in target.iterdir() if _listed(p, top=target == root))
            links = [(p.name + ("/" if p.is_dir() else ""), quote(p.name) + ("/" if p.is_dir() else "")) for p in entries]
            self._send(HTTPStatus.OK, _page("/reports" + rest, links), "text/html; charset=utf-8")
        elif target.is_file():
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            self._send_file(target, kind + ("; charset=utf-8" if kind.startswith("text/") or kind.endswith("json") else ""))
        else:
            self._send(HTTPStatus.NOT_FOUND, "not found\n")

    def _send(self, status: HTTPStatus, text: str, kind: str = "text/plain; charset=utf-8", extra: dict | None = None) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self._body:
            self.wfile.write(data)

    def _send_file(self, path: Path, kind: str) -> None:
        with open(path, "rb") as handle:
            size = path.stat().st_size
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(size))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if self._body:
                shutil.copyfileobj(handle, self.wfile)


def _listed(path: Path, top: bool) -> bool:
    """The reports dir lists what a reader opens: sealed runs, latest, index.html, the Allure pages;
    not README.md, hidden files, or a run folder still being written (no manifest yet)."""
    if path.name.startswith("."):
        return False
    if not top:
        return True
    if path.is_dir():
        return path.name in ("latest", "allure") or (path / "manifest.json").is_file()
    return path.suffix == ".html" or path.suffix == ".prom"


def _page(title: str, links: list[tuple[str, str]]) -> str:
    items = "\n".join(f'<li><a href="{html.escape(href)}">{html.escape(name)}</a></li>' for name, href in links)
    return f"<!doctype html>\n<title>{html.escape(title)}</title>\n<h1>{html.escape(title)}</h1>\n<ul>\n{items}\n</ul>\n"
