"""Run one command on a host: argv without a shell, secrets through the environment.

On local:// the command is started directly (`subprocess`, its own process group,
killed whole at the deadline) with the entry's `env:` added to the environment, so a
secret never appears in `/proc/*/cmdline`. Other hosts are reached through
`opscheck.host.run`, whose only channel is a command line: plain `env:` values travel
as `env NAME=value`, a secret (`env:`/`file:`) is refused rather than exposed.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass

from opscheck.errors import Unmeasurable
from opscheck.host import TIMED_OUT, retry_spawn, run
from opscheck.inventory.types import Secret
from opscheck.measurement import HostRef

LOCAL = ("local://", "local")
KILL_GRACE_S = 2.0


@dataclass(frozen=True)
class Finished:
    rc: int | None          # None when it timed out
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False


def _environment(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment plus `extra`; copied with care: pytest rewrites it at every phase."""
    for _ in range(10):
        try:
            base = dict(os.environ)
            break
        except RuntimeError:  # changed size during the copy
            time.sleep(0.001)
    else:  # pragma: no cover
        base = {}
    base.pop("PYTEST_CURRENT_TEST", None)
    base.update(extra)
    return base


def execute(ref: HostRef, argv: list[str] | None, shell: str | None, env: dict[str, Secret], cwd: str | None,
            timeout: float) -> Finished:
    """Run the command on `ref`; raises Unmeasurable when it could not be started at all."""
    if ref.spec in LOCAL:
        return _local(argv if argv is not None else ["sh", "-c", shell or ""], env, cwd, timeout)
    return _remote(ref, argv, shell, env, cwd, timeout)


def _local(argv: list[str], env: dict[str, Secret], cwd: str | None, timeout: float) -> Finished:
    if cwd is not None and not os.path.isdir(cwd):
        raise Unmeasurable(f"working directory {cwd} does not exist")
    start = time.monotonic()
    try:
        proc = retry_spawn(lambda: subprocess.Popen(
            argv, cwd=cwd, env=_environment({k: v.reveal() for k, v in env.items()}), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        ))
    except FileNotFoundError:
        raise Unmeasurable(f"command not found: {argv[0]}") from None
    except PermissionError:
        raise Unmeasurable(f"command not executable (permission denied): {argv[0]}") from None
    try:
        out, err = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        # The whole group: a shell script's children must not outlive the check.
        _kill_group(proc)
        try:
            out, err = proc.communicate(timeout=KILL_GRACE_S)
        except subprocess.TimeoutExpired:  # a grandchild holding the pipes open
            out, err = b"", b""
        timed_out = True
    seconds = time.monotonic() - start
    return Finished(None if timed_out else proc.returncode, _text(out), _text(err), seconds, timed_out)


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _remote(ref: HostRef, argv, shell, env: dict[str, Secret], cwd, timeout: float) -> Finished:
    hidden = sorted(k for k, v in env.items() if v.source != "inline")
    if hidden:
        raise Unmeasurable(
            f"{ref.name}: env {', '.join(hidden)} holds a secret, and commands reach {ref.name} only as a command "
            "line that any user there could read: run this check from the host itself (on: local://), or give "
            "the command its secret on that host"
        )
    command = shlex.join(argv) if argv is not None else f"sh -c {shlex.quote(shell or '')}"
    if env:
        command = "env " + " ".join(shlex.quote(f"{k}={v.reveal()}") for k, v in env.items()) + " " + command
    if cwd is not None:
        command = f"cd {shlex.quote(cwd)} && {command}"
    start = time.monotonic()
    out = run(ref, command, timeout, timeout_raises=False)
    seconds = time.monotonic() - start
    if out.rc == TIMED_OUT:
        return Finished(None, out.stdout, out.stderr, seconds, timed_out=True)
    return Finished(out.rc, out.stdout, out.stderr, seconds)
