"""Run probes: one call, `measure(target)`, whether measured now or started earlier.

Every probe runs on a daemon thread with a backstop deadline, so a probe that
hangs past its own timeout becomes UNKNOWN instead of hanging the run (or the
interpreter's exit). `prefetch` starts many probes at once on the same pool;
`measure` then only waits for the one it needs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from opscheck import registry
from opscheck.errors import TargetDown, Unmeasurable
from opscheck.measurement import Measurement, Target
from opscheck.redact import redact

# The suite's previous results.json (set by the plugin at configure), for probes that compare
# with the last run (container restarts since then); None outside a suite with reports.
previous_results: Path | None = None

# Past the probe's own timeout, how long the backstop waits before giving up on it.
BACKSTOP_GRACE_S = 5.0


class _DaemonPool:
    """A minimal thread pool of daemon threads that can replace a stuck worker."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._wanted = 0

    def resize(self, workers: int) -> None:
        with self._lock:
            self._wanted = max(self._wanted, workers)
            while self._threads < self._wanted:
                self._spawn()

    def replace_stuck(self) -> None:
        with self._lock:
            self._spawn()

    def submit(self, fn, *args) -> Future:
        if self._threads == 0:
            self.resize(1)
        future: Future = Future()
        self._queue.put((future, fn, args))
        return future

    def _spawn(self) -> None:
        self._threads += 1
        threading.Thread(target=self._work, name=f"opscheck-probe-{self._threads}", daemon=True).start()

    def _work(self) -> None:
        while True:
            future, fn, args = self._queue.get()
            if not future.set_running_or_notify_cancel():
                continue
            future.started_at = time.monotonic()
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting check
                future.set_exception(exc)


_pool = _DaemonPool()
_started: dict[int, Future] = {}
_started_lock = threading.Lock()


def measure(target: Target) -> Measurement:
    """The measurement of `target`: started by `prefetch` earlier, or now."""
    with _started_lock:
        future = _started.get(id(target))
        if future is None:
            future = _started[id(target)] = _pool.submit(probe_once, target)
    return _await(future, target)


def prefetch(targets: Iterable[Target], concurrency: int) -> int:
    """Start measuring `targets` on `concurrency` threads; returns how many were started."""
    targets = list(targets)
    # Import every probe module here, on one thread: CPython 3.11.7 can fail compiling modules on
    # several threads at once ("SystemError: AST constructor recursion depth mismatch", seen as an
    # UNKNOWN websocket check), and an import racing another is the one shared step probes have.
    for kind in {target.kind for target in targets}:
        # A probe that cannot even be imported is reported by its thread, as UNKNOWN with its target.
        with contextlib.suppress(Exception):
            registry.get(kind).resolve_probe()
    _pool.resize(concurrency)
    count = 0
    with _started_lock:
        for target in targets:
            if id(target) not in _started:
                _started[id(target)] = _pool.submit(probe_once, target)
                count += 1
    return count


def finished(target: Target) -> bool:
    """Whether `target`'s measurement is done, so judging it takes no time."""
    with _started_lock:
        future = _started.get(id(target))
    return future is not None and future.done()


def forget() -> None:
    """Drop remembered measurements (end of session)."""
    with _started_lock:
        _started.clear()


def probe_once(target: Target) -> Measurement:
    """Run the target's probe, mapping every way it can fail onto a Measurement."""
    start = time.monotonic()
    try:
        m = registry.get(target.kind).run(target)
    except TargetDown as exc:
        m = Measurement(error=redact(str(exc)), down=True)
    except Unmeasurable as exc:
        m = Measurement(error=redact(str(exc)))
    except Exception as exc:  # noqa: BLE001 - any probe bug is this check's UNKNOWN, nothing else
        m = Measurement(error=redact(f"probe failed: {type(exc).__name__}: {exc}"))
    return dataclasses.replace(m, target=target, duration_s=time.monotonic() - start)


def _await(future: Future, target: Target) -> Measurement:
    backstop = target.timeout * max(target.retries, 1) + BACKSTOP_GRACE_S
    while True:
        if future.done():  # measured long ago by a prefetch: its deadline is irrelevant now
            return future.result()
        started = getattr(future, "started_at", None)
        if started is None:
            wait = 0.05  # still queued behind other probes: its deadline has not begun
        else:
            wait = started + backstop - time.monotonic()
            if wait <= 0:
                _pool.replace_stuck()
                return Measurement(
                    error=f"probe timed out: no answer after {backstop:g}s (timeout {target.timeout:g}s)",
                    target=target,
                    duration_s=backstop,
                )
        try:
            return future.result(timeout=wait)
        except FutureTimeout:
            continue
