"""testinfra hosts behind one call that always has a deadline.

testinfra has no per-command timeout, so every command runs under coreutils
`timeout` on the host itself: a hung `df` on a dead NFS mount is killed there,
not left behind. SSH hosts run their commands through their agent session
(opscheck.hostagent), which applies the same timeout itself.
"""

from __future__ import annotations

import errno
import math
import threading
import time
from dataclasses import dataclass

from opscheck import hostagent
from opscheck.errors import TargetDown, Unmeasurable
from opscheck.measurement import HostRef

_hosts: dict[str, object] = {}
_lock = threading.Lock()

TIMED_OUT = 124  # coreutils timeout's exit status when it had to stop the command


def missing_sh(quoted_path: str) -> str:
    """A shell test true only when the path truly does not exist.

    `[ -e ]` is also false for a file in a directory the user may not enter: that is
    "permission denied reading …" (UNKNOWN), never "does not exist" (CRIT).
    """
    return f"LC_ALL=C stat -- {quoted_path} 2>&1 >/dev/null | grep -qE 'No such file|Not a directory'"


def denied(path: str) -> str:
    return f"permission denied reading {path}"


@dataclass(frozen=True)
class CommandResult:
    command: str
    rc: int
    stdout: str
    stderr: str


def testinfra_host(ref: HostRef):
    """The testinfra Host for `ref`, created once per process (one SSH master per host)."""
    with _lock:
        host = _hosts.get(ref.spec)
        if host is None:
            from opscheck.connect import get_host  # deferred: testinfra costs ~100 ms to import

            host = _hosts[ref.spec] = get_host(ref.spec)
        return host


def run(ref: HostRef, command: str, timeout: float, *, timeout_raises: bool = True) -> CommandResult:
    """Run `command` through sh on `ref`, killed after `timeout` seconds; UNKNOWN if it was.

    With `timeout_raises=False` a timed-out command returns with rc TIMED_OUT instead (a
    command check judges its own timeout).
    """
    from opscheck import connect

    seconds = str(max(1, math.ceil(timeout)))
    down = connect.known_down(ref)
    if down is not None:
        raise down
    try:
        with connect.slot(ref):
            session = hostagent.session_for(ref, testinfra_host)
            if session is not None:  # the host's agent: same command, one SSH session for the run
                rc, stdout, stderr = session.run(["sh", "-c", command], float(seconds), KILL_AFTER_S)
            else:
                out = _spawn(testinfra_host(ref), seconds, command)
                rc, stdout, stderr = out.rc, out.stdout, out.stderr
    except (TargetDown, Unmeasurable):
        raise
    except Exception as exc:  # noqa: BLE001 - backend failures (ssh, docker) mean the host is unreachable
        failed = exc.args[0] if exc.args and hasattr(exc.args[0], "stderr") else None
        if failed is not None:  # testinfra's ssh backend raises its CommandResult when ssh exits 255
            raise connect.connection_failed(ref, failed.stderr) from None
        raise TargetDown(f"{ref.name}: cannot run commands: {type(exc).__name__}: {exc}") from None
    if rc == TIMED_OUT and timeout_raises:
        raise Unmeasurable(f"{ref.name}: `{command}` timed out after {seconds}s")
    if rc == 255 and session is None and ref.spec.startswith(("ssh://", "paramiko://")):
        raise connect.connection_failed(ref, stderr)
    return CommandResult(command, rc, stdout, stderr)


SPAWN_ATTEMPTS = 3


def retry_spawn(start):
    """`start()`, retried when the local process could not even be started.

    With many probe threads starting processes at once, CPython's vfork-based spawn has been
    seen failing with EFAULT ("Bad address: '/bin/sh'") before anything ran; the target is
    fine, so that must not become a CRIT. Any other error is an answer and is not retried.
    """
    for attempt in range(1, SPAWN_ATTEMPTS + 1):
        try:
            return start()
        except OSError as exc:
            if exc.errno != errno.EFAULT or attempt == SPAWN_ATTEMPTS:
                raise
            time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _spawn(host, seconds: str, command: str):
    return retry_spawn(lambda: host.run("timeout -k %s %s sh -c %s", f"{KILL_AFTER_S:g}", seconds, command))


# As `timeout -k 2`: a command that ignores SIGTERM is killed this much later.
KILL_AFTER_S = 2.0


def read_file(ref: HostRef, path: str, timeout: float) -> str:
    """A small text file from the host (/proc/meminfo, /proc/loadavg)."""
    result = run(ref, f"cat {path}", timeout)
    if result.rc != 0:
        raise Unmeasurable(f"{ref.name}: cannot read {path}: {result.stderr.strip() or f'exit {result.rc}'}")
    return result.stdout
