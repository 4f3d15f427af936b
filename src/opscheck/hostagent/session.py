"""One SSH session to a host, carrying the agent that runs every command of the run there.

The agent (remote.py) is sent over the session's stdin to the host's python3, so nothing
is installed and nothing stays behind. Requests and answers are JSON lines matched by id:
many probe threads can wait on one session at once, each for its own command.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import select
import shlex
import subprocess
import threading
import time
from pathlib import Path

from opscheck.errors import OpscheckError, TargetDown
from opscheck.measurement import HostRef

AGENT_SOURCE = (Path(__file__).parent / "remote.py").read_bytes()
NO_PYTHON = "OPSCHECK-NO-PYTHON"
# Runs in the login shell like every per-command SSH command does; reads exactly the agent's
# bytes from stdin, so the rest of stdin stays the request stream.
BOOTSTRAP = (
    "sh -c " + shlex.quote(
        f"command -v python3 >/dev/null 2>&1 || {{ echo {NO_PYTHON}; exit 0; }}; "
        "exec python3 -c 'import sys;b=sys.stdin.buffer;exec(b.read(int(b.readline())))'"
    )
)
# Beyond ConnectTimeout (which covers TCP and the banner), how long the login and python3's
# start may take before the host counts as not answering.
START_GRACE_S = 30.0
# Past a command's own limit, how long to wait for its answer before giving up on the session.
ANSWER_GRACE_S = 10.0


class NoPython(Exception):
    """The host has no python3: its commands go the per-command way."""


class Session:
    def __init__(self, ref: HostRef, argv: list[str], connect_timeout: float, failed) -> None:
        self.ref = ref
        self._argv = argv
        self._connect_timeout = connect_timeout
        self._failed = failed  # (ref, stderr) -> OpscheckError, recording the host as down
        self._proc: subprocess.Popen | None = None
        self._write = threading.Lock()
        self._pending: dict[int, list] = {}
        self._pending_lock = threading.Lock()
        self._next_id = 0
        self.error: OpscheckError | None = None
        self.encoding = "utf-8"

    def start(self) -> None:
        """Connect, ship the agent and wait for its hello; raises what the connection failure means."""
        self._proc = subprocess.Popen(
            self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
            start_new_session=True,  # a Ctrl-C at the terminal goes to opscheck, which closes the session
        )
        with contextlib.suppress(OSError):  # ssh already gone: its exit status and stderr say why, below
            self._proc.stdin.write(b"%d\n" % len(AGENT_SOURCE) + AGENT_SOURCE)
        deadline = time.monotonic() + self._connect_timeout + START_GRACE_S
        hello: dict = {}
        while "hello" not in hello:  # a login script may print lines of its own first
            line = self._first_line(deadline - time.monotonic())
            if line is None:
                self._proc.kill()
                self._proc.wait()
                raise self._failed(self.ref, f"Connection timed out: no answer within {self._connect_timeout + START_GRACE_S:g}s")
            if not line:
                raise self._ended(line)
            if line.strip() == NO_PYTHON.encode():
                self.close()
                raise NoPython
            try:
                hello = json.loads(line)
            except ValueError:
                hello = {}
            if not isinstance(hello, dict):
                hello = {}
        self.encoding = hello.get("encoding") or "utf-8"
        threading.Thread(target=self._read, name=f"opscheck-agent-{self.ref.name}", daemon=True).start()

    def _first_line(self, wait: float) -> bytes | None:
        out = self._proc.stdout
        deadline = time.monotonic() + wait
        chunks = b""
        while not chunks.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([out], [], [], left)[0]:
                return None
            chunk = os.read(out.fileno(), 1)  # byte by byte: the stream after the hello belongs to _read
            if not chunk:
                return chunks
            chunks += chunk
        return chunks

    def _ended(self, seen: bytes) -> OpscheckError:
        try:
            rc = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            rc = self._proc.wait()
        stderr = self._proc.stderr.read().decode(errors="replace")
        if rc == 255:
            return self._failed(self.ref, stderr)
        said = (stderr or seen.decode(errors="replace")).strip()[:300]
        return TargetDown(f"{self.ref.name}: the opscheck agent stopped (exit {rc}): {said or 'no message'}")

    def run(self, argv: list[str], term: float, kill: float) -> tuple[int, str, str]:
        """(rc, stdout, stderr) of `argv` on the host: SIGTERM after `term` s, SIGKILL `kill` s later (rc 124)."""
        limit = term + kill
        if self.error is not None:
            raise self.error
        waiter: list = [threading.Event(), None]
        with self._pending_lock:
            self._next_id += 1
            rid = self._next_id
            self._pending[rid] = waiter
        request = (json.dumps({"id": rid, "argv": argv, "term": term, "kill": kill}) + "\n").encode()
        try:
            with self._write:
                self._proc.stdin.write(request)
        except OSError:
            pass  # the reader sees the session end and answers every waiter
        if not waiter[0].wait(limit + ANSWER_GRACE_S):
            with self._pending_lock:
                self._pending.pop(rid, None)
            raise self._failed(self.ref, f"no answer from the host within {limit + ANSWER_GRACE_S:g}s")
        answer = waiter[1]
        if isinstance(answer, OpscheckError):
            raise answer
        if "error" in answer:
            raise TargetDown(f"{self.ref.name}: cannot run commands: {answer['error']}")
        return answer["rc"], self._text(answer["out"]), self._text(answer["err"])

    def _text(self, data: str) -> str:
        raw = base64.b64decode(data)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            return raw.decode(self.encoding)

    def _read(self) -> None:
        # Buffered from here on (the hello was read byte by byte, so nothing of the stream is lost):
        # readline on the raw pipe would cost one system call per byte.
        out = io.BufferedReader(self._proc.stdout, 1 << 16)
        for line in iter(out.readline, b""):
            try:
                answer = json.loads(line)
            except ValueError:
                continue
            with self._pending_lock:
                waiter = self._pending.pop(answer.get("id"), None)
            if waiter is not None:
                waiter[1] = answer
                waiter[0].set()
        self.error = self._ended(b"")
        with self._pending_lock:
            waiters, self._pending = list(self._pending.values()), {}
        for waiter in waiters:
            waiter[1] = self.error
            waiter[0].set()

    def close(self) -> None:
        """End the session: the agent sees end of input, kills what still runs and exits."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(OSError):
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
