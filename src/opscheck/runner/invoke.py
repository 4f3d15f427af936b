"""Run the suite's pytest in a subprocess and find the run folder it wrote.

A subprocess, not `pytest.main()`, so a check that wedges the interpreter (a
hung C call that no signal interrupts) cannot take the runner, its lock and its
notifications with it: past the deadline plus a grace period the runner
interrupts pytest's process group (pytest still writes its reports), then kills it.

pytest runs in its own process group with a parent-death signal, so a runner
killed with SIGKILL takes pytest with it (no orphan run overlapping the next one);
SIGTERM or SIGINT to the runner interrupts pytest, which writes its reports.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

INTERRUPT_GRACE_S = 15.0

# The deadline as an instant, set when pytest is spawned: its start-up counts against the deadline,
# and its plugin may skip the interpreter's slow teardown once the deadline has passed.
DEADLINE_AT_ENV = "OPSCHECK_DEADLINE_AT"

# `--plugins suite`: autoload off and exactly these, so a cron run is not slowed or reordered by
# whatever else is installed (on the CI image, hypothesis and pytest-benchmark alone cost ~1.5 ms
# per check and ~1.5 s of start-up). Module names of their pytest11 entry points. report.html is
# our own writer, so pytest-html (and pytest-metadata) are not among them.
SUITE_PLUGINS = (
    "opscheck.plugin",
    "xdist.plugin",
    "allure_pytest.plugin",
    "pytest_timeout",
    "testinfra.plugin",
)


@dataclass(frozen=True)
class Invocation:
    suite_dir: Path
    markexpr: str
    suite: str
    reports_dir: Path
    inventory: Path | None = None
    fail_on: str = "crit"
    deadline: str | None = None
    deadline_s: float | None = None
    deadline_at: float | None = None  # time.time() when the deadline falls; default: deadline_s from the spawn
    check_timeout_s: float | None = None
    workers: str | None = None
    severity: str | None = None
    extra: tuple[str, ...] = ()
    plugins: str = "suite"

    def argv(self) -> list[str]:
        # Paths with '=': pytest would take a space-separated path for a test path (README).
        args = [sys.executable, "-m", "pytest", "-m", self.markexpr, f"--opscheck-suite={self.suite}"]
        if self.plugins == "suite":
            args += [arg for module in SUITE_PLUGINS for arg in ("-p", module)]
        args += [f"--opscheck-reports-dir={self.reports_dir}", "-p", "no:cacheprovider", f"--opscheck-fail-on={self.fail_on}"]
        if self.inventory is not None:
            args.append(f"--opscheck-inventory={self.inventory}")
        if self.deadline:
            args.append(f"--opscheck-deadline={self.deadline}")
        if self.check_timeout_s:
            args += [f"--timeout={self.check_timeout_s:g}", "--timeout-method=signal"]
        if self.workers:
            args += ["-n", self.workers, "--dist", "loadgroup"]
        if self.severity:
            args.append(f"--opscheck-severity={self.severity}")
        args += ["-q", "-rfE", *self.extra]
        return args

    def env(self) -> dict[str, str]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if self.deadline_s:
            env[DEADLINE_AT_ENV] = repr(self.deadline_at or time.time() + self.deadline_s)
        if self.plugins == "suite":
            env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        return env


@dataclass
class Completed:
    returncode: int
    output: str
    duration_s: float
    killed: str | None = None  # why the runner had to stop pytest itself
    interrupted: str | None = None  # the signal that stopped the runner (SIGTERM, SIGINT)
    folder: Path | None = None
    new_folders: list[Path] = field(default_factory=list)


def run(invocation: Invocation, stream: bool = False, keep_fds: tuple[int, ...] = (), spawned=None) -> Completed:
    """`keep_fds`: descriptors pytest inherits (the run lock, so it is held while pytest lives).
    `spawned`: called once pytest is forked, for work that overlaps its start-up (no thread may
    start before the fork: preexec_fn runs Python in the child)."""
    before = _run_folders(invocation.reports_dir)
    hard_limit = None
    if invocation.deadline_s:
        hard_limit = invocation.deadline_s + max(30.0, invocation.deadline_s * 0.1)
    started = time.monotonic()
    with tempfile.TemporaryFile(mode="w+", prefix="opscheck-run-") as log:
        sink = None if stream else log
        process = subprocess.Popen(
            invocation.argv(),
            cwd=invocation.suite_dir,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT if sink else None,
            start_new_session=True,  # our own process group: xdist workers go with it
            env=invocation.env(),
            pass_fds=keep_fds,
            preexec_fn=_die_with(os.getpid()),
        )
        if spawned is not None:
            spawned()
        with _forward_stop_signals(process) as stopped:
            killed = _wait(process, hard_limit)
        log.seek(0)
        output = log.read()
    completed = Completed(process.returncode, output, time.monotonic() - started, killed, stopped.get("signal"))
    new = sorted(f for f in _run_folders(invocation.reports_dir) - before if (f / "results.json").exists())
    completed.new_folders = new
    completed.folder = _pick(new, invocation.suite)
    return completed


def _wait(process: subprocess.Popen, hard_limit: float | None) -> str | None:
    if hard_limit is None:
        process.wait()
        return None
    try:
        process.wait(timeout=hard_limit)
        return None
    except subprocess.TimeoutExpired:
        pass
    _signal_group(process, signal.SIGINT)
    try:
        process.wait(timeout=INTERRUPT_GRACE_S)
        return f"pytest was still running {hard_limit:.0f}s after the start and was interrupted"
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()
        return f"pytest was still running {hard_limit + INTERRUPT_GRACE_S:.0f}s after the start and was killed"


PR_SET_PDEATHSIG = 1


def _die_with(parent: int):
    """preexec_fn: the kernel sends SIGKILL to pytest when the runner dies, however it dies; and
    pytest takes SIGINT as an interruption even when the runner was started with SIGINT ignored
    (a shell's `cmd &`, nohup): an ignored signal stays ignored across exec, so the runner's
    stop (SIGINT, then SIGKILL after the grace) would kill pytest before it wrote any report."""

    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.signal(signal.SIGINT, ctypes.c_void_p(0))  # SIG_DFL; libc, not signal.signal: no Python handlers in a forked child
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the runner died before prctl took effect
            os._exit(1)

    return preexec


@contextlib.contextmanager
def _forward_stop_signals(process: subprocess.Popen):
    """SIGTERM/SIGINT to the runner: interrupt pytest (it writes its reports), kill it if it lingers."""
    stopped: dict[str, str] = {}

    def handler(signum, _frame) -> None:
        name = signal.Signals(signum).name
        if "signal" in stopped:
            _signal_group(process, signal.SIGKILL)
            return
        stopped["signal"] = name
        _signal_group(process, signal.SIGINT)
        timer = threading.Timer(INTERRUPT_GRACE_S, _signal_group, (process, signal.SIGKILL))
        timer.daemon = True
        timer.start()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stopped
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    if process.returncode is not None:
        return  # reaped: its pid may belong to someone else by now
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _run_folders(reports_dir: Path) -> set[Path]:
    try:
        return {p for p in Path(reports_dir).iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")}
    except FileNotFoundError:
        return set()


def _pick(folders: list[Path], suite: str) -> Path | None:
    """Our folder is `<timestamp>-<suite>` or `<timestamp>-<suite>.N`; the newest if several."""
    ours = [f for f in folders if f.name.endswith(f"-{suite}") or f.name.rsplit(".", 1)[0].endswith(f"-{suite}")]
    return max(ours or folders, key=lambda f: f.stat().st_mtime, default=None)
